import Foundation
import Testing
import BerthTestSupport
import BerthImage
@testable import BerthLifecycle

@Suite("MetadataStore on a temp SQLite file")
struct MetadataStoreTests {
    func withStore(_ body: (MetadataStore, String) async throws -> Void) async throws {
        try await withTempDir { dir in
            let path = dir + "/metadata.db"
            try await body(try MetadataStore(path: path), path)
        }
    }

    func record(_ seed: String, addedAt: Double = 1_700_000_000, size: Int64 = 100) -> ImageRecord {
        ImageRecord(id: fakeDigest("config-\(seed)"), manifestDigest: fakeDigest("manifest-\(seed)"),
                    manifestMediaType: MediaType.ociManifest, indexDigest: nil, created: "2024-01-02T03:04:05Z",
                    size: size, chainIDs: [fakeDigest("chain1-\(seed)"), fakeDigest("chain2-\(seed)")],
                    blobs: [fakeDigest("manifest-\(seed)"), fakeDigest("config-\(seed)"), fakeDigest("layer-\(seed)")],
                    addedAt: Date(timeIntervalSince1970: addedAt))
    }

    @Test func putAndGetImage() async throws {
        try await withStore { store, path in
            var r = record("a")
            r.indexDigest = fakeDigest("index-a")
            try store.putImage(r, names: [("docker.io/library/a:1", "tag"), ("docker.io/library/a@\(r.manifestDigest)", "digest")])
            #expect(try store.image(id: r.id) == r)
            #expect(try store.image(id: fakeDigest("nothing")) == nil)
            #expect(try store.images() == [r])
            #expect(try store.imageID(forName: "docker.io/library/a:1") == r.id)
            #expect(try store.imageID(forName: "docker.io/library/a:2") == nil)
            let names = try store.names(of: r.id)
            #expect(names.map(\.name) == ["docker.io/library/a:1", "docker.io/library/a@\(r.manifestDigest)"])
            #expect(names.map(\.kind) == ["tag", "digest"])
            #expect(try store.names()[r.id]?.count == 2)

            // Another handle on the same file sees the same data (and migrating again is a no-op).
            let again = try MetadataStore(path: path)
            #expect(try again.image(id: r.id) == r)
        }
    }

    @Test func putImageAgainKeepsAddedAtAndCreated() async throws {
        try await withStore { store, _ in
            let r = record("a", addedAt: 1_700_000_000)
            try store.putImage(r, names: [])
            var later = r
            later.addedAt = Date(timeIntervalSince1970: 1_800_000_000)
            later.manifestDigest = fakeDigest("manifest-2")
            later.indexDigest = fakeDigest("index")
            try store.putImage(later, names: [])
            let got = try #require(try store.image(id: r.id))
            #expect(got.addedAt == r.addedAt)
            #expect(got.manifestDigest == fakeDigest("manifest-2"))
            #expect(got.indexDigest == fakeDigest("index"))
            // A later put without an index keeps the one recorded.
            try store.putImage(r, names: [])
            #expect(try store.image(id: r.id)?.indexDigest == fakeDigest("index"))
            #expect(try store.images().count == 1)
        }
    }

    @Test func imagesAreNewestFirst() async throws {
        try await withStore { store, _ in
            try store.putImage(record("old", addedAt: 1_000), names: [])
            try store.putImage(record("new", addedAt: 3_000), names: [])
            try store.putImage(record("mid", addedAt: 2_000), names: [])
            #expect(try store.images().map(\.id) == [record("new").id, record("mid").id, record("old").id])
        }
    }

    @Test func shortIDPrefix() async throws {
        try await withStore { store, _ in
            let a = record("a"), b = record("b")
            try store.putImage(a, names: [])
            try store.putImage(b, names: [])
            #expect(try store.imageIDs(prefix: String(a.id.encoded.prefix(12))) == [a.id])
            #expect(try store.imageIDs(prefix: a.id.encoded) == [a.id])
            #expect(try store.imageIDs(prefix: "").count == 2)
            #expect(try store.imageIDs(prefix: "zz").isEmpty)
        }
    }

    @Test func nameMovesToTheNewImageLeavingTheOldDangling() async throws {
        try await withStore { store, _ in
            let old = record("old"), new = record("new")
            try store.putImage(old, names: [("docker.io/library/app:latest", "tag")])
            try store.putImage(new, names: [("docker.io/library/app:latest", "tag")])
            #expect(try store.imageID(forName: "docker.io/library/app:latest") == new.id)
            #expect(try store.names(of: old.id).isEmpty)
            #expect(try store.image(id: old.id) != nil)
            #expect(try store.names()[old.id] == nil)

            // addName moves a name the same way.
            try store.addName("docker.io/library/app:latest", kind: "tag", to: old.id)
            #expect(try store.imageID(forName: "docker.io/library/app:latest") == old.id)
            #expect(try store.names(of: new.id).isEmpty)
        }
    }

