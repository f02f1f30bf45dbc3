import Foundation
import Glibc
import BerthArchive
import BerthImage
import BerthOS

/// The file-system operations Docker exposes on a container, over its overlayfs layers:
///
/// - `changes(upperDir:lowerDirs:)` — `GET /containers/{id}/changes` (`docker diff`)
/// - `writeLayerDiff(upperDir:lowerDirs:to:)` — the writable layer as an OCI layer (`docker commit`)
/// - `exportTar(mergedDir:to:)` — the whole root file system (`docker export`)
/// - `archiveStat` / `archiveGet` / `archivePut` — `HEAD/GET/PUT /containers/{id}/archive` (`docker cp`)
///
/// Trees are read one directory fd at a time (`At`/`FD` in BerthOS), never following a symlink,
/// so a container that plants symlinks in its own file system cannot make the daemon read or
/// write host files. `docker cp` paths are resolved inside the container root with
/// openat2(RESOLVE_IN_ROOT) (`InRoot`). All functions block: call them off the event loop.
public enum ContainerFilesystem {}

/// One entry of `GET /containers/{id}/changes`, encoded with Docker's keys:
/// `{"Path": "/tmp/x", "Kind": 1}`.
public struct FilesystemChange: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Docker's `ChangeType` values.
    public enum Kind: Int, Codable, Sendable {
        case modified = 0
        case added = 1
        case deleted = 2
    }

    /// Absolute path in the container.
    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) { self.path = path; self.kind = kind }

    enum CodingKeys: String, CodingKey {
        case path = "Path"
        case kind = "Kind"
    }

    /// `docker diff`'s line: `C /etc`, `A /tmp/x`, `D /old`.
    public var description: String {
        switch kind {
        case .modified: return "C \(path)"
        case .added: return "A \(path)"
        case .deleted: return "D \(path)"
        }
    }
}

/// What `docker cp` learns about a path before copying (`HEAD /containers/{id}/archive`), with
/// Docker's JSON keys. Sent base64-encoded in the `X-Docker-Container-Path-Stat` header.
public struct PathStat: Codable, Sendable, Equatable {
    /// Base name of the requested path (`/` for the root, `.` for a path ending in `/.`).
    public var name: String
    public var size: Int64
    /// Go `os.FileMode` bits (permissions plus `1<<31` directory, `1<<27` symlink, …).
    public var mode: UInt32
    /// Modification time, RFC 3339 with nanoseconds (Go's `time.Time` JSON), in UTC.
    public var mtime: String
    /// For a symlink: the absolute path in the container it resolves to (resolved inside the
    /// container root, like Docker); empty otherwise.
    public var linkTarget: String

    public init(name: String, size: Int64, mode: UInt32, mtime: String, linkTarget: String) {
        self.name = name; self.size = size; self.mode = mode; self.mtime = mtime; self.linkTarget = linkTarget
    }

    /// The `X-Docker-Container-Path-Stat` header value: base64 of the JSON.
    public var headerValue: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding five plain fields cannot fail; an empty header is the harmless fallback.
        guard let json = try? encoder.encode(self) else { return "" }
        return json.base64EncodedString()
    }
}

/// A layer tar written by `writeLayerDiff`: its sha256 (the diff ID: the tar is uncompressed)
/// and size in bytes.
public struct LayerDiff: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64

    public init(digest: Digest, size: Int64) { self.digest = digest; self.size = size }
}

/// Why a container file-system operation failed; each case names the path it was about.
public enum ContainerFilesystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path (as the client gave it) does not exist in the container.
    case notFound(path: String)
    /// A component of the path (as given) exists but is not a directory.
    case notADirectory(path: String)
    /// `docker cp` into something that is not a directory.
    case extractionPointNotDirectory(path: String)
    /// A system call failed.
    case io(operation: String, path: String, reason: String)
    /// Reading or writing the tar stream failed.
    case archive(operation: String, archive: String, entry: String?, reason: String)
    /// A tar entry given to `archivePut` would leave the destination or the container root.
    case unsafeArchiveEntry(destination: String, entry: String, reason: String)
    /// Extracting a tar entry failed (or NoOverwriteDirNonDir refused it).
    case extract(destination: String, entry: String?, reason: String)
    /// The upper directory uses an overlayfs feature whose data lives in the lower layers
    /// (redirect_dir, metacopy): the upper directory alone does not describe the change.
    case unsupportedOverlayFeature(path: String, feature: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "Could not find the file \(p) in container"
        case .notADirectory(let p): return "\(p): a path component is not a directory"
        case .extractionPointNotDirectory(let p): return "extraction point is not a directory: \(p)"
        case .io(let op, let p, let reason): return "\(op) \(p): \(reason)"
        case .archive(let op, let a, let entry, let reason):
            return "\(op) \(a)\(entry.map { " (entry \"\($0)\")" } ?? ""): \(reason)"
        case .unsafeArchiveEntry(let d, let entry, let reason): return "copy to \(d): refusing entry \"\(entry)\": \(reason)"
        case .extract(let d, let entry, let reason):
            return "copy to \(d)\(entry.map { ": entry \"\($0)\"" } ?? ""): \(reason)"
        case .unsupportedOverlayFeature(let p, let f):
            return "\(p): uses overlayfs \(f), whose data lives in the lower layers; mount overlays with \(f)=off"
        }
    }

    /// The message with the container's ID where Docker puts it ("Could not find the file /x in
    /// container <id>").
    public func message(container id: String) -> String {
        if case .notFound(let p) = self { return "Could not find the file \(p) in container \(id)" }
        return description
    }

    /// The lifecycle error (and so the HTTP status) for this failure, with `container` in the
    /// not-found text.
    public func lifecycleError(container id: String) -> LifecycleError {
        switch self {
        case .notFound: return .notFound(message(container: id))
        case .notADirectory, .extractionPointNotDirectory, .unsafeArchiveEntry, .extract: return .invalidArgument(description)
        case .io, .archive, .unsupportedOverlayFeature: return .internalError(description)
        }
    }
}

