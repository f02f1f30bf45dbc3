import Glibc
import BerthOS
import BerthArchive

/// Unpacks one layer blob (tar, tar+gzip, tar+zstd) into an overlay lower directory.
///
/// Layers are untrusted input. Paths are handled like Docker: a leading "/" is dropped (the path
/// is rooted in the layer directory) and a path whose ".." would climb above it is refused.
/// Every parent directory is resolved inside the layer directory (openat2 RESOLVE_IN_ROOT), so
/// a symlink in the layer (`evil -> /etc`, `evil -> ../../..`) can never make a later entry
/// write outside; final components are created without following symlinks. Symlinks whose
/// relative target climbs above the root and hardlinks to paths outside it are refused.
///
/// OCI whiteouts are converted to overlayfs form: `.wh.<name>` becomes a 0/0 character device
/// `<name>` and `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
///
/// On any error the directory is left half-written: the caller deletes it.
public enum LayerUnpacker {
    /// Unpacks the blob at `path`. Verifies its size and digest against `descriptor` and returns
    /// the diffID (sha256 of the uncompressed tar) and the uncompressed size.
    public static func unpack(blob path: String, descriptor: Descriptor, into dir: String, image: String) throws(ImageError) -> (diffID: Digest, uncompressedSize: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .io(operation: "open layer", path: path, reason: OSError("open", path).description) }
        defer { close(fd) }
        return try unpack(fd: fd, descriptor: descriptor, into: dir, image: image)
    }

    /// Unpacks the blob read from `fd` (read to its end, not closed).
    public static func unpack(fd: Int32, descriptor: Descriptor, into dir: String, image: String) throws(ImageError) -> (diffID: Digest, uncompressedSize: Int64) {
        let layer = "\(descriptor.digest) of \(image)"
        guard descriptor.digest.algorithm == "sha256" else {
            throw .layerUnpack(layer: layer, entry: nil, reason: "unsupported digest algorithm \(descriptor.digest.algorithm)")
        }
        // A blob file of the wrong size fails before anything is written.
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) != descriptor.size {
            throw .sizeMismatch(digest: "\(descriptor.digest) (layer of \(image))", expected: descriptor.size, actual: Int64(st.st_size))
        }
        var compressed = DigestHasher()
        var plain = DigestHasher()
        let root: InRoot
        do { root = try InRoot(path: dir) } catch { throw .io(operation: "open layer directory", path: dir, reason: error.description) }
        defer { root.close() }
        var state = UnpackState(root: root, layer: layer)
        try applyAll(to: &state, name: layer) {
            try ArchiveReader(fd: fd, name: "layer \(layer)", onCompressed: { compressed.update($0) },
                              onUncompressed: { plain.update($0) })
        }
        if compressed.count != descriptor.size {
            throw .sizeMismatch(digest: "\(descriptor.digest) (layer of \(image))", expected: descriptor.size, actual: compressed.count)
        }
        let actual = compressed.finalize()
        if actual != descriptor.digest {
            throw .digestMismatch(expected: "\(descriptor.digest) (layer of \(image))", actual: actual.description, size: compressed.count)
        }
        return (plain.finalize(), plain.count)
    }

    /// Extracts a plain tar (`docker cp` into a container, plain or compressed) into directory
    /// `dir` of the tree at `root`, with the same confinement as a layer: every path, symlink and
    /// hardlink target is resolved inside `root` (a symlink in the tree or in the archive
    /// resolves as if `root` were `/`); entry paths, hardlink targets (both taken relative to
    /// `dir`) and relative symlink targets that climb above `dir` are refused. A "./" entry sets
    /// `dir`'s own owner, mode and mtime, as Docker's untar does. Unlike a layer, `.wh.*` names are
    /// ordinary files (no whiteout conversion), there is no digest to check, and with
    /// `noOverwriteDirNonDir` an existing directory is never replaced by a non-directory or the
    /// other way round (Docker's `NoOverwriteDirNonDir`). `archive` names the tar in errors.
    public static func extract(fd: Int32, root: String, into dir: String, noOverwriteDirNonDir: Bool, archive: String) throws(ImageError) {
        guard let base = clean(dir) else {
            throw .unsafeLayerEntry(layer: archive, entry: dir, reason: "destination escapes the root")
        }
        let inRoot: InRoot
        do { inRoot = try InRoot(path: root) } catch { throw .io(operation: "open root", path: root, reason: error.description) }
        defer { inRoot.close() }
        var state = UnpackState(root: inRoot, layer: archive)
        state.base = base
        state.convertWhiteouts = false
        state.noOverwriteDirNonDir = noOverwriteDirNonDir
        try applyAll(to: &state, name: archive) { try ArchiveReader(fd: fd, name: archive) }
    }

    /// Applies every entry of the archive `open` returns to `state`, then the directories' times;
    /// errors are named after `name` (the layer or archive).
    private static func applyAll(to state: inout UnpackState, name: String, open: () throws -> ArchiveReader) throws(ImageError) {
        defer { state.closeCache() }
        do {
            let reader = try open()
            while let entry = try reader.next() {
                try state.apply(entry, reader: reader)
            }
            try reader.finish()
            state.finishDirectories()
        } catch let e as ArchiveError {
            throw .layerUnpack(layer: name, entry: e.entry, reason: e.message)
        } catch let e as ImageError {
            throw e
        } catch {
            throw .layerUnpack(layer: name, entry: nil, reason: "\(error)")
        }
    }

    /// Cleans a layer path: drops a leading "/" and "." parts, applies "..", and returns nil when
    /// the path climbs above the root. `[]` is the root itself.
    static func clean(_ path: String) -> [Substring]? {
        var out: [Substring] = []
        for p in path.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." {
                if out.isEmpty { return nil }
                out.removeLast()
                continue
            }
            out.append(p)
        }
        return out
    }
}

