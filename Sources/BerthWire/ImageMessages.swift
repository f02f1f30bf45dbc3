import BerthImage

// Messages of the `image.*` methods. Field names follow the Docker Engine API where one exists, so
// berthd passes them through with little translation. Specs/lifecycle-protocol.md lists them.

/// Registry credentials for one request (the API daemon decodes X-Registry-Auth into this).
public struct RegistryAuth: Codable, Sendable, Equatable {
    public var username: String?
    public var password: String?
    public var identityToken: String?
    public var registryToken: String?
    public var serverAddress: String?

    public init(username: String? = nil, password: String? = nil, identityToken: String? = nil, registryToken: String? = nil, serverAddress: String? = nil) {
        self.username = username; self.password = password; self.identityToken = identityToken
        self.registryToken = registryToken; self.serverAddress = serverAddress
    }
}

/// One progress line, in the shape of Docker's JSON message stream: `{"id":"a3ed95caeb02",
/// "status":"Downloading","progressDetail":{"current":1,"total":2}}`.
public struct ProgressEvent: Codable, Sendable, Equatable {
    public var id: String?
    public var status: String
    public var current: Int64?
    public var total: Int64?

    public init(id: String? = nil, status: String, current: Int64? = nil, total: Int64? = nil) {
        self.id = id; self.status = status; self.current = current; self.total = total
    }
}

public struct ImagePullParams: Codable, Sendable {
    public var reference: String
    /// `os/arch[/variant]`; the host's platform when absent.
    public var platform: String?
    public var auth: RegistryAuth?

    public init(reference: String, platform: String? = nil, auth: RegistryAuth? = nil) {
        self.reference = reference; self.platform = platform; self.auth = auth
    }
}

public struct ImagePullResult: Codable, Sendable {
    /// The normalised reference pulled: `docker.io/library/busybox:latest`.
    public var reference: String
    /// Image ID (config digest).
    public var id: String
    /// The digest pulled by: the index's when the reference named one, else the manifest's.
    public var digest: String
    /// "Downloaded newer image for busybox:latest" or "Image is up to date for busybox:latest".
    public var status: String

    public init(reference: String, id: String, digest: String, status: String) {
        self.reference = reference; self.id = id; self.digest = digest; self.status = status
    }
}

public struct ImagePushParams: Codable, Sendable {
    public var reference: String
    public var auth: RegistryAuth?

    public init(reference: String, auth: RegistryAuth? = nil) { self.reference = reference; self.auth = auth }
}

public struct ImagePushResult: Codable, Sendable {
    public var reference: String
    public var digest: String
    public var size: Int64

    public init(reference: String, digest: String, size: Int64) {
        self.reference = reference; self.digest = digest; self.size = size
    }
}

public struct ImageListParams: Codable, Sendable {
    /// Docker's filters: `reference`, `dangling`, `label`, `before`, `since`.
    public var filters: [String: [String]]?
    public var all: Bool?

    public init(filters: [String: [String]]? = nil, all: Bool? = nil) { self.filters = filters; self.all = all }
}

/// An entry of `image.list`, shaped like the Engine API's ImageSummary.
public struct ImageSummary: Codable, Sendable, Equatable {
    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    /// Unix seconds.
    public var created: Int64
    public var size: Int64
    public var labels: [String: String]
    public var containers: Int

    public init(id: String, repoTags: [String], repoDigests: [String], created: Int64, size: Int64, labels: [String: String], containers: Int) {
        self.id = id; self.repoTags = repoTags; self.repoDigests = repoDigests; self.created = created; self.size = size; self.labels = labels; self.containers = containers
    }
}

public struct ImageRefParams: Codable, Sendable {
    public var reference: String
    public init(reference: String) { self.reference = reference }
}

public struct LayerInfo: Codable, Sendable, Equatable {
    public var digest: String
    public var mediaType: String
    public var size: Int64
    public var diffID: String
    public var chainID: String

    public init(digest: String, mediaType: String, size: Int64, diffID: String, chainID: String) {
        self.digest = digest; self.mediaType = mediaType; self.size = size; self.diffID = diffID; self.chainID = chainID
    }
}

