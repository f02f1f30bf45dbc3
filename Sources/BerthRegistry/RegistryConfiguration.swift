import BerthImage

/// How a `RegistryClient` reaches registries: which may be spoken to over plain HTTP, which platform
/// to pull, how hard to retry. A value type, so a daemon can hold one per configuration reload.
public struct RegistryConfiguration: Sendable {
    /// Registries (`host` or `host:port`) that may be reached over plain HTTP, like dockerd's
    /// `--insecure-registry`. Loopback registries (127.0.0.0/8, ::1, localhost) always may.
    public var insecureRegistries: [String]
    /// Mirrors (`host[:port]`) to try before a registry, keyed by registry host (`docker.io`):
    /// berth-lifecycled's pull resolves at them first (`--registry-mirror`).
    public var mirrors: [String: [String]]
    /// The platform `resolve` picks out of an index when the caller does not name one.
    public var platform: Platform
    /// How many times a request is retried after a transient failure (connection error, 429, 5xx).
    public var retries: Int
    /// The first back-off delay; it doubles on each retry.
    public var retryDelay: Duration
    /// How many blob downloads one client runs at once; further `fetchBlob` calls wait.
    public var maxConcurrentDownloads: Int
    /// The `User-Agent` header sent with every request.
    public var userAgent: String
    /// Blobs larger than this are pushed with chunked `PATCH` uploads; smaller ones with one `PUT`.
    public var chunkSize: Int
    /// Manifests larger than this are refused (distribution's own limit is 4 MiB).
    public var maxManifestSize: Int
    /// Time allowed to open a connection.
    public var connectTimeout: Duration
    /// Time allowed between two reads of a response (a stalled blob download fails after this).
    public var readTimeout: Duration
    /// For loopback and insecure registries, find out once per host whether it speaks TLS (a plain
    /// `GET /v2/` that a TLS server rejects with 400) and use HTTPS if so. Off, they are spoken to
    /// over plain HTTP directly. Certificates are always verified.
    public var probeHTTPS: Bool

    public init(
        insecureRegistries: [String] = [],
        mirrors: [String: [String]] = [:],
        platform: Platform = .host,
        retries: Int = 3,
        retryDelay: Duration = .milliseconds(250),
        maxConcurrentDownloads: Int = 3,
        userAgent: String = "berth/0.1",
        chunkSize: Int = 16 << 20,
        maxManifestSize: Int = 4 << 20,
        connectTimeout: Duration = .seconds(15),
        readTimeout: Duration = .seconds(60),
        probeHTTPS: Bool = true
    ) {
        self.insecureRegistries = insecureRegistries
        self.mirrors = mirrors
        self.platform = platform
        self.retries = max(0, retries)
        self.retryDelay = retryDelay
        self.maxConcurrentDownloads = max(1, maxConcurrentDownloads)
        self.userAgent = userAgent
        self.chunkSize = max(1, chunkSize)
        self.maxManifestSize = maxManifestSize
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.probeHTTPS = probeHTTPS
    }

    /// Whether `host` (`host`, `host:port`, `[v6]:port`) may be spoken to over plain HTTP.
    public func allowsPlainHTTP(host: String) -> Bool {
        let name = RegistryConfiguration.hostName(of: host)
        if RegistryConfiguration.isLoopback(name) { return true }
        return insecureRegistries.contains { entry in
            var e = entry
            for scheme in ["http://", "https://"] where e.hasPrefix(scheme) { e.removeFirst(scheme.count) }
            while e.hasSuffix("/") { e.removeLast() }
            return e == host || e == name
        }
    }

    /// Throws `RegistryError.insecureRefused` unless plain HTTP to `host` is allowed.
    public func checkPlainHTTP(host: String) throws(RegistryError) {
        guard allowsPlainHTTP(host: host) else { throw .insecureRefused(host: host) }
    }

    /// The host part of `host[:port]`, without IPv6 brackets.
    public static func hostName(of host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        // A bare IPv6 address has several colons and no port.
        if host.filter({ $0 == ":" }).count > 1 { return host }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// 127.0.0.0/8, ::1 and localhost.
    public static func isLoopback(_ name: String) -> Bool {
        let n = name.lowercased()
        if n == "localhost" || n.hasSuffix(".localhost") || n == "::1" || n == "0:0:0:0:0:0:0:1" { return true }
        let octets = n.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
