import Glibc
import BerthOS

extension ContainerFilesystem {
    /// `GET /containers/{id}/changes`: what the container changed, from its overlayfs upper
    /// directory and the image's lower directories (`lowerDirs` top first, as in the mount's
    /// `lowerdir=`). Sorted by path in byte order (moby sorts changes with `changesByPath`; its
    /// overlay walk itself yields them in walk order).
    ///
    /// Follows Docker's overlay rules (moby `OverlayChanges`), with the lower side looked up as
    /// overlayfs merges it (a whiteout or opaque directory in a higher lower layer hides what is
    /// below), and with directories reported the way `ChangesDirs` (the containerd snapshotter's
    /// `docker diff`) reports them:
    /// - a whiteout (character device 0:0) is Deleted;
    /// - any other entry is Modified when the lower layers have that path and Added otherwise;
    /// - a directory the lower layers also have is Modified when its own mode, owner or mtime
    ///   changed, or when anything below it changed (Docker lists the parents of a change);
    ///   untouched directories that overlayfs merely copied up are not listed;
    /// - an opaque directory (`trusted.overlay.opaque=y`: removed and made again) is Modified if
    ///   the lower layers have it, and every entry the lower layers have in it that the upper
    ///   directory does not is Deleted.
    ///
    /// Lower layers are read through directory fds, one component at a time, never following
    /// symlinks (moby's `os.Stat(layer + path)` would follow a lower layer's absolute symlink to
    /// the host). Directory sizes are not compared: they depend on the file system, not on the
    /// container's changes.
    public static func changes(upperDir: String, lowerDirs: [String]) throws(ContainerFilesystemError) -> [FilesystemChange] {
        let upper = try openTreeRoot(upperDir)
        defer { FD.close(upper) }
        var lowers: [Int32] = []
        defer { for fd in lowers { FD.close(fd) } }
        for dir in lowerDirs { lowers.append(try openTreeRoot(dir)) }

        var walk = ChangesWalk(upperDir: upperDir)
        // The lower roots are owned by `lowers` above; the walk only closes what it opens.
        _ = try walk.directory(upper, path: "", lowers: lowers, depth: 0)
        return walk.changes.enumerated().sorted { a, b in
            a.element.path == b.element.path ? a.offset < b.offset : byteOrder(a.element.path, b.element.path)
        }.map(\.element)
    }
}

/// One `changes` walk: the upper tree depth first, with the lower directories that overlayfs
/// merges at each level.
private struct ChangesWalk {
    let upperDir: String
    var changes: [FilesystemChange] = []

    init(upperDir: String) { self.upperDir = upperDir }

    func io(_ e: OSError, _ path: String) -> ContainerFilesystemError {
        ContainerFilesystem.io(e, upperDir + path)
    }

    /// Records the changes inside upper directory `fd` (container path `path`, "" for the root)
    /// whose merged lower counterparts are `lowers` (top first; not closed here). Returns
    /// whether anything was recorded.
    mutating func directory(_ fd: Int32, path: String, lowers: [Int32], depth: Int) throws(ContainerFilesystemError) -> Bool {
        if depth >= ContainerFilesystem.maxDepth { throw ContainerFilesystem.tooDeep(upperDir + path) }
        let names: [String]
        do { names = try FD.entries(fd, path: upperDir + path).sorted(by: ContainerFilesystem.byteOrder) } catch { throw io(error, path) }
        var changed = false
        for name in names {
            let child = path + "/" + name
            let st: stat
            do {
                // Gone since readdir (the container is running): nothing to report.
                guard let s = try At.lstat(fd, name) else { continue }
                st = s
            } catch { throw io(error, child) }

            if ContainerFilesystem.isWhiteout(st) {
                changes.append(FilesystemChange(path: child, kind: .deleted))
                changed = true
                continue
            }
            let lower = try Self.lookup(name, in: lowers, path: child)
            guard ContainerFilesystem.isDirectory(st) else {
                changes.append(FilesystemChange(path: child, kind: lower == nil ? .added : .modified))
                changed = true
                continue
            }

            let redirect: [UInt8]?, opaque: Bool
            do {
                redirect = try At.getXattr(fd, name, key: "trusted.overlay.redirect")
                opaque = try At.getXattr(fd, name, key: "trusted.overlay.opaque") == [UInt8(ascii: "y")]
            } catch { throw io(error, child) }
            // A renamed directory (redirect_dir=on) takes its contents from another lower path.
            if redirect != nil { throw .unsupportedOverlayFeature(path: upperDir + child, feature: "redirect_dir") }

            let lowerIsDirectory = lower.map(ContainerFilesystem.isDirectory) == true
            let childLowers = lowerIsDirectory ? try Self.merged(name, in: lowers, path: child) : []
            defer { for l in childLowers { FD.close(l) } }

            let sub: Int32
            do { sub = try At.openDirectory(fd, name) } catch {
                if error.code == ENOENT { continue }
                throw io(error, child)
            }
            defer { FD.close(sub) }
            let inner = try directory(sub, path: child, lowers: childLowers, depth: depth + 1)
            // An opaque directory hides the lower one's entries: those not made again are gone.
            var gone: [String] = []
            if opaque && lowerIsDirectory {
                let upperNames: Set<String>
                do { upperNames = Set(try FD.entries(sub, path: upperDir + child)) } catch { throw io(error, child) }
                gone = try Self.names(in: childLowers, path: child).filter { !upperNames.contains($0) }
            }

            var kind: FilesystemChange.Kind?
            if let lower {
                if !ContainerFilesystem.isDirectory(lower) || opaque || inner || Self.metadataChanged(st, lower) {
                    kind = .modified
                }
                for g in gone { changes.append(FilesystemChange(path: child + "/" + g, kind: .deleted)) }
            } else {
                kind = .added
            }
            if let kind {
                changes.append(FilesystemChange(path: child, kind: kind))
                changed = true
            }
            if inner { changed = true }
        }
        return changed
    }

