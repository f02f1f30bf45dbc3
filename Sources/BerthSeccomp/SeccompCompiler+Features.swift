import BerthOCI
import CSeccomp

extension SeccompCompiler {
    /// Actions `compile` accepts. SCMP_ACT_NOTIFY is missing until a notification listener exists.
    public static let supportedActions: [String] = [
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
    ]

    /// Argument comparison operators `compile` accepts.
    public static let supportedOperators: [String] = [
        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE",
    ]

    /// Every architecture name the runtime-spec (and libseccomp-golang) knows; the ones this
    /// libseccomp cannot build for are in `knownArchitectures` but not `supportedArchitectures`.
    public static let knownArchitectures: [String] = [
        "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
    ]

    /// Architectures the linked libseccomp can build filters for (for the `features` document).
    public static let supportedArchitectures: [String] = knownArchitectures.filter {
        seccomp_arch_resolve_name(libseccompName(ofArchitecture: $0)) != 0
    }

    /// Every `linux.seccomp.flags` value `compile` recognises.
    public static let knownFlags: [String] = [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]

    /// The known flags this kernel accepts, as libseccomp's API level reports them (libseccomp probes
    /// the kernel with seccomp(2) once): level 2 means TSYNC, 3 adds LOG, 4 adds SPEC_ALLOW.
    /// WAIT_KILLABLE_RECV is never listed: it needs a notification listener, which Berth lacks.
    public static let supportedFlags: [String] = {
        let level = seccomp_api_get()
        var flags: [String] = []
        if level >= 2 { flags.append("SECCOMP_FILTER_FLAG_TSYNC") }
        if level >= 3 { flags.append("SECCOMP_FILTER_FLAG_LOG") }
        if level >= 4 { flags.append("SECCOMP_FILTER_FLAG_SPEC_ALLOW") }
        return flags
    }()

    /// The linked libseccomp's version, e.g. `2.5.4`.
    public static let libseccompVersion: String = {
        guard let v = seccomp_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
    }()

    /// The `linux.seccomp` part of the runtime `features` document.
    public static var features: Features.SeccompFeatures {
        Features.SeccompFeatures(enabled: true, actions: supportedActions, operators: supportedOperators,
                                 archs: supportedArchitectures, knownFlags: knownFlags, supportedFlags: supportedFlags)
    }
}
