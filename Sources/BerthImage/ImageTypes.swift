import Foundation

/// An OCI platform: `linux/amd64`, `linux/arm64/v8`.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String = "linux", architecture: String, variant: String? = nil) {
        self.os = os; self.architecture = architecture; self.variant = variant
    }

    /// Parses `os/arch[/variant]`.
    public init(parsing s: String) throws(ImageError) {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidReference(s, reason: "platform must be os/arch[/variant]")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// The platform of this machine.
    public static var host: Platform {
        #if arch(x86_64)
        return Platform(architecture: "amd64")
        #elseif arch(arm64)
        return Platform(architecture: "arm64", variant: "v8")
        #else
        return Platform(architecture: "unknown")
        #endif
    }

    /// True when an index entry with platform `other` can run here when `self` is asked for. A
    /// missing variant on either side matches (arm64 images often omit `v8`).
    public func matches(_ other: Platform) -> Bool {
        guard os == other.os, architecture == other.architecture else { return false }
        if let v = variant, let w = other.variant { return v == w }
        return true
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }
}

/// An OCI content descriptor.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: String?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType; self.digest = digest; self.size = size
        self.annotations = annotations; self.platform = platform
    }
}

/// An image manifest: OCI or Docker schema 2 (same shape).
public struct Manifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?
    public var subject: Descriptor?

    public init(schemaVersion: Int = 2, mediaType: String? = MediaType.ociManifest, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion; self.mediaType = mediaType; self.config = config
        self.layers = layers; self.annotations = annotations
    }
}

/// An image index: OCI index or Docker manifest list.
public struct Index: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: String? = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion; self.mediaType = mediaType; self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`, preferring an exact variant match.
    public func select(_ platform: Platform) -> Descriptor? {
        let candidates = manifests.filter { $0.platform.map(platform.matches) ?? false }
        return candidates.first { $0.platform?.variant == platform.variant } ?? candidates.first
    }
}

/// The `config` object inside an image config: Docker's field names (capitalised), as both OCI and
/// Docker write them.
public struct ContainerConfig: Codable, Hashable, Sendable {
    public var user: String?
    public var exposedPorts: [String: EmptyObject]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String: EmptyObject]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var argsEscaped: Bool?
    public var healthcheck: HealthConfig?
    public var onBuild: [String]?
    public var shell: [String]?

    enum CodingKeys: String, CodingKey {
        case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
        case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped", healthcheck = "Healthcheck", onBuild = "OnBuild", shell = "Shell"
    }

    public init() {}
}

/// `{}` in JSON: the value type of ExposedPorts and Volumes.
public struct EmptyObject: Codable, Hashable, Sendable {
    public init() {}
}

/// Docker's healthcheck extension of the image config (durations in nanoseconds).
public struct HealthConfig: Codable, Hashable, Sendable {
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
        case startInterval = "StartInterval", retries = "Retries"
    }

    public init() {}

    /// Durations in nanoseconds, as Docker's JSON has them.
    public init(test: [String], interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil, retries: Int? = nil) {
        self.test = test; self.interval = interval; self.timeout = timeout; self.startPeriod = startPeriod; self.retries = retries
    }
}

public struct RootFS: Codable, Hashable, Sendable {
    public var type: String
    public var diffIDs: [Digest]

    enum CodingKeys: String, CodingKey {
        case type
        case diffIDs = "diff_ids"
    }

    public init(diffIDs: [Digest]) { type = "layers"; self.diffIDs = diffIDs }
}

public struct History: Codable, Hashable, Sendable {
    public var created: String?
    public var createdBy: String?
    public var author: String?
    public var comment: String?
    public var emptyLayer: Bool?

    enum CodingKeys: String, CodingKey {
        case created, author, comment
        case createdBy = "created_by"
        case emptyLayer = "empty_layer"
    }

    public init(created: String? = nil, createdBy: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
        self.created = created; self.createdBy = createdBy; self.comment = comment; self.emptyLayer = emptyLayer
    }
}

/// The image config blob (OCI image-spec `config.json`, Docker's image JSON).
public struct ImageConfig: Codable, Hashable, Sendable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS
    public var history: [History]?
    /// Docker's top-level `comment` (`docker import -m`, `docker commit -m`).
    public var comment: String?

    public init(architecture: String = Platform.host.architecture, os: String = "linux", config: ContainerConfig? = nil, rootfs: RootFS, history: [History]? = nil, created: String? = nil) {
        self.architecture = architecture; self.os = os; self.config = config; self.rootfs = rootfs
        self.history = history; self.created = created
    }

    public var platform: Platform { Platform(os: os, architecture: architecture, variant: variant) }
}

/// Canonical JSON for blobs this program writes: sorted keys, no escaped slashes, so the same
/// content always has the same digest.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String, digest: Digest? = nil) throws(ImageError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw .invalidJSON(what: what, digest: digest?.description, reason: "\(error)")
        }
    }
}

/// The chain ID of a layer stack (OCI image-spec): ChainID(L0) = DiffID(L0),
/// ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
public enum ChainID {
    public static func of(_ diffIDs: [Digest]) -> [Digest] {
        var out: [Digest] = []
        for d in diffIDs {
            if let prev = out.last { out.append(Digest.sha256(of: Array("\(prev) \(d)".utf8))) } else { out.append(d) }
        }
        return out
    }
}
