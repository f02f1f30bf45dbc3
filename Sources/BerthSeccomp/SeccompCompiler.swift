import BerthOCI
import CSeccomp
import Glibc

/// Turns an OCI `linux.seccomp` profile into a BPF program with libseccomp, following runc's
/// `libcontainer/seccomp/seccomp_linux.go`.
///
/// Compilation happens in the (multi-threaded) runtime process; the container's init only hands the
/// resulting bytes to seccomp(2), after setting no_new_privs itself. Profiles are checked as they are
/// compiled, so errors name the JSON field even for a config.json that skipped `Spec.validate()`.
public enum SeccompCompiler {
    /// The kernel's limit on the length of one BPF program (`BPF_MAXINSNS`).
    public static let maxInstructions = 4096

    /// Compiles `s` into a BPF program and the seccomp(2) flags to load it with.
    ///
    /// Syscall names unknown to libseccomp are skipped (listed in `skippedSyscalls`), as are rules whose
    /// action equals the default action. Throws when an action, operator, architecture or flag is
    /// unknown or unsupported, when libseccomp rejects a rule, or when the program exceeds
    /// `maxInstructions`.
    public static func compile(_ s: Seccomp) throws(SeccompError) -> CompiledSeccomp {
        let flags = try filterFlags(s)
        var skipped: [String] = []
        let filter = try build(s, skipped: &skipped)
        let bytes = try filter.exportBPF()
        guard bytes.count % 8 == 0 else {
            throw SeccompError(call: "seccomp_export_bpf", "exported \(bytes.count) bytes, not a whole number of 8-byte instructions")
        }
        let instructions = bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
        guard instructions.count <= maxInstructions else {
            throw SeccompError(field: "linux.seccomp",
                               "the filter compiles to \(instructions.count) BPF instructions; the kernel accepts at most \(maxInstructions)")
        }
        return CompiledSeccomp(instructions: instructions, flags: flags, skippedSyscalls: skipped)
    }

    /// Human-readable PFC dump (`seccomp_export_pfc`) of the filter `compile` would produce, for
    /// debugging and tests.
    public static func pfc(_ s: Seccomp) throws(SeccompError) -> String {
        _ = try filterFlags(s)
        var skipped: [String] = []
        return try build(s, skipped: &skipped).exportPFC()
    }

    // MARK: - Building the libseccomp context

    private static func build(_ s: Seccomp, skipped: inout [String]) throws(SeccompError) -> FilterContext {
        let defaultAction = try action(s.defaultAction, errnoRet: s.defaultErrnoRet,
                                       field: "linux.seccomp.defaultAction", errnoField: "linux.seccomp.defaultErrnoRet")
        let filter = try FilterContext(defaultAction: defaultAction)
        // The runtime sets no_new_privs itself (and only when the spec asks); never let the filter imply it.
        try filter.setAttribute(SCMP_FLTATR_CTL_NNP, 0, name: "SCMP_FLTATR_CTL_NNP")

        for (i, name) in (s.architectures ?? []).enumerated() {
            let field = "linux.seccomp.architectures[\(i)]"
            let (token, libName) = try architecture(name, field: field)
            try filter.addArchitecture(token, name: libName, field: field)
        }

        for (i, call) in (s.syscalls ?? []).enumerated() {
            let field = "linux.seccomp.syscalls[\(i)]"
            let callAction = try action(call.action, errnoRet: call.errnoRet,
                                        field: field + ".action", errnoField: field + ".errnoRet")
            let rules = try ruleConditions(call.args ?? [], field: field)
            guard !call.names.isEmpty else { throw SeccompError(field: field + ".names", "must not be empty") }
            for (j, name) in call.names.enumerated() where name.isEmpty {
                throw SeccompError(field: "\(field).names[\(j)]", "empty string is not a valid syscall name")
            }
            // libseccomp refuses rules that repeat the default action; they are redundant anyway.
            if callAction == defaultAction { continue }

            for (j, name) in call.names.enumerated() {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR {
                    if !skipped.contains(name) { skipped.append(name) }
                    continue
                }
                for conditions in rules {
                    let rc = filter.addRule(action: callAction, syscall: number, conditions: conditions)
                    if rc < 0 {
                        throw .libseccomp("seccomp_rule_add_array(\(name))", rc: rc, field: "\(field).names[\(j)]")
                    }
                }
            }
        }
        return filter
    }