    @Test func removeName() async throws {
        try await withStore { store, _ in
            let r = record("a")
            try store.putImage(r, names: [("docker.io/library/a:1", "tag"), ("docker.io/library/a:2", "tag")])
            #expect(try store.removeName("docker.io/library/a:1"))
            #expect(try !store.removeName("docker.io/library/a:1"))
            #expect(try store.names(of: r.id).map(\.name) == ["docker.io/library/a:2"])
            #expect(try store.image(id: r.id) != nil)
        }
    }

    @Test func deleteImageCascadesToNames() async throws {
        try await withStore { store, _ in
            let a = record("a"), b = record("b")
            try store.putImage(a, names: [("docker.io/library/a:1", "tag"), ("docker.io/library/a@\(a.manifestDigest)", "digest")])
            try store.putImage(b, names: [("docker.io/library/b:1", "tag")])
            try store.deleteImage(a.id)
            #expect(try store.image(id: a.id) == nil)
            #expect(try store.imageID(forName: "docker.io/library/a:1") == nil)
            #expect(try store.names(of: a.id).isEmpty)
            #expect(try store.names().keys.sorted() == [b.id])
            // Deleting what is not there is fine.
            try store.deleteImage(a.id)
        }
    }

    @Test func invalidNameKindIsRejected() async throws {
        try await withStore { store, _ in
            let r = record("a")
            #expect(throws: (any Error).self) { try store.putImage(r, names: [("docker.io/library/a:1", "label")]) }
            // The transaction rolled back: no half-stored image.
            #expect(try store.image(id: r.id) == nil)
            try store.putImage(r, names: [])
            #expect(throws: (any Error).self) { try store.addName("x", kind: "other", to: r.id) }
            // A name for an image that does not exist violates the foreign key.
            #expect(throws: (any Error).self) { try store.addName("docker.io/library/ghost:1", kind: "tag", to: fakeDigest("ghost")) }
        }
    }

    @Test func snapshots() async throws {
        try await withStore { store, _ in
            let s1 = SnapshotRecord(chainID: fakeDigest("c1"), diffID: fakeDigest("d1"), size: 10)
            let s2 = SnapshotRecord(chainID: fakeDigest("c2"), diffID: fakeDigest("d2"), size: 20)
            try store.putSnapshot(s1)
            try store.putSnapshot(s2)
            // The first record of a chain ID stays.
            try store.putSnapshot(SnapshotRecord(chainID: s1.chainID, diffID: fakeDigest("other"), size: 99))
            #expect(try store.snapshot(s1.chainID) == s1)
            #expect(try store.snapshot(fakeDigest("none")) == nil)
            #expect(Set(try store.snapshots().map(\.chainID)) == [s1.chainID, s2.chainID])
            try store.deleteSnapshot(s1.chainID)
            #expect(try store.snapshot(s1.chainID) == nil)
            #expect(try store.snapshots() == [s2])
        }
    }

    @Test func leasesAndLiveSet() async throws {
        try await withStore { store, _ in
            let r = record("a")
            try store.putImage(r, names: [("docker.io/library/a:1", "tag")])
            var live = try store.liveSet()
            #expect(live.blobs == Set(r.blobs.map(\.description)))
            #expect(live.snapshots == Set(r.chainIDs.map(\.description)))

            try store.createLease("pull-1", description: "pull a")
            try store.addLeaseRef("pull-1", kind: "blob", key: "sha256:leased-blob")
            try store.addLeaseRef("pull-1", kind: "blob", key: "sha256:leased-blob")
            try store.addLeaseRef("pull-1", kind: "snapshot", key: "sha256:leased-snap")
            try store.createLease("pull-2", description: "pull b")
            try store.addLeaseRef("pull-2", kind: "blob", key: "sha256:other")
            #expect(Set(try store.leases().map(\.id)) == ["pull-1", "pull-2"])
            #expect(try store.leases().first { $0.id == "pull-1" }?.description == "pull a")

            live = try store.liveSet()
            #expect(live.blobs.isSuperset(of: ["sha256:leased-blob", "sha256:other"]))
            #expect(live.snapshots.contains("sha256:leased-snap"))
            #expect(!live.blobs.contains("sha256:leased-snap"))

            // Deleting a lease drops its refs with it.
            try store.deleteLease("pull-1")
            live = try store.liveSet()
            #expect(!live.blobs.contains("sha256:leased-blob"))
            #expect(!live.snapshots.contains("sha256:leased-snap"))
            #expect(live.blobs.contains("sha256:other"))

            // A ref to a lease that does not exist is refused (foreign key).
            #expect(throws: (any Error).self) { try store.addLeaseRef("nope", kind: "blob", key: "sha256:x") }
            // Duplicate lease IDs are refused.
            #expect(throws: (any Error).self) { try store.createLease("pull-2", description: "again") }

            #expect(try store.deleteAllLeases() == 1)
            #expect(try store.leases().isEmpty)
            #expect(try store.liveSet().blobs == Set(r.blobs.map(\.description)))
            #expect(try store.deleteAllLeases() == 0)
            // Images are untouched.
            #expect(try store.image(id: r.id) == r)
        }
    }

    @Test func liveSetWithNoImagesIsEmpty() async throws {
        try await withStore { store, _ in
            let live = try store.liveSet()
            #expect(live.blobs.isEmpty && live.snapshots.isEmpty)
        }
    }
}
