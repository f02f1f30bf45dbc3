import Glibc
import BerthOCI
import BerthOS
import BerthCgroups
import BerthSeccomp
import CBerthInit

/// Turns a validated Spec into the InitPlan the C init carries out. Pure: no syscalls,
/// so it is unit-tested without root.
public struct Planner {
    /// The cgroup hierarchies to show inside the container, with the container's own dir in each.
    public struct CgroupView: Sendable, Equatable {
        public var name: String          // directory name under /sys/fs/cgroup ("cpu", "systemd", or "" for v2)
        public var options: String       // mount data for a fresh cgroup mount ("cpu", "none,name=systemd")
        public var hostDir: String       // the container's cgroup directory on the host
        public init(name: String, options: String, hostDir: String) {
            self.name = name; self.options = options; self.hostDir = hostDir
        }
    }

    public var spec: Spec
    public var bundle: String
    public var noPivot = false
    public var cgroupsV2 = false
    public var cgroups: [CgroupView] = []
    public var hasConsoleSocket = false
    /// Things planning skipped that the runtime should log (unknown capabilities).
    public private(set) var warnings: [String] = []
    /// Compiles seccomp profiles; the runtime plugs in a cache here.
    public var seccompCompiler: @Sendable (Seccomp) throws(SpecError) -> CompiledSeccomp = { s throws(SpecError) in
        do { return try SeccompCompiler.compile(s) } catch { throw SpecError(field: "linux.seccomp", "\(error)") }
    }

    public init(spec: Spec, bundle: String) { self.spec = spec; self.bundle = bundle }

    static let namespaceFlags = NamespaceKind.flags
    /// Where a running process's namespace of each type lives under /proc/<pid>/ns.
    public static let procNSNames: [String: String] = [
        "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user",
        "cgroup": "cgroup", "time": "time",
    ]

    static let rlimits: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
        "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
        "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
        "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    /// The devices every container gets (runc's and Docker's list).
    static let defaultDevices: [Device] = [
        Device(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0),
        Device(type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0),
    ]

    var userNamespace: Bool { spec.namespace("user") != nil }

    /// The plan for a container's init (create / run).
    public mutating func initPlan(gate: InitPlan.StartGate) throws(SpecError) -> InitPlan {
        guard let process = spec.process else { throw SpecError(field: "process", "is required to create a container") }
        var plan = InitPlan()
        plan.gate = gate
        try planNamespaces(&plan)
        guard spec.namespace("mount") != nil else {
            throw SpecError(field: "linux.namespaces", "a mount namespace is required")
        }
        let root = spec.root?.path ?? "rootfs"
        plan.rootfs = FS.cleanPath(root.hasPrefix("/") ? root : bundle + "/" + root)
        plan.setupRootfs = spec.namespace("mount")?.path == nil
        plan.readonlyRoot = spec.root?.readonly ?? false
        plan.bindFromParent = userNamespace
        plan.noPivot = noPivot
        if let p = spec.linux?.rootfsPropagation, !p.isEmpty {
            let flag = MountOptions.propagationFlags[p] ?? 0
            // Before set-up "/" gets the requested propagation (or rslave); shared needs a private parent.
            plan.rootPropagation = (p == "shared" || p == "rshared") ? UInt(MS_PRIVATE) | UInt(MS_REC) : flag
            plan.rootfsPropagation = flag
        } else {
            plan.rootPropagation = UInt(MS_SLAVE) | UInt(MS_REC)
        }
        try planMounts(&plan)
        try planDevices(&plan)
        plan.maskedPaths = (spec.linux?.maskedPaths ?? []).map(FS.cleanPath)
        plan.readonlyPaths = (spec.linux?.readonlyPaths ?? []).map(FS.cleanPath)
        if spec.namespace("uts") != nil {
            plan.hostname = spec.hostname
            plan.domainname = spec.domainname
        }
        plan.sysctls = (spec.linux?.sysctl ?? [:]).sorted { $0.key < $1.key }.map {
            (key: $0.key.replacing(".", with: "/"), value: $0.value)
        }
        if let p = spec.linux?.personality {
            switch p.domain {
            case "LINUX": plan.personality = 0
            case "LINUX32": plan.personality = 8
            default: throw SpecError(field: "linux.personality.domain", "unknown domain \"\(p.domain)\"")
            }
        }
        try planProcess(process, field: "process", into: &plan)
        plan.terminal = process.terminal ?? false
        if plan.terminal && !hasConsoleSocket {
            throw SpecError(field: "process.terminal", "a terminal needs --console-socket (or `run` in the foreground)")
        }
        plan.devConsole = plan.terminal && plan.devLinks
        let hooks = spec.hooks
        plan.wantRuntimeHooks = !(hooks?.prestart ?? []).isEmpty || !(hooks?.createRuntime ?? []).isEmpty
        plan.createContainerHooks = (hooks?.createContainer ?? []).map(Planner.hookOp)
        plan.startContainerHooks = (hooks?.startContainer ?? []).map(Planner.hookOp)
        return plan
    }

