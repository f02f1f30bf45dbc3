import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS
import CBerthInit

extension Runtime {
    public struct ExecOptions: Sendable {
        public var processFile: String?
        public var args: [String] = []
        public var tty = false
        public var consoleSocket: String?
        public var detach = false
        public var pidFile: String?
        public var cwd: String?
        public var env: [String] = []
        public var user: String?
        public var additionalGids: [UInt32] = []
        public var caps: [String] = []
        public var noNewPrivileges = false
        public var preserveFds: Int32 = 0
        /// `--cgroup [controller[,controller…]:]path`: a sub-cgroup of the container's to run in.
        public var cgroups: [String] = []
        public var ignorePaused = false
        public init() {}
    }

    /// The process to exec: from --process, or the container's own process with the overrides.
    func execProcess(_ o: ExecOptions, base: Spec) throws(RuntimeError) -> Process {
        if let file = o.processFile {
            do {
                var p = try JSONDecoder().decode(Process.self, from: Data(try FS.readBytes(file)))
                if p.cwd.isEmpty { p.cwd = "/" }
                do { try p.validate(field: "process") } catch { throw RuntimeError("\(file): \(error.field): \(error.reason)") }
                return p
            } catch let e as RuntimeError {
                throw e
            } catch {
                throw RuntimeError("read process file \(file): \(error)")
            }
        }
        guard !o.args.isEmpty else { throw RuntimeError("exec: no command given: pass --process or the command to run") }
        var p = base.process ?? Process()
        p.args = o.args
        p.terminal = o.tty
        if let cwd = o.cwd { p.cwd = cwd }
        p.env = (p.env ?? []) + o.env
        if let u = o.user {
            let parts = u.split(separator: ":", maxSplits: 1)
            guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw RuntimeError("exec: --user \"\(u)\" is not uid[:gid]")
            }
            p.user = User(uid: uid, gid: parts.count == 2 ? UInt32(parts[1])! : 0)
        }
        if !o.additionalGids.isEmpty { p.user.additionalGids = o.additionalGids }
        if o.noNewPrivileges { p.noNewPrivileges = true }
        if !o.caps.isEmpty {
            var c = p.capabilities ?? Capabilities()
            for cap in o.caps {
                c.bounding = (c.bounding ?? []) + [cap]; c.effective = (c.effective ?? []) + [cap]
                c.permitted = (c.permitted ?? []) + [cap]; c.ambient = (c.ambient ?? []) + [cap]
            }
            p.capabilities = c
        }
        do { try p.validate(field: "process") } catch { throw RuntimeError("\(error.field): \(error.reason)") }
        return p
    }

    /// `--cgroup` values: `path` (every controller) or `ctrl[,ctrl…]:path`, as runc's
    /// SubCgroupPaths map: controller name (or "" for all) → sub-cgroup path.
    static func parseExecCgroups(_ values: [String]) throws(RuntimeError) -> [String: String]? {
        guard !values.isEmpty else { return nil }
        var map: [String: String] = [:]
        for v in values {
            let parts = v.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 1 {
                if map[""] != nil { throw RuntimeError("exec --cgroup: only one path may apply to all controllers") }
                map[""] = parts[0]
            } else {
                for ctrl in parts[0].split(separator: ",") {
                    if map[String(ctrl)] != nil { throw RuntimeError("exec --cgroup: controller \(ctrl) given twice") }
                    map[String(ctrl)] = parts[1]
                }
            }
        }
        return map
    }

    /// Runs a new process inside a container. Returns its exit code (0 when detached).
    public func exec(id: String, options o: ExecOptions) throws(RuntimeError) -> Int32 {
        let rec = try store.load(id)
        switch status(rec) {
        case .stopped: throw RuntimeError("cannot exec in a stopped container")
        case .paused: if !o.ignorePaused { throw RuntimeError("cannot exec in a paused container") }
        default: break
        }
        let spec = try store.loadConfig(id)
        let process = try execProcess(o, base: spec)
        var planner = planner(for: spec, bundle: rec.bundle, root: "/proc/\(rec.pid)/root")
        var local: LocalConsole?
        if process.terminal == true && o.consoleSocket == nil && !o.detach {
            do { local = try LocalConsole() } catch { throw RuntimeError("\(error)") }
        }
        planner.hasConsoleSocket = o.consoleSocket != nil || local != nil
        var plan: InitPlan
        do {
            plan = try planner.execPlan(process: process, initPID: rec.pid, containerNamespaces: rec.namespaces)
            for w in planner.warnings { log.warning(w) }
        } catch { throw RuntimeError(error.description) }
        plan.preserveFds = o.preserveFds
        var console: Int32 = local?.childEnd ?? -1
        if let path = o.consoleSocket {
            do { console = try UnixSocket.connect(path) } catch { throw RuntimeError("\(error)") }
        }
        if !o.detach { _ = Signals.block(Signals.forwarded + [SIGCHLD]) }
        let child: SpawnedInit
        do { child = try Spawner.spawn(plan, consoleSocket: console) } catch { throw RuntimeError("exec in \(id): \(error)") }
        // The child has its copy; our connection to a --console-socket is no longer needed
        // (a local console's end is closed when its master is received).
        if o.consoleSocket != nil && console >= 0 { close(console) }
        log.debug("nsexec container setup")
        do {
            let cg = try cgroupManager(rec)
            if let subs = try Runtime.parseExecCgroups(o.cgroups) {
                try cg.add(pid: child.pid, subCgroups: subs)
            } else {
                try cg.add(pid: child.pid)
            }
            if let adj = process.oomScoreAdj { try FS.write("/proc/\(child.pid)/oom_score_adj", "\(adj)") }
            try child.send("{\"type\":\"continue\"}")
            log.debug("child process in init()")
            guard let msg = try child.receive() else {
                let code = try Proc.wait(child.pid)
                throw RuntimeError("exec in \(id): process exited before it was ready (status \(code))")
            }
            let m = try JSONDecoder().decode(SyncMessage.self, from: Data(msg.utf8))
            if m.type == "error" {
                _ = try? Proc.wait(child.pid)
                throw RuntimeError(m.message ?? "exec failed")
            }
            log.debug("setns_init: about to exec")
            if let pidFile = o.pidFile { try FS.write(FS.absolute(pidFile), "\(child.pid)", atomic: true) }
        } catch let e as RuntimeError {
            Glibc.kill(child.pid, SIGKILL); _ = try? Proc.wait(child.pid)
            throw e
        } catch {
            Glibc.kill(child.pid, SIGKILL); _ = try? Proc.wait(child.pid)
            throw RuntimeError("exec in \(id): \(error)")
        }
        child.closeSync()
        if o.detach { return 0 }
        if let master = local?.receiveMaster() { return PTYProxy.run(master: master, child: child.pid) }
        return Signals.forwardUntilExit(child.pid)
    }
}
