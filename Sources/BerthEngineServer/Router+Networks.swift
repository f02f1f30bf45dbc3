import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `/networks…`. Networks, create bodies and list/prune answers are Docker's shapes on the wire
    /// too; connect and disconnect bodies become the wire's lowercase request params.
    func networks(_ r: HTTPRequest, _ seg: [String], _ w: ResponseWriter) async throws {
        switch (r.method, seg.count) {
        case (.GET, 1):
            var p: [String: JSONValue] = [:]
            if let f = try filters(r) { p["filters"] = f }
            w.json(.ok, try await lifecycle.call("network.list", p).text)
        case (.POST, 2) where seg[1] == "create":
            w.json(.created, try await lifecycle.call("network.create", try networkCreateParams(r)).text)
        case (.POST, 2) where seg[1] == "prune":
            var p: [String: JSONValue] = [:]
            if let f = try filters(r) { p["filters"] = f }
            w.json(.ok, try await lifecycle.call("network.prune", p).text)
        // `verbose` and `scope` are swarm matters: a local network answers the same either way.
        case (.GET, 2):
            w.json(.ok, try await lifecycle.call("network.inspect", NetworkRefParams(id: seg[1])).text)
        case (.DELETE, 2):
            _ = try await lifecycle.call("network.remove", NetworkRefParams(id: seg[1]))
            w.send(.noContent)
        case (.POST, 3) where seg[2] == "connect":
            let body = try decodeBody(ConnectBody.self, r)
            let p = NetworkConnectParams(network: seg[1], container: try container(body.Container), endpointConfig: body.EndpointConfig)
            _ = try await lifecycle.call("network.connect", p)
            w.send(.ok)
        case (.POST, 3) where seg[2] == "disconnect":
            let body = try decodeBody(DisconnectBody.self, r)
            let p = NetworkDisconnectParams(network: seg[1], container: try container(body.Container), force: body.Force)
            _ = try await lifecycle.call("network.disconnect", p)
            w.send(.ok)
        default:
            throw EngineError.notFound("page not found")
        }
    }

    /// Docker's `POST /networks/{id}/connect` body.
    struct ConnectBody: Decodable {
        var Container: String?
        var EndpointConfig: EndpointSettings?
    }

    /// Docker's `POST /networks/{id}/disconnect` body.
    struct DisconnectBody: Decodable {
        var Container: String?
        var Force: Bool?
    }

    private func container(_ ref: String?) throws -> String {
        guard let ref, !ref.isEmpty else { throw EngineError.badRequest("container ID or name is required") }
        return ref
    }

    /// The create body, checked here for what only swarm or plugins do (the wire has no keys for
    /// them, so they would otherwise be dropped silently).
    func networkCreateParams(_ r: HTTPRequest) throws -> NetworkCreateParams {
        struct Extra: Decodable {
            var Scope: String?
            var ConfigOnly: Bool?
            var ConfigFrom: [String: String]?
            var Ingress: Bool?
        }
        let extra = try decodeBody(Extra.self, r)
        if let s = extra.Scope, !["", "local"].contains(s) {
            throw EngineError.badRequest("scope \(s) is not supported: only local networks can be created")
        }
        if extra.ConfigOnly == true || !(extra.ConfigFrom?["Network"] ?? "").isEmpty {
            throw EngineError.badRequest("config-only networks are not supported")
        }
        if extra.Ingress == true { throw EngineError.badRequest("ingress networks need swarm mode, which Berth does not have") }
        let p = try decodeBody(NetworkCreateParams.self, r)
        guard !p.name.isEmpty else { throw EngineError.badRequest("network name must not be empty") }
        return p
    }

    /// The JSON body as `T` (an empty body is `{}`); malformed JSON or a wrong type is a 400 naming the key.
    func decodeBody<T: Decodable>(_ type: T.Type, _ r: HTTPRequest) throws -> T {
        let data = try JSONEncoder().encode(try jsonBody(r))
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw EngineError.badRequest("invalid request body: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ c: DecodingError.Context) -> String { c.codingPath.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .keyNotFound(let k, let c): return "missing \((path(c).isEmpty ? "" : path(c) + ".") + k.stringValue)"
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c): return "\(path(c)): expected \(t)"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
