import Foundation
import Glibc
import NIOConcurrencyHelpers
import BerthImage
import BerthOCI
import BerthOS
import BerthWire

/// One exec instance (Docker keeps them in memory too; they go with their container).
struct ExecRecord: Sendable {
    var id: String
    var containerID: String
    var config: ExecConfig
    var running = false
    var started = false
    var exitCode: Int?
    var pid = 0
    /// Health probes are not listed in inspect's ExecIDs.
    var isInternal = false
}

extension ContainerService {
    func execDir(_ execID: String) -> String { "\(options.runRoot)/e/\(execID.prefix(32))" }

    public func execCreate(_ p: ExecCreateParams, internalProbe: Bool = false) throws -> String {
        let c = try resolve(p.id)
        guard c.state.running else { throw LifecycleError.conflict("Container \(c.id) is not running") }
        if c.state.paused { throw LifecycleError.conflict("Container \(c.id) is paused, unpause the container before exec") }
        guard !(p.config.cmd ?? []).isEmpty else { throw LifecycleError.invalidArgument("No exec command specified") }
        let id = Self.randomID()
        execs.withLockedValue { $0[id] = ExecRecord(id: id, containerID: c.id, config: p.config, isInternal: internalProbe) }
        if !internalProbe { emit(c, "exec_create: " + (p.config.cmd ?? []).joined(separator: " "), extra: ["execID": id]) }
        return id
    }

    func exec(_ id: String) throws -> ExecRecord {
        guard let e = execs.withLockedValue({ $0[id] }) else { throw LifecycleError.notFound("No such exec instance: \(id)") }
        return e
    }

    public func execInspect(_ id: String) throws -> ExecInspect {
        let e = try exec(id)
        let cmd = e.config.cmd ?? []
        return ExecInspect(id: e.id, containerID: e.containerID, running: e.running, exitCode: e.exitCode, pid: e.pid,
                           openStdin: e.config.attachStdin ?? false,
                           processConfig: .init(tty: e.config.tty ?? false, entrypoint: cmd.first ?? "",
                                                arguments: Array(cmd.dropFirst()), privileged: e.config.privileged ?? false,
                                                user: e.config.user ?? ""))
    }

    public func execResize(_ p: ExecResizeParams) throws {
        // Before it runs (the docker CLI resizes right after start, racing the monitor's launch), the
        // size is kept and becomes the process's console size.
        let pending = execs.withLockedValue { x -> Bool in
            guard let e = x[p.execId], !e.running, x[p.execId]?.exitCode == nil else { return false }
            x[p.execId]?.config.consoleSize = [p.height, p.width]
            return true
        }
        let e = try exec(p.execId)
        if pending && !e.running { return }
        guard e.running else { throw LifecycleError.conflict("Exec \(e.id) is not running") }
        try MonitorLink.command(execDir(e.id), "resize \(p.height) \(p.width)")
    }

    public func execIO(_ id: String) throws -> ContainerIOResult {
        let e = try exec(id)
        let sock = execDir(id) + "/monitor.sock"
        return ContainerIOResult(controlSocket: e.running && FS.exists(sock) ? sock : nil, tty: e.config.tty ?? false,
                                 openStdin: e.config.attachStdin ?? false)
    }

    /// Runs the exec under a monitor. Detached: returns once it runs. Otherwise streams its output
    /// through `send` and returns its exit code.
    public func execStart(_ p: ExecStartParams, send: @escaping @Sendable (LogBatch) -> Void) async throws -> ExecStartResult {
        var e = try exec(p.execId)
        let claimed = execs.withLockedValue { x -> Bool in
            guard x[e.id]?.started == false else { return false }
            x[e.id]?.started = true
            return true
        }
        guard claimed else { throw LifecycleError.conflict("Error: Exec command \(e.id) has already run") }
        guard let c = record(e.containerID), c.state.running else {
            throw LifecycleError.conflict("Container \(e.containerID) is not running")
        }
        if c.state.paused { throw LifecycleError.conflict("Container \(c.id) is paused, unpause the container before exec") }
        let dir = execDir(e.id)
        do {
            try FS.mkdirAll(dir, mode: 0o700)
            let process = try execProcess(c, e.config)
            try FS.write(dir + "/process.json", [UInt8](try JSONEncoder().encode(process)), mode: 0o600, atomic: true)
        } catch let err as LifecycleError { throw err } catch {
            throw LifecycleError.internalError("prepare exec \(e.id): \(error)")
        }
        var args = ["--id", c.id, "--exec-process", dir + "/process.json", "--runtime", options.runtime,
                    "--runtime-root", runtimeRoot, "--state-dir", dir, "--log-path", dir + "/output.log"]
        if e.config.tty == true { args.append("--terminal") }
        if e.config.attachStdin == true { args.append("--stdin") }
        let launchArgs = args
        do {
            try await Blocking.run { [options] in try MonitorLink.launch(options.monitor, args: launchArgs) }
        } catch let f as MonitorLink.MonitorFailure {
            execs.withLockedValue { $0[e.id]?.exitCode = Self.startFailureCode(f.message).0 }
            let (_, invalid) = Self.startFailureCode(f.message)
            throw invalid ? LifecycleError.invalidArgument(f.message) : LifecycleError.internalError(f.message)
        }
        e.pid = MonitorLink.initPid(dir)
        let latestSize = execs.withLockedValue { x -> [Int]? in
            x[e.id]?.running = true; x[e.id]?.pid = e.pid
            return x[e.id]?.config.consoleSize
        }
        // A resize that came while the process was being prepared.
        if e.config.tty == true, let size = latestSize, size.count == 2, size != e.config.consoleSize {
            try? MonitorLink.command(dir, "resize \(size[0]) \(size[1])")
        }
        if !e.isInternal { emit(c, "exec_start: " + (e.config.cmd ?? []).joined(separator: " "), extra: ["execID": e.id]) }
        let finished = ExecFinish()
        let execID = e.id
        let watching = await MonitorLink.watch(stateDir: dir) { [self] in execExited(execID, finished) }
        if !watching { execExited(execID, finished) }
        if p.detach == true { return ExecStartResult(exitCode: nil) }

        var reader = LogReader(path: dir + "/output.log")
        defer { reader.close() }
        while true {
            let entries = reader.readNew()
            for i in stride(from: 0, to: entries.count, by: Self.batch) { send(LogBatch(entries: Array(entries[i..<min(i + Self.batch, entries.count)]))) }
            if finished.done {
                var rest = reader.readNew()
                rest += LogReader.parse(&reader.pending, final: true)
                if !rest.isEmpty { send(LogBatch(entries: rest)) }
                break
            }
            try await Task.sleep(nanoseconds: entries.isEmpty ? 10_000_000 : 2_000_000)
        }
        return ExecStartResult(exitCode: try exec(e.id).exitCode)
    }

