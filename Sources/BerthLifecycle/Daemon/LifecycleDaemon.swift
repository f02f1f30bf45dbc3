import Foundation
import Glibc
import BerthImage
import BerthOS
import BerthRegistry
import BerthWire
import NIOConcurrencyHelpers
import NIOPosix

/// Where one berth-lifecycled instance lives; every path is a flag so tests run isolated instances.
public struct DaemonOptions: Sendable {
    public var root: String
    public var runRoot: String
    public var socket: String
    public var insecureRegistries: [String]
    /// dockerd's `--registry-mirror`: URLs (`https://host`, `http://host:port`) tried before docker.io.
    public var registryMirrors: [String] = []
    public var authFile: String?
    public var platform: String?
    /// berth-runtime and berth-monitor (default: beside this executable).
    public var runtime: String
    public var monitor: String
    /// The init for `Init: true` (default: docker.io's docker-init / tini-static if installed).
    public var initBinary: String?
    public var cgroupParent: String
    /// Bridges, subnets, iptables chains and CNI plugins (`runRoot` follows this struct's).
    public var network: NetworkServiceOptions

    public init(root: String = "/var/lib/berth", runRoot: String = "/run/berth", socket: String? = nil,
                insecureRegistries: [String] = [], authFile: String? = nil, platform: String? = nil,
                runtime: String? = nil, monitor: String? = nil, initBinary: String? = nil, cgroupParent: String = "/berth") {
        self.root = root; self.runRoot = runRoot; self.socket = socket ?? "\(runRoot)/lifecycle.sock"
        self.insecureRegistries = insecureRegistries; self.authFile = authFile; self.platform = platform
        self.runtime = runtime ?? Self.sibling("berth-runtime")
        self.monitor = monitor ?? Self.sibling("berth-monitor")
        self.initBinary = initBinary ?? ["/usr/bin/docker-init", "/usr/libexec/docker/docker-init", "/usr/bin/tini-static"]
            .first { access($0, X_OK) == 0 }
        self.cgroupParent = cgroupParent
        self.network = NetworkServiceOptions(runRoot: runRoot)
    }

    /// A program installed beside this executable (else by PATH lookup at run time).
    static func sibling(_ name: String) -> String {
        let exe = (try? FS.realpath("/proc/self/exe")) ?? ""
        let candidate = (exe as NSString).deletingLastPathComponent + "/" + name
        return access(candidate, X_OK) == 0 ? candidate : "/usr/local/bin/" + name
    }
}

/// berth-lifecycled: owns the data root (one instance per root, enforced by a lock), serves the
/// wire protocol, and recovers after a crash before it accepts requests.
public final class LifecycleDaemon: Sendable {
    public let options: DaemonOptions
    public let images: ImageService
    public let containers: ContainerService
    public let volumes: VolumeService
    public let networks: NetworkService
    public let events: EventBus
    let lockFD: Int32

    public init(options: DaemonOptions) throws {
        self.options = options
        do {
            try FS.mkdirAll(options.root, mode: 0o711)
            try FS.mkdirAll(options.runRoot, mode: 0o711)
        } catch { throw LifecycleError.internalError("\(error)") }
        lockFD = try Self.lock("\(options.root)/lifecycled.lock")
        var cfg = RegistryConfiguration()
        cfg.insecureRegistries = options.insecureRegistries
        for url in options.registryMirrors {
            var host = url
            let plain = host.hasPrefix("http://")
            for scheme in ["http://", "https://"] where host.hasPrefix(scheme) { host.removeFirst(scheme.count) }
            while host.hasSuffix("/") { host.removeLast() }
            guard !host.isEmpty, !host.contains("/") else { throw LifecycleError.invalidArgument("invalid registry mirror \(url): want https://host[:port]") }
            cfg.mirrors[Reference.defaultDomain, default: []].append(host)
            // An http:// mirror is one the operator allows plain HTTP to, as dockerd does.
            if plain { cfg.insecureRegistries.append(host) }
        }
        if let p = options.platform {
            do { cfg.platform = try Platform(parsing: p) } catch { throw LifecycleError.image(error) }
        }
        let auth: AuthFile
        do { auth = try AuthFile.load(path: options.authFile) } catch {
            throw LifecycleError.invalidArgument("registry auth file: \(error)")
        }
        // The image and volume in-use checks ask the container service, which needs them first.
        let users = UsageHooks()
        images = try ImageService(root: options.root, registry: RegistryClient(configuration: cfg, authFile: auth),
                                  usage: { users.images($0) })
        volumes = try VolumeService(root: options.root, usage: { users.volumes($0) })
        events = EventBus()
        var net = options.network
        net.runRoot = options.runRoot
        networks = try NetworkService(options: net, meta: images.meta, events: events, group: MultiThreadedEventLoopGroup.singleton)
        containers = try ContainerService(
            options: ContainerServiceOptions(root: options.root, runRoot: options.runRoot, runtime: options.runtime,
                                             monitor: options.monitor, initBinary: options.initBinary,
                                             cgroupParent: options.cgroupParent),
            images: images, volumes: volumes, networks: networks, events: events)
        users.set(containers)
        let containers = self.containers
        networks.setUsers { containers.networkUsers($0) }
    }

