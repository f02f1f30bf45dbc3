import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `GET /images/json`: the wire's ImageSummary with Docker's keys.
    func imageList(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = [:]
        if r.bool("all") == true { p["all"] = .bool(true) }
        if let f = try filters(r) { p["filters"] = f }
        let list = try await lifecycle.call("image.list", p, returning: [ImageSummary].self)
        let out: [JSONValue] = list.map { i in
            .object(["Id": .string(i.id), "ParentId": .string(""), "RepoTags": .array(i.repoTags.map(JSONValue.string)),
                     "RepoDigests": .array(i.repoDigests.map(JSONValue.string)), "Created": .int(i.created),
                     "Size": .int(i.size), "SharedSize": .int(-1), "VirtualSize": .int(i.size),
                     "Labels": .object(i.labels.mapValues(JSONValue.string)), "Containers": .int(Int64(i.containers))])
        }
        w.json(encoding: out)
    }

    /// `GET /images/{name}/json`: the wire's ImageInspect reshaped as Docker's.
    func imageInspect(_ name: String, _ w: ResponseWriter) async throws {
        let v = try await lifecycle.call("image.inspect", ["reference": name], returning: JSONValue.self)
        guard case .object(let i) = v else { throw EngineError.internalError("malformed image.inspect result") }
        var layers: JSONValue = .array([])
        if case .object(let rootFS)? = i["rootFS"], let d = rootFS["diff_ids"] { layers = d }
        var out: [String: JSONValue] = [
            "Id": i["id"] ?? .string(""), "RepoTags": i["repoTags"] ?? .array([]), "RepoDigests": i["repoDigests"] ?? .array([]),
            "Parent": .string(""), "Comment": i["comment"] ?? .string(""), "Created": i["created"] ?? .string(""),
            "Container": .string(""), "DockerVersion": .string(""), "Author": i["author"] ?? .string(""),
            "Config": i["config"] ?? .null, "Architecture": i["architecture"] ?? .string(""), "Os": i["os"] ?? .string("linux"),
            "Size": i["size"] ?? .int(0), "VirtualSize": i["size"] ?? .int(0),
            "GraphDriver": .object(["Name": .string("overlay2"), "Data": .null]),
            "RootFS": .object(["Type": .string("layers"), "Layers": layers]),
            "Metadata": .object(["LastTagTime": .string("0001-01-01T00:00:00Z")]),
        ]
        if let variant = i["variant"] { out["Variant"] = variant }
        w.json(encoding: JSONValue.object(out))
    }

    /// `POST /images/create?fromImage=&tag=`: a pull, its progress as Docker's JSON messages. The
    /// stream begins with the first progress line, so a pull that fails at once gets a status.
    func imageCreate(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let from = r.string("fromImage") else { return try await imageImport(r, w) }
        var p: [String: JSONValue] = ["reference": .string(reference(repo: from, tag: r.string("tag")) ?? from)]
        if let platform = r.string("platform") { p["platform"] = .string(platform) }
        if let auth = registryAuth(r) { p["auth"] = auth }
        try await streamProgress("image.pull", p, w)
    }

    /// Runs a pull or push, writing its progress as Docker's JSON messages; the stream begins
    /// with the first progress line (or at the end, when there was none).
    func streamProgress(_ method: String, _ params: [String: JSONValue], _ w: ResponseWriter) async throws {
        _ = try await lifecycle.stream(method, params, progress: ProgressEvent.self) { e in
            w.startStream(contentType: "application/json")
            let m = JSONMessage(status: e.status, id: e.id, current: e.current, total: e.total)
            if let d = try? JSONEncoder().encode(m) { w.chunk(d + Data("\n".utf8)) }
        }
        w.startStream(contentType: "application/json")
        w.endStream()
    }

    /// X-Registry-Auth: base64url JSON with Docker's lower-case keys.
    func registryAuth(_ r: HTTPRequest) -> JSONValue? {
        base64JSON(r, header: "X-Registry-Auth").flatMap(Self.wireAuth)
    }

    /// A header holding base64url JSON (X-Registry-Auth, X-Registry-Config) as an object.
    func base64JSON(_ r: HTTPRequest, header: String) -> [String: Any]? {
        guard var b64 = r.headers.first(name: header), !b64.isEmpty else { return nil }
        b64 = b64.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// Docker's auth object (lower-case keys, any case accepted) as the wire's RegistryAuth.
    static func wireAuth(_ obj: [String: Any]) -> JSONValue? {
        var out: [String: JSONValue] = [:]
        let keys = ["username": "username", "password": "password", "identitytoken": "identityToken",
                    "registrytoken": "registryToken", "serveraddress": "serverAddress"]
        for (k, v) in obj { if let key = keys[k.lowercased()], let s = v as? String, !s.isEmpty { out[key] = .string(s) } }
        return out.isEmpty ? nil : .object(out)
    }

    func imageTag(_ name: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let repo = r.string("repo") else { throw EngineError.badRequest("repository name must have at least one component") }
        let target = r.string("tag").map { repo + ":" + $0 } ?? repo
        _ = try await lifecycle.call("image.tag", ["source": name, "target": target])
        w.send(.created)
    }

    func imageRemove(_ name: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = ["reference": .string(name)]
        if r.bool("force") == true { p["force"] = .bool(true) }
        if r.bool("noprune") == true { p["noPrune"] = .bool(true) }
        let items = try await lifecycle.call("image.remove", p, returning: [[String: String]].self)
        let out = items.map { d in Dictionary(uniqueKeysWithValues: d.map { (k, v) in (k == "untagged" ? "Untagged" : "Deleted", v) }) }
        w.json(encoding: out)
    }
}