/// Per-layer unpack state: the root, a one-entry cache of the last parent directory (entries
/// of a tar come grouped by directory), and directories whose mtime is set at the end (creating
/// children changes it).
private struct UnpackState {
    let root: InRoot
    let layer: String
    var cachedParent: String?
    var cachedFD: Int32 = -1
    var directories: [(String, Timestamp)] = []
    /// The directory (relative to the root) entries are extracted into; empty for a layer.
    var base: [Substring] = []
    /// Layers turn `.wh.*` entries into overlayfs whiteouts; a plain extract keeps them as files.
    var convertWhiteouts = true
    /// Refuse to replace a directory with a non-directory or the other way round.
    var noOverwriteDirNonDir = false

    init(root: InRoot, layer: String) { self.root = root; self.layer = layer }

    mutating func closeCache() {
        if cachedFD >= 0 { FD.close(cachedFD) }
        cachedFD = -1; cachedParent = nil
    }

    func unsafe(_ entry: ArchiveEntry, _ reason: String) -> ImageError {
        .unsafeLayerEntry(layer: layer, entry: entry.path, reason: reason)
    }

    func failed(_ entry: ArchiveEntry, _ error: OSError) -> ImageError {
        .layerUnpack(layer: layer, entry: entry.path, reason: error.description)
    }

    func failed(_ entry: ArchiveEntry, _ reason: String) -> ImageError {
        .layerUnpack(layer: layer, entry: entry.path, reason: reason)
    }

    /// The O_PATH fd of parent directory `rel`, created if missing; owned by the cache.
    mutating func parent(_ rel: String, _ entry: ArchiveEntry) throws(ImageError) -> Int32 {
        if rel == cachedParent { return cachedFD }
        closeCache()
        do { cachedFD = try root.openDirectory(rel, create: true) } catch { throw failed(entry, error) }
        cachedParent = rel
        return cachedFD
    }

    mutating func apply(_ entry: ArchiveEntry, reader: ArchiveReader) throws(ImageError) {
        do { try applyUntyped(entry, reader: reader) } catch let e as ImageError { throw e } catch let e as OSError {
            throw failed(entry, e)
        } catch let e as ArchiveError {
            throw .layerUnpack(layer: layer, entry: entry.path, reason: e.message)
        } catch let e as ArchiveDataError<OSError> {
            switch e {
            case .archive(let a): throw .layerUnpack(layer: layer, entry: entry.path, reason: a.message)
            case .consumer(let o): throw failed(entry, o)
            }
        } catch {
            throw .layerUnpack(layer: layer, entry: entry.path, reason: "\(error)")
        }
    }

