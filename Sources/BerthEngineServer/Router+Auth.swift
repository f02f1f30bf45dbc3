import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `POST /auth`: Docker's login check. The body is the CLI's AuthConfig (lower-case keys); the
    /// registry itself is asked, by berth-lifecycled, whose registry client holds the token flow.
    func auth(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard case .object(let body) = try jsonBody(r) else { throw EngineError.badRequest("invalid JSON in request body") }
        var fields: [String: String] = [:]
        for (k, v) in body { if case .string(let s) = v { fields[k.lowercased()] = s } }
        var p: [String: JSONValue] = [:]
        let keys = ["username": "username", "password": "password", "identitytoken": "identityToken",
                    "registrytoken": "registryToken", "serveraddress": "serverAddress"]
        for (k, wire) in keys { if let s = fields[k], !s.isEmpty { p[wire] = .string(s) } }
        guard p["username"] != nil || p["identityToken"] != nil || p["registryToken"] != nil else {
            throw EngineError.badRequest("Error: Non-null Username Required")
        }
        let res = try await lifecycle.call("registry.login", p, returning: RegistryLoginResult.self)
        w.json(encoding: JSONValue.object(["Status": .string(res.status), "IdentityToken": .string(res.identityToken)]))
    }
}
