import Foundation
import Glibc
import Testing
import BerthArchive
import BerthImage
import BerthOS
import BerthTestSupport
@testable import BerthLifecycle

// MARK: - Building trees by hand

/// A directory tree built file by file (as root: owners, devices and trusted.* xattrs included).
private struct Tree {
    let root: String

    init(_ root: String) throws {
        try FS.mkdirAll(root)
        self.root = root
    }

    func p(_ rel: String) -> String { rel.isEmpty ? root : root + "/" + rel }

    private func parent(_ rel: String) throws {
        if let slash = rel.lastIndex(of: "/") { try FS.mkdirAll(p(String(rel[..<slash]))) }
    }

    func dir(_ rel: String, mode: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0, mtime: Int = 1_600_000_000) throws {
        try FS.mkdirAll(p(rel))
        try check(lchown(p(rel), uid, gid), "lchown", rel)
        try check(chmod(p(rel), mode), "chmod", rel)
        try times(rel, mtime)
    }

    func file(_ rel: String, _ content: String = "data", mode: mode_t = 0o644, uid: uid_t = 0, gid: gid_t = 0,
              mtime: Int = 1_600_000_000, nsec: Int = 0) throws {
        try parent(rel)
        try FS.write(p(rel), content, mode: mode)
        // chown clears setuid/setgid: mode after owner.
        try check(lchown(p(rel), uid, gid), "lchown", rel)
        try check(chmod(p(rel), mode), "chmod", rel)
        try times(rel, mtime, nsec: nsec)
    }

    func symlink(_ rel: String, _ target: String, mtime: Int = 1_600_000_000) throws {
        try parent(rel)
        try check(Glibc.symlink(target, p(rel)), "symlink", rel)
        try times(rel, mtime)
    }

    func hardlink(_ rel: String, to existing: String) throws {
        try parent(rel)
        try check(link(p(existing), p(rel)), "link", rel)
    }

    /// An overlayfs whiteout: character device 0:0.
    func whiteout(_ rel: String, mtime: Int = 1_600_000_000) throws {
        try parent(rel)
        try check(mknod(p(rel), S_IFCHR, 0), "mknod", rel)
        try times(rel, mtime)
    }

    func device(_ rel: String, major: UInt32, minor: UInt32, mode: mode_t = 0o666) throws {
        try parent(rel)
        try check(mknod(p(rel), S_IFCHR | mode, dev_t((major << 8) | minor)), "mknod", rel)
        try check(chmod(p(rel), mode), "chmod", rel)
        try times(rel, 1_600_000_000)
    }

    func fifo(_ rel: String) throws {
        try parent(rel)
        try check(mkfifo(p(rel), 0o600), "mkfifo", rel)
        try times(rel, 1_600_000_000)
    }

    func opaque(_ rel: String) throws { try xattr(rel, "trusted.overlay.opaque", "y") }

    func xattr(_ rel: String, _ key: String, _ value: String) throws {
        let full = p(rel)
        let slash = full.lastIndex(of: "/") ?? full.startIndex
        let fd = open(String(full[..<slash]), O_RDONLY | O_DIRECTORY)
        try check(fd, "open parent", rel)
        defer { close(fd) }
        try At.setXattr(fd, String(full[full.index(after: slash)...]), key: key, value: Array(value.utf8))
    }

    func times(_ rel: String, _ seconds: Int, nsec: Int = 0) throws {
        var ts = [timespec(tv_sec: seconds, tv_nsec: nsec), timespec(tv_sec: seconds, tv_nsec: nsec)]
        try check(utimensat(AT_FDCWD, p(rel), &ts, AT_SYMLINK_NOFOLLOW), "utimensat", rel)
    }

    private func check(_ r: Int32, _ op: String, _ rel: String) throws {
        if r < 0 { throw TestFailure("\(op) \(p(rel)): \(String(cString: strerror(errno)))") }
    }
}

private func lst(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

private func read(_ path: String) -> String? {
    (try? FS.readBytes(path)).map { String(decoding: $0, as: UTF8.self) }
}

private func xattr(_ path: String, _ key: String) -> String? {
    FD.getXattr(path: path, key: key).map { String(decoding: $0, as: UTF8.self) }
}

/// Every entry of a tar with the data of regular files.
private func tarEntries(_ path: String) throws -> [(entry: ArchiveEntry, data: [UInt8])] {
    let r = try ArchiveReader(path: path)
    var out: [(ArchiveEntry, [UInt8])] = []
    while let e = try r.next() { out.append((e, e.type == .regular ? try r.readAll() : [])) }
    return out
}

/// Runs `body` with a file opened for writing, then closes it.
private func writing(_ path: String, _ body: (Int32) throws -> Void) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    if fd < 0 { throw TestFailure("create \(path)") }
    defer { close(fd) }
    try body(fd)
}

/// Writes a tar of `entries` at `path` and runs `body` with it opened for reading.
private func withTar(_ path: String, _ entries: [(ArchiveEntry, String)], _ body: (Int32) throws -> Void) throws {
    let w = try ArchiveWriter(path: path)
    for (e, data) in entries { try w.add(e, data: Array(data.utf8)) }
    try w.finish()
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw TestFailure("open \(path)") }
    defer { close(fd) }
    try body(fd)
}