    static func hookOp(_ h: Hook) -> InitPlan.HookOp {
        InitPlan.HookOp(path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout ?? 0)
    }

    func planNamespaces(_ plan: inout InitPlan) throws(SpecError) {
        var joinUser: (String, Int32)?
        var joins: [(path: String, type: Int32)] = []
        for (i, ns) in (spec.linux?.namespaces ?? []).enumerated() {
            guard let flag = Planner.namespaceFlags[ns.type] else {
                throw SpecError(field: "linux.namespaces[\(i)].type", "unknown namespace type \"\(ns.type)\"")
            }
            if ns.type == "time" { throw SpecError(field: "linux.namespaces[\(i)]", "time namespaces are not supported yet") }
            if let path = ns.path, !path.isEmpty {
                switch ns.type {
                case "pid": plan.joinPIDNamespace = path
                case "user": joinUser = (path, flag)
                default: joins.append((path, flag))
                }
            } else if ns.type == "cgroup" {
                plan.unshareCgroupNS = true
            } else {
                plan.cloneFlags |= flag
            }
        }
        if let joinUser {
            // New namespaces must be owned by the joined user namespace: the child joins it
            // first, then unshares them (forking once more for a new pid namespace).
            joins.insert((joinUser.0, joinUser.1), at: 0)
            plan.unshareFlags = plan.cloneFlags
            plan.cloneFlags = 0
            if plan.unshareFlags & BERTH_CLONE_NEWPID != 0, plan.joinPIDNamespace != nil {
                throw SpecError(field: "linux.namespaces", "pid namespace has both a path and a new namespace")
            }
        }
        plan.joins = joins
    }

    /// The container's /etc/passwd, for HOME when the environment has none (read by the runtime).
    public var passwd: String?

