import Glibc
import CBerthInit

/// A spawned container init (or exec'd process) and the parent's end of its sync socket.
public final class SpawnedInit {
    /// The init's pid; a two-stage spawn (joined user namespace + new pid namespace) replaces it
    /// with the grandchild's when the child reports it.
    public var pid: Int32
    private var syncFD: Int32

    init(pid: Int32, syncFD: Int32) { self.pid = pid; self.syncFD = syncFD }
    deinit { closeSync() }

    /// Sends one JSON message (one SOCK_SEQPACKET packet).
    public func send(_ json: String) throws(OSError) {
        var bytes = Array(json.utf8)
        _ = try retrying("send to init", "\(pid)") { Glibc.send(syncFD, &bytes, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Receives one message; nil when the child closed its end (it exec'd or died).
    public func receive() throws(OSError) -> String? {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = try retrying("receive from init", "\(pid)") { recv(syncFD, &buf, buf.count, 0) }
        if n == 0 { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }

    public func closeSync() {
        if syncFD >= 0 { close(syncFD); syncFD = -1 }
    }
}

/// Turns an InitPlan into the C plan and clone()s the child.
public enum Spawner {
    /// - Parameters:
    ///   - consoleSocket: a connected unix socket to send the pty master to, or -1.
    public static func spawn(_ plan: InitPlan, consoleSocket: Int32 = -1) throws(OSError) -> SpawnedInit {
        let arena = Arena()
        defer { arena.release() }
        var c = berth_plan()
        c.clone_flags = UInt(UInt32(bitPattern: plan.cloneFlags))
        c.unshare_cgroupns = plan.unshareCgroupNS ? 1 : 0
        c.unshare_flags = UInt(UInt32(bitPattern: plan.unshareFlags))

        // Namespace fds: opened here, inherited by the child, closed after spawn.
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        func openFD(_ path: String, _ flags: Int32) throws(OSError) -> Int32 {
            let fd = open(path, flags | O_CLOEXEC)
            if fd < 0 { throw OSError("open", path) }
            fds.append(fd)
            return fd
        }
        if plan.joins.count > 8 { throw OSError("join namespaces", nil, code: E2BIG) }
        var joinFDs: [Int32] = [], joinTypes: [Int32] = []
        for j in plan.joins {
            let fd = try openFD(j.path, O_RDONLY)
            try checkNamespaceType(fd, path: j.path, want: j.type)
            joinFDs.append(fd); joinTypes.append(j.type)
        }
        withUnsafeMutablePointer(to: &c.join_paths) { tuple in
            tuple.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: 8) { p in
                for (i, j) in plan.joins.enumerated() { p[i] = arena.str(j.path) }
            }
        }
        withUnsafeMutableBytes(of: &c.join_fds) { raw in
            for (i, fd) in joinFDs.enumerated() { raw.storeBytes(of: fd, toByteOffset: i * 4, as: Int32.self) }
        }
        withUnsafeMutableBytes(of: &c.join_types) { raw in
            for (i, t) in joinTypes.enumerated() { raw.storeBytes(of: t, toByteOffset: i * 4, as: Int32.self) }
        }
        c.n_join = Int32(joinFDs.count)
        c.is_exec = plan.isExec ? 1 : 0
        c.exec_root_fd = -1
        if let root = plan.execRoot { c.exec_root_fd = try openFD(root, BERTH_O_PATH) }

        c.setup_rootfs = plan.setupRootfs ? 1 : 0
        c.rootfs = arena.str(plan.rootfs)
        c.root_propagation = plan.rootPropagation
        c.rootfs_propagation = plan.rootfsPropagation
        c.readonly_root = plan.readonlyRoot ? 1 : 0
        c.no_pivot = plan.noPivot ? 1 : 0

        let mounts = arena.array(of: berth_mount.self, count: plan.mounts.count)
        for (i, m) in plan.mounts.enumerated() {
            var cm = berth_mount()
            cm.source = arena.strOrNil(m.source)
            cm.dest = arena.str(m.destination)
            cm.fstype = arena.strOrNil(m.type)
            cm.data = arena.strOrNil(m.data)
            cm.flags = m.flags
            cm.remount_flags = m.remountFlags
            cm.propagation = m.propagation
            cm.kind = m.bind ? Int32(BERTH_MOUNT_BIND.rawValue) : Int32(BERTH_MOUNT_NORMAL.rawValue)
            cm.dest_is_file = m.destinationIsFile ? 1 : 0
            cm.dest_is_symlink = m.symlink ? 1 : 0
            cm.rec_attr_set = m.recursiveSet
            cm.rec_attr_clr = m.recursiveClear
            // A plain fd opened here would name a mount of our namespace, which the child (in its
            // own mount namespace) can't bind from (EINVAL): the child opens sources itself, unless
            // it is in a user namespace that can't reach them — then it gets a detached copy.
            cm.source_fd = -1
            if plan.bindFromParent, m.bind, let src = m.source {
                let fd = berth_open_tree_clone(src, (m.flags & UInt(MS_REC)) != 0 ? 1 : 0)
                if fd < 0 { throw OSError("bind mount source", src, code: -fd) }
                fds.append(fd)
                cm.source_fd = fd
            }
            mounts[i] = cm
        }
        c.mounts = UnsafePointer(mounts); c.n_mounts = Int32(plan.mounts.count)

        let devs = arena.array(of: berth_device.self, count: plan.devices.count)
        for (i, d) in plan.devices.enumerated() {
            var cd = berth_device()
            cd.path = arena.str(d.path)
            cd.host_path = arena.str(d.hostPath)
            cd.mode = d.mode
            cd.dev = berth_makedev(d.major, d.minor)
            cd.uid = d.uid; cd.gid = d.gid
            cd.bind = d.bind ? 1 : 0
            devs[i] = cd
        }
        c.devices = UnsafePointer(devs); c.n_devices = Int32(plan.devices.count)
        c.dev_links = plan.devLinks ? 1 : 0
        c.dev_console = plan.devConsole ? 1 : 0
        c.dev_readonly_flags = plan.devReadonlyFlags
        c.masked = arena.strArray(plan.maskedPaths, terminated: false); c.n_masked = Int32(plan.maskedPaths.count)
        c.readonly_paths = arena.strArray(plan.readonlyPaths, terminated: false); c.n_readonly = Int32(plan.readonlyPaths.count)

        c.hostname = arena.strOrNil(plan.hostname)
        c.domainname = arena.strOrNil(plan.domainname)
        let kvs = arena.array(of: berth_kv.self, count: plan.sysctls.count)
        for (i, kv) in plan.sysctls.enumerated() { kvs[i] = berth_kv(key: arena.str(kv.key), value: arena.str(kv.value)) }
        c.sysctls = UnsafePointer(kvs); c.n_sysctls = Int32(plan.sysctls.count)
        let rls = arena.array(of: berth_rlimit.self, count: plan.rlimits.count)
        for (i, r) in plan.rlimits.enumerated() { rls[i] = berth_rlimit(resource: r.resource, soft: r.soft, hard: r.hard) }
        c.rlimits = UnsafePointer(rls); c.n_rlimits = Int32(plan.rlimits.count)
        if let p = plan.personality { c.personality = p; c.set_personality = 1 }

        c.uid = plan.uid; c.gid = plan.gid
        let groups = arena.array(of: UInt32.self, count: plan.additionalGids.count)
        for (i, g) in plan.additionalGids.enumerated() { groups[i] = g }
        c.groups = UnsafePointer(groups); c.n_groups = Int32(plan.additionalGids.count)
        c.set_groups = plan.setGroups ? 1 : 0
        c.umask = plan.umask
        if let caps = plan.caps {
            c.set_caps = 1
            c.cap_bounding = caps.bounding; c.cap_effective = caps.effective; c.cap_permitted = caps.permitted
            c.cap_inheritable = caps.inheritable; c.cap_ambient = caps.ambient; c.last_cap = caps.lastCap
        }
        c.no_new_privs = plan.noNewPrivileges ? 1 : 0
        if !plan.seccompFilter.isEmpty {
            let filter = arena.array(of: UInt64.self, count: plan.seccompFilter.count)
            for (i, b) in plan.seccompFilter.enumerated() { filter[i] = b }
            c.seccomp_filter = UnsafeRawPointer(filter)
            c.seccomp_len = UInt16(plan.seccompFilter.count)
            c.seccomp_flags = plan.seccompFlags
        }

        c.cwd = arena.str(plan.cwd)
        c.argv = arena.mutableStrArray(plan.args)
        c.envp = arena.mutableStrArray(plan.env)
        c.path_env = arena.strOrNil(plan.pathEnv)
        let dmz = berth_dmz_fd()
        c.dmz_fd = dmz >= 0 ? dmz : -1
        if dmz >= 0 { fds.append(dmz) }
        c.preserve_fds = plan.preserveFds
        c.reset_sigmask = 1

        c.terminal = plan.terminal ? 1 : 0
        c.console_fd = consoleSocket
        if let size = plan.consoleSize { c.cols = size.cols; c.rows = size.rows }

        c.host_proc_fd = -1
        switch plan.gate {
        case .fifo(let path):
            c.fifo_fd = try openFD(path, BERTH_O_PATH)
            c.host_proc_fd = try openFD("/proc", BERTH_O_PATH | O_DIRECTORY)
        case .syncMessage: c.fifo_fd = -1
        case .none: c.fifo_fd = -2
        }

        let cc = arena.hooks(plan.createContainerHooks)
        c.create_container_hooks = UnsafePointer(cc); c.n_create_container = Int32(plan.createContainerHooks.count)
        let sc = arena.hooks(plan.startContainerHooks)
        c.start_container_hooks = UnsafePointer(sc); c.n_start_container = Int32(plan.startContainerHooks.count)
        c.want_runtime_hooks = plan.wantRuntimeHooks ? 1 : 0
        let stateCap = 65536
        c.state_buf = arena.array(of: CChar.self, count: stateCap)
        c.state_cap = stateCap

        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
            throw OSError("socketpair")
        }
        c.sync_fd = pair[1]

        if let pidns = plan.joinPIDNamespace {
            let fd = try openFD(pidns, O_RDONLY)
            try checkNamespaceType(fd, path: pidns, want: BERTH_CLONE_NEWPID)
            if berth_setns(fd, BERTH_CLONE_NEWPID) != 0 { let e = OSError("join pid namespace", pidns); close(pair[0]); close(pair[1]); throw e }
        }
        let pid = berth_spawn(&c)
        close(pair[1])
        if pid < 0 {
            close(pair[0])
            throw OSError("clone", nil, code: -pid)
        }
        return SpawnedInit(pid: pid, syncFD: pair[0])
    }
}

/// The OCI namespace types and their clone(2) flags: the one table the runtime plans with and
/// the spawner names namespaces by.
public enum NamespaceKind {
    public static let flags: [String: Int32] = [
        "pid": BERTH_CLONE_NEWPID, "network": BERTH_CLONE_NEWNET, "mount": BERTH_CLONE_NEWNS, "ipc": BERTH_CLONE_NEWIPC,
        "uts": BERTH_CLONE_NEWUTS, "user": BERTH_CLONE_NEWUSER, "cgroup": BERTH_CLONE_NEWCGROUP, "time": BERTH_CLONE_NEWTIME,
    ]
    static let names: [Int32: String] = Dictionary(uniqueKeysWithValues: flags.map { ($0.value, $0.key) })
}

/// A namespace path must be a namespace of the type it is joined as: say which, up front.
func checkNamespaceType(_ fd: Int32, path: String, want: Int32) throws(OSError) {
    let got = berth_ns_type(fd)
    let name = NamespaceKind.names[want] ?? "\(want)"
    if got < 0 { throw OSError("join \(name) namespace: not a namespace file", path, code: -got) }
    if got != want {
        throw OSError("join \(name) namespace: \(path) is a \(NamespaceKind.names[got] ?? "different") namespace", nil, code: EINVAL)
    }
}

/// C memory for one spawn; freed once the child has its own copy.
private final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func array<T>(of: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<T>.stride,
                                                 alignment: MemoryLayout<T>.alignment)
        memset(p, 0, max(1, count) * MemoryLayout<T>.stride)
        blocks.append(p)
        return p.bindMemory(to: T.self, capacity: max(1, count))
    }

    func str(_ s: String) -> UnsafePointer<CChar> {
        let bytes = Array(s.utf8CString)
        let p = array(of: CChar.self, count: bytes.count)
        for (i, b) in bytes.enumerated() { p[i] = b }
        return UnsafePointer(p)
    }

    func strOrNil(_ s: String?) -> UnsafePointer<CChar>? { s.map { str($0) } }

    func mutableStr(_ s: String) -> UnsafeMutablePointer<CChar> { UnsafeMutablePointer(mutating: str(s)) }

    func strArray(_ list: [String], terminated: Bool) -> UnsafePointer<UnsafePointer<CChar>?> {
        let p = array(of: UnsafePointer<CChar>?.self, count: list.count + 1)
        for (i, s) in list.enumerated() { p[i] = str(s) }
        p[list.count] = nil
        return UnsafePointer(p)
    }

    func mutableStrArray(_ list: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?> {
        let p = array(of: UnsafeMutablePointer<CChar>?.self, count: list.count + 1)
        for (i, s) in list.enumerated() { p[i] = mutableStr(s) }
        p[list.count] = nil
        return UnsafePointer(p)
    }

    func hooks(_ hooks: [InitPlan.HookOp]) -> UnsafeMutablePointer<berth_hook> {
        let p = array(of: berth_hook.self, count: hooks.count)
        for (i, h) in hooks.enumerated() {
            var ch = berth_hook()
            ch.path = str(h.path)
            ch.argv = mutableStrArray(h.args.isEmpty ? [h.path] : h.args)
            ch.envp = mutableStrArray(h.env)
            ch.timeout = Int32(h.timeout)
            p[i] = ch
        }
        return p
    }

    func release() {
        for b in blocks { b.deallocate() }
        blocks.removeAll()
    }
}