    /// Mode (type and permission bits), owner or mtime differ. Mtimes match when equal, or when
    /// the seconds match and either side has no nanoseconds (moby's `sameFsTime`: tar and some
    /// file systems drop them).
    static func metadataChanged(_ a: stat, _ b: stat) -> Bool {
        if a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid { return true }
        let (x, y) = (a.st_mtim, b.st_mtim)
        return !(x.tv_sec == y.tv_sec && (x.tv_nsec == y.tv_nsec || x.tv_nsec == 0 || y.tv_nsec == 0))
    }

    /// What the merged lower layers have at `name`: the first layer (top first) with an entry
    /// decides, and a whiteout there means nothing.
    static func lookup(_ name: String, in lowers: [Int32], path: String) throws(ContainerFilesystemError) -> stat? {
        for l in lowers {
            let st: stat?
            do { st = try At.lstat(l, name) } catch {
                if error.code == ENOTDIR { continue }
                throw ContainerFilesystem.io(error, "lower layer:" + path)
            }
            guard let st else { continue }
            return ContainerFilesystem.isWhiteout(st) ? nil : st
        }
        return nil
    }

    /// The lower directories merged at `name` (top first), opened: layers contribute from the
    /// top down until one has a non-directory or whiteout there, or an opaque directory (which
    /// is included, and hides the rest). The caller closes them.
    static func merged(_ name: String, in lowers: [Int32], path: String) throws(ContainerFilesystemError) -> [Int32] {
        var out: [Int32] = []
        do {
            for l in lowers {
                guard let st = try At.lstat(l, name) else { continue }
                guard ContainerFilesystem.isDirectory(st) else { break }
                out.append(try At.openDirectory(l, name))
                if try At.getXattr(l, name, key: "trusted.overlay.opaque") == [UInt8(ascii: "y")] { break }
            }
        } catch {
            for fd in out { FD.close(fd) }
            throw ContainerFilesystem.io(error, "lower layer:" + path)
        }
        return out
    }

    /// The names the merged lower directories `lowers` show (whiteouts hide a name in the
    /// layers below them), in byte order.
    static func names(in lowers: [Int32], path: String) throws(ContainerFilesystemError) -> [String] {
        var seen = Set<String>()
        var visible: [String] = []
        for l in lowers {
            let names: [String]
            do { names = try FD.entries(l, path: "lower layer:" + path) } catch { throw ContainerFilesystem.io(error, "lower layer:" + path) }
            for n in names where !seen.contains(n) {
                seen.insert(n)
                let st: stat?
                do { st = try At.lstat(l, n) } catch { throw ContainerFilesystem.io(error, "lower layer:" + path + "/" + n) }
                if let st, !ContainerFilesystem.isWhiteout(st) { visible.append(n) }
            }
        }
        return visible.sorted(by: ContainerFilesystem.byteOrder)
    }
}
