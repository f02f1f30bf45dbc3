import BerthEngineAPI
import BerthWire
import Foundation
import NIOHTTP1

/// Maps `METHOD /v1.NN/path` to a handler. Paths are matched on their segments; `{id}` segments
/// are passed to the handler.
final class Router: Sendable {
    let lifecycle: LifecycleLink
    let options: EngineServerOptions

    init(lifecycle: LifecycleLink, options: EngineServerOptions) { self.lifecycle = lifecycle; self.options = options }

    func handle(head: HTTPRequestHead, body: Data, bodyFile: String? = nil, writer: ResponseWriter) async {
        let uri = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = String(uri.first ?? "")
        var version = APIVersion.current
        // `/v1.43/…`: the client's API version.
        if path.hasPrefix("/v"), let slash = path.dropFirst(2).firstIndex(of: "/") ?? Optional(path.endIndex),
           let v = APIVersion(path[path.index(path.startIndex, offsetBy: 2)..<slash]) {
            if v > APIVersion.current {
                writer.error(.badRequest("client version \(v) is too new. Maximum supported API version is \(APIVersion.current)"))
                return
            }
            if v < APIVersion.minimum {
                writer.error(.badRequest("client version \(v) is too old. Minimum supported API version is \(APIVersion.minimum), please upgrade your client to a newer version"))
                return
            }
            version = v
            path = String(path[slash...])
        }
        let req = HTTPRequest(method: head.method, path: path, query: parseQuery(uri.count > 1 ? uri[1] : nil),
                              headers: head.headers, body: body, version: version, bodyFile: bodyFile, rawQuery: uri.count > 1 ? String(uri[1]) : "")
        if options.debug { log("\(head.method) \(head.uri)") }
        do {
            try await route(req, writer)
        } catch {
            let e = EngineError.from(error)
            if options.debug || (e.status.code >= 500 && options.logErrors) { log("\(head.method) \(head.uri): \(e)") }
            writer.error(e)
        }
    }

