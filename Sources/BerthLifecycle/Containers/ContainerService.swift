import Foundation
import Glibc
import NIOConcurrencyHelpers
import BerthImage
import BerthOCI
import BerthOS
import BerthWire

/// Where the container tier lives and what it runs.
public struct ContainerServiceOptions: Sendable {
    /// Data root: `containers/<id>/` holds each bundle (config.json, rootfs mount point, network
    /// files) and its json-file log.
    public var root: String
    /// Run root: `runtime/` is the runtime's state root, `containers/<id>/` each monitor's state.
    public var runRoot: String
    public var runtime: String
    public var monitor: String
    /// The init bind-mounted at /sbin/docker-init for `Init: true` (tini-static from docker.io).
    public var initBinary: String?
    /// Parent of each container's cgroup.
    public var cgroupParent: String

    public init(root: String, runRoot: String, runtime: String, monitor: String, initBinary: String?, cgroupParent: String = "/berth") {
        self.root = root; self.runRoot = runRoot; self.runtime = runtime; self.monitor = monitor
        self.initBinary = initBinary; self.cgroupParent = cgroupParent
    }
}

/// One container's in-memory companions: its operation lock, waiters and the restart back-off.
final class ContainerSlot: Sendable {
    let lock = AsyncRWLock()
    let live = NIOLockedValueBox(Live())

    struct Live {
        var waiters: [(condition: String, resume: @Sendable (ContainerWaitResult) -> Void)] = []
        /// The next restart delay (Docker's restart manager: 100 ms doubling, reset after 10 s up).
        var restartDelay: Double = 0.1
        var healthTask: Task<Void, Never>?
        /// Bumped on every start so a stale exit watcher can't act on a newer run.
        var generation = 0
        /// The `runtime delete` that follows an exit; remove waits for it instead of repeating it.
        var deleting: Task<Void, Never>?
    }
}

/// The container tier of berth-lifecycled: create, start, supervise (through berth-monitor), stop,
/// remove, logs, exec; restart policies and live restore. Every state change is persisted.
public final class ContainerService: Sendable {
    let options: ContainerServiceOptions
    let images: ImageService
    let volumes: VolumeService
    let networks: NetworkService
    let events: EventBus
    let builder: SpecBuilder
    let records = NIOLockedValueBox<[String: ContainerRecord]>([:])
    let slots = NIOLockedValueBox<[String: ContainerSlot]>([:])
    let execs = NIOLockedValueBox<[String: ExecRecord]>([:])

    var containersDir: String { options.root + "/containers" }
    var runtimeRoot: String { options.runRoot + "/runtime" }
    func bundle(_ id: String) -> String { "\(containersDir)/\(id)" }
    func rootfs(_ id: String) -> String { bundle(id) + "/rootfs" }
    func logPath(_ id: String) -> String { "\(bundle(id))/\(id)-json.log" }
    /// The monitor's state: short, so `monitor.sock` stays within sun_path's 108 bytes even
    /// under a long run root (128 bits of the ID are as unique as all 256).
    func stateDir(_ id: String) -> String { "\(options.runRoot)/c/\(id.prefix(32))" }
    /// The FIFO the container's `netwait` hook reads (in the monitor's state dir, new at each start).
    func netGatePath(_ id: String) -> String { stateDir(id) + "/netready" }

    public init(options: ContainerServiceOptions, images: ImageService, volumes: VolumeService, networks: NetworkService,
                events: EventBus) throws {
        self.options = options; self.images = images; self.volumes = volumes; self.networks = networks; self.events = events
        var host = SpecHost.current()
        host.initBinary = options.initBinary
        host.cgroupParent = options.cgroupParent
        builder = SpecBuilder(host: host, files: LocalSpecFiles())
        do {
            try FS.mkdirAll(containersDir, mode: 0o710)
            try FS.mkdirAll(options.runRoot + "/c", mode: 0o700)
            try FS.mkdirAll(options.runRoot + "/e", mode: 0o700)
            try FS.mkdirAll(runtimeRoot, mode: 0o700)
        } catch { throw LifecycleError.internalError("create container dirs: \(error)") }
        let all = try images.meta.containers()
        records.withLockedValue { r in for c in all { r[c.id] = c } }
    }

