import Foundation
import Glibc
import BerthOS
import NIOConcurrencyHelpers
import BerthWire

extension ContainerService {
    // MARK: start

    public func start(_ ref: String) async throws -> ContainerChangeResult {
        let c = try resolve(ref)
        do {
            return try await slot(c.id).lock.withExclusive { [self] in
                guard let c = record(c.id) else { throw LifecycleError.notFound("No such container: \(ref)") }
                if c.state.paused { throw LifecycleError.conflict("cannot start a paused container, try unpause instead") }
                if c.state.running { return ContainerChangeResult(notModified: true) }
                if c.state.status == "removing" { throw LifecycleError.conflict("container \(c.id) is marked for removal and cannot be started") }
                try update(c.id) { $0.manuallyStopped = false }
                try await startLocked(c.id)
                return ContainerChangeResult(notModified: false)
            }
        } catch {
            // As dockerd: an AutoRemove container that failed to start is removed, which also ends
            // `wait condition=removed` (the docker CLI's `run --rm` waits for that after a failed start).
            if let now = record(c.id), now.hostConfig.autoRemove == true, !now.state.running, !now.state.restarting,
               now.state.status != "removing" {
                _ = try? await remove(ContainerRemoveParams(id: c.id, force: true, volumes: true))
            }
            throw error
        }
    }

    /// Launches the monitor for a container whose lock the caller holds.
    func startLocked(_ id: String) async throws {
        guard let c = record(id) else { throw LifecycleError.notFound("No such container: \(id)") }
        let dir = stateDir(id)
        try? FS.removeAll(dir)
        do { try FS.mkdirAll(dir, mode: 0o700) } catch { throw LifecycleError.internalError("create \(dir): \(error)") }
        try ensureMounted(id)
        // A runtime state left by a crash between exit and cleanup would make `create` fail.
        if hasRuntimeState(id) { _ = try? runRuntime(["delete", "--force", id]) }
        // The previous run's teardown (an exit just before this start) must be over.
        if let pending = slot(id).live.withLockedValue({ $0.deleting }) { await pending.value }
        // With the netwait hook, the network is set up while the runtime creates the container
        // (the hook holds the container's process until it is done); without, before.
        var gate: ReadyGate?
        var networking: Task<(any Error)?, Never>?
        do {
            try await releaseStaleSandbox(id)
            if c.networkGate == true, case .network = NetworkMode(c.hostConfig.networkMode) {
                try networks.createNamespace(containerID: id)
                let g: ReadyGate
                do { g = try ReadyGate(path: netGatePath(id)) } catch { throw LifecycleError.internalError("create \(netGatePath(id)): \(error)") }
                gate = g
                networking = Task { [self] in
                    do { try await startNetworking(id, namespaceReady: true); g.release(true); return nil } catch {
                        g.release(false); return error
                    }
                }
            } else {
                try await startNetworking(id, namespaceReady: false)
            }
        } catch {
            _ = try? update(id) { r in r.state.error = "\(error)" }
            throw error
        }
        var args = ["--id", id, "--bundle", bundle(id), "--runtime", options.runtime, "--runtime-root", runtimeRoot,
                    "--state-dir", dir]
        let log = c.hostConfig.logConfig
        args += ["--log-path", log?.type == "none" ? "/dev/null" : logPath(id)]
        if log?.type != "none" {
            if let s = log?.config?["max-size"], let n = Self.parseSize(s) { args += ["--log-max-size", String(n)] }
            if let f = log?.config?["max-file"] { args += ["--log-max-files", f] }
        }
        if c.tty { args.append("--terminal") }
        if c.config.openStdin == true { args.append("--stdin") }
        let generation = slot(id).live.withLockedValue { l -> Int in l.generation += 1; return l.generation }
        let launchArgs = args
        do {
            if networking != nil {
                try await Blocking.onOwnThread { [options] in try MonitorLink.launch(options.monitor, args: launchArgs) }
            } else {
                try await Blocking.run { [options] in try MonitorLink.launch(options.monitor, args: launchArgs) }
            }
        } catch let f as MonitorLink.MonitorFailure {
            // A failed network set-up failed the start through the hook: report it, not the hook.
            if let netError = await networking?.value {
                await stopNetworking(id)
                _ = try? update(id) { r in r.state.error = "\(netError)" }
                throw netError
            }
            await stopNetworking(id)
            let (code, invalid) = Self.startFailureCode(f.message)
            try update(id) { r in
                r.state.error = f.message; r.state.exitCode = code; r.state.running = false
                r.state.status = r.hasBeenStarted ? "exited" : "created"
            }
            throw invalid ? LifecycleError.invalidArgument(f.message) : LifecycleError.internalError(f.message)
        } catch {
            _ = await networking?.value
            await stopNetworking(id)
            throw error
        }
        // Open until here: the runtime is past its hooks, so the hook has read its byte.
        withExtendedLifetime(gate) {}
        if let netError = await networking?.value {
            // Not reached in practice: the hook fails the start when the network does.
            _ = try? await Blocking.run { [self] in try runRuntime(["kill", "--all", id, "KILL"]) }
            await stopNetworking(id)
            throw netError
        }
        let started = try update(id) { r in
            r.state = ContainerState(status: "running")
            r.state.running = true
            r.state.pid = MonitorLink.initPid(dir)
            r.state.startedAt = Self.now()
            r.state.finishedAt = c.state.finishedAt
            r.state.health = c.config.healthcheck.flatMap { Self.healthEnabled($0) ? ContainerState.Health(status: "starting") : nil }
            r.hasBeenStarted = true
        }
        emit(started, "start")
        await watch(id, generation: generation)
        startHealthcheck(id)
    }