    final class ExecFinish: Sendable {
        let flag = NIOLockedValueBox(false)
        var done: Bool { flag.withLockedValue { $0 } }
    }

    func execExited(_ id: String, _ finished: ExecFinish) {
        let dir = execDir(id)
        var exit = MonitorLink.exitRecord(dir)
        for _ in 0..<100 where exit == nil && MonitorLink.alivePid(dir) != nil {
            usleep(10_000)
            exit = MonitorLink.exitRecord(dir)
        }
        let e = execs.withLockedValue { x -> ExecRecord? in
            x[id]?.running = false
            x[id]?.exitCode = exit?.exitCode ?? 126
            return x[id]
        }
        finished.flag.withLockedValue { $0 = true }
        if let e, !e.isInternal, let c = record(e.containerID) {
            emit(c, "exec_die", extra: ["execID": id, "exitCode": String(exit?.exitCode ?? 126)])
        }
        // The output was read by the caller (or nobody asked); keep the dir until it is.
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) { try? FS.removeAll(dir) }
    }

    func discardExec(_ id: String) {
        execs.withLockedValue { $0[id] = nil }
        try? FS.removeAll(execDir(id))
    }

    /// The exec's OCI process: the container's, with the exec's command, terminal, env, user and cwd.
    func execProcess(_ c: ContainerRecord, _ x: ExecConfig) throws -> BerthOCI.Process {
        let spec: Spec
        do {
            spec = try JSONDecoder().decode(Spec.self, from: Data(try FS.readBytes(bundle(c.id) + "/config.json")))
        } catch { throw LifecycleError.internalError("read config of container \(c.id): \(error)") }
        guard var p = spec.process else { throw LifecycleError.internalError("container \(c.id) has no process") }
        p.args = x.cmd
        p.terminal = x.tty ?? false
        // Docker's ConsoleSize is [height, width].
        if x.tty == true, let size = x.consoleSize, size.count == 2, size[0] > 0, size[1] > 0,
           let h = UInt16(exactly: size[0]), let w = UInt16(exactly: size[1]) {
            p.consoleSize = Box(height: h, width: w)
        } else {
            p.consoleSize = nil
        }
        var env = p.env ?? []
        for kv in x.env ?? [] {
            let key = SpecBuilder.envKey(kv)
            env.removeAll { SpecBuilder.envKey($0) == key }
            env.append(kv)
        }
        p.env = env
        if let wd = x.workingDir, !wd.isEmpty {
            guard wd.hasPrefix("/") else { throw LifecycleError.invalidArgument("the working directory '\(wd)' is invalid, it needs to be an absolute path") }
            p.cwd = wd
        }
        if let u = x.user, !u.isEmpty {
            do { p.user = try builder.resolveUser(u, groupAdd: c.hostConfig.groupAdd ?? [], rootfs: rootfs(c.id)) } catch {
                throw LifecycleError.invalidArgument(error.description)
            }
        }
        if x.privileged == true {
            let all = builder.allCapabilities
            p.capabilities = Capabilities(bounding: all, effective: all, permitted: all)
        } else if p.user.uid != 0, let caps = p.capabilities {
            p.capabilities = Capabilities(bounding: caps.bounding ?? [])
        } else if p.user.uid == 0, let b = p.capabilities?.bounding {
            p.capabilities = Capabilities(bounding: b, effective: b, permitted: b)
        }
        return p
    }
}
