import BerthBuild
import BerthEngineAPI
import BerthWire
import Foundation

/// The builder's backend in berthd: every step is a call to berth-lifecycled.
struct LifecycleBuildBackend: BuildBackend {
    let lifecycle: LifecycleLink
    /// X-Registry-Config: credentials (wire RegistryAuth) by registry, for FROM pulls.
    let registryConfig: [String: JSONValue]

    private struct Inspected: Decodable { var id: String; var config: BuildConfig? }

    func image(_ reference: String) async throws -> BuildImage? {
        do {
            let r = try await lifecycle.call("image.inspect", ["reference": reference], returning: Inspected.self)
            return BuildImage(id: r.id, config: r.config ?? BuildConfig())
        } catch let e as WireError where e.code == 404 {
            return nil
        }
    }

    func pull(_ reference: String, platform: String?, output: BuildOutput) async throws -> BuildImage {
        var p: [String: JSONValue] = ["reference": .string(reference)]
        if let platform, !platform.isEmpty { p["platform"] = .string(platform) }
        if let auth = auth(for: reference) { p["auth"] = auth }
        _ = try await lifecycle.stream("image.pull", p, progress: ProgressEvent.self) { e in
            let m = JSONMessage(status: e.status, id: e.id, current: e.current, total: e.total)
            if let d = try? JSONEncoder().encode(m) { output.message(Array(d)) }
        }
        guard let img = try await image(reference) else { throw WireError.notFound("pulled \(reference) but cannot find it") }
        return img
    }

    func cachedImage(key: String) async throws -> String? {
        struct Hit: Decodable { var id: String? }
        return try await lifecycle.call("image.build.cache", ["key": key], returning: Hit.self).id
    }

    func createContainer(_ spec: BuildContainerSpec) async throws -> String {
        var config: [String: JSONValue] = [
            "Image": .string(spec.image), "Cmd": .array(spec.cmd.map(JSONValue.string)), "Entrypoint": .array([.string("")]),
            "Env": .array(spec.env.map(JSONValue.string)), "AttachStdout": .bool(true), "AttachStderr": .bool(true),
        ]
        if let u = spec.user, !u.isEmpty { config["User"] = .string(u) }
        if let wd = spec.workingDir, !wd.isEmpty { config["WorkingDir"] = .string(wd) }
        if !spec.labels.isEmpty { config["Labels"] = .object(spec.labels.mapValues(JSONValue.string)) }
        if let net = spec.network, !net.isEmpty, net != "default" { config["HostConfig"] = .object(["NetworkMode": .string(net)]) }
        struct Created: Decodable { var Id: String }
        return try await lifecycle.call("container.create", ["config": JSONValue.object(config)], returning: Created.self).Id
    }

    func run(container: String, output: BuildOutput) async throws -> Int {
        _ = try await lifecycle.call("container.start", ["id": container])
        // The log is read from its start, so nothing written before this call is lost.
        let p: [String: JSONValue] = ["id": .string(container), "follow": .bool(true), "stdout": .bool(true), "stderr": .bool(true)]
        _ = try await lifecycle.stream("container.logs", p, progress: LogBatch.self) { batch in
            for e in batch.entries { output.text(e.log) }
        }
        struct Waited: Decodable { var StatusCode: Int }
        return try await lifecycle.call("container.wait", ["id": container, "condition": "not-running"], returning: Waited.self).StatusCode
    }

    func stat(container: String, path: String) async throws -> BuildPathStat? {
        struct Stat: Decodable { var mode: UInt32 }
        do {
            let s = try await lifecycle.call("container.archive.stat", ["id": container, "path": path], returning: Stat.self)
            return BuildPathStat(isDirectory: s.mode & (1 << 31) != 0)
        } catch let e as WireError where e.code == 404 {
            return nil
        }
    }

    func put(container: String, path: String, tar: String) async throws {
        _ = try await lifecycle.call("container.archive.put", ["id": container, "path": path, "tarPath": tar])
    }

    func get(container: String, path: String, tar: String) async throws {
        _ = try await lifecycle.call("container.archive.get", ["id": container, "path": path, "tarPath": tar])
    }

    func removeContainer(_ id: String) async {
        _ = try? await lifecycle.call("container.remove", ["id": JSONValue.string(id), "force": .bool(true)])
    }

    func commit(_ commit: BuildCommit) async throws -> String {
        struct Committed: Decodable { var id: String }
        return try await lifecycle.call("image.build.commit", commit, returning: Committed.self).id
    }

    func tag(image: String, reference: String) async throws {
        _ = try await lifecycle.call("image.tag", ["source": image, "target": reference])
    }

    /// The X-Registry-Config entry for the reference's registry (Docker Hub's key is its v1 URL).
    func auth(for reference: String) -> JSONValue? {
        let first = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let isRegistry = reference.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        let host = isRegistry ? first : "docker.io"
        for (key, value) in registryConfig {
            var k = key
            for prefix in ["https://", "http://"] where k.hasPrefix(prefix) { k.removeFirst(prefix.count) }
            k = k.split(separator: "/").first.map(String.init) ?? k
            let matches = k == host || (host == "docker.io" && ["index.docker.io", "registry-1.docker.io"].contains(k))
            if matches { return value }
        }
        return nil
    }
}
