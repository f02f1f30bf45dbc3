import Foundation
import AsyncHTTPClient
import BerthImage
import NIOCore
import NIOHTTP1

/// A client of the OCI distribution API (`/v2/`): authentication, manifest and blob pull, blob and
/// manifest push. One client holds one `HTTPClient` (connection pool) and one token cache; share it
/// across pulls. Call `shutdown()` when done (or use `withClient`).
///
/// Redirects are followed by the client itself rather than by AsyncHTTPClient, so the plain-HTTP
/// policy applies to every hop and `Authorization` is dropped when a redirect leaves the origin
/// (blob downloads redirect to object storage that must not see registry tokens).
public final class RegistryClient: Sendable {
    /// The configuration this client was made with.
    public let configuration: RegistryConfiguration
    /// Credentials used when a call does not pass its own.
    public let authFile: AuthFile

    let http: HTTPClient
    let state = AuthState()
    let downloads: AsyncSemaphore

    /// Makes a client with its own connection pool.
    public init(configuration: RegistryConfiguration = RegistryConfiguration(), authFile: AuthFile = .empty) {
        self.configuration = configuration
        self.authFile = authFile
        var config = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.connectTimeout), read: TimeAmount(configuration.readTimeout)),
            decompression: .disabled
        )
        config.connectionPool = .init(idleTimeout: .seconds(60))
        // A refused connection fails the request at once: the pool would otherwise retry it until
        // the request's deadline (minutes for a blob). `withRetries` retries transient failures.
        config.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        self.downloads = AsyncSemaphore(permits: configuration.maxConcurrentDownloads)
    }

    /// Closes every connection. The client must not be used afterwards.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Runs `body` with a new client and shuts it down afterwards, also when `body` throws.
    public static func withClient<T>(
        configuration: RegistryConfiguration = RegistryConfiguration(), authFile: AuthFile = .empty,
        _ body: (RegistryClient) async throws -> T
    ) async throws -> T {
        let client = RegistryClient(configuration: configuration, authFile: authFile)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: ping

    /// What `GET /v2/` said.
    public struct Ping: Sendable, Equatable {
        /// The registry host asked.
        public var host: String
        /// `https://host` or `http://host`: the base URL this client will use.
        public var baseURL: String
        /// The HTTP status of `/v2/` (200, or 401 when the registry wants authentication).
        public var status: Int
        /// The `WWW-Authenticate` challenge, if any.
        public var authChallenge: String?
        /// `Docker-Distribution-API-Version`, usually `registry/2.0`.
        public var apiVersion: String?
    }

    /// `GET /v2/`: checks that `host` is a registry. Without credentials a 401 counts as success (the
    /// registry exists and wants authentication); with credentials they must be accepted (`login`).
    public func ping(_ host: String, credentials: RegistryCredentials? = nil) async throws -> Ping {
        let base = try await baseURL(for: host)
        let resource = "\(base)/v2/"
        let response = try await withRetries {
            let r = try await perform(.GET, host: host, path: "/v2/", scope: nil, credentials: credentials,
                                      resource: resource, sendAuth: credentials != nil)
            if r.status.code >= 500 || r.status.code == 429 {
                throw statusError(r, await drain(r), host: host, method: "GET", resource: resource)
            }
            return r
        }
        let bytes = await drain(response)
        let code = Int(response.status.code)
        guard code == 200 || (code == 401 && credentials == nil) else {
            throw statusError(response, bytes, host: host, method: "GET", resource: resource)
        }
        return Ping(host: host, baseURL: base, status: code,
                    authChallenge: response.headers.first(name: "WWW-Authenticate"),
                    apiVersion: response.headers.first(name: "Docker-Distribution-API-Version"))
    }

    // MARK: plumbing

    /// The credentials for a registry: the caller's, else the auth file's.
    func credentials(for reference: Reference, _ explicit: RegistryCredentials?) -> RegistryCredentials? {
        explicit ?? authFile.credentials(for: reference.domain) ?? authFile.credentials(for: reference.registryHost)
    }

    /// `https://host`, or `http://host` for a loopback or insecure registry that does not speak TLS.
    func baseURL(for host: String) async throws -> String {
        guard configuration.allowsPlainHTTP(host: host) else { return "https://\(host)" }
        guard configuration.probeHTTPS else { return "http://\(host)" }
        if let scheme = await state.scheme(for: host) { return "\(scheme)://\(host)" }
        // Probe with plain HTTP: a registry answers /v2/ with 200 or 401, a TLS server answers a plain
        // request with 400 at once. (Probing TLS first would hang on a plain server, which waits for
        // a request line that a ClientHello never completes.)
        var req = HTTPClientRequest(url: "http://\(host)/v2/")
        req.headers.add(name: "User-Agent", value: configuration.userAgent)
        let scheme: String
        do {
            let r = try await http.execute(req, timeout: .seconds(10))
            _ = try? await r.body.collect(upTo: 1 << 16)
            let code = r.status.code
            scheme = code == 400 || code == 497 ? "https" : "http"
        } catch {
            // Nothing answered: do not cache, the request that follows reports the failure.
            return "http://\(host)"
        }
        await state.setScheme(scheme, for: host)
        return "\(scheme)://\(host)"
    }

    /// Sends one request with authentication and redirects handled; returns the final response
    /// whatever its status (callers decide what a 404 means). Throws `RegistryError.unauthorized`
    /// when authentication fails, `.transport` when the connection does.
    func perform(
        _ method: HTTPMethod, host: String, path: String? = nil, url absoluteURL: String? = nil,
        scope: AuthScope?, headers: HTTPHeaders = [:], body: ByteBuffer? = nil,
        credentials: RegistryCredentials?, resource: String, timeout: TimeAmount = .seconds(120),
        sendAuth initialSendAuth: Bool = true
    ) async throws -> HTTPClientResponse {
        var url: String
        if let absoluteURL { url = try checkedURL(absoluteURL, relativeTo: nil).url } else {
            url = try await baseURL(for: host) + (path ?? "/v2/")
        }
        var method = method
        var body = body
        var sendAuth = initialSendAuth
        var authRetried = false
        var redirects = 0
        let origin = Origin(url)
        while true {
            var req = HTTPClientRequest(url: url)
            req.method = method
            req.headers = headers
            req.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
            if let body { req.body = .bytes(body) } else if method == .PUT || method == .POST || method == .PATCH {
                req.body = .bytes(ByteBuffer())
            }
            if sendAuth, let auth = try await authorization(host: host, scope: scope, credentials: credentials, resource: resource) {
                req.headers.replaceOrAdd(name: "Authorization", value: auth)
            }
            let response = try await execute(req, host: Origin(url).host ?? host, resource: resource, timeout: timeout)

            if response.status == .unauthorized, sendAuth {
                let bytes = await drain(response)
                let message = RegistryErrorBody.summary(bytes)
                guard !authRetried, let challenge = response.headers.first(name: "WWW-Authenticate") else {
                    throw RegistryError.unauthorized(host: host, resource: resource, message: message ?? "authentication required")
                }
                authRetried = true
                try await authenticate(host: host, challenge: challenge, scope: scope, credentials: credentials,
                                       resource: resource, registryMessage: message)
                continue
            }
            if (300..<400).contains(response.status.code), response.status != .notModified,
               let location = response.headers.first(name: "Location") {
                _ = await drain(response)
                redirects += 1
                guard redirects <= 10 else {
                    throw RegistryError.invalidResponse(host: host, resource: resource, reason: "more than 10 redirects")
                }
                let next = try checkedURL(location, relativeTo: url)
                // Tokens and passwords are for the registry only, never for the storage it redirects to.
                if Origin(next.url) != origin { sendAuth = false }
                if response.status == .seeOther, method != .HEAD { method = .GET; body = nil }
                url = next.url
                continue
            }
            return response
        }
    }

    /// Resolves `location` against `base` and applies the plain-HTTP policy to the result.
    func checkedURL(_ location: String, relativeTo base: String?) throws -> (url: String, host: String) {
        let baseURL = base.flatMap { URL(string: $0) }
        guard let u = URL(string: location, relativeTo: baseURL)?.absoluteURL,
              let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw RegistryError.invalidResponse(host: base.flatMap { Origin($0).host } ?? location,
                                                resource: location, reason: "not an http(s) URL")
        }
        let origin = Origin(u.absoluteString)
        let host = origin.host ?? ""
        if scheme == "http" { try configuration.checkPlainHTTP(host: host) }
        return (u.absoluteString, host)
    }

    /// `http.execute` with failures turned into `RegistryError.transport` naming the host.
    func execute(_ req: HTTPClientRequest, host: String, resource: String, timeout: TimeAmount) async throws -> HTTPClientResponse {
        do {
            return try await http.execute(req, timeout: timeout)
        } catch let e as CancellationError {
            throw e
        } catch {
            throw RegistryError.transport(host: host, resource: resource, reason: describe(error))
        }
    }

    /// Runs `op`, retrying transient failures (connection errors, 429, 5xx) with exponential back-off.
    func withRetries<T>(_ op: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await op()
            } catch let e as RegistryError where e.isTransient && attempt < configuration.retries {
                attempt += 1
                try await Task.sleep(for: configuration.retryDelay * (1 << min(attempt - 1, 6)))
            }
        }
    }

    /// Reads what is left of a body (up to 1 MiB) so the connection can be reused, and for error messages.
    func drain(_ response: HTTPClientResponse) async -> [UInt8] {
        var out: [UInt8] = []
        do {
            for try await chunk in response.body {
                if out.count < 1 << 20 { out += chunk.readableBytesView.prefix((1 << 20) - out.count) }
            }
        } catch {}
        return out
    }

    /// The error for an unexpected response.
    func statusError(_ response: HTTPClientResponse, _ body: [UInt8], host: String, method: String,
                     resource: String, notFound: RegistryError? = nil) -> RegistryError {
        let code = Int(response.status.code)
        switch code {
        case 401, 403:
            return .unauthorized(host: host, resource: resource, message: RegistryErrorBody.summary(body) ?? "HTTP \(code)")
        case 404 where notFound != nil:
            return notFound ?? .httpStatus(host: host, method: method, resource: resource, status: code, body: excerpt(body))
        case 429:
            return .tooManyRequests(host: host, resource: resource)
        default:
            return .httpStatus(host: host, method: method, resource: resource, status: code, body: excerpt(body))
        }
    }
}