    // MARK: lookup

    /// A container by full ID, name (with or without `/`) or unique ID prefix, as Docker resolves.
    func resolve(_ ref: String) throws -> ContainerRecord {
        let all = records.withLockedValue { $0 }
        if let c = all[ref] { return c }
        let name = ref.hasPrefix("/") ? String(ref.dropFirst()) : ref
        if let c = all.values.first(where: { $0.name == name }) { return c }
        if !ref.isEmpty {
            let matches = all.values.filter { $0.id.hasPrefix(ref) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw LifecycleError.invalidArgument("multiple IDs found with provided prefix: \(ref)") }
        }
        throw LifecycleError.notFound("No such container: \(ref)")
    }

    func record(_ id: String) -> ContainerRecord? { records.withLockedValue { $0[id] } }

    func slot(_ id: String) -> ContainerSlot {
        slots.withLockedValue { s in
            if let x = s[id] { return x }
            let x = ContainerSlot()
            s[id] = x
            return x
        }
    }

    /// Applies `change` to the stored record and persists it; returns the new record.
    @discardableResult
    func update(_ id: String, _ change: (inout ContainerRecord) -> Void) throws -> ContainerRecord {
        // Read, change and persist under one lock: an exit and a stop may update one record at once.
        try records.withLockedValue { r in
            guard var c = r[id] else { throw LifecycleError.notFound("No such container: \(id)") }
            change(&c)
            try images.meta.putContainer(c)
            r[id] = c
            return c
        }
    }

    /// Container IDs using an image (the image service's in-use check).
    public func users(ofImage id: Digest) -> [String] {
        records.withLockedValue { r in r.values.filter { $0.imageID == id.description }.map(\.id) }
    }

    /// Container IDs using a volume (the volume service's in-use check).
    public func users(ofVolume name: String) -> [String] {
        records.withLockedValue { r in r.values.filter { $0.mounts.contains { $0.type == "volume" && $0.name == name } }.map(\.id) }
    }

    func emit(_ c: ContainerRecord, _ action: String, extra: [String: String] = [:]) {
        var attrs = c.config.labels ?? [:]
        attrs["image"] = c.image
        attrs["name"] = c.name
        for (k, v) in extra { attrs[k] = v }
        events.publish(type: "container", action: action, id: c.id, attributes: attrs)
    }

    // MARK: runtime

    struct CommandResult { var status: Int32; var output: String; var raw: String }

    func runRuntime(_ args: [String]) throws -> CommandResult {
        do {
            let r = try Subprocess.run(path: options.runtime, args: [options.runtime, "--root", runtimeRoot] + args,
                                       env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                       captureStderr: true, timeoutSeconds: 60)
            return CommandResult(status: r.status, output: Self.runtimeMessage(r.output), raw: String(decoding: r.output, as: UTF8.self))
        } catch {
            throw LifecycleError.internalError("run \(options.runtime): \(error)")
        }
    }

    /// The runtime's message without its log decoration (`--log-format json` lines or plain text).
    static func runtimeMessage(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var lines: [String] = []
        for line in text.split(separator: "\n") {
            if let d = line.data(using: .utf8), let obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
               let m = obj["msg"] as? String { lines.append(m) } else { lines.append(String(line)) }
        }
        return lines.joined(separator: "; ")
    }

    static func now() -> String { ImageService.timestamp() }

    static func randomID() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}

extension SpecHost {
    /// The facts of this host the builder needs.
    static func current() -> SpecHost {
        var h = SpecHost()
        if let s = try? FS.readString("/proc/sys/kernel/cap_last_cap"), let n = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)) { h.lastCap = n }
        h.cpuCount = ProcessInfo.processInfo.activeProcessorCount
        h.swapLimit = FS.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") || FS.exists("/sys/fs/cgroup/memory.swap.max")
        h.cgroupV2 = FS.exists("/sys/fs/cgroup/cgroup.controllers")
        var uts = utsname()
        if uname(&uts) == 0 {
            let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
            if parts.count == 2 { h.kernelVersion = parts }
        }
        h.hostname = ProcessInfo.processInfo.hostName
        return h
    }
}
