import Foundation
import Glibc
import Testing
import BerthImage
import BerthTestSupport
import BerthWire

// berth's image formats against a real Docker: a private dockerd 20.10 (DockerEnvironment, default
// runtime runc) exchanges images with a berth-lifecycled (LifecycleHarness) through tarballs and a
// real registry (TestRegistry on 127.0.0.1, which dockerd treats as insecure by default).
//   berth save → docker load → docker run       docker save (legacy format) → berth load → mount
//   berth push → docker pull → docker run       docker push (schema2) → berth pull → mount
// One dockerd serves the suite; every test starts its own berth-lifecycled and registry, and removes
// whatever images and containers it made in dockerd, on failure too.

@Suite("DockerImageInterop", .serialized,
       .enabled(if: geteuid() == 0 && DockerEnvironment.available && TestRegistry.available && LifecycleHarness.available),
       // dockerd's `berth` runtime is this build's berth-runtime; the tests use its default runc.
       DockerEnvironmentScope(runtime: LifecycleHarness.siblingBinary("berth-runtime")))
struct DockerImageInteropTests {
    let env: DockerEnvironment

    init() throws {
        env = try DockerEnvironment.required()
    }

    // MARK: helpers

    /// A berth-lifecycled and a registry for `body`; afterwards both are stopped and removed, and
    /// dockerd is back to the images it had before (on failure too).
    func withStack(_ body: (LifecycleHarness, TestRegistry, WireClient) async throws -> Void) async throws {
        let baseline = Set(try dockerImageIDs())
        defer { resetDocker(keeping: baseline) }
        try await LifecycleHarness.withStack(report: { Issue.record(Comment(rawValue: "\($0)\n\(env.diagnostics())")) }, body)
    }

    func docker(_ args: [String], timeout: Int = 300) throws -> Command.Result {
        try env.docker(args, timeout: timeout)
    }

    /// `docker args`, which must succeed; its stdout.
    @discardableResult
    func dockerOK(_ args: [String], timeout: Int = 300) throws -> String {
        let r = try docker(args, timeout: timeout)
        guard r.status == 0 else { throw HarnessError("docker \(args.joined(separator: " ")): \(r)\n\(env.diagnostics())") }
        return r.stdout
    }

    func dockerImageIDs() throws -> [String] {
        try dockerOK(["images", "-aq", "--no-trunc"]).split(separator: "\n").map(String.init)
    }

