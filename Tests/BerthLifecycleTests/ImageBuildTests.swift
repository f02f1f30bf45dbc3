import Foundation
import Glibc
import Testing
import BerthTestSupport
import BerthImage
import BerthWire
@testable import BerthLifecycle

/// A config with only `Cmd` set: what a build step's image config could be.
private func cmdConfig(_ cmd: [String]) -> ContainerConfig {
    var c = ContainerConfig()
    c.cmd = cmd
    return c
}

@Suite("Image build steps (image.build.commit, image.build.cache, intermediate images)", .serialized)
struct ImageBuildTests {
    static let baseFiles = ["etc/hello.txt": "hello from base\n", "bin/tool": "#!/bin/sh\n"]

    /// Imports the base image `base:1` (CMD sh, ENV A=b) and returns its ID.
    func base(_ svc: ImageService, _ dir: String) async throws -> Digest {
        try await svc.importFiles(dir, "base", files: Self.baseFiles, reference: "base:1", changes: [#"CMD ["/bin/sh"]"#, "ENV A=b"])
    }

    /// A metadata-only step (no layer) onto `parent`.
    func emptyStep(_ svc: ImageService, _ parent: Digest, _ createdBy: String, references: [String]? = nil,
                   cacheKey: String? = nil) async throws -> Digest {
        let r = try await svc.buildCommit(ImageBuildCommitParams(parent: parent.description, config: cmdConfig([createdBy]),
                                                                 createdBy: createdBy, cacheKey: cacheKey, references: references))
        return try Digest(parsing: r.id)
    }

    // MARK: commits

    @Test func commitFromAContainerAddsItsWritableLayer() async throws {
        try await withTempDir { dir in
            let daemon = try LifecycleDaemon(options: testDaemonOptions(dir, bridge: "berth-test-bld", chainPrefix: "BERTH-TEST-BUILD"))
            do {
                try await containerSteps(daemon, dir)
            } catch {
                await daemon.shutdown()
                throw error
            }
            await daemon.shutdown()
        }
    }

    /// Two steps run in containers of `base:1`: one that wrote a file, one that changed nothing.
    func containerSteps(_ daemon: LifecycleDaemon, _ dir: String) async throws {
        let svc = daemon.images
        let baseID = try await base(svc, dir)
        let baseInfo = try svc.inspect("base:1")

        func container() async throws -> String {
            try await daemon.containers.create(ContainerCreateRequest(config: ContainerCreateParams(
                image: "base:1", cmd: ["/bin/sh", "-c", "echo built > /built.txt"], hostConfig: HostConfig(networkMode: "none")))).id
        }
        let c1 = try await container()
        // What the step's process would have written: a file in the container's upper dir.
        let upper = svc.snapshots.upperDir(key: c1)
        try Data("built\n".utf8).write(to: URL(fileURLWithPath: upper + "/built.txt"))

        // Set exactly: the base's ENV does not carry over.
        let step = ImageBuildCommitParams(parent: "base:1", container: c1, config: cmdConfig(["/bin/app"]),
                                          createdBy: "/bin/sh -c echo built > /built.txt", comment: "step 2", cacheKey: "key-run")
        let id = try Digest(parsing: try await daemon.containers.buildCommit(step).id)
        let info = try svc.inspect(id.description)
        #expect(info.repoTags.isEmpty)
        #expect(info.config == cmdConfig(["/bin/app"]))
        #expect(info.rootFS.diffIDs.count == 2)
        #expect(Array(info.rootFS.diffIDs.prefix(1)) == baseInfo.rootFS.diffIDs)
        let top = try #require(info.layers.last)
        let topDir = svc.snapshots.path(try Digest(parsing: top.chainID))
        #expect(try String(contentsOfFile: topDir + "/built.txt", encoding: .utf8) == "built\n")
        // Only the change is in the new layer; the base's files stay below.
        #expect(!FileManager.default.fileExists(atPath: topDir + "/etc/hello.txt"))

        let cfg = try svc.config(of: svc.record(id))
        #expect(cfg.history?.count == 2)
        let h = try #require(cfg.history?.last)
        #expect(h.createdBy == "/bin/sh -c echo built > /built.txt")
        #expect(h.comment == "step 2")
        #expect(h.emptyLayer == nil)
        #expect(try svc.meta.parent(of: id) == baseID)
        #expect(try svc.buildCache(ImageBuildCacheParams(key: "key-run")).id == id.description)

        // A container that changed nothing still makes a (empty) layer, as Docker's classic builder.
        let c2 = try await container()
        let same = try Digest(parsing: try await daemon.containers.buildCommit(ImageBuildCommitParams(
            parent: baseID.description, container: c2, config: cmdConfig(["/bin/true"]), createdBy: "/bin/sh -c true")).id)
        let sameInfo = try svc.inspect(same.description)
        #expect(sameInfo.rootFS.diffIDs.count == 2)
        #expect(try svc.config(of: svc.record(same)).history?.last?.emptyLayer == nil)

        // The container must run the parent: its layer would sit on the wrong base otherwise.
        await #expect(throws: LifecycleError.self) {
            _ = try await daemon.containers.buildCommit(ImageBuildCommitParams(parent: id.description, container: c1,
                                                                               config: ContainerConfig(), createdBy: "x"))
        }
        for c in [c1, c2] { try await daemon.containers.remove(ContainerRemoveParams(id: c, force: true)) }
    }

    @Test func emptyLayerCommitKeepsTheLayers() async throws {
        try await withService { svc, dir in
            let baseID = try await base(svc, dir)
            let baseInfo = try svc.inspect("base:1")
            let id = try await emptyStep(svc, baseID, "/bin/sh -c #(nop)  ENV B=c")
            #expect(id != baseID)
            let info = try svc.inspect(id.description)
            #expect(info.rootFS == baseInfo.rootFS)
            #expect(info.layers == baseInfo.layers)
            #expect(info.size == baseInfo.size)
            let cfg = try svc.config(of: svc.record(id))
            #expect(cfg.history?.count == 2)
            #expect(cfg.history?.last?.emptyLayer == true)
            #expect(cfg.history?.last?.createdBy == "/bin/sh -c #(nop)  ENV B=c")
            #expect(cfg.history?.first?.emptyLayer == nil)

            let history = try svc.history(id.description)
            #expect(history.map(\.createdBy) == ["/bin/sh -c #(nop)  ENV B=c", ""])
            #expect(history.map(\.size) == [0, baseInfo.size])
            // The parent is here: its line shows its ID and tags, as Docker's history does.
            #expect(history.map(\.id) == [id.description, baseID.description])
            #expect(history[1].tags == ["base:1"])
        }
    }

    @Test func scratchWithALayerTar() async throws {
        try await withService { svc, dir in
            let tar = try makeTar(in: dir, name: "copy", files: ["app/run.sh": "echo hi\n"])
            let tarDigest = Digest.sha256(of: Array(try Data(contentsOf: URL(fileURLWithPath: tar))))
            let r = try await svc.buildCommit(ImageBuildCommitParams(parent: "", layerTar: tar, config: cmdConfig(["/app/run.sh"]),
                                                                     createdBy: "/bin/sh -c #(nop) COPY dir:abc in /app ",
                                                                     references: ["app:scratch"]))
            let id = try Digest(parsing: r.id)
            let info = try svc.inspect("app:scratch")
            #expect(info.id == id.description)
            #expect(info.rootFS.diffIDs == [tarDigest])
            #expect(info.architecture == svc.registry.configuration.platform.architecture)
            #expect(info.os == svc.registry.configuration.platform.os)
            let dir0 = svc.snapshots.path(try Digest(parsing: try #require(info.chainIDs.first)))
            #expect(try String(contentsOfFile: dir0 + "/app/run.sh", encoding: .utf8) == "echo hi\n")
            let cfg = try svc.config(of: svc.record(id))
            #expect(cfg.history?.count == 1)
            #expect(cfg.history?.first?.createdBy == "/bin/sh -c #(nop) COPY dir:abc in /app ")
            #expect(cfg.history?.first?.emptyLayer == nil)
            #expect(try svc.meta.parent(of: id) == nil)

            // Scratch without a layer: an image with no layers at all.
            let empty = try await svc.buildCommit(ImageBuildCommitParams(parent: "", config: ContainerConfig(), createdBy: "LABEL"))
            #expect(try svc.inspect(empty.id).rootFS.diffIDs.isEmpty)

            await #expect(throws: LifecycleError.self) {
                _ = try await svc.buildCommit(ImageBuildCommitParams(parent: "", container: "abc", layerTar: tar,
                                                                     config: ContainerConfig(), createdBy: "x"))
            }
            await #expect(throws: LifecycleError.self) {
                _ = try await svc.buildCommit(ImageBuildCommitParams(parent: "nope:1", config: ContainerConfig(), createdBy: "x"))
            }
        }
    }

    @Test func cacheHitMissAndAfterRemove() async throws {
        try await withService { svc, dir in
            let baseID = try await base(svc, dir)
            #expect(try svc.buildCache(ImageBuildCacheParams(key: "k1")).id == nil)
            let first = try await emptyStep(svc, baseID, "ENV X=1", cacheKey: "k1")
            #expect(try svc.buildCache(ImageBuildCacheParams(key: "k1")).id == first.description)
            #expect(try svc.buildCache(ImageBuildCacheParams(key: "k2")).id == nil)
            // A later commit with the same key replaces the entry.
            let second = try await emptyStep(svc, baseID, "ENV X=2", cacheKey: "k1")
            #expect(second != first)
            #expect(try svc.buildCache(ImageBuildCacheParams(key: "k1")).id == second.description)

            _ = try await svc.remove(ImageRemoveParams(reference: second.description))
            #expect(try svc.buildCache(ImageBuildCacheParams(key: "k1")).id == nil)
            // Null is sent, not left out.
            let json = String(decoding: try JSONEncoder().encode(ImageBuildCacheResult(id: nil)), as: UTF8.self)
            #expect(json == #"{"id":null}"#)
        }
    }

    // MARK: intermediate images

    @Test func listHidesIntermediatesUnlessAll() async throws {
        try await withService { svc, dir in
            let baseID = try await base(svc, dir)
            let s1 = try await emptyStep(svc, baseID, "ENV S=1")
            let app = try await emptyStep(svc, s1, "CMD app", references: ["app:1"])
            let loose = try await emptyStep(svc, baseID, "ENV LOOSE=1")

            let shown = Set(try svc.list(ImageListParams()).map(\.id))
            #expect(shown == [baseID.description, app.description, loose.description])
            let all = Set(try svc.list(ImageListParams(all: true)).map(\.id))
            #expect(all == [baseID.description, s1.description, app.description, loose.description])
            // dangling=true: the childless nameless tips only, with or without all.
            for a in [false, true] {
                #expect(try svc.list(ImageListParams(filters: ["dangling": ["true"]], all: a)).map(\.id) == [loose.description])
            }

            let history = try svc.history("app:1")
            #expect(history.map(\.id) == [app.description, s1.description, baseID.description])
            #expect(history.map(\.createdBy) == ["CMD app", "ENV S=1", ""])
            #expect(history.map(\.tags) == [["app:1"], [], ["base:1"]])
        }
    }

    @Test func removingTheLeafRemovesUntaggedParents() async throws {
        let inUse = InUse()
        try await withService(inUse: inUse) { svc, dir in
            let baseID = try await base(svc, dir)
            let s1 = try await emptyStep(svc, baseID, "ENV S=1")
            let s2 = try await emptyStep(svc, s1, "ENV S=2")
            let app = try await emptyStep(svc, s2, "CMD app", references: ["app:1"])

            let items = try await svc.remove(ImageRemoveParams(reference: "app:1"))
            #expect(items == [ImageDeleteItem(untagged: "app:1"), ImageDeleteItem(deleted: app.description),
                              ImageDeleteItem(deleted: s2.description), ImageDeleteItem(deleted: s1.description)])
            // The tagged base stops the chain.
            #expect(try svc.meta.image(id: baseID) != nil)
            for gone in [app, s2, s1] { #expect(try svc.meta.image(id: gone) == nil) }

            // noPrune keeps the parents; a parent a container uses stops the chain.
            let t1 = try await emptyStep(svc, baseID, "ENV T=1")
            let t2 = try await emptyStep(svc, t1, "ENV T=2")
            let t3 = try await emptyStep(svc, t2, "ENV T=3", references: ["t:3"])
            #expect(try await svc.remove(ImageRemoveParams(reference: "t:3", noPrune: true)).compactMap(\.deleted) == [t3.description])
            #expect(try svc.meta.image(id: t2) != nil)
            let t4 = try await emptyStep(svc, t2, "ENV T=4")
            inUse.set(t1, ["c0ffee0000000000"])
            #expect(try await svc.remove(ImageRemoveParams(reference: t4.description)).compactMap(\.deleted) == [t4.description, t2.description])
            #expect(try svc.meta.image(id: t1) != nil)

            // Prune: a dangling leaf goes with its unused nameless parents.
            inUse.set(t1, [])
            let leaf = try await emptyStep(svc, t1, "ENV LEAF=1")
            let pruned = try await svc.prune(ImagePruneParams())
            #expect(pruned.deleted.compactMap(\.deleted).prefix(2) == [leaf.description, t1.description])
            #expect(try svc.meta.image(id: baseID) != nil)
        }
    }