/// `image.inspect`, shaped like the Engine API's ImageInspect plus the manifest it came from.
public struct ImageInspect: Codable, Sendable {
    public var id: String
    public var repoTags: [String]
    public var repoDigests: [String]
    public var created: String?
    public var author: String?
    public var comment: String?
    public var config: ContainerConfig?
    public var architecture: String
    public var variant: String?
    public var os: String
    public var size: Int64
    public var rootFS: RootFS
    public var manifestDigest: String
    public var manifestMediaType: String
    public var layers: [LayerInfo]
    /// Chain ID of the top layer: the snapshot a container's rootfs is prepared from.
    public var topChainID: String?
    /// All chain IDs, bottom-first.
    public var chainIDs: [String]

    public init(id: String, repoTags: [String], repoDigests: [String], created: String? = nil, author: String? = nil, comment: String? = nil, config: ContainerConfig? = nil, architecture: String, variant: String? = nil, os: String, size: Int64, rootFS: RootFS, manifestDigest: String, manifestMediaType: String, layers: [LayerInfo], topChainID: String? = nil, chainIDs: [String]) {
        self.id = id; self.repoTags = repoTags; self.repoDigests = repoDigests; self.created = created; self.author = author; self.comment = comment; self.config = config; self.architecture = architecture; self.variant = variant; self.os = os; self.size = size; self.rootFS = rootFS; self.manifestDigest = manifestDigest; self.manifestMediaType = manifestMediaType; self.layers = layers; self.topChainID = topChainID; self.chainIDs = chainIDs
    }
}

public struct HistoryEntry: Codable, Sendable, Equatable {
    /// The image ID for the top entry, `<missing>` for the others (as Docker shows).
    public var id: String
    public var created: Int64
    public var createdBy: String
    public var tags: [String]
    public var size: Int64
    public var comment: String

    public init(id: String, created: Int64, createdBy: String, tags: [String], size: Int64, comment: String) {
        self.id = id; self.created = created; self.createdBy = createdBy; self.tags = tags; self.size = size; self.comment = comment
    }
}

public struct ImageTagParams: Codable, Sendable {
    public var source: String
    public var target: String
    public init(source: String, target: String) { self.source = source; self.target = target }
}

public struct ImageRemoveParams: Codable, Sendable {
    public var reference: String
    public var force: Bool?
    public var noPrune: Bool?
    public init(reference: String, force: Bool? = nil, noPrune: Bool? = nil) {
        self.reference = reference; self.force = force; self.noPrune = noPrune
    }
}

/// One line of `docker rmi` output.
public struct ImageDeleteItem: Codable, Sendable, Equatable {
    public var untagged: String?
    public var deleted: String?
    public init(untagged: String? = nil, deleted: String? = nil) { self.untagged = untagged; self.deleted = deleted }
}

public struct ImagePruneParams: Codable, Sendable {
    /// Remove all unused images, not only dangling ones (`docker image prune -a`).
    public var all: Bool?
    public var filters: [String: [String]]?
    public init(all: Bool? = nil, filters: [String: [String]]? = nil) { self.all = all; self.filters = filters }
}

public struct ImagePruneResult: Codable, Sendable {
    public var deleted: [ImageDeleteItem]
    public var spaceReclaimed: Int64

    public init(deleted: [ImageDeleteItem], spaceReclaimed: Int64) {
        self.deleted = deleted; self.spaceReclaimed = spaceReclaimed
    }
}

public struct ImageImportParams: Codable, Sendable {
    /// A rootfs tarball (plain, gzip or zstd) or a FIFO the caller writes it into.
    public var path: String
    public var reference: String?
    public var message: String?
    /// Dockerfile-style changes: `CMD ["sh"]`, `ENV A=b`, `WORKDIR /x`, …
    public var changes: [String]?
    public var platform: String?

    public init(path: String, reference: String? = nil, message: String? = nil, changes: [String]? = nil, platform: String? = nil) {
        self.path = path; self.reference = reference; self.message = message; self.changes = changes; self.platform = platform
    }
}

public struct ImageIDResult: Codable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}

