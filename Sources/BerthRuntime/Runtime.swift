import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS
import BerthCgroups
import CBerthInit

/// The runtime's operations, one per runc command. Each loads what it needs from the state root.
public struct Runtime: Sendable {
    public var store: StateStore
    public var log: RuntimeLogger

    public init(root: String, log: RuntimeLogger) {
        self.store = StateStore(root: root)
        self.log = log
    }

    var seccompCache: SeccompCache { SeccompCache(dir: store.root + "/.cache") }

    // MARK: - Status

    public func status(_ rec: ContainerRecord) -> State.Status {
        guard Proc.isAlive(rec.pid, startTime: rec.pidStartTime) else { return .stopped }
        if FS.exists(store.fifo(rec.id)) { return .created }
        if let m = try? cgroupManager(rec), m.isFrozen() { return .paused }
        return .running
    }

    func cgroupManager(_ rec: ContainerRecord) throws(RuntimeError) -> CgroupManager {
        do {
            return CgroupManager(paths: rec.cgroupPaths, layout: try CgroupLayout.host(), fs: HostCgroupFS())
        } catch {
            throw RuntimeError("cgroups of container \(rec.id): \(error)")
        }
    }

    public func ociState(_ rec: ContainerRecord) -> State {
        let st = status(rec)
        return State(id: rec.id, status: st, pid: st == .stopped ? 0 : rec.pid, bundle: rec.bundle,
                     annotations: rec.annotations)
    }

    // MARK: - create

    public struct CreateOptions: Sendable {
        public var bundle: String
        public var pidFile: String?
        public var consoleSocket: String?
        public var noPivot = false
        public var preserveFds: Int32 = 0
        public init(bundle: String) { self.bundle = bundle }
    }