    /// Throws ImageError, OSError, ArchiveError or ArchiveDataError; `apply` maps them.
    private mutating func applyUntyped(_ entry: ArchiveEntry, reader: ArchiveReader) throws {
        guard let rel = LayerUnpacker.clean(entry.path) else {
            throw unsafe(entry, "path escapes the layer root")
        }
        let parts = base + rel
        guard let last = rel.last else {
            // "./" or "/": the layer root's (or extraction directory's) own metadata.
            if entry.type == .directory {
                if base.isEmpty {
                    try setMetadata(root.fd, ".", entry, isDirectory: true)
                } else {
                    try setMetadata(try parent(base.joined(separator: "/"), entry), ".", entry, isDirectory: true)
                }
                directories.append((base.isEmpty ? "." : base.joined(separator: "/"), entry.mtime))
            }
            return
        }
        let name = String(last)
        let parentRel = parts.dropLast().joined(separator: "/")
        // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) means nothing to overlayfs.
        if convertWhiteouts && rel.contains(where: { $0.hasPrefix(".wh..wh.") && $0 != ".wh..wh..opq" }) { return }

        if convertWhiteouts && name.hasPrefix(".wh.") {
            let pfd = try parent(parentRel, entry)
            if name == ".wh..wh..opq" {
                try At.setXattr(pfd, ".", key: "trusted.overlay.opaque", value: Array("y".utf8))
                return
            }
            let target = String(name.dropFirst(4))
            if target.isEmpty || target == "." || target == ".." {
                throw unsafe(entry, "whiteout names no file")
            }
            if try At.mknod(pfd, target, mode: S_IFCHR, major: 0, minor: 0) { closeCache() }
            try At.chown(pfd, target, uid: entry.uid, gid: entry.gid)
            return
        }

        let pfd = try parent(parentRel, entry)
        if noOverwriteDirNonDir, let existing = try At.lstat(pfd, name) {
            let isDir = (existing.st_mode & S_IFMT) == S_IFDIR
            if isDir && entry.type != .directory {
                throw failed(entry, "cannot overwrite directory \"/\(parts.joined(separator: "/"))\" with non-directory")
            }
            if !isDir && entry.type == .directory {
                throw failed(entry, "cannot overwrite non-directory \"/\(parts.joined(separator: "/"))\" with directory")
            }
        }
        switch entry.type {
            case .directory:
                if try At.mkdir(pfd, name, mode: 0o700) { closeCache() }
                try setMetadata(pfd, name, entry, isDirectory: true)
                directories.append((parentRel.isEmpty ? name : parentRel + "/" + name, entry.mtime))

            case .regular:
                var replaced = false
                let fd = try At.createFile(pfd, name, mode: 0o600, replaced: &replaced)
                defer { FD.close(fd) }
                if replaced { closeCache() }
                let written = try reader.copyData(to: fd, path: entry.path)
                // Sparse files: the data blocks skip the holes; the size comes from the header.
                if written != entry.size { try FD.truncate(fd, size: entry.size, path: entry.path) }
                try FD.chown(fd, uid: entry.uid, gid: entry.gid, path: entry.path)
                try FD.chmod(fd, mode: mode_t(entry.mode), path: entry.path)
                for x in entry.xattrs where Self.keep(x) {
                    try Self.tolerant { () throws(OSError) in try FD.setXattr(fd, key: x.name, value: x.value, path: entry.path) }
                }
                try FD.setTimes(fd, mtime: (entry.mtime.seconds, entry.mtime.nanoseconds), atime: atime(entry), path: entry.path)

            case .symlink:
                let target = entry.symlinkTarget ?? ""
                if !target.hasPrefix("/") && LayerUnpacker.clean(rel.dropLast().joined(separator: "/") + "/" + target) == nil {
                    throw unsafe(entry, "symlink target \"\(target)\" escapes the layer root")
                }
                if try At.symlink(target, pfd, name) { closeCache() }
                try At.chown(pfd, name, uid: entry.uid, gid: entry.gid)
                for x in entry.xattrs where Self.keep(x) {
                    try Self.tolerant { () throws(OSError) in try At.setXattr(pfd, name, key: x.name, value: x.value) }
                }
                try At.setTimes(pfd, name, mtime: (entry.mtime.seconds, entry.mtime.nanoseconds), atime: atime(entry))

            case .hardlink:
                guard let t = entry.hardlinkTarget, let trel = LayerUnpacker.clean(t), let tlast = trel.last else {
                    throw unsafe(entry, "hardlink target \"\(entry.hardlinkTarget ?? "")\" escapes the layer root")
                }
                let tparts = base + trel
                let tparent = tparts.dropLast().joined(separator: "/")
                if tparts == parts { return }
                // Resolved in the root like any parent: `/etc/passwd` means <layer>/etc/passwd.
                let tfd: Int32
                do { tfd = try root.openDirectory(tparent, create: false) } catch {
                    throw unsafe(entry, "hardlink target \"\(t)\" not found in the layer: \(error)")
                }
                defer { FD.close(tfd) }
                guard let tst = try At.lstat(tfd, String(tlast)) else {
                    throw unsafe(entry, "hardlink target \"\(t)\" not found in the layer")
                }
                if (tst.st_mode & S_IFMT) == S_IFDIR { throw unsafe(entry, "hardlink to a directory \"\(t)\"") }
                if try At.link(tfd, String(tlast), pfd, name) { closeCache() }

            case .characterDevice, .blockDevice, .fifo:
                let type: mode_t = entry.type == .fifo ? S_IFIFO : entry.type == .blockDevice ? S_IFBLK : S_IFCHR
                if try At.mknod(pfd, name, mode: type | 0o600, major: entry.deviceMajor, minor: entry.deviceMinor) { closeCache() }
                try setMetadata(pfd, name, entry, isDirectory: false)

            case .socket:
                return  // not representable in a layer; Docker skips them too
        }
    }

