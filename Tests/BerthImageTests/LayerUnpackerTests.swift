import Foundation
import Glibc
import Testing
import BerthArchive
import BerthOS
@testable import BerthImage

@Suite struct LayerUnpackerTests {
    @Test(arguments: [ArchiveWriter.Compression.gzip, .zstd, .none])
    func normalLayer(compression: ArchiveWriter.Compression) throws {
        let t = try TempDir(); defer { t.cleanup() }
        let out = try t.mkdir("snap")
        let entries: [(ArchiveEntry, [UInt8])] = [
            dir("./", mode: 0o755),
            dir("etc/", mode: 0o750, mtime: 1_500_000_000),
            file("etc/hello", "hello world", mode: 0o640, uid: 1000, gid: 1001, mtime: 1_400_000_000,
                 xattrs: [Xattr(name: "trusted.berth", value: Array("yes".utf8)), Xattr(name: "user.note", value: Array("n".utf8))]),
            file("bin/su", "#!", mode: 0o4755),
            symlink("etc/link", "hello"),
            hardlink("etc/hard", "etc/hello"),
            (ArchiveEntry(path: "run/fifo", type: .fifo, mode: 0o600), []),
            (ArchiveEntry(path: "dev/null2", type: .characterDevice, mode: 0o666, deviceMajor: 1, deviceMinor: 3), []),
            (ArchiveEntry(path: "dev/blk", type: .blockDevice, mode: 0o660, deviceMajor: 7, deviceMinor: 0), []),
            file("/abs/file", "rooted"),
        ]
        let layer = t.sub("layer")
        let desc = try makeLayer(layer, compression: compression, entries)
        let (diffID, size) = try LayerUnpacker.unpack(blob: layer, descriptor: desc, into: out, image: "test:1")

        // diffID is the sha256 of the uncompressed tar.
        let plain = t.sub("plain.tar")
        _ = try makeLayer(plain, compression: .none, entries)
        let plainBytes = try FS.readBytes(plain, limit: Int.max)
        #expect(diffID == Digest.sha256(of: plainBytes))
        #expect(size == Int64(plainBytes.count))

        #expect(contents(out + "/etc/hello") == "hello world")
        let hello = try #require(lstatOf(out + "/etc/hello"))
        #expect(hello.st_mode & 0o7777 == 0o640 && hello.st_uid == 1000 && hello.st_gid == 1001)
        #expect(hello.st_mtim.tv_sec == 1_400_000_000 && hello.st_nlink == 2)
        #expect(FD.getXattr(path: out + "/etc/hello", key: "trusted.berth") == Array("yes".utf8))
        #expect(FD.getXattr(path: out + "/etc/hello", key: "user.note") == Array("n".utf8))
        #expect(lstatOf(out + "/etc/hard")?.st_ino == hello.st_ino)
        #expect(try #require(lstatOf(out + "/etc")).st_mtim.tv_sec == 1_500_000_000)
        #expect(try #require(lstatOf(out + "/etc")).st_mode & 0o7777 == 0o750)
        #expect(try #require(lstatOf(out + "/bin/su")).st_mode & 0o7777 == 0o4755)
        #expect(try #require(lstatOf(out + "/etc/link")).st_mode & S_IFMT == S_IFLNK)
        #expect(try FS.realpath(out + "/etc/link") == out + "/etc/hello")
        #expect(try #require(lstatOf(out + "/run/fifo")).st_mode & S_IFMT == S_IFIFO)
        let dev = try #require(lstatOf(out + "/dev/null2"))
        #expect(dev.st_mode & S_IFMT == S_IFCHR && dev.st_rdev == 0x103 && dev.st_mode & 0o777 == 0o666)
        #expect(try #require(lstatOf(out + "/dev/blk")).st_mode & S_IFMT == S_IFBLK)
        #expect(contents(out + "/abs/file") == "rooted")
    }

