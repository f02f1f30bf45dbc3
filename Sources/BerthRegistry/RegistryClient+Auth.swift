import Foundation
import AsyncHTTPClient
import BerthImage
import NIOCore
import NIOHTTP1

/// The token scopes a request needs: `repository:<path>:pull[,push]`, plus any extra (a mount's
/// source repository).
struct AuthScope: Sendable, Hashable {
    var scopes: [String]

    static func pull(_ path: String) -> AuthScope { AuthScope(scopes: ["repository:\(path):pull"]) }
    static func push(_ path: String) -> AuthScope { AuthScope(scopes: ["repository:\(path):pull,push"]) }

    func adding(_ other: AuthScope) -> AuthScope { AuthScope(scopes: scopes + other.scopes.filter { !scopes.contains($0) }) }

    var key: String { scopes.joined(separator: " ") }
}

/// A parsed `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Sendable, Equatable {
    var scheme: String
    var parameters: [String: String]

    /// Parses the first challenge of a header value.
    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        let schemeEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        scheme = trimmed[..<schemeEnd].lowercased()
        guard !scheme.isEmpty else { return nil }
        parameters = [:]
        var rest = Substring(trimmed[schemeEnd...])
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: eq)...].drop { $0 == " " }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                var end = rest.endIndex
                for i in rest.indices {
                    let c = rest[i]
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" {
                        end = i; break
                    } else { value.append(c) }
                }
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[key] = value
        }
    }
}

/// What a client remembers between requests: tokens per host + scope + credentials until they
/// expire, each host's last challenge (to authenticate up front next time) and its scheme.
actor AuthState {
    private struct CachedToken { var token: String; var expires: ContinuousClock.Instant }
    private var tokens: [String: CachedToken] = [:]
    private var challenges: [String: AuthChallenge] = [:]
    private var schemes: [String: String] = [:]

    func token(_ key: String) -> String? {
        guard let t = tokens[key] else { return nil }
        guard t.expires > .now else { tokens[key] = nil; return nil }
        return t.token
    }

    func setToken(_ token: String, key: String, lifetime: Duration) { tokens[key] = CachedToken(token: token, expires: .now + lifetime) }
    func challenge(for host: String) -> AuthChallenge? { challenges[host] }
    func setChallenge(_ c: AuthChallenge, for host: String) { challenges[host] = c }
    func scheme(for host: String) -> String? { schemes[host] }
    func setScheme(_ s: String, for host: String) { schemes[host] = s }
}

extension RegistryClient {
    private func tokenKey(host: String, scope: AuthScope?, credentials: RegistryCredentials?) -> String {
        "\(host)|\(scope?.key ?? "")|\(credentials?.cacheKey ?? "anonymous")"
    }

    /// The `Authorization` header to send up front: a cached token, or Basic credentials or a freshly
    /// fetched token when the host is known to want them. Nil until the first challenge is seen.
    func authorization(host: String, scope: AuthScope?, credentials: RegistryCredentials?, resource: String) async throws -> String? {
        if case .registryToken(let t) = credentials { return "Bearer \(t)" }
        if let t = await state.token(tokenKey(host: host, scope: scope, credentials: credentials)) { return "Bearer \(t)" }
        guard let challenge = await state.challenge(for: host) else { return nil }
        switch challenge.scheme {
        case "basic":
            if case .basic(let u, let p) = credentials { return basicHeader(u, p) }
            return nil
        case "bearer":
            let t = try await fetchToken(host: host, challenge: challenge, scope: scope, credentials: credentials, resource: resource)
            return "Bearer \(t)"
        default:
            return nil
        }
    }

