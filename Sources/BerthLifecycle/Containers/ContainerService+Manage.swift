import Foundation
import Glibc
import BerthOS
import BerthWire

extension ContainerService {
    // MARK: remove

    public func remove(_ p: ContainerRemoveParams) async throws {
        let c = try resolve(p.id)
        try await slot(c.id).lock.withExclusive { [self] in
            guard let c = record(c.id) else { return }
            if c.state.running || c.state.restarting {
                guard p.force == true else {
                    if c.state.paused {
                        throw LifecycleError.conflict("You cannot remove a paused container \(c.id). Unpause and then stop the container before attempting removal or force remove")
                    }
                    throw LifecycleError.conflict("You cannot remove a running container \(c.id). Stop the container before attempting removal or force remove")
                }
                try update(c.id) { $0.manuallyStopped = true }
                if c.state.running {
                    let exited = waiter(c.id, condition: "next-exit")
                    _ = try? await Blocking.run { [self] in try runRuntime(["kill", "--all", c.id, "KILL"]) }
                    if c.state.paused { _ = try? await Blocking.run { [self] in try runRuntime(["resume", c.id]) } }
                    _ = await exited.wait(seconds: 30)
                }
            }
            let gone = try update(c.id) { $0.state.status = "removing"; $0.state.restarting = false }
            stopHealthcheck(c.id)
            await slot(c.id).live.withLockedValue { $0.deleting }?.value
            await stopNetworking(c.id)
            try await Blocking.run { [self] in try cleanup(c.id) }
            try images.meta.deleteContainer(c.id)
            records.withLockedValue { $0[c.id] = nil }
            for e in execs.withLockedValue({ $0.values.filter { $0.containerID == c.id } }) { discardExec(e.id) }
            if p.volumes == true {
                for v in c.anonymousVolumes {
                    if (try? await volumes.remove(v, force: false)) != nil {
                        events.publish(type: "volume", action: "destroy", id: v, attributes: ["driver": "local"])
                    }
                }
            }
            emit(gone, "destroy")
            wake(c.id, state: gone.state, removed: true)
            slots.withLockedValue { $0[c.id] = nil }
        }
    }

    /// Removes everything a container owns on disk; safe to repeat after a crash halfway.
    func cleanup(_ id: String) throws {
        if hasRuntimeState(id) { _ = try? runRuntime(["delete", "--force", id]) }
        try? images.snapshots.unmount(rootfs(id))
        if FS.isOverlayMount(rootfs(id)) {
            throw LifecycleError.internalError("remove container \(id): its rootfs \(rootfs(id)) is still mounted")
        }
        if images.snapshots.hasWritable(key: id) {
            do { try images.snapshots.removeWritable(key: id) } catch { throw LifecycleError.image(error) }
        }
        try? FS.removeAll(stateDir(id))
        do { try FS.removeAll(bundle(id)) } catch { throw LifecycleError.internalError("remove \(bundle(id)): \(error)") }
    }

    // MARK: rename, resize, io

