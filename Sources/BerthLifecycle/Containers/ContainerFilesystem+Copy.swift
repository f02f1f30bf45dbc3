import Glibc
import BerthArchive
import BerthImage
import BerthOS

extension ContainerFilesystem {
    /// `HEAD /containers/{id}/archive?path=`: what `path` (absolute in the container; a relative
    /// one is taken from `/`) is, resolved inside the container root `root` (the merged mount).
    /// Like Docker, every component but the last is followed (inside the root), and the last
    /// one only when the path ends in `/` or `/.`, so a symlink is reported as a symlink with
    /// `linkTarget` set to where it resolves in the container.
    public static func archiveStat(root: String, path: String) throws(ContainerFilesystemError) -> PathStat {
        let p = CopyPath(path)
        let inRoot = try openRoot(root)
        defer { inRoot.close() }
        let found = try locate(p, in: inRoot)
        FD.close(found.dirfd)
        return try pathStat(p, found.stat, in: inRoot)
    }

    /// `GET /containers/{id}/archive?path=`: a tar of `path` in the container root `root`,
    /// written to `fd` (not closed). Returns the path's stat (the `X-Docker-Container-Path-Stat`
    /// header). Paths resolve as in `archiveStat`.
    ///
    /// Docker's naming: the top entry is the path's base name and everything below it is under
    /// it (`/etc` gives `etc/`, `etc/passwd`, …); a path ending in `/.` gives `./`, `./passwd`
    /// (the contents, for `docker cp ctr:/etc/. dir`); `/` gives `/`, `/bin/`, …. A final symlink
    /// is archived as the symlink; nothing below the path is followed. Hardlinks within the
    /// copied tree are kept, xattrs copied (but overlayfs' own).
    @discardableResult
    public static func archiveGet(root: String, path: String, to fd: Int32) throws(ContainerFilesystemError) -> PathStat {
        let p = CopyPath(path)
        let inRoot = try openRoot(root)
        defer { inRoot.close() }
        let found = try locate(p, in: inRoot)
        defer { FD.close(found.dirfd) }
        let stat = try pathStat(p, found.stat, in: inRoot)
        let host = root + p.absolute
        do {
            let writer = try ArchiveWriter(fd: fd, name: "archive of \(path)")
            var tree = TreeArchiver(writer: writer)
            try tree.add(found.dirfd, found.name, found.stat, hostPath: host, archivePath: p.rebase)
            try writer.finish()
        } catch let e as ContainerFilesystemError { throw e } catch let e as ArchiveError { throw archive(e) } catch let e as OSError {
            throw io(e, host)
        } catch {
            throw .archive(operation: "write", archive: "archive of \(path)", entry: nil, reason: "\(error)")
        }
        return stat
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the tar read from `fd` (plain, gzip, xz,
    /// bzip2 or zstd; read to its end, not closed) into directory `path` of the container root
    /// `root`.
    ///
    /// The destination is resolved inside the root with a final symlink followed (Docker
    /// extracts into the directory a symlink points to); it must exist and be a directory.
    /// Entries are extracted by `LayerUnpacker.extract`: every parent directory, symlink and
    /// hardlink target is resolved inside the root (openat2 RESOLVE_IN_ROOT), so `../` paths,
    /// absolute symlinks and symlink-then-write entries cannot reach outside it; `../` paths and
    /// relative symlinks climbing above the destination are refused, as Docker refuses them.
    /// `.wh.*` names are ordinary files here. Owners, modes, mtimes and xattrs come from the tar.
    /// With `noOverwriteDirNonDir`, an existing directory is never replaced by a non-directory or
    /// the other way round.
    public static func archivePut(root: String, path: String, from fd: Int32, noOverwriteDirNonDir: Bool = false) throws(ContainerFilesystemError) {
        let p = CopyPath(path)
        let inRoot = try openRoot(root)
        defer { inRoot.close() }
        let st: stat
        do { st = try inRoot.resolvedStat(p.absolute) } catch { throw locateError(error, p) }
        guard isDirectory(st) else { throw .extractionPointNotDirectory(path: path) }
        // Entries are extracted under the directory's real path, so relative symlinks in the tar
        // are checked against the directory they land in.
        let destination = try resolveInScope(p.components, in: inRoot, given: path)
        do {
            try LayerUnpacker.extract(fd: fd, root: root, into: destination, noOverwriteDirNonDir: noOverwriteDirNonDir,
                                      archive: "archive for \(path)")
        } catch {
            switch error {
            case .unsafeLayerEntry(_, let entry, let reason): throw .unsafeArchiveEntry(destination: path, entry: entry, reason: reason)
            case .layerUnpack(_, let entry, let reason): throw .extract(destination: path, entry: entry, reason: reason)
            case .io(let op, let at, let reason): throw .io(operation: op, path: at, reason: reason)
            default: throw .extract(destination: path, entry: nil, reason: error.description)
            }
        }
    }

    // MARK: - Paths

    static func openRoot(_ root: String) throws(ContainerFilesystemError) -> InRoot {
        do { return try InRoot(path: root) } catch { throw io(error, root) }
    }

    static func locateError(_ e: OSError, _ p: CopyPath) -> ContainerFilesystemError {
        switch e.code {
        case ENOENT: return .notFound(path: p.given)
        case ENOTDIR: return .notADirectory(path: p.given)
        default: return io(e, p.given)
        }
    }

    /// The object `p` names: a directory fd and the name in it ("." with the fd being the
    /// object itself when the final component is followed), and its lstat. The caller closes
    /// the fd.
    static func locate(_ p: CopyPath, in root: InRoot) throws(ContainerFilesystemError) -> (dirfd: Int32, name: String, stat: stat) {
        if p.followFinal {
            // `dir/` and `dir/.` name a directory; anything else there is ENOTDIR, as lstat("file/") is.
            let fd: Int32
            do { fd = try root.open(p.absolute, flags: O_RDONLY | O_DIRECTORY) } catch { throw locateError(error, p) }
            do { return (fd, ".", try FD.fileStat(fd, path: root.path + p.absolute)) } catch {
                FD.close(fd)
                throw locateError(error, p)
            }
        }
        let parent = "/" + p.components.dropLast().joined(separator: "/")
        let name = p.components.last ?? "."
        let dirfd: Int32
        do { dirfd = try root.openDirectory(parent, create: false) } catch { throw locateError(error, p) }
        let st: stat?
        do { st = try At.lstat(dirfd, name) } catch {
            FD.close(dirfd)
            throw locateError(error, p)
        }
        guard let st else {
            FD.close(dirfd)
            throw .notFound(path: p.given)
        }
        return (dirfd, name, st)
    }

    static func pathStat(_ p: CopyPath, _ st: stat, in root: InRoot) throws(ContainerFilesystemError) -> PathStat {
        let link = fileType(st) == S_IFLNK ? try resolveInScope(p.components, in: root, given: p.given) : ""
        return PathStat(name: p.name, size: Int64(st.st_size), mode: goFileMode(st),
                        mtime: rfc3339Nano(seconds: st.st_mtim.tv_sec, nanoseconds: st.st_mtim.tv_nsec), linkTarget: link)
    }

    /// Where `components` lead inside the root, every symlink followed the way the kernel would
    /// with the root as `/` (absolute targets restart at the root, `..` stops there), as an
    /// absolute container path. Missing components are kept as written (Docker's
    /// `FollowSymlinkInScope`), so a dangling symlink still has a target.
    static func resolveInScope(_ components: [String], in root: InRoot, given: String) throws(ContainerFilesystemError) -> String {
        var resolved: [String] = []
        var pending = Array(components.reversed())
        var links = 0
        while let c = pending.popLast() {
            if c.isEmpty || c == "." { continue }
            if c == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            // `resolved` holds no symlinks, so this lookup follows none.
            guard let dir = try? root.openDirectory(resolved.joined(separator: "/"), create: false) else {
                resolved.append(c)
                continue
            }
            defer { FD.close(dir) }
            guard let st = try? At.lstat(dir, c), fileType(st) == S_IFLNK else {
                resolved.append(c)
                continue
            }
            links += 1
            if links > 255 { throw .io(operation: "resolve", path: given, reason: String(cString: strerror(ELOOP))) }
            let target: String
            do { target = try At.readlink(dir, c) } catch { throw io(error, given) }
            if target.hasPrefix("/") { resolved = [] }
            pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
        }
        return "/" + resolved.joined(separator: "/")
    }
}

/// A `docker cp` path, read the way Docker reads it (`archive.PreserveTrailingDotOrSeparator`,
/// `filepath.Base`): made absolute and clean, remembering a trailing `/` or `/.`.
struct CopyPath: Equatable {
    /// As the client gave it (for Docker's "Could not find the file" text).
    let given: String
    /// Cleaned components below the root (`[]` for `/`).
    let components: [String]
    /// A trailing `/` or `/.`: the final component must be (and is followed to) a directory.
    let followFinal: Bool
    /// `PathStat.name`: the base name, `.` after a trailing `/.`, `/` for the root.
    let name: String
    /// The tar's top entry: the base name, `.` after `/.`, and "" for the root (its entries are
    /// then `/`, `/bin`, …: Docker replaces the root's name with nothing).
    let rebase: String

    var absolute: String { "/" + components.joined(separator: "/") }

    init(_ raw: String) {
        given = raw
        var comps: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !comps.isEmpty { comps.removeLast() }
                continue
            }
            comps.append(String(part))
        }
        components = comps
        let trimmed = raw.split(separator: "/", omittingEmptySubsequences: true)
        let currentDir = trimmed.last == "." || raw == "."
        let trailingSlash = raw.hasSuffix("/")
        if currentDir {
            name = "."
        } else {
            name = comps.last ?? "/"
        }
        followFinal = currentDir || trailingSlash || comps.isEmpty
        rebase = name == "/" ? "" : name
    }
}
