/// A config.json that cannot be run, with the JSON path of the field at fault.
public struct SpecError: Error, Equatable, CustomStringConvertible, Sendable {
    /// JSON path of the offending field, e.g. `linux.namespaces[2].type`.
    public var field: String
    public var reason: String
    public init(field: String, _ reason: String) { self.field = field; self.reason = reason }
    public var description: String { "config.json: \(field): \(reason)" }
}

extension Spec {
    public static let namespaceTypes: Set<String> = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]
    public static let rlimitTypes: Set<String> = [
        "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
        "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
    ]
    public static let seccompActions: Set<String> = [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    ]
    public static let seccompOperators: Set<String> = [
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ]
    public static let seccompFlags: Set<String> = [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]
    public static let rootfsPropagations: Set<String> = [
        "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
    ]
    /// Capability names in number order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
    public static let capabilityNames = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// Whether the spec asks for a new namespace of this type (present without a path).
    public func namespace(_ type: String) -> Namespace? {
        linux?.namespaces?.first { $0.type == type }
    }

    /// Checks everything that can be checked without touching the host.
    /// - Parameter requireProcess: `create`/`run` need `process`; other commands do not.
    public func validate(requireProcess: Bool = true) throws(SpecError) {
        try Spec.validateVersion(ociVersion)
        guard let root else { throw SpecError(field: "root", "is required") }
        if root.path.isEmpty { throw SpecError(field: "root.path", "must not be empty") }
        if requireProcess {
            guard let process else { throw SpecError(field: "process", "is required to create a container") }
            try process.validate(field: "process")
        }
        if let hostname, !hostname.isEmpty, namespace("uts") == nil {
            throw SpecError(field: "hostname", "needs a new uts namespace")
        }
        if let domainname, !domainname.isEmpty, namespace("uts") == nil {
            throw SpecError(field: "domainname", "needs a new uts namespace")
        }
        for (i, m) in (mounts ?? []).enumerated() {
            let f = "mounts[\(i)]"
            if m.destination.isEmpty { throw SpecError(field: "\(f).destination", "must not be empty") }
            if !m.destination.hasPrefix("/") {
                throw SpecError(field: "\(f).destination", "must be an absolute path, got \"\(m.destination)\"")
            }
            if m.type == "bind" || (m.options ?? []).contains(where: { $0 == "bind" || $0 == "rbind" }) {
                if (m.source ?? "").isEmpty { throw SpecError(field: "\(f).source", "a bind mount needs a source") }
            }
        }
        try hooks?.validate()
        if let linux { try linux.validate(spec: self) }
    }

    static func validateVersion(_ v: String) throws(SpecError) {
        let parts = v.split(separator: "-", maxSplits: 1)[...].first.map { $0.split(separator: ".") } ?? []
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            throw SpecError(field: "ociVersion", "\"\(v)\" is not a semantic version")
        }
        guard parts[0] == "1" else {
            throw SpecError(field: "ociVersion", "\"\(v)\" is not supported (this runtime implements 1.0.0 to \(Spec.version))")
        }
    }
}

extension Process {
    public func validate(field: String) throws(SpecError) {
        guard let args, let first = args.first, !first.isEmpty else {
            throw SpecError(field: "\(field).args", "must name the program to run")
        }
        if !cwd.hasPrefix("/") { throw SpecError(field: "\(field).cwd", "must be an absolute path, got \"\(cwd)\"") }
        for (i, e) in (env ?? []).enumerated() where !e.contains("=") || e.hasPrefix("=") {
            throw SpecError(field: "\(field).env[\(i)]", "\"\(e)\" is not KEY=value")
        }
        var seen = Set<String>()
        for (i, r) in (rlimits ?? []).enumerated() {
            if !Spec.rlimitTypes.contains(r.type) {
                throw SpecError(field: "\(field).rlimits[\(i)].type", "unknown rlimit \"\(r.type)\"")
            }
            if !seen.insert(r.type).inserted {
                throw SpecError(field: "\(field).rlimits[\(i)].type", "\(r.type) is given twice")
            }
            if r.soft > r.hard {
                throw SpecError(field: "\(field).rlimits[\(i)]", "soft limit \(r.soft) is above hard limit \(r.hard)")
            }
        }
        // Unknown capability names are not an error: like runc, the runtime warns and skips them
        // (a config written for a newer kernel still runs).
        if let adj = oomScoreAdj, adj < -1000 || adj > 1000 {
            throw SpecError(field: "\(field).oomScoreAdj", "\(adj) is outside -1000…1000")
        }
        if let umask = user.umask, umask > 0o777 {
            throw SpecError(field: "\(field).user.umask", "\(umask) is not a file mode mask")
        }
    }
}

