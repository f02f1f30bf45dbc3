import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `/volumes…`: the wire's volume messages are Docker's shapes already.
    func volumes(_ r: HTTPRequest, _ seg: [String], _ w: ResponseWriter) async throws {
        switch (r.method, seg.count) {
        case (.GET, 1):
            var p: [String: JSONValue] = [:]
            if let f = try filters(r) { p["filters"] = f }
            w.json(.ok, try await lifecycle.call("volume.list", p).text)
        case (.POST, 2) where seg[1] == "create":
            w.json(.created, try await lifecycle.call("volume.create", try jsonBody(r)).text)
        case (.POST, 2) where seg[1] == "prune":
            var p: [String: JSONValue] = [:]
            if let f = try filters(r) { p["filters"] = f }
            w.json(.ok, try await lifecycle.call("volume.prune", p).text)
        case (.GET, 2):
            w.json(.ok, try await lifecycle.call("volume.inspect", ["name": seg[1]]).text)
        case (.DELETE, 2):
            try await simple("volume.remove", ["name": .string(seg[1]), "force": .bool(r.bool("force") ?? false)], w)
        default:
            throw EngineError.notFound("page not found")
        }
    }

    /// The `filters` parameter as wire params.
    func filters(_ r: HTTPRequest) throws -> JSONValue? {
        do {
            return try FilterArgs.parse(r.query["filters"]).map { .object($0.mapValues { .array($0.map(JSONValue.string)) }) }
        } catch { throw EngineError.badRequest(error.message) }
    }

    /// `GET /containers/{id}/top?ps_args=`.
    func containerTop(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        w.json(.ok, try await lifecycle.call("container.top", params(["id": id, "psArgs": r.string("ps_args")])).text)
    }

    /// `GET /images/{name}/history`: the wire's entries with Docker's keys.
    func imageHistory(_ name: String, _ w: ResponseWriter) async throws {
        let entries = try await lifecycle.call("image.history", ["reference": name], returning: [HistoryEntry].self)
        let out: [JSONValue] = entries.map { e in
            .object(["Id": .string(e.id), "Created": .int(e.created), "CreatedBy": .string(e.createdBy),
                     "Tags": e.tags.isEmpty ? .null : .array(e.tags.map(JSONValue.string)), "Size": .int(e.size),
                     "Comment": .string(e.comment)])
        }
        w.json(encoding: out)
    }
}