    /// The rules one `syscalls[]` entry becomes, as runc builds them: all conditions in one rule (AND),
    /// unless two of them test the same argument — libseccomp cannot AND those — in which case each
    /// condition becomes its own rule (OR). No args means one unconditional rule.
    static func ruleConditions(_ args: [SeccompArg], field: String) throws(SeccompError) -> [[scmp_arg_cmp]] {
        var conditions: [scmp_arg_cmp] = []
        var perIndex = [Int](repeating: 0, count: 6)
        for (j, arg) in args.enumerated() {
            let argField = "\(field).args[\(j)]"
            guard arg.index < 6 else {
                throw SeccompError(field: argField + ".index", "\(arg.index) is out of range; syscalls have arguments 0 to 5")
            }
            guard let op = operators[arg.op] else {
                throw SeccompError(field: argField + ".op", "unknown operator \"\(arg.op)\"")
            }
            perIndex[Int(arg.index)] += 1
            // For SCMP_CMP_MASKED_EQ libseccomp takes the mask first (datum_a) and the datum second,
            // which is the spec's value / valueTwo order; the other operators ignore datum_b.
            conditions.append(scmp_arg_cmp(arg: arg.index, op: op, datum_a: arg.value, datum_b: arg.valueTwo ?? 0))
        }
        if conditions.isEmpty { return [[]] }
        if perIndex.contains(where: { $0 > 1 }) { return conditions.map { [$0] } }
        return [conditions]
    }

    // MARK: - Names to libseccomp values

    private static let operators: [String: scmp_compare] = [
        "SCMP_CMP_NE": SCMP_CMP_NE, "SCMP_CMP_LT": SCMP_CMP_LT, "SCMP_CMP_LE": SCMP_CMP_LE,
        "SCMP_CMP_EQ": SCMP_CMP_EQ, "SCMP_CMP_GE": SCMP_CMP_GE, "SCMP_CMP_GT": SCMP_CMP_GT,
        "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ,
    ]

    /// The libseccomp action value for an OCI action name. `SCMP_ACT_ERRNO(x)` and `SCMP_ACT_TRACE(x)`
    /// are function-like C macros Swift cannot import, so their encodings are written out here
    /// (they are the kernel's `SECCOMP_RET_ERRNO` / `SECCOMP_RET_TRACE` with the data in the low 16 bits).
    static func action(_ name: String, errnoRet: UInt32?, field: String, errnoField: String) throws(SeccompError) -> UInt32 {
        func data() throws(SeccompError) -> UInt32 {
            let value = errnoRet ?? UInt32(EPERM)
            guard value <= 0xFFFF else {
                throw SeccompError(field: errnoField, "\(value) does not fit the 16-bit seccomp return data")
            }
            return value
        }
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return SCMP_ACT_KILL_THREAD
        case "SCMP_ACT_KILL_PROCESS": return SCMP_ACT_KILL_PROCESS
        case "SCMP_ACT_TRAP": return SCMP_ACT_TRAP
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | (try data())
        case "SCMP_ACT_TRACE": return 0x7FF0_0000 | (try data())
        case "SCMP_ACT_ALLOW": return SCMP_ACT_ALLOW
        case "SCMP_ACT_LOG": return SCMP_ACT_LOG
        case "SCMP_ACT_NOTIFY":
            throw SeccompError(field: field, "SCMP_ACT_NOTIFY is not supported (no seccomp notification listener support yet)")
        default:
            throw SeccompError(field: field, "unknown action \"\(name)\"")
        }
    }

    /// The libseccomp token for an OCI architecture name, and libseccomp's own name for it.
    static func architecture(_ name: String, field: String) throws(SeccompError) -> (token: UInt32, name: String) {
        guard knownArchitectures.contains(name) else {
            throw SeccompError(field: field, "unknown architecture \"\(name)\"")
        }
        let libName = libseccompName(ofArchitecture: name)
        let token = seccomp_arch_resolve_name(libName)
        guard token != 0 else {
            throw SeccompError(field: field, call: "seccomp_arch_resolve_name(\(libName))",
                               "architecture \"\(name)\" is not supported by libseccomp \(libseccompVersion)")
        }
        return (token, libName)
    }

    /// `SCMP_ARCH_X86_64` → `x86_64`: libseccomp's names are the OCI ones without prefix, lower-cased.
    static func libseccompName(ofArchitecture name: String) -> String {
        String(name.dropFirst("SCMP_ARCH_".count)).lowercased()
    }

    /// The seccomp(2) flag bits for `linux.seccomp.flags`.
    static func filterFlags(_ s: Seccomp) throws(SeccompError) -> UInt32 {
        var bits: UInt32 = 0
        for (i, flag) in (s.flags ?? []).enumerated() {
            let field = "linux.seccomp.flags[\(i)]"
            guard let bit = flagBits[flag] else { throw SeccompError(field: field, "unknown flag \"\(flag)\"") }
            // Only qualifies a notification listener; see CompiledSeccomp.flags.
            if flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" { continue }
            guard supportedFlags.contains(flag) else {
                throw SeccompError(field: field, "\(flag) is not supported by this kernel")
            }
            bits |= bit
        }
        return bits
    }

    static let flagBits: [String: UInt32] = [
        "SECCOMP_FILTER_FLAG_TSYNC": 1,
        "SECCOMP_FILTER_FLAG_LOG": 2,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
    ]
}
