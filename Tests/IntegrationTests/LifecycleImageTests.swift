import Foundation
import Glibc
import Testing
import BerthImage
import BerthTestSupport
import BerthWire

/// Progress events a call streamed, collected for assertions.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ProgressEvent] = []
    func add(_ e: ProgressEvent) { lock.lock(); items.append(e); lock.unlock() }
    var all: [ProgressEvent] { lock.lock(); defer { lock.unlock() }; return items }
    var statuses: [String] { all.map(\.status) }
}

/// berth-lifecycled driven over its socket, against a real registry (docker-registry on 127.0.0.1)
/// seeded with skopeo from OCI layouts built from busybox-static.
@Suite(.serialized, .enabled(if: LifecycleHarness.available && TestRegistry.available))
struct LifecycleImageTests: LifecycleDriving {
    /// A daemon and a registry for `body`, both torn down afterwards, also on failure.
    func withStack(auth: TestRegistry.Auth = .none, _ body: (LifecycleHarness, TestRegistry, WireClient) async throws -> Void) async throws {
        try await LifecycleHarness.withStack(auth: auth, report: { Issue.record(Comment(rawValue: $0)) }, body)
    }

    func layout(_ lc: LifecycleHarness, _ name: String) -> String { lc.dir + "/layouts/" + name }

    func pull(_ c: WireClient, _ ref: String, platform: String? = nil, auth: RegistryAuth? = nil, log: EventLog = EventLog()) async throws -> ImagePullResult {
        try await c.call("image.pull", ImagePullParams(reference: ref, platform: platform, auth: auth), returning: ImagePullResult.self,
                         progress: ProgressEvent.self) { log.add($0) }
    }


    @Test func pullListInspectHistoryTagRemove() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.multiLayer(in: layout(lc, "multi"))
            try registry.push(image.ociReference, to: "team/multi", tag: "v1")
            let ref = "\(registry.host)/team/multi:v1"
            let events = EventLog()
            let r = try await pull(c, ref, log: events)
            #expect(r.id == image.configDescriptor.digest.description)
            #expect(r.digest == image.manifestDescriptor.digest.description)
            #expect(events.statuses.first == "Pulling from team/multi")
            #expect(events.statuses.filter { $0 == "Pull complete" }.count == 3)
            #expect(events.all.contains { $0.status == "Downloading" && $0.total != nil })
            #expect(events.statuses.last == "Status: Downloaded newer image for \(ref)")

            // Pulled again: nothing to do.
            let again = EventLog()
            let r2 = try await pull(c, ref, log: again)
            #expect(r2.status == "Image is up to date for \(ref)")
            #expect(!again.statuses.contains("Pull complete"))

            let list = try await c.call("image.list", ImageListParams(), returning: [ImageSummary].self)
            #expect(list.count == 1)
            #expect(list[0].repoTags == [ref])
            #expect(list[0].repoDigests == ["\(registry.host)/team/multi@\(image.manifestDescriptor.digest)"])
            #expect(list[0].labels["org.berth.test"] == "multi-layer")
            #expect(list[0].size > 1_000_000)

            let filtered = try await c.call("image.list", ImageListParams(filters: ["reference": ["*/team/mul*"]]), returning: [ImageSummary].self)
            #expect(filtered.count == 1)
            let none = try await c.call("image.list", ImageListParams(filters: ["label": ["org.berth.test=other"]]), returning: [ImageSummary].self)
            #expect(none.isEmpty)

            let inspect = try await c.call("image.inspect", ImageRefParams(reference: ref), returning: ImageInspect.self)
            #expect(inspect.layers.count == 3)
            #expect(inspect.rootFS.diffIDs == image.config.rootfs.diffIDs)
            #expect(inspect.config?.cmd == ["sh"])
            // By short ID too, as docker accepts.
            let short = String(r.id.dropFirst(7).prefix(12))
            let byID = try await c.call("image.inspect", ImageRefParams(reference: short), returning: ImageInspect.self)
            #expect(byID.id == r.id)
            let history = try await c.call("image.history", ImageRefParams(reference: ref), returning: [HistoryEntry].self)
            #expect(history.first?.id == r.id)
            #expect(history.count == image.config.history?.count ?? 3)

