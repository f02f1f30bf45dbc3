import Glibc
import BerthArchive
import BerthImage
import BerthOS

extension ContainerFilesystem {
    /// `docker commit`'s layer: the upper directory as an uncompressed OCI layer tar at `path`
    /// (created or truncated). Returns its sha256 (the layer's diff ID) and size.
    ///
    /// Entries are the upper directory's regular files, directories, symlinks, hardlinks (a
    /// second path to an inode already written becomes a hardlink entry), devices and FIFOs,
    /// with mode (setuid/setgid/sticky included), uid/gid, mtime (whole seconds, as Docker's)
    /// and xattrs — except overlayfs' own `trusted.overlay.*`. Whiteouts (character devices 0:0) become empty
    /// `.wh.<name>` files (mode 0600, the whiteout's owner and mtime); an opaque directory is
    /// followed by an empty `<dir>/.wh..wh..opq` (the directory's permissions, owner and mtime),
    /// as moby's overlay whiteout converter writes them. Names are relative (`etc/`,
    /// `etc/passwd`), depth first with each directory's names in byte order, so the same tree
    /// always gives the same tar and digest. Sockets are skipped, as Docker does.
    ///
    /// `lowerDirs` (top first) are the layers the diff applies to; they are checked to exist.
    /// An upper directory written with overlayfs' redirect_dir or metacopy (whose data lives in
    /// the lower layers) is refused with `unsupportedOverlayFeature` rather than committed
    /// incomplete.
    public static func writeLayerDiff(upperDir: String, lowerDirs: [String], to path: String) throws(ContainerFilesystemError) -> LayerDiff {
        for dir in lowerDirs { FD.close(try openTreeRoot(dir)) }
        let root = try openTreeRoot(upperDir)
        defer { FD.close(root) }
        var hasher = DigestHasher()
        do {
            let writer = try ArchiveWriter(path: path, onOutput: { hasher.update($0) })
            var tree = TreeArchiver(writer: writer)
            tree.layerDiff = true
            try tree.addChildren(of: root, hostPath: upperDir, archivePrefix: "")
            try writer.finish()
        } catch let e as ContainerFilesystemError { throw e } catch let e as ArchiveError { throw archive(e) } catch let e as OSError {
            throw io(e, upperDir)
        } catch {
            throw .archive(operation: "write", archive: path, entry: nil, reason: "\(error)")
        }
        return LayerDiff(digest: hasher.finalize(), size: hasher.count)
    }

    /// `docker export`: the container's whole root file system (its merged overlay mount) as an
    /// uncompressed tar written to `fd` (not closed). Like Docker's: no entry for the root
    /// itself, relative names (`bin/`, `bin/sh`), depth first with names in byte order,
    /// symlinks archived as symlinks and never followed, hardlinks by inode, xattrs copied.
    ///
    /// Directories on another device than `mergedDir` (mount points below it) are archived as
    /// empty directories: nothing of another mount is exported. Files are not checked that way
    /// because overlayfs may report a per-layer device for non-directories.
    public static func exportTar(mergedDir: String, to fd: Int32) throws(ContainerFilesystemError) {
        let root = try openTreeRoot(mergedDir)
        defer { FD.close(root) }
        do {
            let writer = try ArchiveWriter(fd: fd, name: "export of \(mergedDir)")
            var tree = TreeArchiver(writer: writer)
            tree.device = try FD.fileStat(root, path: mergedDir).st_dev
            try tree.addChildren(of: root, hostPath: mergedDir, archivePrefix: "")
            try writer.finish()
        } catch let e as ContainerFilesystemError { throw e } catch let e as ArchiveError { throw archive(e) } catch let e as OSError {
            throw io(e, mergedDir)
        } catch {
            throw .archive(operation: "write", archive: "export of \(mergedDir)", entry: nil, reason: "\(error)")
        }
    }

    /// `exportTar(mergedDir:to:)` into the file at `path` (created or truncated, mode 0600).
    public static func exportTar(mergedDir: String, to path: String) throws(ContainerFilesystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw io(OSError("create", path), path) }
        defer { close(fd) }
        try exportTar(mergedDir: mergedDir, to: fd)
    }
}

/// Writes a directory tree to a tar, looking every name up in its parent's fd (never following
/// a symlink). Throws ContainerFilesystemError (system calls, with the host path) or ArchiveError.
struct TreeArchiver {
    let writer: ArchiveWriter
    /// Layer-diff mode: whiteouts and opaque directories become OCI whiteout entries.
    var layerDiff = false
    /// When set, directories on another device are archived but not entered.
    var device: dev_t?
    /// First archive path of each multiply linked inode already written.
    private var links: [Inode: String] = [:]

    private struct Inode: Hashable {
        var dev: UInt64
        var ino: UInt64
    }

    init(writer: ArchiveWriter) { self.writer = writer }