    /// Answers a 401: remembers the challenge and gets what it asks for, or throws `unauthorized`.
    func authenticate(host: String, challenge header: String, scope: AuthScope?, credentials: RegistryCredentials?,
                      resource: String, registryMessage: String?) async throws {
        guard let challenge = AuthChallenge(header) else {
            throw RegistryError.invalidResponse(host: host, resource: resource, reason: "unparseable WWW-Authenticate \"\(header)\"")
        }
        await state.setChallenge(challenge, for: host)
        switch challenge.scheme {
        case "basic":
            guard case .basic = credentials else {
                throw RegistryError.unauthorized(host: host, resource: resource,
                                                 message: registryMessage ?? "authentication required and no credentials were given for \(host)")
            }
        case "bearer":
            if case .registryToken = credentials {
                throw RegistryError.unauthorized(host: host, resource: resource, message: registryMessage ?? "the registry token was rejected")
            }
            _ = try await fetchToken(host: host, challenge: challenge, scope: scope, credentials: credentials, resource: resource)
        default:
            throw RegistryError.unauthorized(host: host, resource: resource,
                                             message: "unsupported authentication scheme \(challenge.scheme)")
        }
    }

    /// Gets a token from the challenge's realm for `scope` (distribution token spec; an identity token
    /// is exchanged with the OAuth2 refresh-token grant) and caches it until it expires.
    func fetchToken(host: String, challenge: AuthChallenge, scope: AuthScope?, credentials: RegistryCredentials?,
                    resource: String) async throws -> String {
        guard let realm = challenge.parameters["realm"], !realm.isEmpty else {
            throw RegistryError.invalidResponse(host: host, resource: resource, reason: "Bearer challenge without realm")
        }
        let realmURL = try checkedURL(realm, relativeTo: nil)
        let scopes = scope?.scopes ?? challenge.parameters["scope"].map { [$0] } ?? []
        let service = challenge.parameters["service"]
        var req: HTTPClientRequest
        if case .identityToken(let refresh) = credentials {
            req = HTTPClientRequest(url: realmURL.url)
            req.method = .POST
            var form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "berth")]
            if let service { form.append(("service", service)) }
            if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
            let encoded = form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
            req.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            req.body = .bytes(ByteBuffer(string: encoded))
        } else {
            guard var comps = URLComponents(string: realmURL.url) else {
                throw RegistryError.invalidResponse(host: host, resource: resource, reason: "bad token realm \(realm)")
            }
            var items = comps.queryItems ?? []
            if let service { items.append(URLQueryItem(name: "service", value: service)) }
            for s in scopes { items.append(URLQueryItem(name: "scope", value: s)) }
            if !items.isEmpty { comps.queryItems = items }
            guard let url = comps.string else {
                throw RegistryError.invalidResponse(host: host, resource: resource, reason: "bad token realm \(realm)")
            }
            req = HTTPClientRequest(url: url)
            if case .basic(let u, let p) = credentials { req.headers.add(name: "Authorization", value: basicHeader(u, p)) }
        }
        req.headers.add(name: "User-Agent", value: configuration.userAgent)
        let response = try await execute(req, host: realmURL.host, resource: "token for \(resource)", timeout: .seconds(60))
        let bytes = await drain(response)
        switch response.status.code {
        case 200:
            break
        case 401, 403:
            let why = RegistryErrorBody.summary(bytes) ?? excerpt(bytes)
            let who = credentials.map { "credentials \($0)" } ?? "anonymous access"
            throw RegistryError.unauthorized(host: host, resource: resource,
                                             message: "token service \(realmURL.host) refused \(who)\(why.isEmpty ? "" : ": \(why)")")
        default:
            throw statusError(response, bytes, host: realmURL.host, method: req.method.rawValue, resource: "token for \(resource)")
        }
        struct TokenResponse: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Int?
        }
        guard let parsed = try? JSONDecoder().decode(TokenResponse.self, from: Data(bytes)),
              let token = [parsed.token, parsed.access_token].compactMap({ $0 }).first(where: { !$0.isEmpty }) else {
            throw RegistryError.invalidResponse(host: realmURL.host, resource: "token for \(resource)", reason: "no token in \(excerpt(bytes))")
        }
        // The token spec's minimum lifetime is 60s; renew a little early.
        let lifetime = max(parsed.expires_in ?? 60, 60)
        await state.setToken(token, key: tokenKey(host: host, scope: scope, credentials: credentials),
                             lifetime: .seconds(lifetime - 10))
        return token
    }
}

func basicHeader(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

private func formEncode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