    /// runc's environment rules: a variable given twice keeps its first place and its last value;
    /// HOME, when missing or empty, is the user's home from /etc/passwd (or "/").
    static func environment(_ env: [String], uid: UInt32, passwd: String?) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for e in env {
            let key = String(e.prefix { $0 != "=" })
            if values[key] == nil { order.append(key) }
            values[key] = e
        }
        if (values["HOME"].map { $0 == "HOME=" } ?? true) {
            var home = "/"
            for line in (passwd ?? "").split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count >= 6, UInt32(f[2]) == uid, !f[5].isEmpty { home = String(f[5]); break }
            }
            if values["HOME"] == nil { order.append("HOME") }
            values["HOME"] = "HOME=" + home
        }
        return order.compactMap { values[$0] }
    }

    mutating func planProcess(_ process: Process, field: String, into plan: inout InitPlan) throws(SpecError) {
        plan.args = process.args ?? []
        plan.env = Planner.environment(process.env ?? [], uid: process.user.uid, passwd: passwd)
        plan.cwd = process.cwd
        plan.uid = process.user.uid
        plan.gid = process.user.gid
        plan.additionalGids = process.user.additionalGids ?? []
        plan.umask = process.user.umask.map { Int32($0) } ?? -1
        plan.noNewPrivileges = process.noNewPrivileges ?? false
        if let s = process.consoleSize { plan.consoleSize = (cols: s.width, rows: s.height) }
        // In a new user namespace setgroups may be denied; only call it when asked for groups.
        plan.setGroups = !userNamespace || !plan.additionalGids.isEmpty
        for (i, r) in (process.rlimits ?? []).enumerated() {
            guard let res = Planner.rlimits[r.type] else {
                throw SpecError(field: "\(field).rlimits[\(i)].type", "unknown rlimit \"\(r.type)\"")
            }
            plan.rlimits.append((resource: res, soft: r.soft, hard: r.hard))
        }
        if let caps = process.capabilities {
            var unknown: [String] = []
            plan.caps = CapabilityNames.sets(caps, field: "\(field).capabilities", unknown: &unknown)
            warnings += unknown.map { "ignoring unknown or unsupported capability \"\($0)\"" }
        } else {
            // No capabilities object: the process gets none (runc does the same).
            var none = InitPlan.CapSets(); none.lastCap = CapabilityNames.lastCap
            plan.caps = none
        }
        if let s = spec.linux?.seccomp {
            let compiled = try seccompCompiler(s)
            plan.seccompFilter = compiled.instructions
            plan.seccompFlags = compiled.flags
        }
    }

    func planMounts(_ plan: inout InitPlan) throws(SpecError) {
        var devIsBind = false
        var hasDevMount = false
        for (i, m) in (spec.mounts ?? []).enumerated() {
            let field = "mounts[\(i)]"
            let dest = FS.cleanPath(m.destination)
            let opts = try MountOptions(m.options ?? [], field: "\(field).options")
            let type = m.type ?? ""
            if dest == "/dev" { hasDevMount = true; devIsBind = opts.isBind || type == "bind" }
            var flags = opts.flags
            if dest == "/dev", !devIsBind, flags & UInt(MS_RDONLY) != 0 {
                // Nodes and links go in first; the init remounts /dev read-only afterwards.
                plan.devReadonlyFlags = flags
                flags &= ~UInt(MS_RDONLY)
            }
            if type == "cgroup" || type == "cgroup2" {
                try planCgroupMount(dest: dest, opts: opts, into: &plan)
                continue
            }
            let bind = opts.isBind || type == "bind"
            var op = InitPlan.MountOp(source: m.source, destination: dest, type: bind ? nil : (type.isEmpty ? nil : type),
                                      data: opts.data.isEmpty ? nil : opts.data.joined(separator: ","),
                                      flags: flags)
            op.propagation = opts.propagation
            op.recursiveSet = opts.recursiveSet
            op.recursiveClear = opts.recursiveClear
            if bind {
                guard var src = m.source, !src.isEmpty else { throw SpecError(field: "\(field).source", "a bind mount needs a source") }
                if !src.hasPrefix("/") { src = FS.cleanPath(bundle + "/" + src) }
                op.source = src
                op.bind = true
                op.flags = UInt(MS_BIND) | (opts.flags & UInt(MS_REC))
                op.remountFlags = opts.flags & ~(UInt(MS_BIND) | UInt(MS_REC) | UInt(MS_REMOUNT))
            } else if op.type == nil {
                throw SpecError(field: "\(field).type", "a mount that is not a bind mount needs a type")
            }
            plan.mounts.append(op)
        }
        plan.devLinks = hasDevMount && !devIsBind
    }

    func planCgroupMount(dest: String, opts: MountOptions, into plan: inout InitPlan) throws(SpecError) {
        let flags = opts.flags | UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC)
        let ownNS = spec.namespace("cgroup") != nil
        if cgroupsV2 {
            if ownNS {
                plan.mounts.append(InitPlan.MountOp(source: "cgroup2", destination: dest, type: "cgroup2", data: nil, flags: flags))
            } else if let dir = cgroups.first?.hostDir {
                var op = InitPlan.MountOp(source: dir, destination: dest, type: nil, data: nil, flags: UInt(MS_BIND))
                op.bind = true
                op.remountFlags = flags
                plan.mounts.append(op)
            }
            return
        }
        // v1: a tmpfs holding one mount per hierarchy, like runc and Docker.
        plan.mounts.append(InitPlan.MountOp(source: "tmpfs", destination: dest, type: "tmpfs", data: "mode=755",
                                            flags: UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC)))
        for cg in cgroups {
            let sub = dest + "/" + cg.name
            if ownNS {
                plan.mounts.append(InitPlan.MountOp(source: "cgroup", destination: sub, type: "cgroup", data: cg.options, flags: flags))
            } else {
                var op = InitPlan.MountOp(source: cg.hostDir, destination: sub, type: nil, data: nil, flags: UInt(MS_BIND))
                op.bind = true
                op.remountFlags = flags
                plan.mounts.append(op)
            }
            // A combined hierarchy ("cpu,cpuacct") is also reachable under each subsystem's name.
            if cg.name.contains(",") {
                for part in cg.name.split(separator: ",") {
                    var link = InitPlan.MountOp(source: cg.name, destination: dest + "/" + part, type: nil, data: nil, flags: 0)
                    link.symlink = true
                    plan.mounts.append(link)
                }
            }
        }
        if opts.flags & UInt(MS_RDONLY) != 0 {
            plan.mounts.append(InitPlan.MountOp(source: nil, destination: dest, type: nil, data: nil,
                                                flags: UInt(MS_REMOUNT) | UInt(MS_RDONLY) | UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC)))
            plan.mounts[plan.mounts.count - 1].type = "tmpfs"
        }
    }

    func planDevices(_ plan: inout InitPlan) throws(SpecError) {
        var devices: [Device] = plan.devLinks ? Planner.defaultDevices : []
        for d in spec.linux?.devices ?? [] {
            devices.removeAll { $0.path == d.path }
            devices.append(d)
        }
        let bind = userNamespace
        for (i, d) in devices.enumerated() {
            let type: UInt32
            switch d.type {
            case "c", "u": type = UInt32(S_IFCHR)
            case "b": type = UInt32(S_IFBLK)
            case "p": type = UInt32(S_IFIFO)
            default: throw SpecError(field: "linux.devices[\(i)].type", "unknown device type \"\(d.type)\"")
            }
            let perm = (d.fileMode ?? 0o666) & 0o7777
            plan.devices.append(InitPlan.DeviceOp(
                path: FS.cleanPath(d.path), hostPath: d.path, mode: type | perm,
                major: UInt32(truncatingIfNeeded: d.major ?? 0), minor: UInt32(truncatingIfNeeded: d.minor ?? 0),
                uid: d.uid ?? 0, gid: d.gid ?? 0, bind: bind))
        }
    }

    /// The plan for a process exec'd into a running container.
    public mutating func execPlan(process: Process, initPID: Int32, containerNamespaces: [String]) throws(SpecError) -> InitPlan {
        var plan = InitPlan()
        plan.isExec = true
        plan.gate = .none
        // Join every namespace the init has: user first, then the rest; pid through the parent.
        let order = ["user", "mount", "ipc", "uts", "network", "cgroup"]
        for t in order where containerNamespaces.contains(t) {
            guard let flag = Planner.namespaceFlags[t], let name = Planner.procNSNames[t] else { continue }
            plan.joins.append((path: "/proc/\(initPID)/ns/\(name)", type: flag))
        }
        if containerNamespaces.contains("pid") { plan.joinPIDNamespace = "/proc/\(initPID)/ns/pid" }
        plan.execRoot = "/proc/\(initPID)/root"
        try planProcess(process, field: "process", into: &plan)
        plan.terminal = process.terminal ?? false
        if plan.terminal && !hasConsoleSocket {
            throw SpecError(field: "process.terminal", "a terminal needs --console-socket or a foreground exec with a tty")
        }
        return plan
    }
}
