import Glibc
import BerthOS

/// `SpecFiles` on the real file system. Rootfs files are read with `FS.readInRoot`, so a symlinked
/// /etc/passwd in an image can't lead to a host file.
public struct LocalSpecFiles: SpecFiles {
    public init() {}

    public func readRootfsFile(rootfs: String, _ path: String) throws -> String? {
        do { return try FS.readInRoot(rootfs, path) } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return nil }
            throw error
        }
    }

    public func readHostFile(_ path: String) throws -> String { try FS.readString(path) }

    public func hostNode(_ path: String) throws -> HostNode? {
        guard let info = try FS.info(path) else { return nil }
        let kind: HostNode.Kind
        switch info.kind {
        case .characterDevice: kind = .characterDevice
        case .blockDevice: kind = .blockDevice
        case .fifo: kind = .fifo
        case .directory: kind = .directory
        case .symlink: kind = .symlink
        default: kind = .other
        }
        return HostNode(kind: kind, major: Int64(info.major), minor: Int64(info.minor), mode: info.mode, uid: info.uid, gid: info.gid)
    }

    public func hostDirectory(_ path: String) throws -> [String] { try FS.list(path) }

    public func resolveHostSymlinks(_ path: String) -> String? { try? FS.realpath(path) }
}
