import BerthBuild
import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `repo` plus `tag` as one reference (`tag` may be a digest).
    func reference(repo: String?, tag: String?) -> String? {
        guard let repo else { return nil }
        guard let tag else { return repo }
        return repo + (tag.contains(":") ? "@" : ":") + tag
    }

    /// `POST /images/{name}/push?tag=`: progress as Docker's JSON messages, as pull.
    func imagePush(_ name: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = ["reference": .string(reference(repo: name, tag: r.string("tag")) ?? name)]
        if let auth = registryAuth(r) { p["auth"] = auth }
        try await streamProgress("image.push", p, w)
    }

    /// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=`: the body, when
    /// given, is the new image's config.
    func commit(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let id = r.string("container") else { throw EngineError.badRequest("missing container parameter") }
        var p: [String: JSONValue] = ["id": .string(id)]
        if let ref = reference(repo: r.string("repo"), tag: r.string("tag")) { p["reference"] = .string(ref) }
        if let c = r.string("comment") { p["comment"] = .string(c) }
        if let a = r.string("author") { p["author"] = .string(a) }
        if let pause = r.bool("pause") { p["pause"] = .bool(pause) }
        let changes = r.all("changes").filter { !$0.isEmpty }
        if !changes.isEmpty { p["changes"] = .array(changes.map(JSONValue.string)) }
        if case .object(let o) = try jsonBody(r), !o.isEmpty { p["config"] = .object(o) }
        struct Committed: Decodable { var id: String }
        let result = try await lifecycle.call("container.commit", p, returning: Committed.self)
        w.json(.created, encoding: ["Id": result.id])
    }

    /// `POST /images/create?fromSrc=-&repo=&tag=&message=&changes=`: docker import of the tar in
    /// the body (spooled to a file); a URL source is not supported.
    func imageImport(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard r.string("fromSrc") == "-", let tar = r.bodyFile else {
            throw EngineError.badRequest("importing from a URL is not supported; send the tar in the body (fromSrc=-)")
        }
        var p: [String: JSONValue] = ["path": .string(tar)]
        if let ref = reference(repo: r.string("repo"), tag: r.string("tag")) { p["reference"] = .string(ref) }
        if let m = r.string("message") { p["message"] = .string(m) }
        if let platform = r.string("platform") { p["platform"] = .string(platform) }
        let changes = r.all("changes").filter { !$0.isEmpty }
        if !changes.isEmpty { p["changes"] = .array(changes.map(JSONValue.string)) }
        struct Imported: Decodable { var id: String }
        let result = try await lifecycle.stream("image.import", p, returning: Imported.self, progress: Empty.self) { _ in }
        w.startStream(contentType: "application/json")
        w.chunk(Self.line(.object(["status": .string(result.id)])))
        w.endStream()
    }
}

extension Router {
    /// `POST /build`: Docker's classic builder. The body is the context tar; the answer streams
    /// `{"stream": "Step 1/5 : …"}` lines, pull progress, `{"aux":{"ID"}}`, and on failure
    /// `{"errorDetail":{"message"},"error"}`. Problems found before the first step are a 400.
    func build(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        if let remote = r.string("remote") {
            throw EngineError.badRequest("remote build contexts are not supported (\(remote)): send the context as a tar in the request body")
        }
        var o = BuildOptions()
        o.dockerfile = r.string("dockerfile") ?? "Dockerfile"
        o.tags = r.all("t").filter { !$0.isEmpty }
        o.target = r.string("target")
        o.noCache = r.bool("nocache") ?? false
        o.pull = r.bool("pull") ?? false
        o.removeIntermediate = r.bool("rm") ?? true
        o.forceRemove = r.bool("forcerm") ?? false
        o.quiet = r.bool("q") ?? false
        o.platform = r.string("platform")
        o.network = r.string("networkmode")
        if let args = r.string("buildargs") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(args.utf8)) as? [String: Any] else {
                throw EngineError.badRequest("invalid buildargs: expected a JSON object of strings")
            }
            for (k, v) in obj { o.buildArgs[k] = v as? String }
        }
        if let labels = r.string("labels") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(labels.utf8)) as? [String: String] else {
                throw EngineError.badRequest("invalid labels: expected a JSON object of strings")
            }
            o.labels = obj
        }
        var registries: [String: JSONValue] = [:]
        for (host, value) in base64JSON(r, header: "X-Registry-Config") ?? [:] {
            if let obj = value as? [String: Any], let auth = Self.wireAuth(obj) { registries[host] = auth }
        }

        let dir = options.dataRoot + "/tmp/berthd/build-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let context = dir + "/context", scratch = dir + "/scratch"
        let builder: Builder
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            // /build is an upload (HTTPConnection.isUpload): the context is always spooled to a file.
            guard let tar = r.bodyFile else { throw EngineError.badRequest("no build context in the request body") }
            try BuildContextArchive.unpack(tar: tar, into: context)
            let output = BuildOutput(
                text: { text in
                    w.startStream(contentType: "application/json")
                    w.chunk(Self.line(.object(["stream": .string(text)])))
                },
                message: { json in
                    w.startStream(contentType: "application/json")
                    w.chunk(Data(json) + Data("\n".utf8))
                },
                aux: { id in
                    w.startStream(contentType: "application/json")
                    w.chunk(Self.line(.object(["aux": .object(["ID": .string(id)])])))
                })
            builder = try Builder(contextDir: context, scratchDir: scratch, options: o,
                                  backend: LifecycleBuildBackend(lifecycle: lifecycle, registryConfig: registries), output: output)
        } catch let e as BuildError {
            throw e.isInvalidInput ? EngineError.badRequest(e.message) : EngineError.from(e)
        }
        do {
            _ = try await builder.run()
        } catch {
            let message = (error as? BuildError)?.message ?? EngineError.from(error).message
            w.startStream(contentType: "application/json")
            w.chunk(Self.line(.object(["errorDetail": .object(["message": .string(message)]), "error": .string(message)])))
        }
        w.startStream(contentType: "application/json")
        w.endStream()
    }
}

extension Router {
    /// `POST /build/prune` (`docker builder prune`, and the last part of `docker system prune`):
    /// there is no BuildKit cache to prune. The classic builder's cache is the intermediate
    /// images, which image removal and `image prune` already take with their children.
    func buildPrune(_ w: ResponseWriter) {
        w.json(encoding: JSONValue.object(["CachesDeleted": .array([]), "SpaceReclaimed": .int(0)]))
    }
}