    /// Adds the entries of directory `dirfd` (not itself), named `archivePrefix + name`.
    /// `depth` counts the directories above (for `ContainerFilesystem.maxDepth`).
    mutating func addChildren(of dirfd: Int32, hostPath: String, archivePrefix: String, depth: Int = 0) throws {
        if depth >= ContainerFilesystem.maxDepth { throw ContainerFilesystem.tooDeep(hostPath) }
        let names: [String]
        do { names = try FD.entries(dirfd, path: hostPath).sorted(by: ContainerFilesystem.byteOrder) } catch {
            throw ContainerFilesystem.io(error, hostPath)
        }
        for name in names {
            let st: stat?
            do { st = try At.lstat(dirfd, name) } catch { throw ContainerFilesystem.io(error, hostPath + "/" + name) }
            // Gone since readdir (the container is running): Docker skips it too.
            guard let st else { continue }
            try add(dirfd, name, st, hostPath: hostPath + "/" + name, archivePath: archivePrefix + name, depth: depth)
        }
    }

    /// Adds `name` of `dirfd` (with lstat result `st`) as `archivePath`, and everything below it
    /// when it is a directory. `name` may be "." for `dirfd` itself.
    mutating func add(_ dirfd: Int32, _ name: String, _ st: stat, hostPath: String, archivePath: String, depth: Int = 0) throws {
        // OSErrors name only the entry; the host path is what an operator can act on.
        do { try addEntry(dirfd, name, st, hostPath: hostPath, archivePath: archivePath, depth: depth) } catch let e as OSError {
            throw ContainerFilesystem.io(e, hostPath)
        }
    }

    private mutating func addEntry(_ dirfd: Int32, _ name: String, _ st: stat, hostPath: String, archivePath: String, depth: Int) throws {
        let type = ContainerFilesystem.fileType(st)
        if type == S_IFSOCK { return }
        // Whole seconds, as moby's tar headers have them: sub-second times would make the same
        // tree hash differently depending on the file system, and Docker's tars never carry them.
        var entry = ArchiveEntry(path: archivePath, type: .regular, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
                                 mtime: Timestamp(seconds: st.st_mtim.tv_sec))

        if layerDiff && ContainerFilesystem.isWhiteout(st) {
            entry.path = Self.whiteoutPath(archivePath)
            entry.mode = 0o600
            try writer.add(entry)
            return
        }
        if layerDiff {
            // Data or contents that live in a lower layer: the upper directory alone is not the diff.
            for (key, feature) in [("trusted.overlay.metacopy", "metacopy"), ("trusted.overlay.redirect", "redirect_dir")] {
                if try At.getXattr(dirfd, name, key: key) != nil {
                    throw ContainerFilesystemError.unsupportedOverlayFeature(path: hostPath, feature: feature)
                }
            }
        }
        if type != S_IFDIR && st.st_nlink > 1 {
            let key = Inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            if let first = links[key] {
                entry.type = .hardlink
                entry.hardlinkTarget = first
                try writer.add(entry)
                return
            }
            links[key] = archivePath
        }
        entry.xattrs = try At.xattrs(dirfd, name).filter { ContainerFilesystem.keepXattr($0.name) }.map { Xattr(name: $0.name, value: $0.value) }

        switch type {
        case S_IFDIR:
            entry.type = .directory
            if !entry.path.hasSuffix("/") { entry.path += "/" }
            try writer.add(entry)
            if layerDiff, try At.getXattr(dirfd, name, key: "trusted.overlay.opaque") == [UInt8(ascii: "y")] {
                let marker = ArchiveEntry(path: entry.path + ".wh..wh..opq", type: .regular, mode: entry.mode & 0o777,
                                          uid: entry.uid, gid: entry.gid, mtime: entry.mtime)
                try writer.add(marker)
            }
            if let device, st.st_dev != device { return }
            let sub: Int32
            do { sub = try At.openDirectory(dirfd, name) } catch {
                if error.code == ENOENT { return }
                throw error
            }
            defer { FD.close(sub) }
            try addChildren(of: sub, hostPath: hostPath, archivePrefix: entry.path, depth: depth + 1)
        case S_IFREG:
            let file: (fd: Int32, stat: stat)
            do { file = try At.openRegularFile(dirfd, name) } catch {
                if error.code == ENOENT { return }
                throw error
            }
            defer { FD.close(file.fd) }
            entry.size = Int64(file.stat.st_size)
            try writer.add(entry, contentsOf: file.fd)
        case S_IFLNK:
            entry.type = .symlink
            entry.symlinkTarget = try At.readlink(dirfd, name)
            try writer.add(entry)
        case S_IFCHR, S_IFBLK:
            entry.type = type == S_IFCHR ? .characterDevice : .blockDevice
            entry.deviceMajor = ContainerFilesystem.major(st.st_rdev)
            entry.deviceMinor = ContainerFilesystem.minor(st.st_rdev)
            try writer.add(entry)
        case S_IFIFO:
            entry.type = .fifo
            try writer.add(entry)
        default:
            return
        }
    }

    /// `dir/name` → `dir/.wh.name`.
    static func whiteoutPath(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return ".wh." + path }
        return path[...slash] + ".wh." + path[path.index(after: slash)...]
    }
}