/// scheme://host:port of a URL, compared to decide whether a redirect leaves the registry.
struct Origin: Equatable {
    var scheme: String?
    var host: String?

    init(_ url: String) {
        guard let u = URL(string: url) else { scheme = nil; host = nil; return }
        scheme = u.scheme?.lowercased()
        var h = u.host?.lowercased()
        if let name = h, name.contains(":"), !name.hasPrefix("[") { h = "[\(name)]" }
        if let port = u.port, let name = h { h = "\(name):\(port)" }
        host = h
    }
}

/// A short description of a transport error (AsyncHTTPClient's and NIO's are verbose).
func describe(_ error: any Error) -> String {
    if let e = error as? HTTPClientError {
        switch e {
        case .connectTimeout: return "connection timed out"
        case .readTimeout: return "read timed out"
        case .remoteConnectionClosed: return "connection closed by the registry"
        case .deadlineExceeded: return "request deadline exceeded"
        default: return "\(e)"
        }
    }
    return "\(error)"
}

/// Limits concurrent blob downloads.
actor AsyncSemaphore {
    private var permits: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) { self.permits = permits }

    func acquire() async {
        if permits > 0 { permits -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { permits += 1 } else { waiters.removeFirst().resume() }
    }
}

extension TimeAmount {
    init(_ d: Duration) {
        let (s, atto) = d.components
        self = .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}
