import Foundation
import Glibc
import Testing
import BerthTestSupport
import BerthImage
import BerthWire
@testable import BerthLifecycle

/// Matches a thrown LifecycleError by case.
func isConflict(_ e: any Error) -> Bool { if case LifecycleError.conflict = e { return true }; return false }
func isNoSuchImage(_ e: any Error) -> Bool { if case LifecycleError.noSuchImage = e { return true }; return false }
func isInvalidArgument(_ e: any Error) -> Bool { if case LifecycleError.invalidArgument = e { return true }; return false }
func isInvalidReference(_ e: any Error) -> Bool {
    if case LifecycleError.image(.invalidReference) = e { return true }
    return false
}

@Suite("ImageService on a temp data root", .serialized)
struct ImageServiceTests {
    static let filesA = ["etc/hello.txt": "hello from A\n", "usr/share/a/data": String(repeating: "a", count: 5000)]
    static let filesB = ["etc/hello.txt": "hello from B\n", "opt/b": "bee"]
    static let filesC = ["c.txt": "sea"]

    // MARK: import, list, inspect, history

    @Test func importInspectAndHistory() async throws {
        try await withService { svc, dir in
            let tar = try makeTar(in: dir, name: "a", files: Self.filesA)
            let events = Recorder<ProgressEvent>()
            let result = try await svc.importRootfs(
                ImageImportParams(path: tar, reference: "app:1", message: "first import",
                                  changes: [#"CMD ["/bin/app", "--serve"]"#, "LABEL team=core", "ENV A=b", "WORKDIR /srv"]),
                progress: { events.append($0) })
            let id = try Digest(parsing: result.id)
            #expect(events.values.map(\.status) == ["Importing"])
            let tarSize = Int64(try FileManager.default.attributesOfItem(atPath: tar)[.size] as? Int ?? -1)
            #expect(events.values.first?.total == tarSize)

            let info = try svc.inspect("app:1")
            #expect(info.id == id.description)
            #expect(info.repoTags == ["app:1"])
            #expect(info.repoDigests == [])
            #expect(info.config?.cmd == ["/bin/app", "--serve"])
            #expect(info.config?.labels == ["team": "core"])
            #expect(info.config?.env == ["A=b"])
            #expect(info.config?.workingDir == "/srv")
            #expect(info.comment == "first import")
            #expect(info.os == "linux")
            #expect(info.architecture == svc.registry.configuration.platform.architecture)
            #expect(info.rootFS.diffIDs.count == 1)
            #expect(info.layers.count == 1)
            let layer = try #require(info.layers.first)
            #expect(layer.size == tarSize)
            #expect(layer.mediaType == MediaType.ociLayer)
            #expect(layer.diffID == info.rootFS.diffIDs[0].description)
            // One layer: its chain ID is its diff ID; an uncompressed layer's digest is its diff ID.
            #expect(layer.chainID == layer.diffID)
            #expect(layer.digest == layer.diffID)
            #expect(info.chainIDs == [layer.chainID])
            #expect(info.topChainID == layer.chainID)
            #expect(info.manifestMediaType == MediaType.ociManifest)
            #expect(info.size > 5000)
            #expect(info.created != nil)

            // The layer is unpacked into its snapshot.
            let chain = try Digest(parsing: layer.chainID)
            #expect(svc.snapshots.has(chain))
            let hello = try String(contentsOfFile: svc.snapshots.path(chain) + "/etc/hello.txt", encoding: .utf8)
            #expect(hello == "hello from A\n")
            #expect(try svc.meta.snapshot(chain)?.size == info.size)

            let history = try svc.history("app:1")
            #expect(history.count == 1)
            #expect(history.first?.id == id.description)
            #expect(history.first?.tags == ["app:1"])
            #expect(history.first?.comment == "first import")
            #expect(history.first?.size == info.size)
            #expect(history.first?.createdBy == "")
            #expect(abs((history.first?.created ?? 0) - Int64(Date().timeIntervalSince1970)) < 300)

            // The import's lease is gone, so nothing but the image keeps its content.
            #expect(try svc.meta.leases().isEmpty)
            #expect(try svc.info().images == 1)
            #expect(try svc.info().snapshots == 1)
        }
    }

    @Test func importWithoutReferenceOrMessage() async throws {
        try await withService { svc, dir in
            let id = try await svc.importFiles(dir, "c", files: Self.filesC)
            let info = try svc.inspect(id.description)
            #expect(info.repoTags.isEmpty)
            #expect(info.comment == "Imported from tarball")
            #expect(info.config?.cmd == nil)
            #expect(try svc.history(id.description).first?.tags == [])
        }
    }

    @Test func importRejectsBadInput() async throws {
        try await withService { svc, dir in
            let tar = try makeTar(in: dir, name: "c", files: Self.filesC)
            let d = fakeDigest("x")
            await #expect { _ = try await svc.importRootfs(ImageImportParams(path: tar, reference: "app@\(d)"), progress: { _ in }) } throws: { isInvalidArgument($0) }
            await #expect { _ = try await svc.importRootfs(ImageImportParams(path: tar, reference: "UPPER/Case"), progress: { _ in }) } throws: { isInvalidReference($0) }
            await #expect { _ = try await svc.importRootfs(ImageImportParams(path: dir + "/missing.tar"), progress: { _ in }) } throws: { isInvalidArgument($0) }
            await #expect { _ = try await svc.importRootfs(ImageImportParams(path: tar, changes: ["RUN rm -rf /"]), progress: { _ in }) } throws: { isInvalidArgument($0) }
            await #expect { _ = try await svc.importRootfs(ImageImportParams(path: tar, platform: "linux"), progress: { _ in }) } throws: { isInvalidReference($0) }
            #expect(try svc.list(ImageListParams()).isEmpty)
            #expect(try svc.meta.leases().isEmpty)
        }
    }

    @Test func importWithPlatform() async throws {
        try await withService { svc, dir in
            let tar = try makeTar(in: dir, name: "c2", files: Self.filesC)
            let r = try await svc.importRootfs(ImageImportParams(path: tar, reference: "arm:1", platform: "linux/arm64/v8"), progress: { _ in })
            let info = try svc.inspect(r.id)
            #expect(info.architecture == "arm64")
            #expect(info.variant == "v8")
        }
    }

    @Test func resolveByIDPrefixesAndNames() async throws {
        try await withService { svc, dir in
            let id = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            #expect(try svc.resolve(id.description) == id)
            #expect(try svc.resolve(id.encoded) == id)
            #expect(try svc.resolve(id.short) == id)
            #expect(try svc.resolve("sha256:" + id.short) == id)
            #expect(try svc.resolve("app:1") == id)
            #expect(try svc.resolve("docker.io/library/app:1") == id)
            #expect(throws: (any Error).self) { try svc.resolve("app") }
            #expect { try svc.resolve("nope:latest") } throws: { isNoSuchImage($0) }
            #expect { try svc.inspect("nope") } throws: { ($0 as? LifecycleError)?.wireError.code == 404 }
            #expect { try svc.history("nope") } throws: { isNoSuchImage($0) }
        }
    }

    @Test func ambiguousShortIDIsAConflict() async throws {
        try await withService { svc, _ in
            let common = "abcdef012345"
            let ids = try ["1", "2"].map { try Digest(parsing: "sha256:" + common + String(repeating: $0, count: 52)) }
            for id in ids {
                try svc.meta.putImage(ImageRecord(id: id, manifestDigest: fakeDigest("m\(id)"), manifestMediaType: MediaType.ociManifest,
                                                  indexDigest: nil, created: nil, size: 0, chainIDs: [], blobs: [], addedAt: Date()), names: [])
            }
            #expect { try svc.resolve(common) } throws: { e in isConflict(e) && (e as? LifecycleError)?.wireError.code == 409 }
            #expect(try svc.resolve(common + "1") == ids[0])
            #expect(try svc.resolve(common + "2") == ids[1])
            #expect(try svc.resolve(ids[1].description) == ids[1])
        }
    }

    @Test func list() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "busybox:1.36", changes: ["LABEL a=1"])
            try await Task.sleep(for: .milliseconds(20))
            let b = try await svc.importFiles(dir, "b", files: Self.filesB, reference: "team/app:2", changes: ["LABEL a=2 b=yes"])
            try await Task.sleep(for: .milliseconds(20))
            let c = try await svc.importFiles(dir, "c", files: Self.filesC)
            func ids(_ filters: [String: [String]]? = nil) throws -> [String] {
                try svc.list(ImageListParams(filters: filters)).map(\.id)
            }
            // Newest first.
            #expect(try ids() == [c, b, a].map(\.description))
            let all = try svc.list(ImageListParams())
            let sa = try #require(all.first { $0.id == a.description })
            #expect(sa.repoTags == ["busybox:1.36"])
            #expect(sa.repoDigests == [])
            #expect(sa.labels == ["a": "1"])
            #expect(sa.containers == 0)
            #expect(sa.size > 5000)
            #expect(abs(sa.created - Int64(Date().timeIntervalSince1970)) < 300)
            #expect(all.first { $0.id == c.description }?.repoTags == [])

            #expect(try ids(["dangling": ["true"]]) == [c.description])
            #expect(try ids(["dangling": ["1"]]) == [c.description])
            #expect(try ids(["dangling": ["false"]]) == [b, a].map(\.description))
            #expect(try ids(["reference": ["busybox"]]) == [a.description])
            #expect(try ids(["reference": ["busy*"]]) == [a.description])
            #expect(try ids(["reference": ["busybox:1*"]]) == [a.description])
            #expect(try ids(["reference": ["busybox:2*"]]) == [])
            #expect(try ids(["reference": ["team/*"]]) == [b.description])
            #expect(try ids(["reference": ["busybox", "team/app"]]) == [b, a].map(\.description))
            #expect(try ids(["label": ["a"]]) == [b, a].map(\.description))
            #expect(try ids(["label": ["a=1"]]) == [a.description])
            #expect(try ids(["label": ["a", "b=yes"]]) == [b.description])
            #expect(try ids(["before": ["team/app:2"]]) == [a.description])
            #expect(try ids(["since": ["busybox:1.36"]]) == [c, b].map(\.description))
            #expect(try ids(["since": [a.short], "dangling": ["false"]]) == [b.description])

            #expect { try ids(["bogus": ["x"]]) } throws: { isInvalidArgument($0) }
            #expect { try ids(["dangling": ["maybe"]]) } throws: { isInvalidArgument($0) }
            #expect { try ids(["before": ["nope:1"]]) } throws: { isNoSuchImage($0) }
        }
    }

    // MARK: tag and remove

    @Test func tag() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            let b = try await svc.importFiles(dir, "b", files: Self.filesB, reference: "other:1")
            try svc.tag(ImageTagParams(source: "app:1", target: "app:2"))
            try svc.tag(ImageTagParams(source: a.short, target: "localhost:5000/team/app"))
            #expect(try svc.inspect(a.description).repoTags == ["app:1", "app:2", "localhost:5000/team/app:latest"])

            // A tag moves from one image to another.
            try svc.tag(ImageTagParams(source: "other:1", target: "app:2"))
            #expect(try svc.resolve("app:2") == b)
            #expect(try svc.inspect(a.description).repoTags == ["app:1", "localhost:5000/team/app:latest"])

            #expect { try svc.tag(ImageTagParams(source: "app:1", target: "app@\(fakeDigest("d"))")) } throws: { isInvalidArgument($0) }
            #expect { try svc.tag(ImageTagParams(source: "app:1", target: "Bad Name")) } throws: { isInvalidReference($0) }
            #expect { try svc.tag(ImageTagParams(source: "missing:1", target: "x:1")) } throws: { isNoSuchImage($0) }
        }
    }

    @Test func removeUntagsWhileOtherTagsRemain() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            try svc.tag(ImageTagParams(source: "app:1", target: "app:2"))
            let items = try await svc.remove(ImageRemoveParams(reference: "app:1"))
            #expect(items == [ImageDeleteItem(untagged: "app:1")])
            #expect(try svc.inspect(a.description).repoTags == ["app:2"])
            #expect { try svc.resolve("app:1") } throws: { isNoSuchImage($0) }

            // The last tag deletes the image, its blobs and its snapshot.
            let chain = try svc.record(a).chainIDs
            let last = try await svc.remove(ImageRemoveParams(reference: "app:2"))
            #expect(last == [ImageDeleteItem(untagged: "app:2"), ImageDeleteItem(deleted: a.description)]
                + chain.map { ImageDeleteItem(deleted: $0.description) })
            #expect(try svc.meta.image(id: a) == nil)
            #expect(try svc.content.list().isEmpty)
            #expect(try svc.snapshots.list().isEmpty)
            #expect(try svc.meta.snapshots().isEmpty)
            await #expect { _ = try await svc.remove(ImageRemoveParams(reference: "app:2")) } throws: { isNoSuchImage($0) }
        }
    }

    @Test func removeByIDInSeveralRepositoriesNeedsForce() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            try svc.tag(ImageTagParams(source: "app:1", target: "other/repo:x"))
            await #expect { _ = try await svc.remove(ImageRemoveParams(reference: a.short)) } throws: { isConflict($0) }
            await #expect { _ = try await svc.remove(ImageRemoveParams(reference: a.description)) } throws: {
                ($0 as? LifecycleError)?.wireError.code == 409
            }
            #expect(try svc.meta.image(id: a) != nil)

            let items = try await svc.remove(ImageRemoveParams(reference: a.short, force: true))
            #expect(Set(items.compactMap(\.untagged)) == ["app:1", "other/repo:x"])
            #expect(items.contains(ImageDeleteItem(deleted: a.description)))
            #expect(try svc.meta.image(id: a) == nil)
            #expect(try svc.meta.names().isEmpty)
        }
    }

    @Test func removeByIDWithTagsInOneRepository() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            try svc.tag(ImageTagParams(source: "app:1", target: "app:2"))
            let items = try await svc.remove(ImageRemoveParams(reference: a.short))
            #expect(Set(items.compactMap(\.untagged)) == ["app:1", "app:2"])
            #expect(items.contains(ImageDeleteItem(deleted: a.description)))
            #expect(try svc.list(ImageListParams()).isEmpty)
        }
    }

    @Test func removeKeepsSharedLayers() async throws {
        try await withService { svc, dir in
            // Same tar contents, different configs: two images, one layer, one snapshot.
            let a = try await svc.importFiles(dir, "a1", files: Self.filesA, reference: "one:1")
            let b = try await svc.importFiles(dir, "a2", files: Self.filesA, reference: "two:1", changes: ["USER nobody"])
            #expect(a != b)
            let chain = try svc.record(a).chainIDs
            #expect(chain == (try svc.record(b).chainIDs))
            #expect(try svc.snapshots.list().count == 1)
            let items = try await svc.remove(ImageRemoveParams(reference: "one:1"))
            #expect(items == [ImageDeleteItem(untagged: "one:1"), ImageDeleteItem(deleted: a.description)])
            #expect(svc.snapshots.has(chain[0]))
            let sharedLayer = try #require(try svc.record(b).blobs.last)
            #expect(svc.content.has(sharedLayer))
            #expect(!svc.content.has(a))
            #expect(try svc.inspect("two:1").id == b.description)
        }
    }

    @Test func imageInUseIsRefusedUnlessForcedAndThenOnlyUntagged() async throws {
        let inUse = InUse()
        try await withService(inUse: inUse) { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "busy:1")
            inUse.set(a, ["c0ffee0123456789abcdef"])
            #expect(try svc.list(ImageListParams()).first?.containers == 1)

            await #expect { _ = try await svc.remove(ImageRemoveParams(reference: "busy:1")) } throws: { e in
                isConflict(e) && "\(e)".contains("c0ffee012345")
            }
            await #expect { _ = try await svc.remove(ImageRemoveParams(reference: a.short)) } throws: { isConflict($0) }

            let items = try await svc.remove(ImageRemoveParams(reference: "busy:1", force: true))
            #expect(items == [ImageDeleteItem(untagged: "busy:1")])
            // The image stays for its container, now dangling.
            #expect(try svc.meta.image(id: a) != nil)
            #expect(try svc.inspect(a.description).repoTags == [])
            #expect(svc.snapshots.has(try svc.record(a).chainIDs[0]))

            // Prune leaves an image a container uses, dangling or not.
            let pruned = try await svc.prune(ImagePruneParams(all: true))
            #expect(pruned.deleted.isEmpty)
            #expect(try svc.meta.image(id: a) != nil)

            // Once the container is gone the dangling image goes with a prune.
            inUse.set(a, [])
            let later = try await svc.prune(ImagePruneParams())
            #expect(later.deleted.contains(ImageDeleteItem(deleted: a.description)))
            #expect(try svc.meta.image(id: a) == nil)
        }
    }

    // MARK: prune and garbage collection

    @Test func pruneDanglingThenAll() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            let b = try await svc.importFiles(dir, "b", files: Self.filesB, reference: "keep:1", changes: ["LABEL keep=yes"])
            let c = try await svc.importFiles(dir, "c", files: Self.filesC)
            let cChain = try svc.record(c).chainIDs

            let dangling = try await svc.prune(ImagePruneParams())
            #expect(dangling.deleted == [ImageDeleteItem(deleted: c.description)] + cChain.map { ImageDeleteItem(deleted: $0.description) })
            #expect(dangling.spaceReclaimed > 0)
            #expect(try svc.meta.image(id: c) == nil)
            #expect(try svc.meta.image(id: a) != nil)

            // Nothing dangling left: nothing to do.
            let again = try await svc.prune(ImagePruneParams(filters: ["dangling": ["true"]]))
            #expect(again.deleted.isEmpty)
            #expect(again.spaceReclaimed == 0)

            // `-a` with a label filter: only the unlabelled image goes.
            let some = try await svc.prune(ImagePruneParams(filters: ["dangling": ["false"], "label": ["keep=no"]]))
            #expect(some.deleted.isEmpty)
            let labelled = try await svc.prune(ImagePruneParams(all: true, filters: ["label": ["keep=yes"]]))
            #expect(labelled.deleted.contains(ImageDeleteItem(untagged: "keep:1")))
            #expect(labelled.deleted.contains(ImageDeleteItem(deleted: b.description)))
            #expect(try svc.meta.image(id: a) != nil)

            let all = try await svc.prune(ImagePruneParams(all: true))
            #expect(all.deleted.contains(ImageDeleteItem(untagged: "app:1")))
            #expect(all.deleted.contains(ImageDeleteItem(deleted: a.description)))
            #expect(try svc.meta.images().isEmpty)
            #expect(try svc.content.list().isEmpty)
            #expect(try svc.snapshots.list().isEmpty)

            await #expect { _ = try await svc.prune(ImagePruneParams(filters: ["until": ["1h"]])) } throws: { isInvalidArgument($0) }
        }
    }

    @Test func collectGarbageRemovesOnlyUnreferencedContent() async throws {
        try await withService { svc, dir in
            let a = try await svc.importFiles(dir, "a", files: Self.filesA, reference: "app:1")
            let record = try svc.record(a)
            let orphan = try svc.content.write(Array("nobody wants me".utf8))
            let leased = try svc.content.write(Array("a pull in progress".utf8))
            try svc.meta.createLease("pull-test", description: "test")
            try svc.meta.addLeaseRef("pull-test", kind: "blob", key: leased.digest.description)
            // A snapshot directory the database never heard of (committed just before a crash).
            let stray = fakeDigest("stray snapshot")
            try svc.snapshots.commitExtract(try svc.snapshots.prepareExtract(), chainID: stray)
            // And one the database knows but no image uses.
            let unused = fakeDigest("unused snapshot")
            try svc.snapshots.commitExtract(try svc.snapshots.prepareExtract(), chainID: unused)
            try svc.meta.putSnapshot(SnapshotRecord(chainID: unused, diffID: unused, size: 7))

            let gc = try await svc.collectGarbage()
            #expect(gc.blobs == [orphan.digest])
            #expect(gc.snapshots == [unused])
            #expect(gc.bytes == orphan.size + 7)
            #expect(!svc.content.has(orphan.digest))
            #expect(svc.content.has(leased.digest))
            #expect(!svc.snapshots.has(stray))
            #expect(!svc.snapshots.has(unused))
            #expect(try svc.meta.snapshot(unused) == nil)
            for blob in record.blobs { #expect(svc.content.has(blob)) }
            for chain in record.chainIDs { #expect(svc.snapshots.has(chain)) }

            // Recovery drops the leases a dead daemon left, then collects what only they held.
            let recovered = try await svc.recover()
            #expect(recovered.blobs == [leased.digest])
            #expect(try svc.meta.leases().isEmpty)
            #expect(!svc.content.has(leased.digest))
            #expect(try svc.inspect("app:1").id == a.description)

            // Nothing left to collect.
            let idle = try await svc.collectGarbage()
            #expect(idle.blobs.isEmpty && idle.snapshots.isEmpty && idle.bytes == 0)
        }
    }
}

@Suite("ImageService over the wire")
struct ImageServiceWireTests {
    @Test func methodsAnswerThroughTheRouter() async throws {
        try await withService { svc, dir in
            var router = WireRouter()
            svc.register(on: &router)
            #expect(router.methods.contains("image.import"))
            #expect(router.methods.contains("image.list"))
            let server = try await WireServer.start(path: dir + "/lc.sock", router: router)
            let client = try await WireClient.connect(path: server.path)
            do {
                let tar = try makeTar(in: dir, name: "a", files: ImageServiceTests.filesA)
                let events = Recorder<ProgressEvent>()
                let r = try await client.call("image.import", ImageImportParams(path: tar, reference: "wire:1"), returning: ImageIDResult.self,
                                              progress: ProgressEvent.self) { events.append($0) }
                #expect(events.values.map(\.status) == ["Importing"])
                let list = try await client.call("image.list", ImageListParams(), returning: [ImageSummary].self)
                #expect(list.map(\.id) == [r.id])
                #expect(list.first?.repoTags == ["wire:1"])
                do {
                    _ = try await client.call("image.inspect", ImageRefParams(reference: "nope:1"), returning: RawJSON.self)
                    Issue.record("expected 404")
                } catch let e as WireError {
                    #expect(e == WireError(code: 404, message: "No such image: nope:1"))
                }
                do {
                    _ = try await client.call("image.tag", ImageTagParams(source: "wire:1", target: "UP:per"), returning: Empty.self)
                    Issue.record("expected 400")
                } catch let e as WireError {
                    #expect(e.code == 400)
                }
                do {
                    _ = try await client.call("image.inspect", RawJSON("{}"), returning: RawJSON.self)
                    Issue.record("expected -32602")
                } catch let e as WireError {
                    #expect(e.code == -32602)
                    #expect(e.message.contains("reference"))
                }
                let removed = try await client.call("image.remove", ImageRemoveParams(reference: "wire:1"), returning: [ImageDeleteItem].self)
                #expect(removed.first == ImageDeleteItem(untagged: "wire:1"))
            } catch {
                await client.close()
                await server.close()
                throw error
            }
            await client.close()
            await server.close()
        }
    }
}
