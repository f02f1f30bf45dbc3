import Glibc
import CBerthInit

/// What lstat(2) says about a path, without following a final symlink.
public struct FileInfo: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symlink, characterDevice, blockDevice, fifo, socket }
    public var kind: Kind
    /// Permission bits, including setuid/setgid/sticky.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// For devices: the device number.
    public var major: UInt64
    public var minor: UInt64
    /// st_size and st_mtime (whole seconds), from the same lstat.
    public var size: Int64
    public var mtime: Int

    public init(kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, major: UInt64 = 0, minor: UInt64 = 0,
                size: Int64 = 0, mtime: Int = 0) {
        self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid; self.major = major; self.minor = minor
        self.size = size; self.mtime = mtime
    }
}

extension FS {
    /// lstat(2) of `path`; nil when the path (or a parent) does not exist.
    public static func info(_ path: String) throws(OSError) -> FileInfo? {
        var st = stat()
        if Glibc.lstat(path, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw OSError("lstat", path)
        }
        let kind: FileInfo.Kind
        switch st.st_mode & S_IFMT {
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        default: kind = .regular
        }
        let dev = UInt64(st.st_rdev)
        return FileInfo(kind: kind, mode: UInt32(st.st_mode & ~S_IFMT), uid: st.st_uid, gid: st.st_gid,
                        major: ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)),
                        minor: (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)),
                        size: Int64(st.st_size), mtime: Int(st.st_mtim.tv_sec))
    }
}

extension FS {
    /// Whether an overlayfs is mounted at `path` (statfs f_type OVERLAYFS_SUPER_MAGIC).
    public static func isOverlayMount(_ path: String) -> Bool {
        berth_fs_type(path) == 0x794c7630
    }
}