    /// Docker's exit code and error class for a failed start (moby translateContainerdStartErr).
    static func startFailureCode(_ message: String) -> (Int, Bool) {
        let m = message.lowercased()
        if m.contains("executable file not found") || m.contains("no such file or directory") { return (127, true) }
        if m.contains("permission denied") { return (126, true) }
        return (128, false)
    }

    /// Whether the runtime still has a state dir for the container (a `delete` is due).
    func hasRuntimeState(_ id: String) -> Bool { FS.exists("\(runtimeRoot)/\(id)") }

    func ensureMounted(_ id: String) throws {
        if FS.isOverlayMount(rootfs(id)) { return }
        // After a reboot: mount the writable layer again.
        guard let c = record(id) else { return }
        let m = try images.snapshotMount(key: id, imageID: c.imageID)
        do { try images.snapshots.mount(m, at: rootfs(id)) } catch { throw LifecycleError.internalError("mount rootfs of \(id): \(error)") }
    }

    /// Follows the monitor of the current run; `exited` runs once when it finishes.
    func watch(_ id: String, generation: Int) async {
        let dir = stateDir(id)
        for _ in 0..<100 {
            if await MonitorLink.watch(stateDir: dir, onExit: { [self] in
                Task { await exited(id, generation: generation) }
            }) { return }
            // No socket: the monitor already finished, or is between launch and listen.
            if MonitorLink.exitRecord(dir) != nil || MonitorLink.alivePid(dir) == nil { break }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        // Never inline: the caller may hold the container's lock, which a restart takes.
        Task { await exited(id, generation: generation) }
    }

    /// The container's init exited (or its monitor vanished): record it, wake waiters, then
    /// auto-remove or apply the restart policy.
    func exited(_ id: String, generation: Int) async {
        let s = slot(id)
        guard s.live.withLockedValue({ $0.generation == generation }) else { return }
        let dir = stateDir(id)
        // The monitor writes exit.json before it closes the socket; an older monitor, or one
        // still busy writing, gets a few seconds while it is alive.
        var exit = MonitorLink.exitRecord(dir)
        for _ in 0..<500 where exit == nil && MonitorLink.alivePid(dir) != nil {
            try? await Task.sleep(nanoseconds: 10_000_000)
            exit = MonitorLink.exitRecord(dir)
        }
        stopHealthcheck(id)
        guard let before = record(id), before.state.running || before.state.restarting else { return }
        let ranFor = Date().timeIntervalSince(LogReader.parseRFC3339(before.state.startedAt).map { Date(timeIntervalSince1970: $0) } ?? Date())
        guard let c = try? update(id, { r in
            r.state.running = false; r.state.paused = false; r.state.restarting = false; r.state.pid = 0
            r.state.status = "exited"
            r.state.exitCode = exit?.exitCode ?? 255
            r.state.finishedAt = exit?.finishedAt ?? Self.now()
            r.state.oomKilled = exit?.oomKilled ?? false
            if exit == nil { r.state.error = "container monitor exited without recording an exit status" }
            if var h = r.state.health { h.status = "unhealthy"; r.state.health = h }
        }) else { return }
        // The runtime's state and cgroup go while the waiters are answered (`wait` returns sooner);
        // `remove` waits for this delete rather than running its own.
        let deleteState = hasRuntimeState(id)
        let deleting: Task<Void, Never>? = deleteState || c.sandbox != nil
            ? Task { [self] in
                // Independent once the init is gone: the runtime's delete and the network's release.
                async let runtime: Void = { if deleteState { _ = try? await Blocking.run { [self] in try runRuntime(["delete", "--force", id]) } } }()
                await stopNetworking(id)
                await runtime
            } : nil
        s.live.withLockedValue { $0.deleting = deleting }
        emit(c, "die", extra: ["exitCode": String(c.state.exitCode)])
        wake(id, state: c.state)
        await deleting?.value
        s.live.withLockedValue { $0.deleting = nil }
        if c.hostConfig.autoRemove == true {
            _ = try? await remove(ContainerRemoveParams(id: id, force: true, volumes: true))
            return
        }
        guard shouldRestart(c) else { return }
        let delay = s.live.withLockedValue { l -> Double in
            if ranFor >= 10 { l.restartDelay = 0.1 }
            let d = l.restartDelay
            l.restartDelay = min(l.restartDelay * 2, 60)
            return d
        }
        guard (try? update(id, { $0.state.restarting = true; $0.state.status = "restarting" })) != nil else { return }
        try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        do {
            try await s.lock.withExclusive { [self] in
                guard let now = record(id), now.state.restarting, !now.manuallyStopped else { return }
                try update(id) { $0.restartCount += 1 }
                try await startLocked(id)
            }
        } catch {
            Log.error("restart container \(id): \(error)")
            if let c = try? update(id, { $0.state.restarting = false; $0.state.status = "exited"; $0.state.error = "\(error)" }) {
                wake(id, state: c.state)
            }
        }
    }

    func shouldRestart(_ c: ContainerRecord) -> Bool {
        if c.manuallyStopped || c.state.status == "removing" { return false }
        let p = c.hostConfig.restartPolicy
        switch p?.name ?? "" {
        case "always", "unless-stopped": return true
        case "on-failure":
            let max = p?.maximumRetryCount ?? 0
            return c.state.exitCode != 0 && (max == 0 || c.restartCount < max)
        default: return false
        }
    }

    // MARK: stop, kill, restart, pause

    public func stop(_ p: ContainerStopParams) async throws -> ContainerChangeResult {
        let c = try resolve(p.id)
        return try await slot(c.id).lock.withExclusive { [self] in
            try await stopLocked(c.id, timeout: p.timeout, signal: p.signal)
        }
    }

    func stopLocked(_ id: String, timeout: Int?, signal: String?) async throws -> ContainerChangeResult {
        guard let c = record(id) else { throw LifecycleError.notFound("No such container: \(id)") }
        if c.state.restarting {
            // Stopping a container between restarts cancels the restart.
            let r = try update(id) { $0.manuallyStopped = true; $0.state.restarting = false; $0.state.status = "exited" }
            wake(id, state: r.state)
            return ContainerChangeResult(notModified: false)
        }
        guard c.state.running else { return ContainerChangeResult(notModified: true) }
        try update(id) { $0.manuallyStopped = true }
        let sig = signal ?? c.config.stopSignal ?? "SIGTERM"
        let wait = timeout ?? c.config.stopTimeout ?? 10
        let exited = waiter(id, condition: "next-exit")
        _ = try? await Blocking.run { [self] in try runRuntime(["kill", id, sig]) }
        if c.state.paused { _ = try? await Blocking.run { [self] in try runRuntime(["resume", id]) } }
        if await exited.wait(seconds: wait < 0 ? nil : Double(wait)) == nil {
            _ = try? await Blocking.run { [self] in try runRuntime(["kill", "--all", id, "KILL"]) }
            if await exited.wait(seconds: 30) == nil {
                throw LifecycleError.internalError("container \(id) did not exit within 30 s of SIGKILL")
            }
        }
        // As with dockerd, a stopped container's ports and addresses are free when stop returns
        // (`docker stop a && docker run -p <same port> …`).
        await slot(id).live.withLockedValue { $0.deleting }?.value
        if let c = record(id) { emit(c, "stop") }
        return ContainerChangeResult(notModified: false)
    }

    public func kill(_ p: ContainerKillParams) async throws {
        let c = try resolve(p.id)
        try await slot(c.id).lock.withExclusive { [self] in
            guard let c = record(c.id), c.state.running else { throw LifecycleError.conflict("Container \(c.id) is not running") }
            let sig = p.signal.flatMap { $0.isEmpty ? nil : $0 } ?? "KILL"
            guard Signals.parse(sig) != nil else { throw LifecycleError.invalidArgument("Invalid signal: \(sig)") }
            // As Docker: a kill counts as a manual stop, so restart policies leave it down.
            try update(c.id) { $0.manuallyStopped = true }
            let r = try await Blocking.run { [self] in try runRuntime(["kill", c.id, sig]) }
            guard r.status == 0 else { throw LifecycleError.internalError("kill container \(c.id): \(r.output)") }
            emit(c, "kill", extra: ["signal": String(Signals.parse(sig) ?? 0)])
        }
    }

    public func restart(_ p: ContainerStopParams) async throws {
        let c = try resolve(p.id)
        try await slot(c.id).lock.withExclusive { [self] in
            _ = try await stopLocked(c.id, timeout: p.timeout, signal: p.signal)
            try update(c.id) { $0.manuallyStopped = false }
            try await startLocked(c.id)
            if let c = record(c.id) { emit(c, "restart") }
        }
    }

    public func pause(_ ref: String, resume: Bool) async throws {
        let c = try resolve(ref)
        try await slot(c.id).lock.withExclusive { [self] in
            guard let c = record(c.id), c.state.running else { throw LifecycleError.conflict("Container \(c.id) is not running") }
            if !resume && c.state.paused { throw LifecycleError.conflict("Container \(c.id) is already paused") }
            if resume && !c.state.paused { throw LifecycleError.conflict("Container \(c.id) is not paused") }
            let r = try await Blocking.run { [self] in try runRuntime([resume ? "resume" : "pause", c.id]) }
            guard r.status == 0 else { throw LifecycleError.internalError("\(resume ? "unpause" : "pause") container \(c.id): \(r.output)") }
            let n = try update(c.id) { $0.state.paused = !resume; $0.state.status = resume ? "running" : "paused" }
            emit(n, resume ? "unpause" : "pause")
        }
    }

    // MARK: wait

    /// Resolves when the container reaches `condition`: Docker's not-running, next-exit, removed.
    final class Waiter: Sendable {
        struct State {
            var result: ContainerWaitResult?
            var continuation: CheckedContinuation<ContainerWaitResult?, Never>?
            /// The current `wait` call, and the latest call whose time ran out: a timer may fire
            /// before its call has parked (a 0 s timeout often does), and must still end that call.
            var call = 0
            var expired = 0
        }
        let box = NIOLockedValueBox(State())

        func resolve(_ r: ContainerWaitResult?) {
            let c = box.withLockedValue { b -> CheckedContinuation<ContainerWaitResult?, Never>? in
                if b.result != nil { return nil }
                b.result = r ?? ContainerWaitResult(statusCode: -1)
                let c = b.continuation
                b.continuation = nil
                return c
            }
            c?.resume(returning: r)
        }

        /// The result, or nil after `seconds` (nil: no limit) or cancellation.
        func wait(seconds: Double?) async -> ContainerWaitResult? {
            let call = box.withLockedValue { b -> Int in b.call += 1; return b.call }
            let timer: Task<Void, Never>? = seconds.map { s in
                Task { [self] in
                    try? await Task.sleep(nanoseconds: UInt64(max(0, s) * 1e9))
                    if !Task.isCancelled { timeOut(call) }
                }
            }
            defer { timer?.cancel() }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (k: CheckedContinuation<ContainerWaitResult?, Never>) in
                    let ready = box.withLockedValue { b -> ContainerWaitResult?? in
                        if let r = b.result { return .some(r.statusCode == -1 ? nil : r) }
                        if b.expired >= call { return .some(nil) }
                        b.continuation = k
                        return .none
                    }
                    if let r = ready { k.resume(returning: r) }
                }
            } onCancel: { timeOut(call) }
        }