    /// `docker image inspect -f <format> <ref>`, trimmed.
    func dockerInspect(_ ref: String, _ format: String) throws -> String {
        try dockerOK(["image", "inspect", "-f", format, ref]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Removes every container, and every image not in `baseline`, from the private dockerd.
    func resetDocker(keeping baseline: Set<String>) {
        if let ps = try? docker(["ps", "-aq"], timeout: 30), ps.status == 0 {
            let ids = ps.stdout.split(separator: "\n").map(String.init)
            if !ids.isEmpty { _ = try? docker(["rm", "-f"] + ids, timeout: 60) }
        }
        guard let ids = try? dockerImageIDs() else { return }
        let extra = Array(Set(ids).subtracting(baseline))
        if !extra.isEmpty { _ = try? docker(["rmi", "-f"] + extra, timeout: 120) }
    }

    func pull(_ c: WireClient, _ ref: String) async throws -> ImagePullResult {
        try await c.call("image.pull", ImagePullParams(reference: ref), returning: ImagePullResult.self)
    }

    func inspect(_ c: WireClient, _ ref: String) async throws -> ImageInspect {
        try await c.call("image.inspect", ImageRefParams(reference: ref), returning: ImageInspect.self)
    }

    /// Prepares a snapshot of `image`, mounts it (overlay, the daemon's options) under the harness
    /// directory, runs `check` on the mount point, then unmounts and removes the snapshot.
    func withMountedSnapshot(_ lc: LifecycleHarness, _ c: WireClient, image: String, key: String,
                             _ check: (String) throws -> Void) async throws {
        let m = try await c.call("snapshot.prepare", SnapshotPrepareParams(key: key, image: image), returning: SnapshotMount.self)
        let target = lc.dir + "/mnt-" + key
        try Fixtures.mkdirAll(target)
        guard Glibc.mount("overlay", target, "overlay", 0, m.options) == 0 else {
            throw HarnessError("mount -t overlay -o \(m.options) \(target): errno \(errno)")
        }
        do {
            try check(target)
        } catch {
            umount2(target, Int32(MNT_DETACH))
            throw error
        }
        #expect(umount2(target, 0) == 0, "umount \(target): errno \(errno)")
        _ = try await c.call("snapshot.remove", SnapshotKeyParams(key: key), returning: Empty.self)
    }

    /// What TestImages.multiLayer holds, seen from a mounted rootfs.
    func expectMultiLayerTree(_ root: String) throws {
        #expect(access(root + "/bin/busybox", X_OK) == 0)
        #expect(try Fixtures.read(root + "/data/b") == "b from layer 2\n")
        #expect(access(root + "/data/a", F_OK) != 0, "the whiteout must hide /data/a")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/opq").sorted() == ["z"])
    }

    /// The shell command run in the multi-layer image, and what it prints there.
    static let multiLayerScript = "echo ok; cat /data/b; ls /opq; test -e /data/a || echo a-hidden"
    static let multiLayerOutput = "ok\nb from layer 2\nz\na-hidden\n"

    /// One entry of a `docker save` manifest.json.
    struct SavedManifest: Decodable { var Config: String; var RepoTags: [String]?; var Layers: [String] }

    // MARK: tests

    /// berth save → docker load: a registry image (three layers, whiteout, opaque dir) and berth's
    /// default image (image.import) in one tarball; dockerd loads both under their tags with berth's
    /// image IDs and runs them with runc.
    @Test func berthSaveDockerLoad() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.multiLayer(in: lc.dir + "/layouts/multi")
            try registry.push(image.ociReference, to: "interop/multi", tag: "v1")
            let pulled = try await pull(c, "\(registry.host)/interop/multi:v1")
            #expect(pulled.id == image.configDescriptor.digest.description)

            let script = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
            let imp = try Command.run("/bin/bash", ["/\(script)/scripts/default-image.sh", lc.binary, lc.root, lc.run], timeout: 120)
            try #require(imp.status == 0, "\(imp)")

            // Names of their own, so dockerd's own busybox:latest is left alone.
            let multi = "berth-interop/multi:saved", dflt = "berth-interop/default:saved"
            _ = try await c.call("image.tag", ImageTagParams(source: pulled.id, target: multi), returning: Empty.self)
            _ = try await c.call("image.tag", ImageTagParams(source: "busybox:latest", target: dflt), returning: Empty.self)
            let dfltID = try await inspect(c, dflt).id

            let tar = lc.dir + "/berth-save.tar"
            _ = try await c.call("image.save", ImageSaveParams(references: [multi, dflt], path: tar), returning: Empty.self)
            let load = try dockerOK(["load", "-i", tar])
            #expect(load.contains("Loaded image: \(multi)") && load.contains("Loaded image: \(dflt)"), "\(load)")

            #expect(try dockerInspect(multi, "{{.Id}}") == pulled.id)
            #expect(try dockerInspect(dflt, "{{.Id}}") == dfltID)
            #expect(try dockerInspect(multi, "{{json .RootFS.Layers}}") == "[" + image.config.rootfs.diffIDs.map { "\"\($0)\"" }.joined(separator: ",") + "]")
            #expect(try dockerInspect(multi, #"{{index .Config.Labels "org.berth.test"}}"#) == "multi-layer")
            #expect(try dockerInspect(dflt, "{{json .Config.Cmd}}") == #"["sh"]"#)
            let history = try dockerOK(["history", "--no-trunc", "--format", "{{.Comment}}", dflt])
            #expect(history == "berth default image from busybox-static\n", "\(history)")

            let args = ["run", "--rm", multi, "sh", "-c", Self.multiLayerScript]
            let run = try docker(args)
            #expect(run.status == 0 && run.stdout == Self.multiLayerOutput, "\(run)\n\(env.diagnostics())")
            let run2 = try docker(["run", "--rm", dflt, "sh", "-c", "echo ok; head -1 /etc/passwd"])
            #expect(run2.status == 0 && run2.stdout == "ok\nroot:x:0:0:root:/root:/bin/sh\n", "\(run2)\n\(env.diagnostics())")
        }
    }

