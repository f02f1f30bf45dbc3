/// What went wrong reading or writing an archive: the step, the archive (path or fd), and
/// libarchive's (or the OS's) message.
public struct ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var archive: String
    public var message: String
    /// The entry being read or written when it failed, if any.
    public var entry: String?

    public init(operation: String, archive: String, message: String, entry: String? = nil) {
        self.operation = operation; self.archive = archive; self.message = message; self.entry = entry
    }

    public var description: String {
        "\(operation) \(archive)\(entry.map { " (entry \"\($0)\")" } ?? ""): \(message)"
    }
}

/// The kind of a tar entry.
public enum EntryType: Sendable, Equatable {
    case regular, directory, symlink, hardlink, characterDevice, blockDevice, fifo, socket
}

/// A point in time as tar stores it.
public struct Timestamp: Sendable, Equatable {
    public var seconds: Int
    public var nanoseconds: Int
    public init(seconds: Int, nanoseconds: Int = 0) { self.seconds = seconds; self.nanoseconds = nanoseconds }
}

/// An extended attribute of an entry (pax `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*`).
public struct Xattr: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) { self.name = name; self.value = value }
}

/// One entry's header. Paths are as stored in the archive (not cleaned: a reader of untrusted
/// archives must check them).
public struct ArchiveEntry: Sendable, Equatable {
    public var path: String
    public var type: EntryType
    /// Permission bits including setuid, setgid and sticky (07777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var userName: String?
    public var groupName: String?
    /// Size of the entry's data (0 for anything but regular files and hardlinks with data).
    public var size: Int64
    public var mtime: Timestamp
    public var atime: Timestamp?
    /// The target of a symlink.
    public var symlinkTarget: String?
    /// The (archive) path a hardlink points to.
    public var hardlinkTarget: String?
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    public var xattrs: [Xattr]

    public init(path: String, type: EntryType, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0, size: Int64 = 0,
                mtime: Timestamp = Timestamp(seconds: 0), symlinkTarget: String? = nil, hardlinkTarget: String? = nil,
                deviceMajor: UInt32 = 0, deviceMinor: UInt32 = 0, xattrs: [Xattr] = []) {
        self.path = path; self.type = type; self.mode = mode; self.uid = uid; self.gid = gid; self.size = size
        self.mtime = mtime; self.symlinkTarget = symlinkTarget; self.hardlinkTarget = hardlinkTarget
        self.deviceMajor = deviceMajor; self.deviceMinor = deviceMinor; self.xattrs = xattrs
    }
}