            // The unpacked snapshots, mounted as a container's rootfs, show the whiteout and the opaque dir.
            let mount = try await c.call("snapshot.prepare", SnapshotPrepareParams(key: "berth-test-c1", image: ref), returning: SnapshotMount.self)
            #expect(mount.lowerDirs.count == 3)
            await expectError(409, "already exists") {
                _ = try await c.call("snapshot.prepare", SnapshotPrepareParams(key: "berth-test-c1", image: ref), returning: SnapshotMount.self)
            }
            await expectError(400, "invalid snapshot key") {
                _ = try await c.call("snapshot.prepare", SnapshotPrepareParams(key: "../../escape", image: ref), returning: SnapshotMount.self)
            }
            await expectError(404, "no such snapshot") {
                _ = try await c.call("snapshot.remove", SnapshotKeyParams(key: "berth-test-none"), returning: Empty.self)
            }
            let target = lc.dir + "/rootfs"
            try Fixtures.mkdirAll(target)
            #expect(Glibc.mount("overlay", target, "overlay", 0, mount.options) == 0, "mount: \(errno)")
            #expect(access(target + "/bin/busybox", X_OK) == 0)
            #expect(access(target + "/data/a", F_OK) != 0, "whiteout must hide /data/a")
            #expect(try Fixtures.read(target + "/data/b") == "b from layer 2\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/opq").sorted() == ["z"])
            umount2(target, Int32(MNT_DETACH))
            _ = try await c.call("snapshot.remove", SnapshotKeyParams(key: "berth-test-c1"), returning: Empty.self)

