/// What the builder needs from the engine below it: images, cache entries, containers to run
/// steps in, and commits. berthd implements it over the lifecycle wire; tests can fake it.
public protocol BuildBackend: Sendable {
    /// The stored image `reference` names (a name or an ID), or nil when there is none.
    func image(_ reference: String) async throws -> BuildImage?
    /// Pulls `reference`, reporting progress as Docker JSON messages on `output`.
    func pull(_ reference: String, platform: String?, output: BuildOutput) async throws -> BuildImage
    /// The image a previous build stored under `key`, if it still exists.
    func cachedImage(key: String) async throws -> String?
    /// Creates (does not start) a container for a step.
    func createContainer(_ spec: BuildContainerSpec) async throws -> String
    /// Starts `container`, streams its output to `output`, and returns its exit code.
    func run(container: String, output: BuildOutput) async throws -> Int
    /// What is at `path` in the container's filesystem; nil when nothing is.
    func stat(container: String, path: String) async throws -> BuildPathStat?
    /// Extracts the tar at `tar` into the directory `path` of the container.
    func put(container: String, path: String, tar: String) async throws
    /// Writes a tar of `path` in the container (top entry named after its last component) to `tar`.
    func get(container: String, path: String, tar: String) async throws
    /// Removes a step container (errors are not the build's concern).
    func removeContainer(_ id: String) async
    /// A new image from a parent plus a container's diff, a layer tar, or no layer; its ID.
    func commit(_ commit: BuildCommit) async throws -> String
    /// Points `reference` at `image`.
    func tag(image: String, reference: String) async throws
}

/// An image as the builder sees it.
public struct BuildImage: Sendable, Equatable {
    public var id: String
    public var config: BuildConfig
    public init(id: String, config: BuildConfig) { self.id = id; self.config = config }
}

/// A step container: the image, the command, and the config it runs with.
public struct BuildContainerSpec: Sendable, Equatable {
    public var image: String
    public var cmd: [String]
    public var env: [String]
    public var user: String?
    public var workingDir: String?
    /// `--network` of the build or of the RUN (`default`, `none`, `host` or a network name).
    public var network: String?
    public var labels: [String: String]
    public init(image: String, cmd: [String], env: [String], user: String?, workingDir: String?, network: String?, labels: [String: String] = [:]) {
        self.image = image; self.cmd = cmd; self.env = env; self.user = user; self.workingDir = workingDir
        self.network = network; self.labels = labels
    }
}

/// Docker's `X-Docker-Container-Path-Stat` subset the builder uses.
public struct BuildPathStat: Sendable, Equatable {
    public var isDirectory: Bool
    public init(isDirectory: Bool) { self.isDirectory = isDirectory }
}

/// `image.build.commit`'s parameters.
public struct BuildCommit: Sendable, Equatable, Encodable {
    /// The parent image ID; "" for scratch.
    public var parent: String
    public var container: String?
    public var layerTar: String?
    public var config: BuildConfig
    public var createdBy: String
    public var comment: String?
    public var cacheKey: String?
    public init(parent: String, container: String? = nil, layerTar: String? = nil, config: BuildConfig, createdBy: String,
                comment: String? = nil, cacheKey: String? = nil) {
        self.parent = parent; self.container = container; self.layerTar = layerTar; self.config = config
        self.createdBy = createdBy; self.comment = comment; self.cacheKey = cacheKey
    }
}

/// Where a build's output goes: text for `{"stream"}`, Docker JSON messages passed through
/// (pull progress), and the final image ID (`{"aux":{"ID"}}`).
public struct BuildOutput: Sendable {
    public var text: @Sendable (String) -> Void
    public var message: @Sendable ([UInt8]) -> Void
    public var aux: @Sendable (String) -> Void
    public init(text: @escaping @Sendable (String) -> Void, message: @escaping @Sendable ([UInt8]) -> Void = { _ in },
                aux: @escaping @Sendable (String) -> Void = { _ in }) {
        self.text = text; self.message = message; self.aux = aux
    }
}