    /// Takes an exclusive lock on the data root: two daemons on one root would corrupt it.
    static func lock(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifecycleError.internalError("open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw LifecycleError.conflict("another berth-lifecycled is using this data root (\(path) is locked)")
        }
        return fd
    }

    /// Recovers, binds the socket, and serves until `stop`.
    public func serve() async throws -> WireServer {
        let gc = try await images.recover()
        if !gc.blobs.isEmpty || !gc.snapshots.isEmpty {
            Log.info("recovery removed \(gc.blobs.count) blobs and \(gc.snapshots.count) snapshots left by an interrupted operation")
        }
        await containers.restore()
        return try await WireServer.start(path: options.socket, router: router())
    }

    /// Releases the registry client's connections and the data-root lock.
    public func shutdown() async {
        try? await images.registry.shutdown()
        close(lockFD)
    }

    func router() -> WireRouter {
        var r = WireRouter()
        let images = self.images
        r.register("system.ping") { (_: Empty, _) in PingResult(version: BerthVersion.string) }
        r.register("system.info") { (_: Empty, _) in try images.info() }
        r.register("system.gc") { (_: Empty, _) in
            let g = try await images.collectGarbage()
            return GCSummary(blobs: g.blobs.count, snapshots: g.snapshots.count, bytes: g.bytes)
        }
        let events = self.events
        r.register("system.events") { (p: EventsParams, ctx) in
            try await events.stream(p) { ctx.progress($0) }
            return Empty()
        }
        images.register(on: &r, events: events)
        containers.register(on: &r)
        volumes.register(on: &r)
        networks.register(on: &r, containers: containers)
        return r
    }
}

/// Late binding of the in-use checks to the container service.
final class UsageHooks: Sendable {
    let service = NIOLockedValueBox<ContainerService?>(nil)
    func set(_ c: ContainerService) { service.withLockedValue { $0 = c } }
    func images(_ id: Digest) -> [String] { service.withLockedValue { $0 }?.users(ofImage: id) ?? [] }
    func volumes(_ name: String) -> [String] { service.withLockedValue { $0 }?.users(ofVolume: name) ?? [] }
}

public struct PingResult: Codable, Sendable {
    public var version: String
}

public struct GCSummary: Codable, Sendable {
    public var blobs: Int
    public var snapshots: Int
    public var bytes: Int64
}

/// Minimal leveled logging to stderr (the daemon's log goes wherever its supervisor sends it).
public enum Log {
    nonisolated(unsafe) public static var debugEnabled = false

    public static func info(_ m: String) { emit("info", m) }
    public static func error(_ m: String) { emit("error", m) }
    public static func debug(_ m: String) { if debugEnabled { emit("debug", m) } }

    static func emit(_ level: String, _ m: String) {
        let line = "time=\"\(ISO8601DateFormatter().string(from: Date()))\" level=\(level) msg=\"\(m)\"\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