private func entry(_ path: String, _ type: EntryType = .regular, mode: UInt32 = 0o644, link: String? = nil) -> ArchiveEntry {
    ArchiveEntry(path: path, type: type, mode: mode, mtime: Timestamp(seconds: 1_600_000_000),
                 symlinkTarget: type == .symlink ? link : nil, hardlinkTarget: type == .hardlink ? link : nil)
}

/// Mounts an overlay for `body` and unmounts it afterwards, also when `body` throws.
private func withOverlay(lowers: [String], upper: String, work: String, at target: String, _ body: () throws -> Void) throws {
    try FS.mkdirAll(work)
    try FS.mkdirAll(target)
    try Overlay.mount(lowerdirs: lowers, upperdir: upper, workdir: work, target: target)
    defer {
        if (try? Overlay.unmount(target)) == nil { try? Overlay.unmount(target, detach: true) }
    }
    try body()
}

/// A directory outside the container root with known contents; `snapshot` lists every entry
/// with type, mode, link count and contents, to show that nothing in it changed.
private struct Sentinel {
    let path: String

    init(_ dir: String) throws {
        path = dir + "/sentinel"
        let t = try Tree(path)
        try t.file("secret", "original")
        try t.file("etc/passwd", "root:x:0:0")
        try t.dir("sub")
    }

    func snapshot() -> [String] {
        var out: [String] = []
        func walk(_ rel: String) {
            let full = rel.isEmpty ? path : path + "/" + rel
            for name in ((try? FS.list(full)) ?? []).sorted() {
                let r = rel.isEmpty ? name : rel + "/" + name
                guard let st = lst(path + "/" + r) else { continue }
                out.append("\(r) \(st.st_mode) \(st.st_nlink) \(st.st_size) \(read(path + "/" + r) ?? "-")")
                if st.st_mode & S_IFMT == S_IFDIR { walk(r) }
            }
        }
        walk("")
        return out
    }
}

// MARK: - Tests

@Suite("ContainerFilesystem (docker diff, commit, export, cp)")
struct ContainerFilesystemTests {
    // MARK: changes

    @Test func changeJSONUsesDockerKeys() throws {
        let json = try JSONEncoder().encode([FilesystemChange(path: "/tmp/x", kind: .added)])
        let object = try JSONSerialization.jsonObject(with: json) as? [[String: Any]]
        #expect(object?.count == 1)
        #expect(object?.first?["Path"] as? String == "/tmp/x")
        #expect(object?.first?["Kind"] as? Int == 1)
        #expect(object?.first?.count == 2)
        let back = try JSONDecoder().decode([FilesystemChange].self, from: Data(#"[{"Path":"/a","Kind":2},{"Path":"/b","Kind":0}]"#.utf8))
        #expect(back == [FilesystemChange(path: "/a", kind: .deleted), FilesystemChange(path: "/b", kind: .modified)])
        #expect(back.map(\.description) == ["D /a", "C /b"])
    }

    @Test func changesOfAHandBuiltUpperDir() async throws {
        try await withTempDir { dir in
            // Bottom layer.
            let l2 = try Tree(dir + "/l2")
            try l2.file("etc/passwd", "root")
            try l2.file("etc/hosts", "localhost")
            try l2.file("old", "old")
            try l2.file("var/lib/data/a", "a")
            try l2.file("var/lib/data/b", "b")
            try l2.file("var/lib/data/sub/x", "x")
            try l2.file("usr/bin/tool", "tool", mode: 0o755)
            try l2.file("srv/site", "s")
            try l2.dir("keep/inner")
            try l2.file("gone-dir/file")
            try l2.symlink("hostlink", "/")
            for d in ["etc", "var", "var/lib", "var/lib/data", "var/lib/data/sub", "usr", "usr/bin", "srv", "keep", "keep/inner", "gone-dir"] {
                try l2.dir(d)
            }
            // Top lower layer: deletes b, adds c.
            let l1 = try Tree(dir + "/l1")
            try l1.whiteout("var/lib/data/b")
            try l1.file("var/lib/data/c", "c")
            for d in ["var", "var/lib", "var/lib/data"] { try l1.dir(d) }

            let up = try Tree(dir + "/upper")
            try up.file("etc/passwd", "root\nme")                  // copied up and changed
            try up.symlink("etc/alias", "passwd")                  // new symlink
            try up.file("etc/hosts", "localhost")
            try up.xattr("etc/hosts", "user.note", "changed")      // same data, in upper: Modified
            try up.file("tmp/new.txt", "new")                     // new dir and file
            try up.hardlink("tmp/link", to: "tmp/new.txt")
            try up.whiteout("old")                                 // deleted file
            try up.whiteout("gone-dir")                            // deleted directory
            try up.file("var/lib/data/a", "again")                 // in an opaque dir, made again
            try up.file("var/lib/data/new", "new")
            try up.opaque("var/lib/data")
            try up.file("usr/bin/tool", "tool", mode: 0o4755)      // setuid now
            try up.dir("srv")                                      // copied up, unchanged, empty
            try up.dir("keep", mode: 0o700)                        // chmod
            try up.file("hostlink/escape", "x")                    // a dir where the lower has a symlink to /
            for d in ["etc", "tmp", "var", "var/lib", "var/lib/data", "usr", "usr/bin"] { try up.dir(d) }
            try up.dir("hostlink")

            let changes = try ContainerFilesystem.changes(upperDir: up.root, lowerDirs: [l1.root, l2.root])
            #expect(changes.map(\.description) == [
                "C /etc",
                "A /etc/alias",
                "C /etc/hosts",
                "C /etc/passwd",
                "D /gone-dir",
                "C /hostlink",
                "A /hostlink/escape",
                "C /keep",
                "D /old",
                "A /tmp",
                "A /tmp/link",
                "A /tmp/new.txt",
                "C /usr",
                "C /usr/bin",
                "C /usr/bin/tool",
                "C /var",
                "C /var/lib",
                "C /var/lib/data",
                "C /var/lib/data/a",
                "D /var/lib/data/c",
                "A /var/lib/data/new",
                "D /var/lib/data/sub",
            ])
            // /var/lib/data/b was already deleted by the top lower layer; /srv is an untouched
            // copy-up; neither is listed.
        }
    }

