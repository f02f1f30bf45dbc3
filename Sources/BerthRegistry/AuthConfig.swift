import Foundation
import BerthImage

/// Credentials for one registry.
public enum RegistryCredentials: Sendable, Hashable, CustomStringConvertible {
    /// Username and password, sent as Basic auth to a Basic registry or to a token service.
    case basic(username: String, password: String)
    /// An OAuth2 refresh token (`identitytoken` in config.json), exchanged at the token service.
    case identityToken(String)
    /// A bearer token used as is (`registrytoken` in config.json).
    case registryToken(String)

    /// Never shows secrets.
    public var description: String {
        switch self {
        case .basic(let user, _): return "basic(\(user))"
        case .identityToken: return "identity-token"
        case .registryToken: return "registry-token"
        }
    }

    /// A key that tells credentials apart in the token cache without storing them twice.
    var cacheKey: String {
        switch self {
        case .basic(let u, let p): return "b:\(u):\(Digest.sha256(of: Array(p.utf8)).short)"
        case .identityToken(let t): return "i:\(Digest.sha256(of: Array(t.utf8)).short)"
        case .registryToken(let t): return "r:\(Digest.sha256(of: Array(t.utf8)).short)"
        }
    }
}

/// Credentials read from a Docker-style `config.json`:
/// `{"auths": {"host": {"auth": base64(user:pass)} | {"username", "password"} | {"identitytoken"}}}`.
/// Keys may be `https://index.docker.io/v1/` (Docker Hub), `host`, `host:port` or `https://host`.
/// Credential helpers (`credsStore`, `credHelpers`) are not supported.
public struct AuthFile: Sendable {
    /// Credentials by normalised registry host (`docker.io`, `127.0.0.1:5000`).
    public private(set) var entries: [String: RegistryCredentials]
    /// Where they were read from, if from a file.
    public let path: String?

    /// No credentials.
    public static let empty = AuthFile(entries: [:])

    public init(entries: [String: RegistryCredentials], path: String? = nil) {
        var normalised: [String: RegistryCredentials] = [:]
        for (k, v) in entries { normalised[AuthFile.normalise(k)] = v }
        self.entries = normalised
        self.path = path
    }

    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.docker/config.json"
    }

    /// Reads `path` (default: `defaultPath()`). A missing file is no credentials, not an error.
    public static func load(path: String? = nil) throws(RegistryError) -> AuthFile {
        let p = path ?? defaultPath()
        guard FileManager.default.fileExists(atPath: p) else { return AuthFile(entries: [:], path: p) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: p)) } catch {
            throw .invalidAuthFile(path: p, reason: "\(error.localizedDescription)")
        }
        return try parse(Array(data), path: p)
    }

    /// Parses the JSON of a config.json.
    public static func parse(_ bytes: [UInt8], path: String = "config.json") throws(RegistryError) -> AuthFile {
        struct Entry: Decodable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
            var registrytoken: String?
        }
        struct File: Decodable { var auths: [String: Entry]? }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: Data(bytes)) } catch {
            throw .invalidAuthFile(path: path, reason: "\(error)")
        }
        var out: [String: RegistryCredentials] = [:]
        for (key, e) in file.auths ?? [:] {
            if let t = e.identitytoken, !t.isEmpty {
                out[key] = .identityToken(t)
            } else if let t = e.registrytoken, !t.isEmpty {
                out[key] = .registryToken(t)
            } else if let a = e.auth, !a.isEmpty {
                guard let raw = Data(base64Encoded: a), let s = String(data: raw, encoding: .utf8),
                      let colon = s.firstIndex(of: ":") else {
                    throw .invalidAuthFile(path: path, reason: "\"auth\" of \(key) is not base64(username:password)")
                }
                out[key] = .basic(username: String(s[..<colon]), password: String(s[s.index(after: colon)...]))
            } else if let u = e.username, let p = e.password {
                out[key] = .basic(username: u, password: p)
            }
        }
        return AuthFile(entries: out, path: path)
    }

    /// The credentials for a registry host (`docker.io`, `registry-1.docker.io` and
    /// `index.docker.io` are the same registry).
    public func credentials(for host: String) -> RegistryCredentials? {
        entries[AuthFile.normalise(host)]
    }

    /// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/v2/` → `host:5000`.
    static func normalise(_ key: String) -> String {
        var k = key.lowercased()
        for scheme in ["https://", "http://"] where k.hasPrefix(scheme) { k.removeFirst(scheme.count) }
        if let slash = k.firstIndex(of: "/") { k = String(k[..<slash]) }
        switch k {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return Reference.defaultDomain
        default: return k
        }
    }
}