    func atime(_ e: ArchiveEntry) -> (Int, Int) {
        let t = e.atime ?? e.mtime
        return (t.seconds, t.nanoseconds)
    }

    /// Owner, then mode (chown clears setuid/setgid), then xattrs (chown clears file
    /// capabilities), then mtime (directories: at the end).
    func setMetadata(_ pfd: Int32, _ name: String, _ entry: ArchiveEntry, isDirectory: Bool) throws(OSError) {
        try At.chown(pfd, name, uid: entry.uid, gid: entry.gid)
        try At.chmod(pfd, name, mode: mode_t(entry.mode))
        for x in entry.xattrs where Self.keep(x) {
            try Self.tolerant { () throws(OSError) in try At.setXattr(pfd, name, key: x.name, value: x.value) }
        }
        if !isDirectory {
            try At.setTimes(pfd, name, mtime: (entry.mtime.seconds, entry.mtime.nanoseconds), atime: atime(entry))
        }
    }

    /// overlayfs' own xattrs (redirect, metacopy, opaque, …) in a layer would change how the
    /// merged view is built; opaque directories arrive as `.wh..wh..opq`, so the rest is dropped.
    static func keep(_ x: Xattr) -> Bool { !x.name.hasPrefix("trusted.overlay.") }

    /// Like Docker: xattrs the file system refuses (user.* on symlinks, no xattr support) are skipped.
    static func tolerant(_ body: () throws(OSError) -> Void) throws(OSError) {
        do { try body() } catch {
            if error.code != ENOTSUP && error.code != EPERM { throw error }
        }
    }

    /// Sets directory mtimes, deepest last-created first, after all their children exist. A
    /// directory replaced later in the layer is skipped.
    mutating func finishDirectories() {
        for (rel, t) in directories.reversed() {
            guard let fd = try? root.open(rel, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { continue }
            try? FD.setTimes(fd, mtime: (t.seconds, t.nanoseconds), atime: (t.seconds, t.nanoseconds), path: rel)
            FD.close(fd)
        }
    }
}