    public func rename(_ p: ContainerRenameParams) throws {
        let c = try resolve(p.id)
        var name = p.name
        guard Self.isValidName(name) else {
            throw LifecycleError.invalidArgument("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        if name.hasPrefix("/") { name.removeFirst() }
        if name == c.name { throw LifecycleError.invalidArgument("Renaming a container with the same name as its current name") }
        let old = c.name
        let n = try update(c.id) { $0.name = name }
        if n.state.running, n.sandbox != nil { networks.rename(containerID: n.id, name: name, endpoints: n.endpoints ?? [:]) }
        emit(n, "rename", extra: ["oldName": "/" + old])
    }

    public func resize(_ p: ContainerResizeParams) throws {
        let c = try resolve(p.id)
        guard c.state.running else { throw LifecycleError.conflict("Container \(c.id) is not running") }
        guard p.height > 0, p.width > 0 else { throw LifecycleError.invalidArgument("invalid terminal size \(p.height)x\(p.width)") }
        try MonitorLink.command(stateDir(c.id), "resize \(p.height) \(p.width)")
    }

    /// Where to write the container's stdin and send resizes.
    public func io(_ ref: String) throws -> ContainerIOResult {
        let c = try resolve(ref)
        let sock = stateDir(c.id) + "/monitor.sock"
        return ContainerIOResult(controlSocket: c.state.running && FS.exists(sock) ? sock : nil, tty: c.tty,
                                 openStdin: c.config.openStdin ?? false)
    }

    // MARK: list, inspect

    /// dockerd's inspect always names the log driver (docker-py's `containers.run` reads it to
    /// decide whether it can read the logs).
    static func inspectHostConfig(_ hc: HostConfig) -> HostConfig {
        var h = hc
        if h.logConfig?.type == nil || h.logConfig?.type == "" { h.logConfig = LogConfig(type: "json-file", config: h.logConfig?.config ?? [:]) }
        return h
    }

    public func inspect(_ ref: String) throws -> ContainerInspect {
        let c = try resolve(ref)
        let upper = images.snapshots.upperDir(key: c.id)
        let execIDs = execs.withLockedValue { e in e.values.filter { $0.containerID == c.id && !$0.isInternal }.map(\.id) }
        return ContainerInspect(
            id: c.id, created: c.created, path: c.path, args: c.args, state: c.state, image: c.imageID,
            resolvConfPath: bundle(c.id) + "/resolv.conf", hostnamePath: bundle(c.id) + "/hostname",
            hostsPath: bundle(c.id) + "/hosts", logPath: logPath(c.id), name: "/" + c.name, restartCount: c.restartCount,
            execIDs: execIDs.isEmpty ? nil : execIDs, hostConfig: Self.inspectHostConfig(c.hostConfig),
            graphDriver: .init(name: "overlay2", data: ["MergedDir": rootfs(c.id), "UpperDir": upper,
                                                         "WorkDir": (upper as NSString).deletingLastPathComponent + "/work"]),
            mounts: c.mounts, config: { var cfg = c.config; cfg.hostConfig = nil; return cfg }(),
            networkSettings: networkSettings(c))
    }

    public func list(_ p: ContainerListParams) throws -> [ContainerSummary] {
        let filters = p.filters ?? [:]
        let known = ["id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume", "health", "is-task", "network"]
        for key in filters.keys where !known.contains(key) { throw LifecycleError.invalidArgument("invalid filter '\(key)'") }
        for s in filters["status"] ?? [] where !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(s) {
            throw LifecycleError.invalidArgument("invalid filter 'status=\(s)'")
        }
        var all = records.withLockedValue { Array($0.values) }.sorted { $0.createdAt > $1.createdAt }
        let before = try filters["before"]?.first.map { try resolve($0).createdAt }
        let since = try filters["since"]?.first.map { try resolve($0).createdAt }
        let ancestors = try (filters["ancestor"] ?? []).map { try images.resolve($0).description }
        let showAll = p.all == true || (p.limit ?? 0) > 0 || filters["status"] != nil || filters["exited"] != nil || before != nil || since != nil
        all = all.filter { c in
            if !showAll && !c.state.running && !c.state.restarting { return false }
            if let v = filters["id"], !v.contains(where: { c.id.hasPrefix($0) }) { return false }
            if let v = filters["name"], !v.contains(where: { c.name.range(of: $0.hasPrefix("/") ? String($0.dropFirst()) : $0, options: .regularExpression) != nil }) { return false }
            if let v = filters["status"], !v.contains(c.state.status) { return false }
            if let v = filters["exited"], !(c.state.status == "exited" && v.contains(String(c.state.exitCode))) { return false }
            if let v = filters["label"], !v.allSatisfy({ ImageService.labelMatches($0, c.config.labels ?? [:]) }) { return false }
            if !ancestors.isEmpty && !ancestors.contains(c.imageID) { return false }
            if let before, c.createdAt >= before { return false }
            if let since, c.createdAt <= since { return false }
            if let v = filters["volume"], !c.mounts.contains(where: { m in v.contains { $0 == m.name || $0 == m.destination } }) { return false }
            if let v = filters["network"] {
                let mine = c.endpoints ?? [:]
                if !v.contains(where: { f in mine.keys.contains(f) || mine.values.contains { $0.networkID == f || (!f.isEmpty && $0.networkID.hasPrefix(f)) } }) { return false }
            }
            if let v = filters["health"] {
                let h = c.state.health?.status ?? "none"
                if !v.contains(h) { return false }
            }
            return true
        }
        if let n = p.limit, n > 0 { all = Array(all.prefix(n)) }
        return all.map { c in
            ContainerSummary(id: c.id, names: ["/" + c.name], image: c.image, imageID: c.imageID,
                             command: ([c.path] + c.args).map(Self.quoteIfNeeded).joined(separator: " "),
                             created: Int64(c.createdAt), state: c.state.status, status: Self.statusText(c.state),
                             labels: c.config.labels ?? [:], mounts: c.mounts, networkMode: c.hostConfig.networkMode ?? "default",
                             ports: portSummaries(c), networks: c.endpoints ?? [:])
        }
    }

    static func quoteIfNeeded(_ s: String) -> String { s.contains(" ") ? "\"\(s)\"" : s }

    /// Docker's human status: `Up 3 minutes`, `Exited (0) 2 seconds ago`, `Created`.
    static func statusText(_ s: ContainerState, now: Date = Date()) -> String {
        func since(_ t: String) -> String {
            guard let d = LogReader.parseRFC3339(t) else { return "" }
            return humanDuration(now.timeIntervalSince1970 - d)
        }
        if s.restarting { return "Restarting (\(s.exitCode)) \(since(s.finishedAt)) ago" }
        if s.running {
            var out = "Up \(since(s.startedAt))"
            if s.paused { out += " (Paused)" }
            if let h = s.health { out += " (\(h.status == "starting" ? "health: starting" : h.status))" }
            return out
        }
        if s.status == "removing" { return "Removal In Progress" }
        if s.status == "dead" { return "Dead" }
        if s.startedAt == ContainerState.zeroTime { return "Created" }
        return "Exited (\(s.exitCode)) \(since(s.finishedAt)) ago"
    }

    /// Go's units.HumanDuration.
    static func humanDuration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 1 { return "Less than a second" }
        if s == 1 { return "1 second" }
        if s < 60 { return "\(s) seconds" }
        let m = s / 60
        if m == 1 { return "About a minute" }
        if m < 60 { return "\(m) minutes" }
        let h = Int((Double(s) / 3600).rounded())
        if h == 1 { return "About an hour" }
        if h < 48 { return "\(h) hours" }
        if h < 24 * 7 * 2 { return "\(h / 24) days" }
        if h < 24 * 30 * 2 { return "\(h / 24 / 7) weeks" }
        if h < 24 * 365 * 2 { return "\(h / 24 / 30) months" }
        return "\(h / 24 / 365) years"
    }
}