    /// docker save → berth load: dockerd 20.10 writes the legacy format (`<v1 id>/layer.tar`,
    /// `<id>.json`, `manifest.json`, `repositories`). Two images with the same layers and different
    /// configs make it write the shared top layer once and a symlink to it for the other image.
    @Test func dockerSaveBerthLoad() async throws {
        try await withStack { lc, registry, c in
            let layout = lc.dir + "/layouts/multi"
            let image = try TestImages.multiLayer(in: layout)
            try registry.push(image.ociReference, to: "interop/multi", tag: "v1")
            // The same layers under another config (a fresh builder rewrites index.json; the blobs stay).
            var config = TestImages.busyboxConfig
            config.labels = ["org.berth.test": "variant"]
            let variant = try OCILayoutBuilder(path: layout).addImage(layers: image.layers, config: config, tag: "variant")
            try registry.push(variant.ociReference, to: "interop/variant", tag: "v1")

            let names = ["docker-interop/multi:saved", "docker-interop/variant:saved"]
            for (repo, name) in zip(["interop/multi", "interop/variant"], names) {
                try dockerOK(["pull", "\(registry.host)/\(repo):v1"])
                try dockerOK(["tag", "\(registry.host)/\(repo):v1", name])
            }
            let ids = try names.map { try dockerInspect($0, "{{.Id}}") }
            #expect(ids == [image.configDescriptor.digest.description, variant.configDescriptor.digest.description])

            let tar = lc.dir + "/docker-save.tar"
            try dockerOK(["save", "-o", tar] + names)
            // It is the legacy format, with a symlinked layer.
            let listing = try Command.run("/bin/tar", ["-tvf", tar])
            try #require(listing.status == 0, "\(listing)")
            let lines = listing.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasSuffix(" manifest.json") } && lines.contains { $0.hasSuffix(" repositories") }, "\(listing.stdout)")
            #expect(!lines.contains { $0.hasSuffix(" index.json") }, "dockerd 20.10 writes no OCI layout: \(listing.stdout)")
            #expect(lines.filter { $0.hasPrefix("-") && $0.hasSuffix("/layer.tar") }.count == 3, "\(listing.stdout)")
            #expect(lines.contains { $0.hasPrefix("l") && $0.contains("/layer.tar -> ../") }, "a symlinked layer: \(listing.stdout)")
            let x = lc.dir + "/docker-save"
            try Fixtures.mkdirAll(x)
            _ = try Command.run("/bin/tar", ["-C", x, "-xf", tar, "manifest.json"])
            let saved = try JSONDecoder().decode([SavedManifest].self, from: Data(try Fixtures.read(x + "/manifest.json").utf8))
            // dockerd writes the images in map order (random); each keeps its own config and tag.
            #expect(Dictionary(uniqueKeysWithValues: saved.map { ($0.Config, $0.RepoTags ?? []) })
                    == Dictionary(uniqueKeysWithValues: zip(ids.map { String($0.dropFirst(7)) + ".json" }, names.map { [$0] })))
            // berth loads them in the tarball's order.
            let savedOrder = saved.flatMap { $0.RepoTags ?? [] }

            let events = EventLog()
            let loaded = try await c.call("image.load", ImageLoadParams(path: tar), returning: ImageLoadResult.self,
                                          progress: ProgressEvent.self) { events.add($0) }
            #expect(loaded.loaded == savedOrder)
            #expect(events.statuses == savedOrder.map { "Loaded image: \($0)" })
            for (i, (name, id)) in zip(names, ids).enumerated() {
                let info = try await inspect(c, name)
                #expect(info.id == id)
                #expect(info.repoTags == [name])
                #expect(info.rootFS.diffIDs == image.config.rootfs.diffIDs)
                #expect(info.config?.labels?["org.berth.test"] == (i == 0 ? "multi-layer" : "variant"))
                try await withMountedSnapshot(lc, c, image: name, key: "interop-load-\(i)") { try expectMultiLayerTree($0) }
            }
            let sys = try await c.call("system.info", Empty(), returning: SystemInfo.self)
            #expect(sys.images == 2 && sys.snapshots == 3, "the two images share their three layers: \(sys)")
        }
    }

    /// berth push → docker pull: an image berth pulled (pushed to another repository, its blobs
    /// mounted) and berth's default image (a manifest berth made itself, at import).
    @Test func berthPushDockerPull() async throws {
        try await withStack { lc, registry, c in
            let image = try TestImages.multiLayer(in: lc.dir + "/layouts/multi")
            try registry.push(image.ociReference, to: "src/app", tag: "1")
            let pulled = try await pull(c, "\(registry.host)/src/app:1")
            let script = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
            let imp = try Command.run("/bin/bash", ["/\(script)/scripts/default-image.sh", lc.binary, lc.root, lc.run], timeout: 120)
            try #require(imp.status == 0, "\(imp)")
            let dfltID = try await inspect(c, "busybox:latest").id

            for (source, id, repo, expected) in [
                (pulled.id, pulled.id, "dst/app", Self.multiLayerOutput),
                ("busybox:latest", dfltID, "dst/default", "ok\nb-absent\n"),
            ] {
                let target = "\(registry.host)/\(repo):2"
                _ = try await c.call("image.tag", ImageTagParams(source: source, target: target), returning: Empty.self)
                let pushed = try await c.call("image.push", ImagePushParams(reference: target), returning: ImagePushResult.self)

                try dockerOK(["pull", target])
                #expect(try dockerInspect(target, "{{.Id}}") == id)
                #expect(try dockerInspect(target, "{{json .RepoDigests}}") == "[\"\(registry.host)/\(repo)@\(pushed.digest)\"]")
                let script = expected == Self.multiLayerOutput ? Self.multiLayerScript : "echo ok; test -e /data/b || echo b-absent"
                let run = try docker(["run", "--rm", target, "sh", "-c", script])
                #expect(run.status == 0 && run.stdout == expected, "\(run)\n\(env.diagnostics())")
            }
        }
    }

    /// docker push → berth pull: dockerd's own image (made by `docker import`, so its layer is
    /// compressed by dockerd) pushed as a Docker schema2 manifest; berth pulls the same ID and digest.
    @Test func dockerPushBerthPull() async throws {
        try await withStack { lc, registry, c in
            let target = "\(registry.host)/fromdocker/busybox:1"
            try dockerOK(["tag", "busybox:latest", target])
            let push = try dockerOK(["push", target])
            let id = try dockerInspect(target, "{{.Id}}")
            let repoDigests = try dockerInspect(target, "{{json .RepoDigests}}")
            let prefix = "[\"\(registry.host)/fromdocker/busybox@"
            try #require(repoDigests.hasPrefix(prefix), "\(repoDigests)")
            let digest = String(repoDigests.dropFirst(prefix.count).prefix(71))
            #expect(push.contains("1: digest: \(digest)"), "\(push)")
            let raw = try registry.inspect("fromdocker/busybox:1", raw: true)
            #expect(raw.contains("application/vnd.docker.distribution.manifest.v2+json"), "\(raw)")

            let r = try await pull(c, target)
            #expect(r.id == id)
            #expect(r.digest == digest)
            let info = try await inspect(c, target)
            #expect(info.manifestMediaType == "application/vnd.docker.distribution.manifest.v2+json")
            #expect(info.repoDigests == ["\(registry.host)/fromdocker/busybox@\(digest)"])
            let dockerLayers = try dockerInspect(target, "{{json .RootFS.Layers}}")
            #expect(dockerLayers == "[" + info.rootFS.diffIDs.map { "\"\($0)\"" }.joined(separator: ",") + "]")
            try await withMountedSnapshot(lc, c, image: target, key: "interop-pull") { root in
                #expect(access(root + "/bin/busybox", X_OK) == 0)
                let passwd = try Fixtures.read(root + "/etc/passwd")
                #expect(passwd.hasPrefix("root:x:0:0:"))
            }
            // And saved by berth (a Docker-schema2 manifest now), docker loads it as the same image.
            let copy = "berth-interop/fromdocker:1"
            _ = try await c.call("image.tag", ImageTagParams(source: target, target: copy), returning: Empty.self)
            let tar = lc.dir + "/schema2.tar"
            _ = try await c.call("image.save", ImageSaveParams(references: [copy], path: tar), returning: Empty.self)
            let load = try dockerOK(["load", "-i", tar])
            #expect(load.contains("Loaded image: \(copy)"), "\(load)")
            #expect(try dockerInspect(copy, "{{.Id}}") == id)
        }
    }

    /// Edge cases both ways: a manifest that lists one layer twice (docker save writes the second
    /// as a symlink inside the same image), `docker save` by ID (no RepoTags: berth loads it untagged),
    /// and one image saved by berth under two tags.
    @Test func duplicateLayerUntaggedAndTwoTags() async throws {
        try await withStack { lc, registry, c in
            let same: [TestLayerEntry] = [.directory("d"), .text("d/f", "same\n")]
            let image = try TestImages.custom(in: lc.dir + "/layouts/dup", tag: "dup", layers: [same, same], busyboxBase: true)
            try #require(image.manifest.layers[1].digest == image.manifest.layers[2].digest)
            try registry.push(image.ociReference, to: "interop/dup", tag: "1")
            let ref = "\(registry.host)/interop/dup:1"
            try dockerOK(["pull", ref])
            let id = try dockerInspect(ref, "{{.Id}}")
            #expect(id == image.configDescriptor.digest.description)

            let dockerTar = lc.dir + "/docker-dup.tar"
            try dockerOK(["save", "-o", dockerTar, id])
            let listing = try Command.run("/bin/tar", ["-tvf", dockerTar])
            #expect(listing.stdout.contains("/layer.tar -> ../"), "the repeated layer is a symlink: \(listing)")
            let loaded = try await c.call("image.load", ImageLoadParams(path: dockerTar), returning: ImageLoadResult.self)
            #expect(loaded.loaded == [id])
            let info = try await inspect(c, id)
            #expect(info.repoTags == [])
            #expect(info.rootFS.diffIDs == image.config.rootfs.diffIDs)
            try await withMountedSnapshot(lc, c, image: id, key: "interop-dup") { root in
                let f = try Fixtures.read(root + "/d/f")
                #expect(f == "same\n")
            }

            // Back to docker, which first forgets it: one image, two tags.
            try dockerOK(["rmi", "-f", id])
            let tags = ["berth-interop/dup:a", "berth-interop/dup:b"]
            for t in tags { _ = try await c.call("image.tag", ImageTagParams(source: id, target: t), returning: Empty.self) }
            let berthTar = lc.dir + "/berth-dup.tar"
            _ = try await c.call("image.save", ImageSaveParams(references: tags, path: berthTar), returning: Empty.self)
            let load = try dockerOK(["load", "-i", berthTar])
            #expect(load.contains("Loaded image: \(tags[0])") && load.contains("Loaded image: \(tags[1])"), "\(load)")
            #expect(try dockerInspect(tags[1], "{{.Id}}") == id)
            #expect(try dockerInspect(id, "{{json .RepoTags}}") == "[\"\(tags[0])\",\"\(tags[1])\"]")
            let run = try docker(["run", "--rm", tags[0], "cat", "/d/f"])
            #expect(run.status == 0 && run.stdout == "same\n", "\(run)\n\(env.diagnostics())")
        }
    }
}