    @Test func changesWithoutLowerLayersAreAllAdded() async throws {
        try await withTempDir { dir in
            let up = try Tree(dir + "/upper")
            try up.file("a/b", "x")
            try up.file("c")
            let changes = try ContainerFilesystem.changes(upperDir: up.root, lowerDirs: [])
            #expect(changes.map(\.description) == ["A /a", "A /a/b", "A /c"])
        }
    }

    @Test func changesOfARealOverlayMount() async throws {
        try await withTempDir { dir in
            let lower = try Tree(dir + "/lower")
            try lower.file("etc/passwd", "root")
            try lower.file("etc/hosts", "localhost")
            try lower.file("etc/motd", "hi")
            try lower.file("data/a", "a")
            try lower.file("data/b", "b")
            try lower.file("data/sub/x", "x")
            try lower.dir("srv")
            try lower.dir("untouched")
            try FS.mkdirAll(dir + "/upper")
            let merged = dir + "/merged"
            try withOverlay(lowers: [lower.root], upper: dir + "/upper", work: dir + "/work", at: merged) {
                // What a container's processes would do, through the mount.
                let fd = open(merged + "/etc/passwd", O_WRONLY | O_APPEND)
                #expect(fd >= 0)
                _ = "me\n".withCString { write(fd, $0, 3) }
                close(fd)
                try FS.unlink(merged + "/etc/hosts")
                try FS.unlink(merged + "/etc/motd")
                try FS.mkdirAll(merged + "/tmp")
                try FS.write(merged + "/tmp/new.txt", "new")
                try FS.removeAll(merged + "/data")
                try FS.mkdir(merged + "/data")
                try FS.write(merged + "/data/a", "again")
                #expect(chmod(merged + "/srv", 0o700) == 0)
            }
            // The kernel wrote a whiteout and an opaque directory.
            #expect(lst(dir + "/upper/etc/hosts").map { $0.st_mode & S_IFMT == S_IFCHR && $0.st_rdev == 0 } == true)
            #expect(xattr(dir + "/upper/data", "trusted.overlay.opaque") == "y")

            let changes = try ContainerFilesystem.changes(upperDir: dir + "/upper", lowerDirs: [lower.root])
            #expect(changes.map(\.description) == [
                "C /data", "C /data/a", "D /data/b", "D /data/sub",
                "C /etc", "D /etc/hosts", "D /etc/motd", "C /etc/passwd",
                "C /srv",
                "A /tmp", "A /tmp/new.txt",
            ])

