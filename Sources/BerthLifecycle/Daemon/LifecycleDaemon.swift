import Foundation
import Glibc
import BerthImage
import BerthOS
import BerthRegistry
import BerthWire

/// Where one berth-lifecycled instance lives; every path is a flag so tests run isolated instances.
public struct DaemonOptions: Sendable {
    public var root: String
    public var runRoot: String
    public var socket: String
    public var insecureRegistries: [String]
    public var authFile: String?
    public var platform: String?

    public init(root: String = "/var/lib/berth", runRoot: String = "/run/berth", socket: String? = nil,
                insecureRegistries: [String] = [], authFile: String? = nil, platform: String? = nil) {
        self.root = root; self.runRoot = runRoot; self.socket = socket ?? "\(runRoot)/lifecycle.sock"
        self.insecureRegistries = insecureRegistries; self.authFile = authFile; self.platform = platform
    }
}

/// berth-lifecycled: owns the data root (one instance per root, enforced by a lock), serves the
/// wire protocol, and recovers after a crash before it accepts requests.
public final class LifecycleDaemon: Sendable {
    public let options: DaemonOptions
    public let images: ImageService
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
        if let p = options.platform {
            do { cfg.platform = try Platform(parsing: p) } catch { throw LifecycleError.image(error) }
        }
        let auth: AuthFile
        do { auth = try AuthFile.load(path: options.authFile) } catch {
            throw LifecycleError.invalidArgument("registry auth file: \(error)")
        }
        images = try ImageService(root: options.root, registry: RegistryClient(configuration: cfg, authFile: auth))
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
        images.register(on: &r)
        return r
    }
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