    private func route(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let seg = r.path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        switch (r.method, seg.count) {
        case (.GET, 1) where seg[0] == "_ping", (.HEAD, 1) where seg[0] == "_ping": ping(r, w)
        case (.GET, 1) where seg[0] == "version": try version(r, w)
        case (.GET, 1) where seg[0] == "info": try await info(r, w)
        case (.GET, 1) where seg[0] == "events": try await events(r, w)
        case (.POST, 1) where seg[0] == "auth": try await auth(r, w)
        case (.GET, 2) where seg == ["system", "df"]: try await systemDF(r, w)

        case (.POST, 2) where seg == ["containers", "create"]: try await containerCreate(r, w)
        case (.POST, 2) where seg == ["containers", "prune"]: try await containerPrune(r, w)
        case (.POST, 2) where seg == ["images", "prune"]: try await imagePrune(r, w)
        case (.GET, 2) where seg == ["containers", "json"]: try await containerList(r, w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "json": try await containerInspect(seg[1], w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "logs": try await containerLogs(seg[1], r, w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "top": try await containerTop(seg[1], r, w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "stats": try await containerStats(seg[1], r, w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "export": try await containerExport(seg[1], w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "archive", (.HEAD, 3) where seg[0] == "containers" && seg[2] == "archive":
            try await containerArchiveGet(seg[1], r, w)
        case (.GET, 2) where seg == ["images", "get"]: try await imageSave(r.all("names"), w)
        case (.POST, 2) where seg == ["images", "load"]: try await imageLoad(r, w)
        case (.POST, 1) where seg[0] == "commit": try await commit(r, w)
        case (.POST, 1) where seg[0] == "build": try await build(r, w)
        case (.POST, 2) where seg == ["build", "prune"]: buildPrune(w)
        case (.POST, _) where seg.count >= 3 && seg[0] == "images" && seg.last == "push":
            try await imagePush(seg[1..<(seg.count - 1)].joined(separator: "/"), r, w)
        case (.PUT, 3) where seg[0] == "containers" && seg[2] == "archive": try await containerArchivePut(seg[1], r, w)
        case (.GET, _) where seg.count >= 3 && seg[0] == "images" && seg.last == "get":
            try await imageSave([seg[1..<(seg.count - 1)].joined(separator: "/")], w)
        case (.GET, 3) where seg[0] == "containers" && seg[2] == "changes":
            w.json(.ok, try await lifecycle.call("container.changes", ["id": seg[1]]).text)
        case (.POST, 3) where seg[0] == "containers":
            let id = seg[1]
            switch seg[2] {
            case "start": try await startLike("container.start", ["id": .string(id)], w)
            case "stop": try await startLike("container.stop", stopParams(id, r), w)
            case "restart": try await simple("container.restart", stopParams(id, r), w)
            case "kill": try await simple("container.kill", params(["id": id, "signal": r.string("signal")]), w)
            case "pause": try await simple("container.pause", ["id": .string(id)], w)
            case "unpause": try await simple("container.unpause", ["id": .string(id)], w)
            case "wait": try await containerWait(id, r, w)
            case "attach": try await containerAttach(id, r, w)
            case "resize": try await resize("container.resize", ["id": .string(id)], r, w)
            case "rename": try await simple("container.rename", params(["id": id, "name": r.query["name"] ?? ""]), w)
            case "update": try await containerUpdate(id, r, w)
            case "exec": try await execCreate(id, r, w)
            default: throw EngineError.notFound("page not found")
            }
        case (.DELETE, 2) where seg[0] == "containers":
            var p: [String: JSONValue] = ["id": .string(seg[1])]
            if let f = r.bool("force") { p["force"] = .bool(f) }
            if let v = r.bool("v") { p["volumes"] = .bool(v) }
            try await simple("container.remove", p, w)

        case (.POST, 3) where seg[0] == "exec" && seg[2] == "start": try await execStart(seg[1], r, w)
        case (.POST, 3) where seg[0] == "exec" && seg[2] == "resize": try await resize("exec.resize", ["execId": .string(seg[1])], r, w)
        case (.GET, 3) where seg[0] == "exec" && seg[2] == "json":
            w.json(.ok, try await lifecycle.call("exec.inspect", ["execId": seg[1]]).text)

        case (.GET, 2) where seg == ["images", "json"]: try await imageList(r, w)
        case (.POST, 2) where seg == ["images", "create"]: try await imageCreate(r, w)
        case (.GET, _) where seg.count >= 3 && seg[0] == "images" && seg.last == "json":
            try await imageInspect(seg[1..<(seg.count - 1)].joined(separator: "/"), w)
        case (.GET, _) where seg.count >= 3 && seg[0] == "images" && seg.last == "history":
            try await imageHistory(seg[1..<(seg.count - 1)].joined(separator: "/"), w)
        case (.POST, _) where seg.count >= 3 && seg[0] == "images" && seg.last == "tag":
            try await imageTag(seg[1..<(seg.count - 1)].joined(separator: "/"), r, w)
        case (.DELETE, _) where seg.count >= 2 && seg[0] == "images":
            try await imageRemove(seg[1...].joined(separator: "/"), r, w)
        case (_, 1...2) where seg[0] == "volumes": try await volumes(r, seg, w)
        case (_, 1...3) where seg[0] == "networks": try await networks(r, seg, w)
        default:
            throw EngineError.notFound("page not found")
        }
    }

    func log(_ s: String) {
        FileHandle.standardError.write(Data("berthd: \(s)\n".utf8))
    }

    // MARK: helpers shared by handlers

    /// Wire params from optional strings: absent values are left out.
    func params(_ d: [String: String?]) -> [String: JSONValue] {
        d.compactMapValues { $0.map(JSONValue.string) }
    }

    /// A call whose success is `204 No Content`.
    func simple(_ method: String, _ p: [String: JSONValue], _ w: ResponseWriter) async throws {
        _ = try await lifecycle.call(method, p)
        w.send(.noContent)
    }

    /// start / stop: 304 when nothing changed.
    func startLike(_ method: String, _ p: [String: JSONValue], _ w: ResponseWriter) async throws {
        let r = try await lifecycle.call(method, p, returning: ContainerChangeResult.self)
        w.send(r.notModified ? .notModified : .noContent)
    }

    func stopParams(_ id: String, _ r: HTTPRequest) throws -> [String: JSONValue] {
        var p: [String: JSONValue] = ["id": .string(id)]
        if let t = r.string("t") {
            guard let n = Int(t) else { throw EngineError.badRequest("invalid value for t: \(t)") }
            p["timeout"] = .int(Int64(n))
        }
        if let s = r.string("signal") { p["signal"] = .string(s) }
        return p
    }

    func resize(_ method: String, _ base: [String: JSONValue], _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let h = r.int("h"), let wd = r.int("w") else { throw EngineError.badRequest("invalid resize: h and w must be numbers") }
        var p = base
        p["height"] = .int(Int64(h)); p["width"] = .int(Int64(wd))
        _ = try await lifecycle.call(method, p)
        w.send(.ok, contentType: "text/plain; charset=utf-8")
    }

    /// The body as a JSON object (an empty body is `{}`); anything else is Docker's 400.
    func jsonBody(_ r: HTTPRequest) throws -> JSONValue {
        if r.body.isEmpty || r.body.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return .object([:]) }
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: r.body) else {
            throw EngineError.badRequest("invalid JSON in request body")
        }
        // The docker CLI sends `null` for an absent optional body (commit without a config).
        if v == .null { return .object([:]) }
        guard case .object = v else { throw EngineError.badRequest("invalid JSON in request body: expected an object") }
        return v
    }
}
