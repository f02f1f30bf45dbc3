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