    @Test func whiteoutsBecomeOverlayForm() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let out = try t.mkdir("snap")
        let layer = t.sub("layer")
        let desc = try makeLayer(layer, [
            file("etc/.wh.hello", ""), file("var/.wh..wh..opq", ""), file("var/new", "n"),
            file(".wh..wh.plnk/123", "aufs"), file("deep/er/.wh.gone", ""),
        ])
        _ = try LayerUnpacker.unpack(blob: layer, descriptor: desc, into: out, image: "test:1")
        let wh = try #require(lstatOf(out + "/etc/hello"))
        #expect(wh.st_mode & S_IFMT == S_IFCHR && wh.st_rdev == 0)
        #expect(lstatOf(out + "/etc/.wh.hello") == nil)
        #expect(FD.getXattr(path: out + "/var", key: "trusted.overlay.opaque") == Array("y".utf8))
        #expect(lstatOf(out + "/var/.wh..wh..opq") == nil)
        #expect(contents(out + "/var/new") == "n")
        #expect(lstatOf(out + "/.wh..wh.plnk") == nil)
        #expect(try #require(lstatOf(out + "/deep/er/gone")).st_mode & S_IFMT == S_IFCHR)
    }

    /// Unpacks a hostile layer; returns the error (nil when it was accepted) after checking that
    /// nothing outside the snapshot changed.
    func hostile(_ entries: [(ArchiveEntry, [UInt8])], check: ((String, Sentinel) -> Void)? = nil) throws -> ImageError? {
        let t = try TempDir(); defer { t.cleanup() }
        let sentinel = try Sentinel(t)
        let out = try t.mkdir("snap")
        let layer = t.sub("layer")
        let desc = try makeLayer(layer, entries.map { e in
            var e = e
            e.0.path = e.0.path.replacingOccurrences(of: "@OUT", with: sentinel.path)
            e.0.symlinkTarget = e.0.symlinkTarget?.replacingOccurrences(of: "@OUT", with: sentinel.path)
            e.0.hardlinkTarget = e.0.hardlinkTarget?.replacingOccurrences(of: "@OUT", with: sentinel.path)
            return e
        })
        var failure: ImageError?
        do { _ = try LayerUnpacker.unpack(blob: layer, descriptor: desc, into: out, image: "evil:latest") } catch { failure = error }
        #expect(sentinel.untouched())
        #expect((try FS.list(t.path)).sorted() == ["layer", "outside", "snap"])
        check?(out, sentinel)
        return failure
    }

    func expectUnsafe(_ e: ImageError?, entry: String) {
        guard case .unsafeLayerEntry(let layer, let ent, _) = e else {
            Issue.record("expected unsafeLayerEntry, got \(String(describing: e))"); return
        }
        #expect(layer.contains("evil:latest") && layer.contains("sha256:"))
        #expect(ent == entry)
        #expect(e?.description.contains(entry) == true)
    }

    @Test func dotDotEscape() throws {
        expectUnsafe(try hostile([file("../escape", "x")]), entry: "../escape")
        expectUnsafe(try hostile([file("a/../../x", "x")]), entry: "a/../../x")
        expectUnsafe(try hostile([file("../outside/keep", "x")]), entry: "../outside/keep")
    }

    @Test func absolutePathIsRooted() throws {
        let e = try hostile([file("@OUT/keep", "pwned"), file("/abs/path", "x")]) { out, s in
            #expect(contents(out + s.path + "/keep") == "pwned")
            #expect(contents(out + "/abs/path") == "x")
        }
        #expect(e == nil)
    }

    func expectFailed(_ e: ImageError?, entry: String) {
        guard case .layerUnpack(let layer, let ent, _) = e else {
            Issue.record("expected layerUnpack, got \(String(describing: e))"); return
        }
        #expect(layer.contains("evil:latest") && ent == entry)
    }

    @Test func writeThroughSymlinkStaysInside() throws {
        // The link resolves inside the snapshot, where its target does not exist: an error
        // (as with Docker), and nothing outside.
        expectFailed(try hostile([symlink("evil", "@OUT"), file("evil/pwned", "x")]), entry: "evil/pwned")
        // Where the target exists inside, the write lands there.
        let e = try hostile([dir("@OUT/"), symlink("evil", "@OUT"), file("evil/pwned", "x"), file("evil/keep", "x")]) { out, s in
            #expect(contents(out + s.path + "/pwned") == "x")
        }
        #expect(e == nil)
        let e2 = try hostile([symlink("evil", "/"), dir("evil/tmp/"), file("evil/etc/passwd", "x")]) { out, _ in
            #expect(contents(out + "/etc/passwd") == "x")
        }
        #expect(e2 == nil)
    }

    @Test func escapingRelativeSymlinkRefused() throws {
        expectUnsafe(try hostile([symlink("evil", "../../../.."), file("evil/pwned", "x")]), entry: "evil")
        expectUnsafe(try hostile([symlink("a/b/evil", "../../../outside")]), entry: "a/b/evil")
    }

    @Test func hardlinkThroughSymlinkedDir() throws {
        expectFailed(try hostile([file("f", "x"), symlink("evil", "@OUT"), hardlink("evil/x", "f")]), entry: "evil/x")
        let e = try hostile([file("f", "x"), dir("@OUT/"), symlink("evil", "@OUT"), hardlink("evil/x", "f")]) { out, s in
            #expect(contents(out + s.path + "/x") == "x")
        }
        #expect(e == nil)
        // A hardlink whose target goes through a symlink is resolved inside too: not found.
        expectUnsafe(try hostile([symlink("evil", "@OUT"), hardlink("x", "evil/keep")]), entry: "x")
    }

    @Test func hardlinkOutsideRefused() throws {
        expectUnsafe(try hostile([hardlink("x", "../../etc/passwd")]), entry: "x")
        expectUnsafe(try hostile([hardlink("x", "@OUT/keep")]), entry: "x")
        expectUnsafe(try hostile([dir("d/"), hardlink("x", "d")]), entry: "x")
    }

    @Test func whiteoutOutside() throws {
        expectUnsafe(try hostile([file("../.wh.keep", "")]), entry: "../.wh.keep")
        expectUnsafe(try hostile([file("../outside/.wh.keep", "")]), entry: "../outside/.wh.keep")
        // Through a symlinked parent: confined to the snapshot.
        expectFailed(try hostile([symlink("evil", "@OUT"), file("evil/.wh.keep", "")]), entry: "evil/.wh.keep")
        let e = try hostile([dir("@OUT/"), symlink("evil", "@OUT"), file("evil/.wh.keep", ""), file("evil/.wh..wh..opq", "")]) { out, s in
            #expect((lstatOf(out + s.path + "/keep")?.st_mode ?? 0) & S_IFMT == S_IFCHR)
            #expect(FD.getXattr(path: s.path, key: "trusted.overlay.opaque") == nil)
        }
        #expect(e == nil)
        expectUnsafe(try hostile([file("a/.wh.", "")]), entry: "a/.wh.")
        expectUnsafe(try hostile([file("a/.wh...", "")]), entry: "a/.wh...")
    }

    @Test func symlinkLoop() throws {
        let e = try hostile([symlink("a", "b"), symlink("b", "a"), file("a/x", "x")])
        guard case .layerUnpack(let layer, let entry, _) = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(layer.contains("evil:latest") && entry == "a/x")
    }

    @Test func replacingEntries() throws {
        // A later entry replaces an earlier one of another kind; a symlink planted where a file
        // goes is replaced, never written through.
        let e = try hostile([symlink("f", "@OUT/keep"), file("f", "new"), dir("d/"), file("d/x", "1"), file("d", "file now"), file("d2/x", "x")]) { out, _ in
            #expect(contents(out + "/f") == "new")
            #expect(contents(out + "/d") == "file now")
        }
        #expect(e == nil)
    }

    @Test func corruptBlobs() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let layer = t.sub("layer")
        var entries: [(ArchiveEntry, [UInt8])] = []
        for i in 0..<50 { entries.append(file("f\(i)", String(repeating: "\(i)abc", count: 5000))) }
        let desc = try makeLayer(layer, entries)

        // Wrong size and wrong digest name the image and layer.
        var wrongSize = desc; wrongSize.size += 1
        #expect { try LayerUnpacker.unpack(blob: layer, descriptor: wrongSize, into: try t.mkdir("s1"), image: "img:1") } throws: { e in
            guard case .sizeMismatch(let d, _, _) = e as? ImageError else { return false }
            return d.contains(desc.digest.description) && d.contains("img:1")
        }
        var wrongDigest = desc; wrongDigest.digest = Digest.sha256(of: [1, 2, 3])
        #expect { try LayerUnpacker.unpack(blob: layer, descriptor: wrongDigest, into: try t.mkdir("s2"), image: "img:1") } throws: { e in
            guard case .digestMismatch(let exp, let act, _) = e as? ImageError else { return false }
            return exp.contains(wrongDigest.digest.description) && exp.contains("img:1") && act == desc.digest.description
        }

        // Truncated gzip: the descriptor matches the truncated bytes, so it is the stream that fails.
        let bytes = try FS.readBytes(layer, limit: Int.max)
        let cut = t.sub("cut")
        try FS.write(cut, Array(bytes[0..<(bytes.count / 2)]))
        #expect { try LayerUnpacker.unpack(blob: cut, descriptor: try descriptor(of: cut), into: try t.mkdir("s3"), image: "img:1") } throws: { e in
            guard case .layerUnpack(let l, _, let reason) = e as? ImageError else { return false }
            return l.contains("img:1") && !reason.isEmpty
        }

        // Garbage.
        let junk = t.sub("junk")
        try FS.write(junk, (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })
        #expect { try LayerUnpacker.unpack(blob: junk, descriptor: try descriptor(of: junk), into: try t.mkdir("s4"), image: "img:1") } throws: { e in
            guard case .layerUnpack = e as? ImageError else { return false }
            return true
        }
    }

    @Test func emptyLayer() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let layer = t.sub("layer")
        let desc = try makeLayer(layer, [])
        let (diffID, _) = try LayerUnpacker.unpack(blob: layer, descriptor: desc, into: try t.mkdir("s"), image: "img")
        let plain = t.sub("plain")
        _ = try makeLayer(plain, compression: .none, [])
        #expect(diffID == Digest.sha256(of: try FS.readBytes(plain)))
    }
}
