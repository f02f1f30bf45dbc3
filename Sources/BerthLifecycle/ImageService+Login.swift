import BerthImage
import BerthRegistry
import BerthWire

extension ImageService {
    /// `registry.login` (Docker's `POST /auth`): `GET /v2/` on the server with the credentials,
    /// following a Bearer challenge to its token service; a refusal is 401.
    public func login(_ auth: RegistryAuth) async throws -> RegistryLoginResult {
        guard let creds = auth.credentials else { throw LifecycleError.invalidArgument("registry.login needs a username or a token") }
        let host = Self.loginHost(auth.serverAddress ?? "")
        do {
            _ = try await registry.ping(host, credentials: creds)
        } catch let e as RegistryError {
            throw e.lifecycleError
        }
        return RegistryLoginResult()
    }

    /// `https://index.docker.io/v1/`, `docker.io` or empty → Docker Hub's registry host;
    /// `http://127.0.0.1:5000/v2/` → `127.0.0.1:5000`.
    static func loginHost(_ server: String) -> String {
        var s = server.lowercased()
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        switch s {
        case "", Reference.defaultDomain, "index.docker.io", "registry.hub.docker.com": return "registry-1.docker.io"
        default: return s
        }
    }
}