    /// Loads and validates `<bundle>/config.json`.
    public static func loadSpec(bundle: String) throws(RuntimeError) -> Spec {
        let path = bundle + "/config.json"
        let bytes: [UInt8]
        do { bytes = try FS.readBytes(path) } catch { throw RuntimeError("\(error)") }
        let spec: Spec
        do {
            spec = try JSONDecoder().decode(Spec.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw RuntimeError("config.json: \(fieldPath(ctx.codingPath + [key])): is required")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw RuntimeError("config.json: \(fieldPath(ctx.codingPath)): \(ctx.debugDescription)")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw RuntimeError("config.json: \(fieldPath(ctx.codingPath)): must not be null")
        } catch {
            throw RuntimeError("config.json: invalid JSON in \(path)")
        }
        do { try spec.validate() } catch { throw RuntimeError(error.description) }
        return spec
    }

    static func fieldPath(_ path: [any CodingKey]) -> String {
        var s = ""
        for k in path {
            if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return s.isEmpty ? "(root)" : s
    }

    /// Creates the container and leaves its init waiting (at the gate) until `start`.
    /// What `create` made: the init (with its sync socket), the saved record, the config.
    public struct Created {
        public var child: SpawnedInit
        public var record: ContainerRecord
        public var spec: Spec
    }

    /// A planner for `spec` that compiles seccomp through the state root's cache and finds HOME
    /// in the image's /etc/passwd under `root` (the rootfs, or /proc/<init>/root for exec).
    func planner(for spec: Spec, bundle: String, root: String) -> Planner {
        var planner = Planner(spec: spec, bundle: bundle)
        let cache = seccompCache
        planner.seccompCompiler = { s throws(SpecError) in try cache.compile(s) }
        planner.passwd = try? FS.readInRoot(root, "/etc/passwd")
        return planner
    }

    /// - Parameter loaded: the bundle's config when the caller has already loaded it.
    public func create(id: String, options: CreateOptions, gate: InitPlan.StartGate? = nil,
                       consoleFD: Int32 = -1, loaded: Spec? = nil) throws(RuntimeError) -> Created {
        log.phase("create \(id)")
        try StateStore.validate(id: id)
        let bundle = FS.absolute(options.bundle)
        let spec: Spec
        if let loaded { spec = loaded } else { spec = try Runtime.loadSpec(bundle: bundle) }
        log.phase("config loaded")
        let dir = store.dir(id)
        if FS.exists(dir) { throw RuntimeError("container with id exists: \(id)") }
        let rootfs = FS.cleanPath((spec.root?.path ?? "").hasPrefix("/") ? spec.root!.path : bundle + "/" + (spec.root?.path ?? ""))
        if !FS.isDirectory(rootfs) { throw RuntimeError("config.json: root.path: \(rootfs) is not a directory") }
        var planner = planner(for: spec, bundle: bundle, root: rootfs)
        planner.noPivot = options.noPivot
        planner.hasConsoleSocket = options.consoleSocket != nil || consoleFD >= 0

        var undo = Undo()
        do {
            try FS.mkdirAll(store.root, mode: 0o700)
            if Glibc.mkdir(dir, 0o711) != 0 {
                throw RuntimeError(errno == EEXIST ? "container with id exists: \(id)" : "\(OSError("mkdir", dir))")
            }
            undo.add { try? FS.removeAll(dir) }

            // Cgroups first: the child is placed in them before it does anything.
            let layout = try CgroupLayout.host()
            let cg = try CgroupManager(layout: layout, cgroupsPath: spec.linux?.cgroupsPath, containerID: id, fs: HostCgroupFS())
            // A frozen cgroup would freeze the init: refused before anything is created, and the
            // cgroup left as it was. One that already has members is only warned about, as runc 1.1
            // does (1.2 refuses it).
            if cg.wasFrozen() { throw RuntimeError("container's cgroup unexpectedly frozen") }
            if cg.hasProcesses() {
                let n = ((try? cg.pids()) ?? []).count
                log.warning("container's cgroup is not empty: \(n) process(es) found")
                log.warning("DEPRECATED: running a container in a non-empty cgroup won't be supported in the future")
            }
            try cg.create()
            undo.add { try? cg.destroy() }
            if let r = spec.linux?.resources { try cg.apply(Runtime.withDefaultDeviceRules(r, spec: spec)) }
            planner.cgroups = Runtime.cgroupViews(layout: layout, paths: cg.paths)
            log.phase("cgroups created")
            if case .v2 = layout { planner.cgroupsV2 = true }

            let gate = gate ?? .fifo(path: store.fifo(id))
            if case .fifo(let path) = gate {
                if mkfifo(path, 0o622) != 0 { throw OSError("mkfifo", path) }
                // mkfifo honours the umask; like runc, the init reopens the fifo after it has become
                // the container's user, so others must be able to write it (0622, not 0600).
                if chmod(path, 0o622) != 0 { throw OSError("chmod", path) }
            }
            var plan = try planner.initPlan(gate: gate)
            for w in planner.warnings { log.warning(w) }
            plan.preserveFds = options.preserveFds
            log.phase("planned")
            try FS.write(dir + "/config.json", try [UInt8](JSONEncoder().encode(spec)), mode: 0o600)

            var console: Int32 = consoleFD
            if let path = options.consoleSocket {
                console = try UnixSocket.connect(path)
            }
            defer { if options.consoleSocket != nil && console >= 0 { close(console) } }

            let child = try Spawner.spawn(plan, consoleSocket: console)
            undo.add { Glibc.kill(child.pid, SIGKILL); _ = try? Proc.wait(child.pid) }
            var startTime = Proc.startTime(child.pid)
            log.phase("cloned")
            log.debug("nsexec container setup")

            if plan.cloneFlags & BERTH_CLONE_NEWUSER != 0 {
                try Runtime.writeIDMaps(pid: child.pid, spec: spec)
            }
            // Joining v1 cgroups can wait for an RCU grace period (~10 ms). Unless the child needs
            // to be in them before it starts (a cgroup namespace, or a two-stage spawn whose
            // grandchild must be born inside), join while the child sets up its mounts: it runs no
            // container code before "ready" and start, and both come after the join.
            let joinLate = !plan.unshareCgroupNS && plan.unshareFlags == 0
            if !joinLate {
                try cg.add(pid: child.pid)
                log.phase("joined cgroups")
            }
            if let adj = spec.process?.oomScoreAdj {
                try FS.write("/proc/\(child.pid)/oom_score_adj", "\(adj)")
            }
            var rec = ContainerRecord(
                id: id, pid: child.pid, pidStartTime: startTime, bundle: bundle, rootfs: rootfs,
                created: Clock.rfc3339Nano(), annotations: spec.annotations, cgroupPaths: cg.paths,
                namespaces: (spec.linux?.namespaces ?? []).map(\.type), owner: "", terminal: spec.process?.terminal)
            rec.owner = Runtime.ownerName()
            // The "creating" state, for hooks: sent to the child (in-container hooks) and kept here.
            var stateJSON = ""
            func sendHookState(pid: Int32) throws {
                stateJSON = JSON.encode(State(id: id, status: .creating, pid: pid, bundle: bundle, annotations: spec.annotations))
                try child.send("{\"type\":\"hookstate\",\"state\":\(stateJSON)}")
            }
            try sendHookState(pid: child.pid)
            try child.send("{\"type\":\"continue\"}")
            log.debug("child process in init()")
            if joinLate {
                try cg.add(pid: child.pid)
                log.phase("joined cgroups")
            }
            while true {
                guard let msg = try child.receive() else {
                    let code = try Proc.wait(child.pid)
                    throw RuntimeError("container init exited before it was ready (status \(code))")
                }
                let m = try JSONDecoder().decode(SyncMessage.self, from: Data(msg.utf8))
                switch m.type {
                case "hooks":
                    try runHooks(spec.hooks?.prestart, kind: "prestart", state: stateJSON, fatal: true)
                    try runHooks(spec.hooks?.createRuntime, kind: "createRuntime", state: stateJSON, fatal: true)
                    try child.send("{\"type\":\"continue\"}")
                    continue
                case "pid":
                    // Two-stage spawn: the intermediate child exits, its child is the init.
                    guard let pid = m.pid, pid > 0 else { throw RuntimeError("bad pid message from container init: \(msg)") }
                    _ = try? Proc.wait(child.pid)
                    child.pid = pid
                    startTime = Proc.startTime(pid)
                    rec.pid = pid
                    rec.pidStartTime = startTime
                    try sendHookState(pid: pid)
                    continue
                case "ready":
                    log.debug("init: closing the pipe to signal completion")
                    break
                case "error":
                    _ = try? Proc.wait(child.pid)
                    throw RuntimeError(m.message ?? "container init failed")
                default:
                    throw RuntimeError("unexpected message from container init: \(msg)")
                }
                break
            }
            log.phase("init ready")
            try store.save(rec)
            if let pidFile = options.pidFile {
                try FS.write(FS.absolute(pidFile), "\(child.pid)", atomic: true)
            }
            undo.discard()
            return Created(child: child, record: rec, spec: spec)
        } catch let e as RuntimeError {
            undo.run()
            throw e
        } catch {
            undo.run()
            throw RuntimeError("\(error)")
        }
    }

    /// Like runc, the devices every container gets (and mknod of any node) are allowed after the
    /// spec's own rules; otherwise a "deny all" rule would stop the init from making /dev/null.
    /// Devices in `linux.devices` are created but only usable if the spec's rules allow them.
    static func withDefaultDeviceRules(_ r: Resources, spec: Spec) -> Resources {
        guard var rules = r.devices else { return r }
        func allow(_ t: String, _ major: Int64?, _ minor: Int64?, _ access: String = "rwm") -> DeviceCgroup {
            DeviceCgroup(allow: true, type: t, major: major, minor: minor, access: access)
        }
        rules += [
            allow("c", nil, nil, "m"), allow("b", nil, nil, "m"),
            allow("c", 1, 3), allow("c", 1, 8), allow("c", 1, 7), allow("c", 5, 0), allow("c", 1, 5), allow("c", 1, 9),
            allow("c", 136, nil), allow("c", 5, 2), allow("c", 10, 200),
        ]
        var out = r
        out.devices = rules
        return out
    }

    struct SyncMessage: Decodable { var type: String; var message: String?; var pid: Int32? }

    static func cgroupViews(layout: CgroupLayout, paths: [String: String]) -> [Planner.CgroupView] {
        switch layout {
        case .v2:
            return paths.values.first.map { [Planner.CgroupView(name: "", options: "", hostDir: $0)] } ?? []
        case .v1(let hierarchies):
            var views: [Planner.CgroupView] = []
            for h in hierarchies where h.subsystems != [V1Hierarchy.unified] {
                guard let key = h.subsystems.first(where: { paths[$0] != nil }), let dir = paths[key] else { continue }
                let name = String(h.mountPoint.split(separator: "/").last ?? "")
                let named = h.subsystems.first { $0.hasPrefix("name=") }
                let options = named.map { "none,\($0)" } ?? h.subsystems.joined(separator: ",")
                views.append(Planner.CgroupView(name: name, options: options, hostDir: dir))
            }
            return views
        }
    }

    static func writeIDMaps(pid: Int32, spec: Spec) throws(OSError) {
        func render(_ maps: [IDMapping]?) -> String {
            (maps ?? []).map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        try FS.write("/proc/\(pid)/uid_map", render(spec.linux?.uidMappings))
        try FS.write("/proc/\(pid)/gid_map", render(spec.linux?.gidMappings))
    }

    static func ownerName() -> String {
        if let pw = getpwuid(geteuid()) { return String(cString: pw.pointee.pw_name) }
        return "#\(geteuid())"
    }

    /// Runs runtime-namespace hooks with the state on stdin. Fatal hooks fail the operation;
    /// poststart/poststop failures are only logged, as the spec says.
    func runHooks(_ hooks: [Hook]?, kind: String, state: String, fatal: Bool) throws(RuntimeError) {
        for (i, h) in (hooks ?? []).enumerated() {
            let prefix = "error running \(kind) hook #\(i): \(h.path)"
            do {
                let r = try Subprocess.run(path: h.path, args: h.args ?? [h.path], env: h.env ?? [],
                                           stdin: Array(state.utf8), timeoutSeconds: h.timeout ?? 0)
                if r.timedOut { throw RuntimeError("\(prefix): timed out after \(h.timeout ?? 0)s") }
                if let sig = r.signal {
                    throw RuntimeError("\(prefix): signal: \(String(cString: strsignal(sig)).lowercased())")
                }
                if r.status != 0 { throw RuntimeError("\(prefix): exit status \(r.status)") }
            } catch let e as RuntimeError {
                if fatal { throw e }
                log.warning(e.message)
            } catch {
                let e = RuntimeError("\(prefix): \(error)")
                if fatal { throw e }
                log.warning(e.message)
            }
        }
    }

    // MARK: - start

    public func start(id: String) throws(RuntimeError) {
        let rec = try store.load(id)
        switch status(rec) {
        case .created: break
        case .stopped: throw RuntimeError("cannot start a container that has stopped")
        default: throw RuntimeError("cannot start an already running container")
        }
        let fifo = store.fifo(id)
        let fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { throw RuntimeError("\(OSError("open exec fifo", fifo))") }
        defer { close(fd) }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        while true {
            let r = poll(&pfd, 1, 100)
            if r > 0 && read(fd, &byte, 1) == 1 { break }
            if r < 0 && errno != EINTR { throw RuntimeError("\(OSError("poll exec fifo", fifo))") }
            if !Proc.isAlive(rec.pid, startTime: rec.pidStartTime) {
                throw RuntimeError("cannot start container \(id): its init exited")
            }
        }
        try? FS.unlink(fifo)
        let spec = try store.loadConfig(id)
        let st = JSON.encode(State(id: id, status: .running, pid: rec.pid, bundle: rec.bundle, annotations: rec.annotations))
        try runHooks(spec.hooks?.poststart, kind: "poststart", state: st, fatal: false)
    }

    // MARK: - kill / delete

    public func kill(id: String, signal: Int32, all: Bool) throws(RuntimeError) {
        let rec = try store.load(id)
        let st = status(rec)
        if st == .stopped {
            // With --all there may be nothing left to signal, which is not an error (runc).
            if all { return }
            throw RuntimeError("container not running")
        }
        if all {
            let cg = try cgroupManager(rec)
            let pids = (try? cg.pids()) ?? [rec.pid]
            for p in pids { Glibc.kill(p, signal) }
            if st == .paused && signal == SIGKILL { try? cg.thaw() }
        } else {
            let fd = berth_pidfd_open(rec.pid)
            if fd >= 0 {
                defer { close(fd) }
                // pidfd: the signal can't hit a process that reused the pid.
                let r = berth_pidfd_send_signal(fd, signal)
                if r < 0 { throw RuntimeError("kill container \(id): \(OSError("kill", "\(rec.pid)", code: -r))") }
            } else if Glibc.kill(rec.pid, signal) != 0 {
                throw RuntimeError("kill container \(id): \(OSError("kill", "\(rec.pid)"))")
            }
        }
    }

    public func delete(id: String, force: Bool) throws(RuntimeError) {
        try StateStore.validate(id: id)
        guard FS.exists(store.dir(id) + "/state.json") else {
            if force { try? FS.removeAll(store.dir(id)); return }
            throw RuntimeError("container \(id) does not exist")
        }
        let rec = try store.load(id)
        let st = status(rec)
        switch st {
        case .running, .paused:
            if !force { throw RuntimeError("cannot delete container \(id) that is not stopped: \(st.rawValue)") }
            try destroyProcesses(rec, paused: st == .paused)
        case .created, .creating:
            try destroyProcesses(rec, paused: false)
        case .stopped:
            // Processes that outlived a pid-namespace-less init still hold the cgroup.
            if let cg = try? cgroupManager(rec), let pids = try? cg.pids(), !pids.isEmpty {
                try destroyProcesses(rec, paused: false)
            }
        }
        try finalizeDelete(rec)
    }

    func destroyProcesses(_ rec: ContainerRecord, paused: Bool) throws(RuntimeError) {
        let cg = try? cgroupManager(rec)
        if Proc.isAlive(rec.pid, startTime: rec.pidStartTime) { Glibc.kill(rec.pid, SIGKILL) }
        for p in (try? cg?.pids()) ?? [] { Glibc.kill(p, SIGKILL) }
        if paused { try? cg?.thaw() }
        _ = Proc.waitGone(rec.pid, timeoutMs: 5000)
        // Other members of the cgroup (no pid namespace) must be gone before rmdir.
        for _ in 0..<100 {
            let left = (try? cg?.pids()) ?? []
            if left.isEmpty { break }
            for p in left { Glibc.kill(p, SIGKILL) }
            usleep(10_000)
        }
    }

    func finalizeDelete(_ rec: ContainerRecord, spec known: Spec? = nil) throws(RuntimeError) {
        if let cg = try? cgroupManager(rec) {
            do { try cg.destroy() } catch { log.warning("remove cgroups of \(rec.id): \(error)") }
        }
        let spec = known ?? (try? store.loadConfig(rec.id))
        let st = JSON.encode(State(id: rec.id, status: .stopped, pid: 0, bundle: rec.bundle, annotations: rec.annotations))
        do { try FS.removeAll(store.dir(rec.id)) } catch { throw RuntimeError("remove state of \(rec.id): \(error)") }
        try runHooks(spec?.hooks?.poststop, kind: "poststop", state: st, fatal: false)
    }

    // MARK: - run

    /// create + start; in the foreground, waits for the container, deletes it, and returns its exit code.
    public func run(id: String, options: CreateOptions, detach: Bool, keep: Bool = false) throws(RuntimeError) -> Int32 {
        let loaded = try Runtime.loadSpec(bundle: FS.absolute(options.bundle))
        var console: LocalConsole?
        if options.consoleSocket == nil, !detach, loaded.process?.terminal == true {
            do { console = try LocalConsole() } catch { throw RuntimeError("\(error)") }
        }
        if !detach {
            _ = Signals.block(Signals.forwarded + [SIGCHLD])
            // A two-stage init is our grandchild: become its reaper so we can wait for it.
            _ = berth_set_subreaper()
        }
        let created = try create(id: id, options: options, gate: .syncMessage, consoleFD: console?.childEnd ?? -1,
                                 loaded: loaded)
        let (child, rec) = (created.child, created.record)
        let master = console?.receiveMaster()
        do { try child.send("{\"type\":\"start\"}") } catch { throw RuntimeError("start container \(id): \(error)") }
        child.closeSync()
        // The config as created: a second read of the file would only cost time.
        let spec = created.spec
        if let hooks = spec.hooks?.poststart, !hooks.isEmpty {
            let st = JSON.encode(State(id: id, status: .running, pid: rec.pid, bundle: rec.bundle, annotations: rec.annotations))
            try runHooks(hooks, kind: "poststart", state: st, fatal: false)
        }
        log.phase("started")
        if detach { return 0 }
        let code: Int32
        if let master {
            code = PTYProxy.run(master: master, child: rec.pid)
        } else {
            code = Signals.forwardUntilExit(rec.pid)
        }
        if let cg = try? cgroupManager(rec), let left = try? cg.pids(), !left.isEmpty {
            try destroyProcesses(rec, paused: false)
        }
        log.phase("exited \(code)")
        // --keep: leave the stopped container (state, cgroups) for inspection and `delete`.
        if keep { return code }
        try finalizeDelete(rec, spec: spec)
        log.phase("deleted")
        return code
    }
}

/// Steps to undo, in reverse order, when an operation fails half-way.
struct Undo {
    private var steps: [() -> Void] = []
    mutating func add(_ f: @escaping () -> Void) { steps.append(f) }
    mutating func discard() { steps.removeAll() }
    mutating func run() { for s in steps.reversed() { s() }; steps.removeAll() }
}
