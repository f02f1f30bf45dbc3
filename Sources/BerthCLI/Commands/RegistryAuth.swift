import Foundation

/// The `X-Registry-Auth` header for a repository: base64url of `{"username","password","serveraddress"}`
/// from the credentials `berth login` stored, or `{}`.
enum RegistryAuth {
    /// Docker Hub's key in config.json, as the docker CLI writes it.
    static let hubServer = "https://index.docker.io/v1/"

    static func header(for repo: String, config: CLIConfig = CLIConfig.load()) -> String {
        let server = serverKey(registryOf(repo))
        guard let c = config.credentials(for: server) else { return encode([:]) }
        return encode(["username": c.username, "password": c.password, "serveraddress": server])
    }

    /// `X-Registry-Config` for a build: every stored credential, keyed by server, so the daemon
    /// can pull any FROM image.
    static func configHeader(config: CLIConfig = CLIConfig.load()) -> String {
        var all: [String: Any] = [:]
        for server in config.servers {
            guard let c = config.credentials(for: server) else { continue }
            all[server] = ["username": c.username, "password": c.password, "serveraddress": server]
        }
        return encode(all)
    }

    /// base64url (with padding, as Go's `base64.URLEncoding`) of the JSON object.
    static func encode(_ fields: [String: Any]) -> String {
        let d = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// The registry part of a reference: `127.0.0.1:5000/app` → `127.0.0.1:5000`; `busybox` → `docker.io`.
    static func registryOf(_ repo: String) -> String {
        let parts = repo.split(separator: "/", maxSplits: 1)
        if parts.count == 2, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            return String(parts[0])
        }
        return "docker.io"
    }

    /// config.json's key for a server: Docker Hub's URL, else the host[:port] without scheme or path.
    static func serverKey(_ server: String) -> String {
        var s = server
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        switch s {
        case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return hubServer
        default: return s
        }
    }
}

/// berth's client configuration file, docker's `config.json` format: `$BERTH_CONFIG/config.json`,
/// else `~/.berth/config.json`. Only `auths` is read and written; other keys are kept as they are.
struct CLIConfig {
    var path: String
    var object: [String: Any]

    struct Credentials: Equatable { var username: String; var password: String }

    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["BERTH_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.berth/config.json"
    }

    /// The file's contents; a missing or unreadable file is an empty configuration.
    static func load(path: String = defaultPath()) -> CLIConfig {
        guard let d = FileManager.default.contents(atPath: path),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return CLIConfig(path: path, object: [:]) }
        return CLIConfig(path: path, object: o)
    }

    private var auths: [String: Any] { object["auths"] as? [String: Any] ?? [:] }

    /// The servers with stored credentials.
    var servers: [String] { auths.keys.sorted() }

    func credentials(for server: String) -> Credentials? {
        let entries = auths
        let key = RegistryAuth.serverKey(server)
        let candidates = entries.keys.filter { RegistryAuth.serverKey($0) == key }.sorted()
        guard let k = candidates.first, let e = entries[k] as? [String: Any] else { return nil }
        if let a = e["auth"] as? String, let raw = Data(base64Encoded: a), let s = String(data: raw, encoding: .utf8),
           let colon = s.firstIndex(of: ":") {
            return Credentials(username: String(s[..<colon]), password: String(s[s.index(after: colon)...]))
        }
        if let u = e["username"] as? String, let p = e["password"] as? String { return Credentials(username: u, password: p) }
        return nil
    }

    mutating func store(_ c: Credentials, for server: String) {
        var a = auths
        a[RegistryAuth.serverKey(server)] = ["auth": Data("\(c.username):\(c.password)".utf8).base64EncodedString()]
        object["auths"] = a
    }

    /// Removes the server's entry; false when there was none.
    mutating func remove(_ server: String) -> Bool {
        var a = auths
        let key = RegistryAuth.serverKey(server)
        let matching = a.keys.filter { RegistryAuth.serverKey($0) == key }
        guard !matching.isEmpty else { return false }
        for k in matching { a[k] = nil }
        object["auths"] = a
        return true
    }

    /// Writes the file with mode 0600 (its directory 0700), replacing it atomically.
    func save() throws {
        let dir = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var o = object
            if o["auths"] == nil { o["auths"] = [String: Any]() }
            let d = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            let tmp = path + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: d, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError("cannot write \(tmp)")
            }
            chmod(tmp, 0o600)
            guard rename(tmp, path) == 0 else { throw CLIError("cannot replace \(path): \(String(cString: strerror(errno)))") }
        } catch let e as CLIError { throw e } catch {
            throw CLIError("Error saving credentials: \(path): \(error.localizedDescription)")
        }
    }
}
