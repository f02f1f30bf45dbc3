// Messages of the `volume.*` methods. Volumes, create bodies and list/prune answers use the Docker
// Engine API's JSON keys (`Name`, `Mountpoint`, `VolumesDeleted`, ...), so berthd passes them
// through untranslated; the small request wrappers use lowercase keys like the image methods.
// Specs/lifecycle-protocol.md lists them.

/// The body of `POST /volumes/create`. Every field is optional: no name makes an anonymous volume,
/// no driver means `local`.
public struct VolumeCreateParams: Codable, Sendable, Equatable {
    public var name: String?
    /// Only `local` (Docker's built-in driver) exists; another name is refused as a missing plugin.
    public var driver: String?
    /// The local driver's `type`, `device` and `o` (as for `mount -t <type> -o <o> <device>`).
    public var driverOpts: [String: String]?
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", driverOpts = "DriverOpts", labels = "Labels"
    }

    public init(name: String? = nil, driver: String? = nil, driverOpts: [String: String]? = nil, labels: [String: String]? = nil) {
        self.name = name; self.driver = driver; self.driverOpts = driverOpts; self.labels = labels
    }
}

/// Docker's Volume object (`docker volume inspect`).
public struct Volume: Codable, Sendable, Equatable {
    public var name: String
    public var driver: String
    /// The host directory a container mounts: `<root>/volumes/<name>/_data`.
    public var mountpoint: String
    /// RFC 3339, UTC.
    public var createdAt: String?
    /// Driver-specific status; the local driver reports none.
    public var status: [String: String]?
    public var labels: [String: String]
    /// Always `local`: a volume lives on this host.
    public var scope: String
    /// The driver options it was created with.
    public var options: [String: String]
    /// Only filled where Docker fills it (`GET /system/df`).
    public var usageData: VolumeUsageData?

    enum CodingKeys: String, CodingKey {
        case name = "Name", driver = "Driver", mountpoint = "Mountpoint", createdAt = "CreatedAt", status = "Status"
        case labels = "Labels", scope = "Scope", options = "Options", usageData = "UsageData"
    }

    public init(name: String, driver: String, mountpoint: String, createdAt: String? = nil, status: [String: String]? = nil,
                labels: [String: String], scope: String = "local", options: [String: String], usageData: VolumeUsageData? = nil) {
        self.name = name; self.driver = driver; self.mountpoint = mountpoint; self.createdAt = createdAt; self.status = status
        self.labels = labels; self.scope = scope; self.options = options; self.usageData = usageData
    }
}

/// Disk use and references of one volume.
public struct VolumeUsageData: Codable, Sendable, Equatable {
    /// Bytes, each hard-linked file once.
    public var size: Int64
    /// Containers using the volume.
    public var refCount: Int64

    enum CodingKeys: String, CodingKey { case size = "Size", refCount = "RefCount" }

    public init(size: Int64, refCount: Int64) { self.size = size; self.refCount = refCount }
}

/// `volume.inspect`: which volume.
public struct VolumeNameParams: Codable, Sendable, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// `volume.list` (`GET /volumes`).
public struct VolumeListParams: Codable, Sendable, Equatable {
    /// Docker's filters: `name` (regular expression, so plain text matches a substring), `label`
    /// (`key` or `key=value`, all must match), `dangling` (`true`/`false`: used by no container),
    /// `driver`.
    public var filters: [String: [String]]?
    public init(filters: [String: [String]]? = nil) { self.filters = filters }
}

/// The answer of `GET /volumes`.
public struct VolumeListResult: Codable, Sendable, Equatable {
    public var volumes: [Volume]
    public var warnings: [String]

    enum CodingKeys: String, CodingKey { case volumes = "Volumes", warnings = "Warnings" }

    public init(volumes: [Volume], warnings: [String] = []) { self.volumes = volumes; self.warnings = warnings }
}

/// `volume.remove` (`DELETE /volumes/{name}`).
public struct VolumeRemoveParams: Codable, Sendable, Equatable {
    public var name: String
    /// As in Docker: a missing volume is not an error. A volume in use is still refused.
    public var force: Bool?
    public init(name: String, force: Bool? = nil) { self.name = name; self.force = force }
}

/// `volume.prune` (`POST /volumes/prune`).
public struct VolumePruneParams: Codable, Sendable, Equatable {
    /// Docker's prune filters: `label`, `label!` (`key` or `key=value`), and `all` (`true` to
    /// prune named volumes too; by default only anonymous ones go, as in Docker 23 and later).
    public var filters: [String: [String]]?
    public init(filters: [String: [String]]? = nil) { self.filters = filters }
}

/// The answer of `POST /volumes/prune`.
public struct VolumePruneResult: Codable, Sendable, Equatable {
    public var volumesDeleted: [String]
    /// Bytes, as Docker counts them (file sizes, hard links once).
    public var spaceReclaimed: Int64

    enum CodingKeys: String, CodingKey { case volumesDeleted = "VolumesDeleted", spaceReclaimed = "SpaceReclaimed" }

    public init(volumesDeleted: [String], spaceReclaimed: Int64) {
        self.volumesDeleted = volumesDeleted; self.spaceReclaimed = spaceReclaimed
    }
}