extension Hooks {
    func validate() throws(SpecError) {
        let all: [(String, [Hook]?)] = [("prestart", prestart), ("createRuntime", createRuntime),
                                        ("createContainer", createContainer), ("startContainer", startContainer),
                                        ("poststart", poststart), ("poststop", poststop)]
        for (kind, hooks) in all {
            for (i, h) in (hooks ?? []).enumerated() {
                if !h.path.hasPrefix("/") {
                    throw SpecError(field: "hooks.\(kind)[\(i)].path", "must be an absolute path, got \"\(h.path)\"")
                }
                if let t = h.timeout, t <= 0 {
                    throw SpecError(field: "hooks.\(kind)[\(i)].timeout", "must be greater than zero")
                }
            }
        }
    }
}

extension Linux {
    func validate(spec: Spec) throws(SpecError) {
        var types = Set<String>()
        for (i, ns) in (namespaces ?? []).enumerated() {
            if !Spec.namespaceTypes.contains(ns.type) {
                throw SpecError(field: "linux.namespaces[\(i)].type", "unknown namespace type \"\(ns.type)\"")
            }
            if !types.insert(ns.type).inserted {
                throw SpecError(field: "linux.namespaces[\(i)].type", "namespace \"\(ns.type)\" is given twice")
            }
            if let p = ns.path, !p.hasPrefix("/") {
                throw SpecError(field: "linux.namespaces[\(i)].path", "must be an absolute path, got \"\(p)\"")
            }
        }
        let hasMaps = !(uidMappings ?? []).isEmpty || !(gidMappings ?? []).isEmpty
        if let userNS = spec.namespace("user"), userNS.path == nil {
            if (uidMappings ?? []).isEmpty { throw SpecError(field: "linux.uidMappings", "a new user namespace needs uid mappings") }
            if (gidMappings ?? []).isEmpty { throw SpecError(field: "linux.gidMappings", "a new user namespace needs gid mappings") }
        } else if hasMaps && spec.namespace("user") == nil {
            throw SpecError(field: "linux.uidMappings", "mappings need a user namespace")
        }
        for (i, m) in ((uidMappings ?? []) + (gidMappings ?? [])).enumerated() where m.size == 0 {
            throw SpecError(field: "linux.\(i < (uidMappings ?? []).count ? "uid" : "gid")Mappings", "a mapping of size 0")
        }
        if let p = rootfsPropagation, !p.isEmpty, !Spec.rootfsPropagations.contains(p) {
            throw SpecError(field: "linux.rootfsPropagation", "unknown propagation \"\(p)\"")
        }
        if let p = cgroupsPath, p.split(separator: "/").contains("..") {
            throw SpecError(field: "linux.cgroupsPath", "\"\(p)\" must not contain \"..\"")
        }
        for (i, d) in (devices ?? []).enumerated() {
            let f = "linux.devices[\(i)]"
            guard ["c", "b", "u", "p"].contains(d.type) else { throw SpecError(field: "\(f).type", "unknown device type \"\(d.type)\"") }
            if !d.path.hasPrefix("/") { throw SpecError(field: "\(f).path", "must be an absolute path, got \"\(d.path)\"") }
            if d.type != "p", d.major == nil || d.minor == nil {
                throw SpecError(field: f, "a \(d.type == "b" ? "block" : "character") device needs major and minor")
            }
        }
        for key in (sysctl ?? [:]).keys.sorted() {
            try Linux.validateSysctl(key, spec: spec)
        }
        if let r = resources { try r.validate() }
        if let s = seccomp { try s.validate() }
        for (field, paths) in [("maskedPaths", maskedPaths), ("readonlyPaths", readonlyPaths)] {
            for (i, p) in (paths ?? []).enumerated() where !p.hasPrefix("/") {
                throw SpecError(field: "linux.\(field)[\(i)]", "must be an absolute path, got \"\(p)\"")
            }
        }
    }