    @Test func removingAParentByIDIsAConflict() async throws {
        try await withService { svc, dir in
            let baseID = try await base(svc, dir)
            let s1 = try await emptyStep(svc, baseID, "ENV S=1")
            let app = try await emptyStep(svc, s1, "CMD app", references: ["app:1"])

            for force in [false, true] {
                do {
                    _ = try await svc.remove(ImageRemoveParams(reference: s1.description, force: force))
                    Issue.record("removing a parent by ID succeeded")
                } catch let e as LifecycleError {
                    #expect(e.description == "conflict: unable to delete \(s1.short) (cannot be forced) - image has dependent child images")
                    #expect(e.wireError.code == 409)
                }
            }
            await #expect(throws: LifecycleError.self) { _ = try await svc.remove(ImageRemoveParams(reference: baseID.short)) }

            // Untagging a parent's last tag is fine: the image stays for its children.
            #expect(try await svc.remove(ImageRemoveParams(reference: "base:1")) == [ImageDeleteItem(untagged: "base:1")])
            #expect(try svc.meta.image(id: baseID) != nil)
            // Dangling prune skips parents: nothing here is a childless nameless image.
            #expect(try await svc.prune(ImagePruneParams()).deleted.isEmpty)
            // The leaf takes the whole nameless chain with it.
            let items = try await svc.remove(ImageRemoveParams(reference: "app:1"))
            #expect(items.compactMap(\.deleted).prefix(3) == [app.description, s1.description, baseID.description])
            #expect(try svc.meta.images().isEmpty)
        }
    }
}
