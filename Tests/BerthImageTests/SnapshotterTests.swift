import Foundation
import Glibc
import Testing
import BerthArchive
import BerthOS
@testable import BerthImage

@Suite struct SnapshotterTests {
    /// Unpacks layers into snapshots the way the puller will: each in its own extraction,
    /// committed under its chain ID.
    func unpackAll(_ s: Snapshotter, _ t: TempDir, _ layers: [[(ArchiveEntry, [UInt8])]]) throws -> [Digest] {
        var diffIDs: [Digest] = []
        var extractions: [String] = []
        for (i, entries) in layers.enumerated() {
            let blob = t.sub("layer\(i)")
            let desc = try makeLayer(blob, entries)
            let x = try s.prepareExtract()
            diffIDs.append(try LayerUnpacker.unpack(blob: blob, descriptor: desc, into: x, image: "img").diffID)
            extractions.append(x)
        }
        let chain = ChainID.of(diffIDs)
        for (x, c) in zip(extractions, chain) { try s.commitExtract(x, chainID: c) }
        return chain
    }

    @Test func overlayHidesWhiteoutsAndOpaqueDirs() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let s = try Snapshotter(root: t.sub("snap"))
        let chain = try unpackAll(s, t, [
            [file("keep", "k"), file("gone", "g"), file("dir/old", "o"), file("dir2/stay", "s")],
            [file(".wh.gone", ""), file("dir/.wh..wh..opq", ""), file("dir/new", "n"), file("dir2/added", "a")],
        ])
        #expect(chain.allSatisfy(s.has))
        #expect(Set(try s.list()) == Set(chain))
        let m = try s.prepareWritable(key: "c1", parentChain: chain)
        #expect(m.lowerDirs == [s.path(chain[1]), s.path(chain[0])])
        #expect(m.options.hasPrefix("lowerdir=\(s.path(chain[1])):\(s.path(chain[0])),upperdir="))
        let merged = try t.mkdir("merged")
        try s.mount(m, at: merged)
        defer { try? s.unmount(merged) }
        #expect(contents(merged + "/keep") == "k")
        #expect(lstatOf(merged + "/gone") == nil)
        #expect(try FS.list(merged + "/dir") == ["new"])
        #expect(Set(try FS.list(merged + "/dir2")) == ["stay", "added"])
        try FS.write(merged + "/written", "w")
        #expect(contents(m.upperDir + "/written") == "w")
        try s.unmount(merged)
        try s.removeWritable(key: "c1")
        #expect(lstatOf(t.sub("snap/active/c1")) == nil)
        try s.remove(chain[1])
        #expect(!s.has(chain[1]) && s.has(chain[0]))
    }

    @Test func commitRaceKeepsFirst() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let s = try Snapshotter(root: t.sub("snap"))
        let c = Digest.sha256(of: [1])
        let a = try s.prepareExtract(), b = try s.prepareExtract()
        try FS.write(a + "/who", "a")
        try FS.write(b + "/who", "b")
        try s.commitExtract(a, chainID: c)
        try s.commitExtract(b, chainID: c)
        #expect(contents(s.path(c) + "/who") == "a")
        #expect(lstatOf(b) == nil)
        _ = try s.prepareExtract()
        s.cleanTemp()
        #expect(try FS.list(t.sub("snap/extract")).isEmpty)
    }

    /// Enough layers that the lowerdir option exceeds a page: mounted with fsconfig lowerdir+.
    @Test func manyLayersUseNewMountAPI() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let s = try Snapshotter(root: t.sub("snap"))
        let layers = (0..<48).map { i in [file("f\(i)", "\(i)")] }
        let chain = try unpackAll(s, t, layers)
        let m = try s.prepareWritable(key: "many", parentChain: chain)
        #expect(m.options.utf8.count > 4096)
        let merged = try t.mkdir("merged")
        try s.mount(m, at: merged)
        defer { try? s.unmount(merged) }
        #expect(contents(merged + "/f0") == "0" && contents(merged + "/f47") == "47")
    }
}