public struct ImageSaveParams: Codable, Sendable {
    public var references: [String]
    /// A file or FIFO the daemon writes the tarball to.
    public var path: String
    public init(references: [String], path: String) { self.references = references; self.path = path }
}

public struct ImageLoadParams: Codable, Sendable {
    /// A `docker save` tarball or OCI image layout tarball, or a FIFO the caller writes it into.
    public var path: String
    public init(path: String) { self.path = path }
}

public struct ImageLoadResult: Codable, Sendable {
    /// "busybox:latest" per tagged image, "sha256:…" for untagged ones.
    public var loaded: [String]

    public init(loaded: [String]) {
        self.loaded = loaded
    }
}

public struct SystemInfo: Codable, Sendable {
    public var version: String
    public var root: String
    public var images: Int
    public var snapshots: Int
    public var leases: Int

    public init(version: String, root: String, images: Int, snapshots: Int, leases: Int) {
        self.version = version; self.root = root; self.images = images; self.snapshots = snapshots; self.leases = leases
    }
}

public struct SnapshotPrepareParams: Codable, Sendable {
    /// The container's key: one writable snapshot per key.
    public var key: String
    /// The image whose layers are the read-only lower dirs.
    public var image: String
    public init(key: String, image: String) { self.key = key; self.image = image }
}

public struct SnapshotKeyParams: Codable, Sendable {
    public var key: String
    public init(key: String) { self.key = key }
}

/// How to mount a prepared snapshot: `mount -t overlay overlay -o <options> <target>`.
public struct SnapshotMount: Codable, Sendable {
    public var type: String
    /// Read-only layers, top first.
    public var lowerDirs: [String]
    public var upperDir: String
    public var workDir: String
    public var options: String

    public init(type: String, lowerDirs: [String], upperDir: String, workDir: String, options: String) {
        self.type = type; self.lowerDirs = lowerDirs; self.upperDir = upperDir; self.workDir = workDir; self.options = options
    }
}

/// What `registry.login` answers when the registry accepted the credentials (Docker's `POST /auth`).
public struct RegistryLoginResult: Codable, Sendable, Equatable {
    /// "Login Succeeded".
    public var status: String
    /// An OAuth2 refresh token, when the registry issued one (never, for now: empty).
    public var identityToken: String

    public init(status: String = "Login Succeeded", identityToken: String = "") {
        self.status = status; self.identityToken = identityToken
    }
}

/// `image.build.commit`: one step of a classic `docker build`, committed onto `parent`.
public struct ImageBuildCommitParams: Codable, Sendable {
    /// The image the step runs on (an ID or name), or "" for `FROM scratch`.
    public var parent: String
    /// A stopped container made from `parent`: its writable layer's diff becomes the new layer.
    public var container: String?
    /// An uncompressed layer tar the API daemon wrote (`COPY`, `ADD`): ingested as `image.import` does.
    public var layerTar: String?
    /// The new image's `config` object, set exactly as given (not merged with the parent's).
    public var config: ContainerConfig
    /// The history entry's `created_by`: `/bin/sh -c #(nop)  CMD ["sh"]`.
    public var createdBy: String
    public var comment: String?
    /// The step's build-cache key; `image.build.cache` finds the new image by it.
    public var cacheKey: String?
    /// Tags for the new image (the last step's `-t`).
    public var references: [String]?

    public init(parent: String, container: String? = nil, layerTar: String? = nil, config: ContainerConfig, createdBy: String,
                comment: String? = nil, cacheKey: String? = nil, references: [String]? = nil) {
        self.parent = parent; self.container = container; self.layerTar = layerTar; self.config = config
        self.createdBy = createdBy; self.comment = comment; self.cacheKey = cacheKey; self.references = references
    }
}

public struct ImageBuildCacheParams: Codable, Sendable {
    public var key: String
    public init(key: String) { self.key = key }
}

/// `image.build.cache`'s answer: the cached step's image, or null (sent as `"id": null`).
public struct ImageBuildCacheResult: Codable, Sendable, Equatable {
    public var id: String?
    public init(id: String?) { self.id = id }

    enum CodingKeys: String, CodingKey { case id }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Explicit null rather than a missing key: the schema requires `id`.
        try c.encode(id, forKey: .id)
    }
}