// MARK: - Shared helpers

extension ContainerFilesystem {
    /// Deepest directory nesting the walks follow. Each level holds a directory fd (and one per
    /// merged lower layer for `changes`) and a stack frame: a container that nests directories
    /// thousands deep gets an error instead of exhausting the daemon's fds or stack.
    public static let maxDepth = 512

    static func tooDeep(_ path: String) -> ContainerFilesystemError {
        .io(operation: "walk", path: path, reason: "directories nested deeper than \(maxDepth) levels")
    }

    static func fileType(_ st: stat) -> mode_t { st.st_mode & S_IFMT }
    static func isDirectory(_ st: stat) -> Bool { fileType(st) == S_IFDIR }

    /// An overlayfs whiteout: a character device 0:0.
    static func isWhiteout(_ st: stat) -> Bool { fileType(st) == S_IFCHR && st.st_rdev == 0 }

    /// glibc's gnu_dev_major / gnu_dev_minor.
    static func major(_ dev: dev_t) -> UInt32 {
        let d = UInt64(dev)
        return UInt32(truncatingIfNeeded: ((d >> 8) & 0xfff) | ((d >> 32) & ~UInt64(0xfff)))
    }

    static func minor(_ dev: dev_t) -> UInt32 {
        let d = UInt64(dev)
        return UInt32(truncatingIfNeeded: (d & 0xff) | ((d >> 12) & ~UInt64(0xff)))
    }

    /// Go's `sort.Strings` order (bytes), which is what Docker's walks and sorts use; Swift's
    /// `<` on String compares Unicode scalars after normalization.
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Go's `os.FileMode` of an lstat result (`fs.fillFileStatFromSys`).
    static func goFileMode(_ st: stat) -> UInt32 {
        var m = UInt32(st.st_mode & 0o777)
        switch fileType(st) {
        case S_IFBLK: m |= 1 << 26
        case S_IFCHR: m |= (1 << 26) | (1 << 21)
        case S_IFDIR: m |= 1 << 31
        case S_IFIFO: m |= 1 << 25
        case S_IFLNK: m |= 1 << 27
        case S_IFSOCK: m |= 1 << 24
        default: break
        }
        if st.st_mode & S_ISGID != 0 { m |= 1 << 22 }
        if st.st_mode & S_ISUID != 0 { m |= 1 << 23 }
        if st.st_mode & S_ISVTX != 0 { m |= 1 << 20 }
        return m
    }

    /// Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped, no fraction at all
    /// for whole seconds (`2024-01-02T03:04:05.5Z`).
    static func rfc3339Nano(seconds: Int, nanoseconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
        out += "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))"
        if nanoseconds > 0 {
            var frac = pad(Int32(nanoseconds), 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        return out + "Z"
    }

    /// overlayfs' own xattrs describe how the upper layer merges with the lowers; they mean
    /// nothing in a tar (opaque directories travel as `.wh..wh..opq`).
    static func keepXattr(_ name: String) -> Bool { !name.hasPrefix("trusted.overlay.") }

    static func io(_ e: OSError, _ path: String) -> ContainerFilesystemError {
        .io(operation: e.operation, path: path, reason: String(cString: strerror(e.code)))
    }

    static func archive(_ e: ArchiveError) -> ContainerFilesystemError {
        .archive(operation: e.operation, archive: e.archive, entry: e.entry, reason: e.message)
    }

    /// Opens a directory of the host (a layer or the merged mount) for walking.
    static func openTreeRoot(_ path: String) throws(ContainerFilesystemError) -> Int32 {
        do { return try At.openDirectory(AT_FDCWD, path) } catch { throw io(error, path) }
    }
}
