import Glibc
import BerthOS

/// What to mount for a container's writable root: read-only layers (top first), the writable
/// upper directory, overlayfs' work directory, and the equivalent mount(2) option string.
public struct OverlayMount: Sendable, Hashable {
    public var lowerDirs: [String]
    public var upperDir: String
    public var workDir: String

    public init(lowerDirs: [String], upperDir: String, workDir: String) {
        self.lowerDirs = lowerDirs; self.upperDir = upperDir; self.workDir = workDir
    }

    /// `lowerdir=…,upperdir=…,workdir=…` (may exceed a page with many layers: `Snapshotter.mount`
    /// switches to the new mount API then).
    public var options: String {
        "lowerdir=\(lowerDirs.joined(separator: ":")),upperdir=\(upperDir),workdir=\(workDir)"
    }
}

/// overlayfs snapshots of image layers, keyed by chain ID:
///
///     <root>/snapshots/<chainID hex>      one layer's diff (whiteouts as 0/0 char devices)
///     <root>/extract/<random>             a layer being unpacked
///     <root>/active/<key>/{upper,work}    a container's writable layer
///
/// A snapshot holds only its own layer's diff, so all layers of an image can be unpacked in
/// parallel; a container's overlay stacks them. Commits are atomic renames, so a snapshot
/// directory, once visible, is complete.
public final class Snapshotter: Sendable {
    public let root: String

    public init(root: String) throws(ImageError) {
        self.root = root
        for d in ["snapshots", "extract", "active"] {
            do { try FS.mkdirAll("\(root)/\(d)", mode: 0o700) } catch {
                throw .io(operation: "create snapshotter", path: root, reason: error.description)
            }
        }
    }

    /// The layer directory (overlay lower dir) of a snapshot.
    public func path(_ chainID: Digest) -> String { "\(root)/snapshots/\(chainID.encoded)" }

    public func has(_ chainID: Digest) -> Bool { FS.isDirectory(path(chainID)) }

    /// Creates a temp directory for `LayerUnpacker` to fill; commit or discard it afterwards.
    public func prepareExtract() throws(ImageError) -> String {
        let dir = "\(root)/extract/\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        do { try FS.mkdir(dir, mode: 0o755) } catch { throw .io(operation: "prepare snapshot", path: dir, reason: error.description) }
        return dir
    }

    /// Makes an extracted directory the snapshot `chainID` with one atomic rename. If another
    /// unpacker committed the same chain ID first, ours is deleted and theirs kept. Returns the
    /// snapshot's path.
    @discardableResult
    public func commitExtract(_ temp: String, chainID: Digest) throws(ImageError) -> String {
        let target = path(chainID)
        do { try FS.renameNoReplace(temp, target) } catch {
            guard error.code == EEXIST || error.code == ENOTEMPTY else {
                throw .io(operation: "commit snapshot", path: target, reason: error.description)
            }
            discard(temp)
        }
        return target
    }

    /// Deletes an extraction that failed (half-written layers included).
    public func discard(_ temp: String) { try? FS.removeAll(temp) }

    private func checkKey(_ key: String) throws(ImageError) {
        if key.isEmpty || key == "." || key == ".." || key.contains("/") {
            throw .io(operation: "snapshot key", path: key, reason: "must be a single path component")
        }
    }

    /// Creates the writable layer `key` over the snapshots `parentChain` (chain IDs bottom
    /// first, every one committed). With no parents an empty lower dir is used.
    public func prepareWritable(key: String, parentChain: [Digest]) throws(ImageError) -> OverlayMount {
        try checkKey(key)
        for c in parentChain where !has(c) { throw .blobNotFound("snapshot \(c)") }
        let dir = "\(root)/active/\(key)"
        var lowers = parentChain.reversed().map(path)
        do {
            try FS.mkdir(dir, mode: 0o700)
            try FS.mkdir(dir + "/upper", mode: 0o755)
            try FS.mkdir(dir + "/work", mode: 0o700)
            if lowers.isEmpty {
                try FS.mkdir(dir + "/empty", mode: 0o755)
                lowers = [dir + "/empty"]
            }
        } catch {
            throw .io(operation: "prepare writable snapshot", path: dir, reason: error.description)
        }
        return OverlayMount(lowerDirs: lowers, upperDir: dir + "/upper", workDir: dir + "/work")
    }

    /// The overlay of an existing writable layer `key` (to mount it again after a reboot).
    public func existingWritable(key: String, parentChain: [Digest]) throws(ImageError) -> OverlayMount {
        try checkKey(key)
        let dir = "\(root)/active/\(key)"
        guard FS.isDirectory(dir + "/upper") else { throw .blobNotFound("writable snapshot \(key)") }
        let lowers = parentChain.isEmpty ? [dir + "/empty"] : parentChain.reversed().map(path)
        return OverlayMount(lowerDirs: lowers, upperDir: dir + "/upper", workDir: dir + "/work")
    }

    /// The upper (diff) directory of writable layer `key`.
    public func upperDir(key: String) -> String { "\(root)/active/\(key)/upper" }

    /// Mounts the overlay at `target` (mount(2), or fsopen/fsconfig `lowerdir+` for long stacks).
    public func mount(_ m: OverlayMount, at target: String) throws(ImageError) {
        do { try Overlay.mount(lowerdirs: m.lowerDirs, upperdir: m.upperDir, workdir: m.workDir, target: target) } catch {
            throw .io(operation: "mount overlay", path: target, reason: error.description)
        }
    }

    public func unmount(_ target: String) throws(ImageError) {
        do { try Overlay.unmount(target) } catch {
            throw .io(operation: "unmount", path: target, reason: error.description)
        }
    }

    /// Whether writable layer `key` exists.
    public func hasWritable(key: String) -> Bool {
        (try? checkKey(key)) != nil && FS.exists("\(root)/active/\(key)")
    }

    /// Deletes a writable layer (it must be unmounted).
    public func removeWritable(key: String) throws(ImageError) {
        try checkKey(key)
        let dir = "\(root)/active/\(key)"
        do { try FS.removeAll(dir) } catch { throw .io(operation: "remove writable snapshot", path: dir, reason: error.description) }
    }

    /// Deletes a snapshot: first renamed out of `snapshots/` so `has` turns false at once.
    public func remove(_ chainID: Digest) throws(ImageError) {
        let dir = path(chainID)
        let trash = "\(root)/extract/rm-\(chainID.encoded)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        if rename(dir, trash) != 0 {
            if errno == ENOENT { return }
            throw .io(operation: "remove snapshot", path: dir, reason: OSError("rename", dir).description)
        }
        do { try FS.removeAll(trash) } catch { throw .io(operation: "remove snapshot", path: trash, reason: error.description) }
    }

    /// Chain IDs of all committed snapshots.
    public func list() throws(ImageError) -> [Digest] {
        let dir = "\(root)/snapshots"
        let names: [String]
        do { names = try FS.list(dir) } catch { throw .io(operation: "list", path: dir, reason: error.description) }
        return names.compactMap { try? Digest(parsing: "sha256:" + $0) }.sorted()
    }

    /// Removes extractions left behind by a crash. Call at startup before any unpacking.
    public func cleanTemp() {
        for name in (try? FS.list("\(root)/extract")) ?? [] { try? FS.removeAll("\(root)/extract/\(name)") }
    }
}