        private func timeOut(_ call: Int) {
            let c = box.withLockedValue { b -> CheckedContinuation<ContainerWaitResult?, Never>? in
                b.expired = max(b.expired, call)
                guard b.call == call else { return nil }
                let c = b.continuation
                b.continuation = nil
                return c
            }
            c?.resume(returning: nil)
        }
    }

    func waiter(_ id: String, condition: String) -> Waiter {
        let w = Waiter()
        slot(id).live.withLockedValue { $0.waiters.append((condition, { w.resolve($0) })) }
        return w
    }

    /// Wakes waiters: on exit those for not-running and next-exit; on removal all of them.
    func wake(_ id: String, state: ContainerState, removed: Bool = false) {
        let result = ContainerWaitResult(statusCode: state.exitCode,
                                         error: state.error.isEmpty ? nil : .init(message: state.error))
        let due = slot(id).live.withLockedValue { l -> [@Sendable (ContainerWaitResult) -> Void] in
            var due: [@Sendable (ContainerWaitResult) -> Void] = []
            l.waiters.removeAll { w in
                let now = removed || w.condition != "removed"
                if now { due.append(w.resume) }
                return now
            }
            return due
        }
        for d in due { d(result) }
    }

    public func wait(_ p: ContainerWaitParams) async throws -> ContainerWaitResult {
        let condition = p.condition.flatMap { $0.isEmpty ? nil : $0 } ?? "not-running"
        guard ["not-running", "next-exit", "removed"].contains(condition) else {
            throw LifecycleError.invalidArgument("invalid condition: \"\(condition)\"")
        }
        let c = try resolve(p.id)
        let w = waiter(c.id, condition: condition)
        if condition == "not-running", let now = record(c.id), !now.state.running, !now.state.restarting {
            w.resolve(ContainerWaitResult(statusCode: now.state.exitCode, error: now.state.error.isEmpty ? nil : .init(message: now.state.error)))
        }
        if condition == "removed", record(c.id) == nil { w.resolve(ContainerWaitResult(statusCode: c.state.exitCode)) }
        guard let r = await w.wait(seconds: nil) else { throw CancellationError() }
        return r
    }

    // MARK: live restore

    /// At startup: reattach to every monitor still running; record the exit of those that
    /// finished while the daemon was away (and apply their restart policies).
    public func restore() async {
        let all = records.withLockedValue { Array($0.values) }
        // Stopped containers whose namespace outlived an interrupted teardown release it now.
        for c in all where !c.state.running && !c.state.restarting && c.sandbox != nil { await stopNetworking(c.id) }
        for c in all {
            if c.state.status == "removing" {
                _ = try? await remove(ContainerRemoveParams(id: c.id, force: true, volumes: false))
                continue
            }
            // Docker's `always`: a container the user stopped comes back when the daemon starts
            // (`unless-stopped` does not).
            if !c.state.running && !c.state.restarting && c.hasBeenStarted && c.manuallyStopped
                && c.hostConfig.restartPolicy?.name == "always" {
                do { _ = try await start(c.id) } catch { Log.error("restart container \(c.id.prefix(12)) (always): \(error)") }
                continue
            }
            guard c.state.running || c.state.restarting else { continue }
            let generation = slot(c.id).live.withLockedValue { l -> Int in l.generation += 1; return l.generation }
            if c.state.restarting {
                _ = try? update(c.id) { $0.state.running = true }
                await exited(c.id, generation: generation)
                continue
            }
            let dir = stateDir(c.id)
            if MonitorLink.alivePid(dir) != nil {
                Log.info("restored container \(c.id.prefix(12)) (pid \(c.state.pid))")
                if let sandbox = c.sandbox {
                    await networks.restore(containerID: c.id, name: c.name, sandbox: sandbox, endpoints: c.endpoints ?? [:])
                }
                await watch(c.id, generation: generation)
                startHealthcheck(c.id)
            } else {
                await exited(c.id, generation: generation)
            }
        }
    }
}