            // Tag, untag, delete.
            _ = try await c.call("image.tag", ImageTagParams(source: ref, target: "local/multi:copy"), returning: Empty.self)
            let untag = try await c.call("image.remove", ImageRemoveParams(reference: "local/multi:copy"), returning: [ImageDeleteItem].self)
            #expect(untag == [ImageDeleteItem(untagged: "local/multi:copy")])
            let del = try await c.call("image.remove", ImageRemoveParams(reference: ref), returning: [ImageDeleteItem].self)
            #expect(del.contains(ImageDeleteItem(deleted: r.id)))
            #expect(del.filter { $0.deleted != nil }.count == 4, "image + 3 layers: \(del)")
            let info = try await c.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(info.images == 0 && info.snapshots == 0 && info.leases == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: lc.root + "/content/blobs/sha256").isEmpty)
        }
    }

    @Test func multiPlatformIndexAndErrors() async throws {
        try await withStack { lc, registry, c in
            let mp = try TestImages.multiPlatform(in: layout(lc, "mp"))
            try registry.push("oci:\(layout(lc, "mp")):multiarch", to: "mp", tag: "1", all: true)
            let ref = "\(registry.host)/mp:1"
            let amd = try await pull(c, ref)
            #expect(amd.id == mp.amd64.configDescriptor.digest.description)
            #expect(amd.digest == mp.index.digest.description, "RepoDigests name the index, as docker's do")
            let arm = try await pull(c, ref, platform: "linux/arm64")
            #expect(arm.id == mp.arm64.configDescriptor.digest.description)
            let inspect = try await c.call("image.inspect", ImageRefParams(reference: ref), returning: ImageInspect.self)
            #expect(inspect.architecture == "arm64", "the tag follows the last pull")

            await expectError(404, "no matching manifest for linux/s390x") { _ = try await pull(c, ref, platform: "linux/s390x") }
            await expectError(404, "manifest unknown") { _ = try await pull(c, "\(registry.host)/mp:nope") }
            await expectError(400, "invalid reference format") { _ = try await pull(c, "team/Upper") }
            await expectError(404, "No such image: nope") {
                _ = try await c.call("image.inspect", ImageRefParams(reference: "nope"), returning: ImageInspect.self)
            }
            await expectError(-32602, "missing reference") { _ = try await c.call("image.inspect", Empty(), returning: RawJSON.self) }
            await expectError(-32601, "no such method") { _ = try await c.call("image.frobnicate", Empty(), returning: RawJSON.self) }
            // The connection survives errors.
            _ = try await c.call("system.ping", Empty(), returning: RawJSON.self)
        }
    }

    @Test func pushToAnotherRepositoryAndPullBack() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.multiLayer(in: layout(lc, "multi"))
            try registry.push(image.ociReference, to: "src/app", tag: "1")
            let src = "\(registry.host)/src/app:1"
            let pulled = try await pull(c, src)
            let dst = "\(registry.host)/dst/app:2"
            _ = try await c.call("image.tag", ImageTagParams(source: src, target: dst), returning: Empty.self)
            let events = EventLog()
            let pushed = try await c.call("image.push", ImagePushParams(reference: dst), returning: ImagePushResult.self,
                                          progress: ProgressEvent.self) { events.add($0) }
            #expect(events.statuses.first == "The push refers to repository [\(registry.host)/dst/app]")
            #expect(events.statuses.filter { $0.hasPrefix("Mounted from src/app") }.count == 3, "\(events.statuses)")
            #expect(events.statuses.last == "2: digest: \(pushed.digest) size: \(pushed.size)")

            // Another client sees what was pushed.
            let inspected = try registry.inspect("dst/app:2")
            #expect(inspected.contains(pushed.digest))
            for l in image.manifest.layers { #expect(inspected.contains(l.digest.description)) }

            // Deleted locally and pulled back from the new repository: the same image.
            _ = try await c.call("image.remove", ImageRemoveParams(reference: pulled.id, force: true), returning: [ImageDeleteItem].self)
            let back = try await pull(c, dst)
            #expect(back.id == pulled.id)
            #expect(back.digest == pushed.digest)
        }
    }

    @Test func tokenAuthRegistry() async throws {
        try await withStack(auth: .token(username: "berth", password: "s3cret")) { lc, registry, c in
            let image = try TestImages.busybox(in: layout(lc, "bb"))
            try registry.push(image.ociReference, to: "private/bb", tag: "latest")
            let ref = "\(registry.host)/private/bb"
            await expectError(401, "unauthorized") { _ = try await pull(c, ref) }
            await expectError(401, "unauthorized") {
                _ = try await pull(c, ref, auth: RegistryAuth(username: "berth", password: "wrong"))
            }
            let r = try await pull(c, ref, auth: RegistryAuth(username: "berth", password: "s3cret"))
            #expect(r.id == image.configDescriptor.digest.description)
            let info = try await c.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(info.images == 1 && info.leases == 0)
        }
    }

    @Test func concurrentPullsDownloadEachBlobOnce() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.custom(in: layout(lc, "big"), tag: "big", layers: [[.random("r", size: 8 << 20, seed: 7)]], busyboxBase: true, gzipLevel: 1)
            try registry.push(image.ociReference, to: "big", tag: "1")
            let ref = "\(registry.host)/big:1"
            let c2 = try await lc.client()
            async let a = pull(c, ref)
            async let b = pull(c2, ref)
            let (ra, rb) = try await (a, b)
            #expect(ra.id == rb.id)
            for l in image.manifest.layers {
                let gets = registry.log.split(separator: "\n").filter { $0.contains("GET /v2/big/blobs/\(l.digest)") && $0.contains(" 200 ") }
                #expect(gets.count == 1, "layer \(l.digest.short) fetched \(gets.count) times")
            }
        }
    }

    @Test func killedMidPullRecoversAndRepulls() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.large(in: layout(lc, "large"), totalBytes: 96 << 20)
            try registry.push(image.ociReference, to: "large", tag: "1")
            let ref = "\(registry.host)/large:1"
            let events = EventLog()
            let pullTask = Task { try await pull(c, ref, log: events) }
            // Wait until bytes are flowing, then crash the daemon.
            for _ in 0..<400 where !events.all.contains(where: { $0.status == "Downloading" && ($0.current ?? 0) > 1 << 20 }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            await lc.crash()
            _ = await pullTask.result
            try await lc.start()
            let c2 = try await lc.client()
            let info = try await c2.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(info.images == 0, "no half image")
            #expect(info.snapshots == 0, "no orphan snapshot")
            #expect(info.leases == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: lc.root + "/content/ingest").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: lc.root + "/content/blobs/sha256").isEmpty)
            let r = try await pull(c2, ref)
            #expect(r.id == image.configDescriptor.digest.description)
        }
    }

    @Test func hostileLayerIsRefusedAndLeavesNothing() async throws {
        try await withStack { lc, registry, c in
            let outside = lc.dir + "/outside"
            try Fixtures.mkdirAll(outside)
            let cases: [(String, [TestLayerEntry])] = [
                ("dotdot", [.text("../../../../../..\(outside)/pwned", "x")]),
                ("symlink", [.symlink("evil", target: outside), .text("evil/pwned", "x")]),
            ]
            for (name, entries) in cases {
                let image = try TestImages.custom(in: layout(lc, name), tag: name, layers: [entries], busyboxBase: true)
                try registry.push(image.ociReference, to: "hostile/\(name)", tag: "1")
                let ref = "\(registry.host)/hostile/\(name):1"
                do {
                    _ = try await pull(c, ref)
                    // A confined write is acceptable (docker's behaviour for `..`); an escape is not.
                } catch let e as WireError {
                    #expect(e.message.contains(image.manifest.layers[1].digest.description), "names the layer: \(e.message)")
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "\(name): wrote outside the snapshot")
            }
        }
    }

    /// The registry's copy of a blob (distribution's filesystem layout), to damage it.
    func registryBlob(_ registry: TestRegistry, _ d: Digest) -> String {
        "\(registry.dir)/storage/docker/registry/v2/blobs/sha256/\(d.encoded.prefix(2))/\(d.encoded)/data"
    }

    @Test func damagedRegistryContentIsRefused() async throws {
        try await withStack { lc, registry, c in
            // Bogus config JSON.
            let b = try OCILayoutBuilder(path: layout(lc, "bogus"))
            let layer = try b.addLayer([.text("hello", "hi\n")])
            let cfg = try b.addBlob(Array("{not json".utf8))
            let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: cfg, size: 9), layers: [layer.descriptor])
            let mbytes = try CanonicalJSON.encode(manifest)
            let md = try b.addBlob(mbytes)
            try b.tag(Descriptor(mediaType: MediaType.ociManifest, digest: md, size: Int64(mbytes.count)), as: "bogus")
            try registry.push("oci:\(layout(lc, "bogus")):bogus", to: "bogus", tag: "1")
            await expectError(500, "invalid image config \(cfg)") { _ = try await pull(c, "\(registry.host)/bogus:1") }

            // A layer the registry lost, one it serves corrupted (same size), one truncated: one image each.
            var images: [String: TestImage] = [:]
            for (i, name) in ["lost", "corrupt", "cut"].enumerated() {
                let image = try TestImages.custom(in: layout(lc, name), tag: name, layers: [[.random("r", size: 100_000, seed: 10 + i)]])
                try registry.push(image.ociReference, to: name, tag: "1")
                images[name] = image
            }
            func layerOf(_ name: String) -> Descriptor { images[name]!.manifest.layers[0] }
            try FileManager.default.removeItem(atPath: registryBlob(registry, layerOf("lost").digest))
            await expectError(404, "blob unknown") { _ = try await pull(c, "\(registry.host)/lost:1") }

            let corruptPath = registryBlob(registry, layerOf("corrupt").digest)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corruptPath)))
            bytes[bytes.count / 2] ^= 0xff
            try Data(bytes).write(to: URL(fileURLWithPath: corruptPath))
            await expectError(500, "digest mismatch") { _ = try await pull(c, "\(registry.host)/corrupt:1") }

            let cutPath = registryBlob(registry, layerOf("cut").digest)
            let whole = try Data(contentsOf: URL(fileURLWithPath: cutPath))
            try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cutPath))
            await expectError(500, "\(layerOf("cut").digest)") { _ = try await pull(c, "\(registry.host)/cut:1") }

            for name in ["lost", "corrupt", "cut"] {
                let d = layerOf(name).digest
                try? FileManager.default.removeItem(atPath: registryBlob(registry, d))
                try FileManager.default.copyItem(atPath: images[name]!.blobPath(d), toPath: registryBlob(registry, d))
            }
            let image = images["cut"]!
            let ref = "\(registry.host)/cut:1"
            // Nothing half-done is listed, and with the registry repaired the pull completes.
            let info = try await c.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(info.images == 0 && info.leases == 0)
            let r = try await pull(c, ref)
            #expect(r.id == image.configDescriptor.digest.description)
        }
    }

    @Test func importSaveLoadRoundTrip() async throws {
        try await withStack { lc, registry, c in
            // The built-in default image, imported by the install script.
            let script = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
            let r = try Command.run("/bin/bash", ["/\(script)/scripts/default-image.sh", lc.binary, lc.root, lc.run], timeout: 60)
            #expect(r.status == 0, "\(r)")
            let before = try await c.call("image.inspect", ImageRefParams(reference: "busybox"), returning: ImageInspect.self)
            #expect(before.config?.cmd == ["sh"])
            #expect(before.repoTags == ["busybox:latest"])
            // The script's second image shares busybox's layer; this test wants busybox alone.
            let hello = try await c.call("image.inspect", ImageRefParams(reference: "hello-world"), returning: ImageInspect.self)
            #expect(hello.rootFS.diffIDs == before.rootFS.diffIDs && hello.config?.cmd?.first == "echo")
            _ = try await c.call("image.remove", ImageRemoveParams(reference: "hello-world"), returning: [ImageDeleteItem].self)

            let tar = lc.dir + "/save.tar"
            _ = try await c.call("image.save", ImageSaveParams(references: ["busybox"], path: tar), returning: Empty.self)
            // skopeo reads it both as a docker archive and as an OCI layout.
            let docker = try Command.run("/usr/bin/skopeo", ["inspect", "docker-archive:\(tar)"])
            #expect(docker.status == 0, "\(docker)")
            let oci = try Command.run("/usr/bin/skopeo", ["inspect", "oci-archive:\(tar)"])
            #expect(oci.status == 0, "\(oci)")

            _ = try await c.call("image.remove", ImageRemoveParams(reference: "busybox"), returning: [ImageDeleteItem].self)
            let loaded = try await c.call("image.load", ImageLoadParams(path: tar), returning: ImageLoadResult.self)
            #expect(loaded.loaded == ["busybox:latest"])
            let after = try await c.call("image.inspect", ImageRefParams(reference: "busybox"), returning: ImageInspect.self)
            #expect(after.id == before.id)

            // Through a FIFO, as the API daemon streams an upload.
            _ = try await c.call("image.remove", ImageRemoveParams(reference: "busybox"), returning: [ImageDeleteItem].self)
            let fifo = lc.dir + "/load.fifo"
            #expect(mkfifo(fifo, 0o600) == 0)
            let writer = try BackgroundProcess("/bin/sh", ["-c", "cat \(tar) > \(fifo)"], log: lc.dir + "/writer.log")
            let viaFIFO = try await c.call("image.load", ImageLoadParams(path: fifo), returning: ImageLoadResult.self)
            writer.stop()
            #expect(viaFIFO.loaded == ["busybox:latest"])

            // A plain OCI image layout (no manifest.json), as skopeo and umoci write them.
            let multi = try TestImages.multiLayer(in: layout(lc, "multi"))
            let ociTar = lc.dir + "/oci.tar"
            let t = try Command.run("/bin/tar", ["-C", multi.layoutPath, "-cf", ociTar, "."])
            #expect(t.status == 0, "\(t)")
            let fromOCI = try await c.call("image.load", ImageLoadParams(path: ociTar), returning: ImageLoadResult.self)
            #expect(fromOCI.loaded == [multi.configDescriptor.digest.description])
            let multiInspect = try await c.call("image.inspect", ImageRefParams(reference: multi.configDescriptor.digest.description), returning: ImageInspect.self)
            #expect(multiInspect.rootFS.diffIDs == multi.config.rootfs.diffIDs)
            _ = try await c.call("image.remove", ImageRemoveParams(reference: multiInspect.id), returning: [ImageDeleteItem].self)

            // A layer that does not match the config's diff_id is refused, and nothing is kept.
            let bad = lc.dir + "/bad"
            try Fixtures.mkdirAll(bad + "/x")
            _ = try Command.run("/bin/tar", ["-C", bad, "-xf", tar])
            let m = try Fixtures.read(bad + "/manifest.json")
            let layerPath = m.components(separatedBy: "\"Layers\":[\"")[1].components(separatedBy: "\"")[0]
            try Fixtures.write(bad + "/" + layerPath, "not a tar")
            try? FileManager.default.removeItem(atPath: bad + "/x")
            _ = try Command.run("/bin/tar", ["-C", bad, "-cf", lc.dir + "/bad.tar", "."])
            _ = try await c.call("image.remove", ImageRemoveParams(reference: "busybox"), returning: [ImageDeleteItem].self)
            await expectError(500, "Unrecognized archive format") {
                _ = try await c.call("image.load", ImageLoadParams(path: lc.dir + "/bad.tar"), returning: ImageLoadResult.self)
            }
            let info = try await c.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(info.images == 0 && info.snapshots == 0)
        }
    }
}