    /// runc's rule: a sysctl may only be set if the namespace it belongs to is the container's own.
    static func validateSysctl(_ key: String, spec: Spec) throws(SpecError) {
        let field = "linux.sysctl.\(key)"
        let ipcKeys: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]
        func owns(_ t: String) -> Bool { spec.namespace(t) != nil }
        if ipcKeys.contains(key) || key.hasPrefix("fs.mqueue.") {
            if !owns("ipc") { throw SpecError(field: field, "needs a new ipc namespace") }
            return
        }
        if key.hasPrefix("net.") {
            if !owns("network") { throw SpecError(field: field, "needs a network namespace of the container's own") }
            return
        }
        if key == "kernel.hostname" || key == "kernel.domainname" {
            if !owns("uts") { throw SpecError(field: field, "needs a new uts namespace") }
            return
        }
        throw SpecError(field: field, "is not namespaced: setting it would change the host")
    }
}

extension Resources {
    func validate() throws(SpecError) {
        if let m = memory, let limit = m.limit, let swap = m.swap, limit > 0, swap > 0, swap < limit {
            throw SpecError(field: "linux.resources.memory.swap", "memory+swap \(swap) is below the memory limit \(limit)")
        }
        if let p = cpu?.period, p != 0, p < 1000 || p > 1_000_000 {
            throw SpecError(field: "linux.resources.cpu.period", "\(p) is outside 1000…1000000 µs")
        }
        for (i, d) in (devices ?? []).enumerated() {
            if let t = d.type, !["a", "c", "b"].contains(t) {
                throw SpecError(field: "linux.resources.devices[\(i)].type", "unknown device type \"\(t)\"")
            }
            if let a = d.access, !a.allSatisfy({ "rwm".contains($0) }) {
                throw SpecError(field: "linux.resources.devices[\(i)].access", "\"\(a)\" is not made of r, w and m")
            }
        }
        for (i, h) in (hugepageLimits ?? []).enumerated() {
            let s = h.pageSize
            let digits = s.dropLast(2)
            guard s.hasSuffix("B"), let unit = s.dropLast().last, "KMG".contains(unit), !digits.isEmpty,
                  digits.allSatisfy(\.isNumber), digits.first != "0" else {
                throw SpecError(field: "linux.resources.hugepageLimits[\(i)].pageSize", "\"\(s)\" is not a page size like 2MB")
            }
        }
    }
}

extension Seccomp {
    func validate() throws(SpecError) {
        if !Spec.seccompActions.contains(defaultAction) {
            throw SpecError(field: "linux.seccomp.defaultAction", "unknown action \"\(defaultAction)\"")
        }
        for (i, f) in (flags ?? []).enumerated() where !Spec.seccompFlags.contains(f) {
            throw SpecError(field: "linux.seccomp.flags[\(i)]", "unknown flag \"\(f)\"")
        }
        for (i, s) in (syscalls ?? []).enumerated() {
            if !Spec.seccompActions.contains(s.action) {
                throw SpecError(field: "linux.seccomp.syscalls[\(i)].action", "unknown action \"\(s.action)\"")
            }
            if s.names.isEmpty { throw SpecError(field: "linux.seccomp.syscalls[\(i)].names", "must not be empty") }
            for (j, a) in (s.args ?? []).enumerated() {
                if !Spec.seccompOperators.contains(a.op) {
                    throw SpecError(field: "linux.seccomp.syscalls[\(i)].args[\(j)].op", "unknown operator \"\(a.op)\"")
                }
                if a.index > 5 { throw SpecError(field: "linux.seccomp.syscalls[\(i)].args[\(j)].index", "\(a.index) is above 5") }
            }
        }
    }
}
