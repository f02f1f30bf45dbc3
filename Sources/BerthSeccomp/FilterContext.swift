import CSeccomp
import Glibc

/// One libseccomp filter context. Noncopyable so that `seccomp_release` runs exactly once, on every
/// path out of a compile, including the throwing ones.
///
/// A context is used by one thread at a time; separate contexts may be built concurrently, so
/// compiling in the multi-threaded runtime process is fine.
struct FilterContext: ~Copyable {
    private let ctx: scmp_filter_ctx

    /// `seccomp_init(defaultAction)`: the context starts with the native architecture only.
    init(defaultAction: UInt32) throws(SeccompError) {
        guard let ctx = seccomp_init(defaultAction) else {
            throw SeccompError(field: "linux.seccomp.defaultAction", call: "seccomp_init",
                               "libseccomp rejected default action 0x\(String(defaultAction, radix: 16))")
        }
        self.ctx = ctx
    }

    deinit { seccomp_release(ctx) }

    func setAttribute(_ attribute: scmp_filter_attr, _ value: UInt32, name: String) throws(SeccompError) {
        let rc = seccomp_attr_set(ctx, attribute, value)
        if rc < 0 { throw .libseccomp("seccomp_attr_set(\(name), \(value))", rc: rc) }
    }

    /// Adds an architecture; one the context already has (the native one, or a repeat) is fine.
    func addArchitecture(_ token: UInt32, name: String, field: String) throws(SeccompError) {
        let rc = seccomp_arch_add(ctx, token)
        if rc < 0 && rc != -EEXIST { throw .libseccomp("seccomp_arch_add(\(name))", rc: rc, field: field) }
    }

    /// `seccomp_rule_add_array`: returns libseccomp's result (0 or -errno) for the caller to report
    /// with the field it came from.
    func addRule(action: UInt32, syscall: Int32, conditions: [scmp_arg_cmp]) -> Int32 {
        if conditions.isEmpty { return seccomp_rule_add_array(ctx, action, syscall, 0, nil) }
        return conditions.withUnsafeBufferPointer { buf in
            seccomp_rule_add_array(ctx, action, syscall, UInt32(buf.count), buf.baseAddress)
        }
    }

    /// The raw `struct sock_filter` array libseccomp generates, as bytes.
    func exportBPF() throws(SeccompError) -> [UInt8] {
        let file = try MemoryFile()
        let rc = seccomp_export_bpf(ctx, file.fd)
        if rc < 0 { throw .libseccomp("seccomp_export_bpf", rc: rc) }
        return try file.readAll()
    }

    /// The pseudo-filter-code text dump.
    func exportPFC() throws(SeccompError) -> String {
        let file = try MemoryFile()
        let rc = seccomp_export_pfc(ctx, file.fd)
        if rc < 0 { throw .libseccomp("seccomp_export_pfc", rc: rc) }
        return String(decoding: try file.readAll(), as: UTF8.self)
    }
}