            // The kernel's whiteouts may share one inode (overlayfs links them to save inodes):
            // they are still `.wh.` files in the layer, never hardlinks to each other.
            _ = try ContainerFilesystem.writeLayerDiff(upperDir: dir + "/upper", lowerDirs: [lower.root], to: dir + "/layer.tar")
            let entries = try tarEntries(dir + "/layer.tar").map { "\($0.entry.path) \($0.entry.type)" }
            #expect(entries == [
                "data/ directory", "data/.wh..wh..opq regular", "data/a regular",
                "etc/ directory", "etc/.wh.hosts regular", "etc/.wh.motd regular", "etc/passwd regular",
                "srv/ directory",
                "tmp/ directory", "tmp/new.txt regular",
            ])
        }
    }

    @Test func changesRefuseRedirectedDirectories() async throws {
        try await withTempDir { dir in
            let up = try Tree(dir + "/upper")
            try up.dir("renamed")
            try up.xattr("renamed", "trusted.overlay.redirect", "/original")
            #expect(throws: ContainerFilesystemError.unsupportedOverlayFeature(path: up.root + "/renamed", feature: "redirect_dir")) {
                try ContainerFilesystem.changes(upperDir: up.root, lowerDirs: [])
            }
        }
    }

    // MARK: layer diff

    /// An upper dir with one of everything a layer can hold.
    private func richUpper(_ path: String) throws -> Tree {
        let up = try Tree(path)
        try up.file("etc/passwd", "root:x:0:0\n", mode: 0o644, mtime: 1_500_000_000, nsec: 123_456_789)
        try up.xattr("etc/passwd", "user.note", "kept")
        try up.xattr("etc/passwd", "trusted.overlay.origin", "dropped")
        try up.file("etc/shadow", "secret", mode: 0o640, uid: 0, gid: 42)
        try up.hardlink("etc/shadow.hard", to: "etc/shadow")
        try up.symlink("etc/alias", "passwd")
        try up.file("usr/bin/su", "#!", mode: 0o4755)
        try up.file("home/me/notes", "n", mode: 0o600, uid: 1234, gid: 5678)
        try up.whiteout("gone")
        try up.file("opq/new", "fresh")
        try up.fifo("run/fifo")
        try up.device("dev/null2", major: 1, minor: 3)
        try up.dir("empty", mode: 0o1777)
        try up.dir("opq", mode: 0o750, uid: 7, gid: 8)
        try up.opaque("opq")
        for d in ["etc", "usr", "usr/bin", "home", "home/me", "run", "dev"] { try up.dir(d, mtime: 1_400_000_000) }
        return up
    }

    @Test func layerDiffEntries() async throws {
        try await withTempDir { dir in
            let up = try richUpper(dir + "/upper")
            let lower = try Tree(dir + "/lower")
            let diff = try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [lower.root], to: dir + "/layer.tar")

            let bytes = try FS.readBytes(dir + "/layer.tar", limit: Int.max)
            #expect(diff.digest == Digest.sha256(of: bytes))
            #expect(diff.size == Int64(bytes.count))

            let entries = try tarEntries(dir + "/layer.tar")
            #expect(entries.map(\.entry.path) == [
                "dev/", "dev/null2", "empty/",
                "etc/", "etc/alias", "etc/passwd", "etc/shadow", "etc/shadow.hard",
                ".wh.gone",
                "home/", "home/me/", "home/me/notes",
                "opq/", "opq/.wh..wh..opq", "opq/new",
                "run/", "run/fifo",
                "usr/", "usr/bin/", "usr/bin/su",
            ])
            func e(_ p: String) throws -> (entry: ArchiveEntry, data: [UInt8]) {
                try #require(entries.first { $0.entry.path == p })
            }
            let passwd = try e("etc/passwd")
            #expect(passwd.data == Array("root:x:0:0\n".utf8))
            #expect(passwd.entry.mtime.seconds == 1_500_000_000)
            // (libarchive writes each xattr as both SCHILY.xattr and LIBARCHIVE.xattr records and
            // reads both back.)
            #expect(Set(passwd.entry.xattrs.map(\.name)) == ["user.note"])
            #expect(passwd.entry.xattrs.allSatisfy { $0.value == Array("kept".utf8) })
            #expect(try e("etc/shadow").entry.gid == 42)
            #expect(try e("etc/shadow.hard").entry.type == .hardlink)
            #expect(try e("etc/shadow.hard").entry.hardlinkTarget == "etc/shadow")
            #expect(try e("etc/alias").entry.symlinkTarget == "passwd")
            #expect(try e("usr/bin/su").entry.mode == 0o4755)
            let notes = try e("home/me/notes").entry
            #expect(notes.uid == 1234 && notes.gid == 5678 && notes.mode == 0o600)
            let wh = try e(".wh.gone").entry
            #expect(wh.type == .regular && wh.mode == 0o600 && wh.size == 0)
            let opq = try e("opq/.wh..wh..opq").entry
            #expect(opq.type == .regular && opq.mode == 0o750 && opq.uid == 7 && opq.gid == 8)
            // overlayfs' own xattrs never reach the tar.
            #expect(try e("opq/").entry.xattrs.isEmpty)
            #expect(try e("empty/").entry.mode == 0o1777)
            let dev = try e("dev/null2").entry
            #expect(dev.type == .characterDevice && dev.deviceMajor == 1 && dev.deviceMinor == 3)
            #expect(try e("run/fifo").entry.type == .fifo)

            // Same tree, same bytes.
            let again = try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [lower.root], to: dir + "/again.tar")
            #expect(again == diff)
        }
    }

    @Test func layerDiffRoundTripsThroughLayerUnpacker() async throws {
        try await withTempDir { dir in
            let up = try richUpper(dir + "/upper")
            let diff = try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [], to: dir + "/layer.tar")
            let fresh = dir + "/fresh"
            try FS.mkdir(fresh)
            let desc = Descriptor(mediaType: MediaType.ociLayer, digest: diff.digest, size: diff.size)
            let (diffID, size) = try LayerUnpacker.unpack(blob: dir + "/layer.tar", descriptor: desc, into: fresh, image: "commit-test")
            #expect(diffID == diff.digest && size == diff.size)

            // Every entry of the upper dir is in the fresh snapshot with the same metadata.
            var compared = 0
            func compare(_ rel: String) throws {
                for name in try FS.list(up.p(rel)).sorted() {
                    let r = rel.isEmpty ? name : rel + "/" + name
                    let a = try #require(lst(up.p(r)), "\(r) in upper")
                    let b = try #require(lst(fresh + "/" + r), "\(r) missing after the round trip")
                    compared += 1
                    #expect(a.st_mode == b.st_mode, "\(r) mode")
                    #expect(a.st_uid == b.st_uid && a.st_gid == b.st_gid, "\(r) owner")
                    #expect(a.st_rdev == b.st_rdev, "\(r) device")
                    // LayerUnpacker gives whiteouts no particular mtime: they only mark a name.
                    if !(a.st_mode & S_IFMT == S_IFCHR && a.st_rdev == 0) {
                        #expect(a.st_mtim.tv_sec == b.st_mtim.tv_sec, "\(r) mtime")
                    }
                    switch a.st_mode & S_IFMT {
                    case S_IFREG: #expect(read(up.p(r)) == read(fresh + "/" + r), "\(r) data")
                    case S_IFLNK: #expect((try? At.readlink(AT_FDCWD, up.p(r))) == (try? At.readlink(AT_FDCWD, fresh + "/" + r)))
                    case S_IFDIR:
                        #expect(xattr(up.p(r), "trusted.overlay.opaque") == xattr(fresh + "/" + r, "trusted.overlay.opaque"), "\(r) opaque")
                        try compare(r)
                    default: break
                    }
                    #expect(xattr(up.p(r), "user.note") == xattr(fresh + "/" + r, "user.note"), "\(r) xattr")
                }
                let extra = Set(try FS.list(fresh + (rel.isEmpty ? "" : "/" + rel))).subtracting(try FS.list(up.p(rel)))
                #expect(extra.isEmpty, "unexpected entries in \(rel): \(extra)")
            }
            try compare("")
            #expect(compared == 19)
            #expect(lst(fresh + "/etc/shadow")?.st_ino == lst(fresh + "/etc/shadow.hard")?.st_ino)
            #expect(lst(fresh + "/etc/shadow")?.st_nlink == 2)
            #expect(xattr(fresh + "/etc/passwd", "trusted.overlay.origin") == nil)
            // Whole seconds in the tar, as in Docker's.
            #expect(lst(fresh + "/etc/passwd")?.st_mtim.tv_nsec == 0)
        }
    }

    @Test func layerDiffRefusesMetacopy() async throws {
        try await withTempDir { dir in
            let up = try Tree(dir + "/upper")
            try up.file("big", "")
            try up.xattr("big", "trusted.overlay.metacopy", "")
            #expect(throws: ContainerFilesystemError.unsupportedOverlayFeature(path: up.root + "/big", feature: "metacopy")) {
                try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [], to: dir + "/layer.tar")
            }
        }
    }

    @Test func layerDiffStreamsLargeFiles() async throws {
        try await withTempDir { dir in
            let up = try Tree(dir + "/upper")
            // Larger than the writer's 1 MiB read buffer, and not a multiple of it.
            let big = (0..<(2_500_000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            try FS.write(up.p("big.bin"), big)
            _ = try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [], to: dir + "/layer.tar")
            let entries = try tarEntries(dir + "/layer.tar")
            #expect(entries.map(\.entry.path) == ["big.bin"])
            #expect(entries.first?.entry.size == Int64(big.count))
            #expect(entries.first?.data == big)
        }
    }

    @Test func walksStopAtTheDepthLimit() async throws {
        try await withTempDir { dir in
            let up = try Tree(dir + "/upper")
            // Deeper than any walk follows: an error, not a crash or an fd leak.
            try FS.mkdirAll(up.p(Array(repeating: "d", count: ContainerFilesystem.maxDepth + 5).joined(separator: "/")))
            #expect(throws: ContainerFilesystemError.self) {
                try ContainerFilesystem.changes(upperDir: up.root, lowerDirs: [])
            }
            #expect(throws: ContainerFilesystemError.self) {
                try ContainerFilesystem.writeLayerDiff(upperDir: up.root, lowerDirs: [], to: dir + "/layer.tar")
            }
            // Within the limit, fine.
            let ok = try Tree(dir + "/ok")
            try FS.mkdirAll(ok.p(Array(repeating: "d", count: 100).joined(separator: "/")))
            #expect(try ContainerFilesystem.changes(upperDir: ok.root, lowerDirs: []).count == 100)
        }
    }

    // MARK: export

    @Test func exportOfAMergedMount() async throws {
        try await withTempDir { dir in
            let lower = try Tree(dir + "/lower")
            try lower.file("bin/sh", "#!sh", mode: 0o755)
            try lower.hardlink("bin/ash", to: "bin/sh")
            try lower.symlink("root-link", "/")
            try lower.file("etc/passwd", "root")
            try lower.file("etc/gone", "gone")
            try lower.file("data/old", "old")
            try lower.dir("mnt")
            let up = try Tree(dir + "/upper")
            try up.whiteout("etc/gone")
            try up.file("data/new", "new")
            try up.opaque("data")
            try up.file("etc/passwd", "root\nme")
            let merged = dir + "/merged"
            try withOverlay(lowers: [lower.root], upper: up.root, work: dir + "/work", at: merged) {
                // Another mount below the root: its contents must not be exported.
                #expect(mount("tmpfs", merged + "/mnt", "tmpfs", 0, "size=1m") == 0)
                defer { _ = umount2(merged + "/mnt", Int32(MNT_DETACH)) }
                try FS.write(merged + "/mnt/other-fs", "not exported")
                try Tree(merged).times("mnt", 1_600_000_000)

                try writing(dir + "/export.tar") { fd in try ContainerFilesystem.exportTar(mergedDir: merged, to: fd) }
            }
            let entries = try tarEntries(dir + "/export.tar")
            #expect(entries.map(\.entry.path) == [
                "bin/", "bin/ash", "bin/sh",
                "data/", "data/new",
                "etc/", "etc/passwd",
                "mnt/",
                "root-link",
            ])
            let byPath = Dictionary(entries.map { ($0.entry.path, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byPath["bin/sh"]?.entry.type == .hardlink && byPath["bin/sh"]?.entry.hardlinkTarget == "bin/ash")
            #expect(byPath["bin/ash"]?.data == Array("#!sh".utf8))
            #expect(byPath["bin/ash"]?.entry.mode == 0o755)
            #expect(byPath["root-link"]?.entry.type == .symlink && byPath["root-link"]?.entry.symlinkTarget == "/")
            #expect(byPath["etc/passwd"]?.data == Array("root\nme".utf8))
            #expect(byPath["data/"]?.entry.xattrs.isEmpty == true)

            // The path variant writes the same tar.
            try withOverlay(lowers: [lower.root], upper: up.root, work: dir + "/work2", at: merged) {
                #expect(mount("tmpfs", merged + "/mnt", "tmpfs", 0, "size=1m") == 0)
                defer { _ = umount2(merged + "/mnt", Int32(MNT_DETACH)) }
                try Tree(merged).times("mnt", 1_600_000_000)
                try ContainerFilesystem.exportTar(mergedDir: merged, to: dir + "/export2.tar")
            }
            #expect(try FS.readBytes(dir + "/export2.tar", limit: Int.max) == FS.readBytes(dir + "/export.tar", limit: Int.max))
        }
    }

    // MARK: cp: stat

    /// A container root for the cp tests, with a sentinel directory beside it.
    private func cpRoot(_ dir: String) throws -> (Tree, Sentinel) {
        let sentinel = try Sentinel(dir)
        let root = try Tree(dir + "/rootfs")
        try root.file("etc/passwd", "root:x:0:0", mode: 0o644, mtime: 1_700_000_000, nsec: 5_000_000)
        try root.file("etc/hosts", "127.0.0.1 localhost")
        try root.symlink("etc/link", "../etc/passwd")
        try root.hardlink("etc/passwd.hard", to: "etc/passwd")
        try root.file("usr/bin/su", "#!", mode: 0o4755)
        try root.symlink("escape", sentinel.path)          // absolute, pointing out of the root
        try root.symlink("up", "../../../../..")           // relative, climbing out
        try root.symlink("etcdir", "/etc")
        try root.dir("dest")
        try root.dir("etc", mode: 0o755, mtime: 1_700_000_000)
        return (root, sentinel)
    }

    @Test func statOfFilesDirectoriesAndSymlinks() async throws {
        try await withTempDir { dir in
            let (root, _) = try cpRoot(dir)
            let passwd = try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/passwd")
            #expect(passwd == PathStat(name: "passwd", size: 10, mode: 0o644, mtime: "2023-11-14T22:13:20.005Z", linkTarget: ""))

            let etc = try ContainerFilesystem.archiveStat(root: root.root, path: "/etc")
            #expect(etc.name == "etc" && etc.mode == (1 << 31) | 0o755 && etc.mtime == "2023-11-14T22:13:20Z")
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/").name == "etc")
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/.").name == ".")
            let slash = try ContainerFilesystem.archiveStat(root: root.root, path: "/")
            #expect(slash.name == "/" && slash.mode & (1 << 31) != 0)
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "etc/hosts").name == "hosts")

            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/usr/bin/su").mode == (1 << 23) | 0o755)

            // A symlink is reported as one, with where it leads inside the container.
            let link = try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/link")
            #expect(link.mode == (1 << 27) | 0o777 && link.linkTarget == "/etc/passwd" && link.name == "link")
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/up").linkTarget == "/")
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/etcdir").linkTarget == "/etc")
            // Pointing out of the root: resolved inside it (where nothing is), never on the host.
            let escape = try ContainerFilesystem.archiveStat(root: root.root, path: "/escape")
            #expect(escape.linkTarget == dir + "/sentinel")
            #expect(throws: ContainerFilesystemError.notFound(path: "/escape/secret")) {
                try ContainerFilesystem.archiveStat(root: root.root, path: "/escape/secret")
            }
            // Followed with a trailing slash: a directory inside the root.
            #expect(try ContainerFilesystem.archiveStat(root: root.root, path: "/etcdir/").mode & (1 << 31) != 0)

            let header = try JSONDecoder().decode(PathStat.self, from: try #require(Data(base64Encoded: passwd.headerValue)))
            #expect(header == passwd)
            let json = String(decoding: try JSONEncoder().encode(passwd), as: UTF8.self)
            for key in ["\"name\"", "\"size\"", "\"mode\"", "\"mtime\"", "\"linkTarget\""] { #expect(json.contains(key)) }
        }
    }

    @Test func statErrors() async throws {
        try await withTempDir { dir in
            let (root, _) = try cpRoot(dir)
            #expect(throws: ContainerFilesystemError.notFound(path: "/nope")) {
                try ContainerFilesystem.archiveStat(root: root.root, path: "/nope")
            }
            #expect(throws: ContainerFilesystemError.notFound(path: "/nope/deeper")) {
                try ContainerFilesystem.archiveStat(root: root.root, path: "/nope/deeper")
            }
            #expect(throws: ContainerFilesystemError.notADirectory(path: "/etc/passwd/x")) {
                try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/passwd/x")
            }
            #expect(throws: ContainerFilesystemError.notADirectory(path: "/etc/passwd/")) {
                try ContainerFilesystem.archiveStat(root: root.root, path: "/etc/passwd/")
            }
            let e = ContainerFilesystemError.notFound(path: "/x")
            #expect(e.message(container: "abc123") == "Could not find the file /x in container abc123")
            if case .notFound(let m) = e.lifecycleError(container: "abc123") {
                #expect(m == "Could not find the file /x in container abc123")
            } else {
                Issue.record("not-found maps to LifecycleError.notFound")
            }
        }
    }

    @Test func rfc3339Nano() {
        #expect(ContainerFilesystem.rfc3339Nano(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00Z")
        #expect(ContainerFilesystem.rfc3339Nano(seconds: 1_700_000_000, nanoseconds: 120_000_000) == "2023-11-14T22:13:20.12Z")
        #expect(ContainerFilesystem.rfc3339Nano(seconds: 1_700_000_000, nanoseconds: 1) == "2023-11-14T22:13:20.000000001Z")
    }

    // MARK: cp: get

    private func get(_ root: Tree, _ path: String, _ out: String) throws -> (PathStat, [(entry: ArchiveEntry, data: [UInt8])]) {
        var stat: PathStat?
        try writing(out) { fd in stat = try ContainerFilesystem.archiveGet(root: root.root, path: path, to: fd) }
        return (try #require(stat), try tarEntries(out))
    }

    @Test func getNamesEntriesLikeDocker() async throws {
        try await withTempDir { dir in
            let (root, _) = try cpRoot(dir)
            let (stat, etc) = try get(root, "/etc", dir + "/etc.tar")
            #expect(stat.name == "etc")
            #expect(etc.map(\.entry.path) == ["etc/", "etc/hosts", "etc/link", "etc/passwd", "etc/passwd.hard"])
            #expect(etc[2].entry.type == .symlink && etc[2].entry.symlinkTarget == "../etc/passwd")
            #expect(etc[3].data == Array("root:x:0:0".utf8))
            #expect(etc[4].entry.type == .hardlink && etc[4].entry.hardlinkTarget == "etc/passwd")

            #expect(try get(root, "/etc/", dir + "/a.tar").1.map(\.entry.path) == ["etc/", "etc/hosts", "etc/link", "etc/passwd", "etc/passwd.hard"])
            #expect(try get(root, "/etc/.", dir + "/b.tar").1.map(\.entry.path) == ["./", "./hosts", "./link", "./passwd", "./passwd.hard"])
            #expect(try get(root, "/etc/passwd", dir + "/c.tar").1.map(\.entry.path) == ["passwd"])
            // A symlink is copied as the symlink; with a trailing slash, what it points to.
            let link = try get(root, "/etcdir", dir + "/d.tar").1
            #expect(link.map(\.entry.path) == ["etcdir"] && link[0].entry.symlinkTarget == "/etc")
            #expect(try get(root, "/etcdir/", dir + "/e.tar").1.map(\.entry.path) == ["etcdir/", "etcdir/hosts", "etcdir/link", "etcdir/passwd", "etcdir/passwd.hard"])
            let all = try get(root, "/", dir + "/f.tar").1.map(\.entry.path)
            #expect(all.first == "/" && all.contains("/etc/passwd") && all.contains("/usr/bin/su"))
            let su = try get(root, "/usr/bin/su", dir + "/g.tar").1
            #expect(su.first?.entry.mode == 0o4755)
        }
    }

    @Test func getStaysInsideTheRoot() async throws {
        try await withTempDir { dir in
            let (root, sentinel) = try cpRoot(dir)
            let before = sentinel.snapshot()
            // `..` stops at the container root: this is the container's /etc/passwd.
            let (_, passwd) = try get(root, "../../../../../etc/passwd", dir + "/a.tar")
            #expect(passwd.first?.data == Array("root:x:0:0".utf8))
            // Absolute and relative symlinks leading out resolve inside the root.
            #expect(throws: ContainerFilesystemError.notFound(path: "/escape/secret")) {
                _ = try get(root, "/escape/secret", dir + "/b.tar")
            }
            #expect(throws: ContainerFilesystemError.notFound(path: "/escape/")) {
                _ = try get(root, "/escape/", dir + "/c.tar")
            }
            let up = try get(root, "/up/etc/passwd", dir + "/d.tar").1
            #expect(up.first?.data == Array("root:x:0:0".utf8))
            let upDir = try get(root, "/up/", dir + "/e.tar").1.map(\.entry.path)
            #expect(upDir.contains("up/etc/passwd") && !upDir.contains { $0.contains("sentinel") })
            #expect(sentinel.snapshot() == before)
        }
    }

    // MARK: cp: put

    @Test func putExtractsIntoADirectory() async throws {
        try await withTempDir { dir in
            let (root, _) = try cpRoot(dir)
            try withTar(dir + "/in.tar", [
                (entry("app/", .directory, mode: 0o750), ""),
                (entry("app/run.sh", mode: 0o755), "#!/bin/sh"),
                (entry("app/su", mode: 0o4755), "x"),
                (entry("app/run.link", .symlink, mode: 0o777, link: "run.sh"), ""),
                (entry("app/run.hard", .hardlink, link: "app/run.sh"), ""),
                (entry("app/.wh.kept"), "not a whiteout here"),
            ]) { fd in try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd) }
            #expect(read(root.p("dest/app/run.sh")) == "#!/bin/sh")
            #expect(lst(root.p("dest/app"))?.st_mode == S_IFDIR | 0o750)
            #expect(lst(root.p("dest/app/su"))?.st_mode == S_IFREG | 0o4755)
            #expect(lst(root.p("dest/app/run.hard"))?.st_ino == lst(root.p("dest/app/run.sh"))?.st_ino)
            #expect((try? At.readlink(AT_FDCWD, root.p("dest/app/run.link"))) == "run.sh")
            #expect(read(root.p("dest/app/.wh.kept")) == "not a whiteout here")

            // Into a symlink to a directory: Docker follows it.
            try withTar(dir + "/in2.tar", [(entry("hosts.new"), "h")]) { fd in
                try ContainerFilesystem.archivePut(root: root.root, path: "/etcdir", from: fd)
            }
            #expect(read(root.p("etc/hosts.new")) == "h")

            // A "./" entry carries the destination directory's own metadata, as in Docker.
            try root.dir("dest2")
            try withTar(dir + "/in3.tar", [(entry("./", .directory, mode: 0o750), ""), (entry("./x"), "x")]) { fd in
                try ContainerFilesystem.archivePut(root: root.root, path: "/dest2/", from: fd)
            }
            #expect(lst(root.p("dest2"))?.st_mode == S_IFDIR | 0o750)
            #expect(read(root.p("dest2/x")) == "x")
        }
    }

    @Test func putErrors() async throws {
        try await withTempDir { dir in
            let (root, _) = try cpRoot(dir)
            try withTar(dir + "/in.tar", [(entry("x"), "x")]) { fd in
                #expect(throws: ContainerFilesystemError.notFound(path: "/missing")) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/missing", from: fd)
                }
                #expect(throws: ContainerFilesystemError.extractionPointNotDirectory(path: "/etc/passwd")) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/etc/passwd", from: fd)
                }
                #expect(throws: ContainerFilesystemError.notADirectory(path: "/etc/passwd/x")) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/etc/passwd/x", from: fd)
                }
            }
            // NoOverwriteDirNonDir: a file does not replace a directory, nor a directory a file.
            try root.dir("dest/d")
            try root.file("dest/f")
            try withTar(dir + "/a.tar", [(entry("d"), "file now")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd, noOverwriteDirNonDir: true)
                }
            }
            #expect(lst(root.p("dest/d")).map { $0.st_mode & S_IFMT == S_IFDIR } == true)
            try withTar(dir + "/b.tar", [(entry("f/", .directory), "")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd, noOverwriteDirNonDir: true)
                }
            }
            #expect(lst(root.p("dest/f")).map { $0.st_mode & S_IFMT == S_IFREG } == true)
            // Without it, Docker replaces.
            try withTar(dir + "/c.tar", [(entry("d"), "file now")]) { fd in
                try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
            }
            #expect(read(root.p("dest/d")) == "file now")
        }
    }

    @Test func putRefusesPathsLeavingTheDestination() async throws {
        try await withTempDir { dir in
            let (root, sentinel) = try cpRoot(dir)
            let before = sentinel.snapshot()
            let climb = String(repeating: "../", count: 12) + String(dir.dropFirst()) + "/sentinel/secret"
            try withTar(dir + "/a.tar", [(entry(climb), "pwned")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
                }
            }
            // A relative symlink climbing out of the destination is refused, as Docker refuses it.
            try withTar(dir + "/b.tar", [(entry("out", .symlink, mode: 0o777, link: "../../../../../../.."), "")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
                }
            }
            // A hardlink to a host file.
            try withTar(dir + "/c.tar", [(entry("h", .hardlink, link: "../../../../../../" + dir + "/sentinel/secret"), "")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
                }
            }
            try withTar(dir + "/d.tar", [(entry("h", .hardlink, link: dir + "/sentinel/secret"), "")]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
                }
            }
            #expect(sentinel.snapshot() == before)
        }
    }

    @Test func putThroughSymlinksStaysInsideTheRoot() async throws {
        try await withTempDir { dir in
            let (root, sentinel) = try cpRoot(dir)
            let before = sentinel.snapshot()
            // Symlink then write through it: the absolute target resolves inside the container
            // root (its /etc, not the host's).
            try withTar(dir + "/a.tar", [
                (entry("evil", .symlink, mode: 0o777, link: "/etc"), ""),
                (entry("evil/pwned"), "inside"),
            ]) { fd in try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd) }
            #expect(read(root.p("etc/pwned")) == "inside")
            #expect(!FS.exists("/etc/pwned"))
            // Pointing at the sentinel's host path, which does not exist inside the root: an error,
            // and nothing is created on the host.
            try withTar(dir + "/a2.tar", [
                (entry("evil2", .symlink, mode: 0o777, link: dir + "/sentinel"), ""),
                (entry("evil2/secret"), "pwned"),
            ]) { fd in
                #expect(throws: ContainerFilesystemError.self) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd)
                }
            }
            // A symlink replaced by a file is replaced, never written through.
            try withTar(dir + "/b.tar", [
                (entry("s", .symlink, mode: 0o777, link: dir + "/sentinel/secret"), ""),
                (entry("s"), "replaced"),
            ]) { fd in try ContainerFilesystem.archivePut(root: root.root, path: "/dest", from: fd) }
            #expect(read(root.p("dest/s")) == "replaced")
            // Destinations through the container's own symlinks pointing out.
            try withTar(dir + "/c.tar", [(entry("secret"), "pwned")]) { fd in
                #expect(throws: ContainerFilesystemError.notFound(path: "/escape")) {
                    try ContainerFilesystem.archivePut(root: root.root, path: "/escape", from: fd)
                }
            }
            try withTar(dir + "/d.tar", [(entry("secret"), "inside")]) { fd in
                try ContainerFilesystem.archivePut(root: root.root, path: "/up", from: fd)
            }
            #expect(read(root.p("secret")) == "inside")
            try withTar(dir + "/e.tar", [(entry("secret2"), "inside")]) { fd in
                try ContainerFilesystem.archivePut(root: root.root, path: "../../../..", from: fd)
            }
            #expect(read(root.p("secret2")) == "inside")
            #expect(sentinel.snapshot() == before)
        }
    }
}
