import Foundation

/// The Engine API as the CLI uses it: one request per connection, the API version negotiated with
/// the daemon's `/_ping` (the lower of the daemon's and 1.43, as the docker CLI does), errors as
/// `EngineClientError.daemon(status, message)`.
public final class EngineClient {
    public let host: EngineHost
    public static let maxVersion = "1.43"
    private var negotiated: String?
    /// Extra headers on every request (the docker CLI's `X-Registry-Auth` goes per call).
    public var userAgent = "berth-cli"

    public init(host: EngineHost, version: String? = nil) {
        self.host = host
        negotiated = version
    }

    /// The API version the paths carry, negotiated on first use.
    public func apiVersion() throws(EngineClientError) -> String {
        if let v = negotiated { return v }
        let conn = try HTTPConnection(host: host)
        try conn.sendRequest(method: "GET", target: "/_ping", headers: [], body: nil)
        let head = try conn.readHead()
        _ = try BodyReader(conn: conn, head: head, method: "GET").readAll()
        var v = Self.maxVersion
        if let server = head.header("api-version"), Self.compare(server, v) < 0 { v = server }
        negotiated = v
        return v
    }

    /// Compares `1.41` with `1.43` numerically.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }, y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0, r = i < y.count ? y[i] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }

    /// `/v1.43/containers/json?all=1`, with query values percent-encoded.
    public func target(_ path: String, _ query: [(String, String)]) throws(EngineClientError) -> String {
        var t = "/v\(try apiVersion())" + path
        if !query.isEmpty {
            t += "?" + query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        return t
    }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// Sends a request and returns its response head and a reader for the body; a status of 400
    /// or more is thrown as `.daemon` with the body's `message`.
    /// `bodyFile`: a file sent as the body without reading it all into memory.
    public func open(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil, bodyFile: String? = nil,
                     headers: [(String, String)] = []) throws(EngineClientError) -> BodyReader {
        // The target first: negotiating the version is a request of its own.
        let target = try target(path, query)
        let conn = try HTTPConnection(host: host)
        try conn.sendRequest(method: method, target: target, headers: headers, body: body, bodyFile: bodyFile)
        let head = try conn.readHead()
        let reader = BodyReader(conn: conn, head: head, method: method)
        if head.status >= 400 { throw Self.daemonError(head.status, try reader.readAll()) }
        return reader
    }

    static func daemonError(_ status: Int, _ body: Data) -> EngineClientError {
        if let obj = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let m = obj["message"] as? String {
            return .daemon(status: status, message: m)
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .daemon(status: status, message: text.isEmpty ? "status \(status)" : text)
    }

    /// A whole response body.
    @discardableResult
    public func call(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
                     headers: [(String, String)] = []) throws(EngineClientError) -> (head: ResponseHead, body: Data) {
        let r = try open(method, path, query: query, body: body, headers: headers)
        return (r.head, try r.readAll())
    }

    /// A JSON response, as Foundation objects (commands format them dynamically).
    public func json(_ method: String, _ path: String, query: [(String, String)] = [], body: Any? = nil) throws(EngineClientError) -> Any {
        var data: Data?
        if let body {
            do { data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) }
            catch { throw .protocolError("cannot encode request: \(error)") }
        }
        let r = try call(method, path, query: query, body: data)
        if r.body.isEmpty { return [String: Any]() }
        do { return try JSONSerialization.jsonObject(with: r.body, options: [.fragmentsAllowed]) }
        catch { throw .protocolError("the daemon sent malformed JSON for \(method) \(path)") }
    }

    /// Upgrades the connection (attach, exec start): after the 101 (or 200) the socket carries the
    /// raw stream both ways.
    public func hijack(_ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil) throws(EngineClientError) -> (ResponseHead, HTTPConnection) {
        let target = try target(path, query)
        let conn = try HTTPConnection(host: host)
        try conn.sendRequest(method: method, target: target, headers: [("Connection", "Upgrade"), ("Upgrade", "tcp")], body: body)
        let head = try conn.readHead()
        if head.status >= 400 {
            throw Self.daemonError(head.status, try BodyReader(conn: conn, head: head, method: method).readAll())
        }
        return (head, conn)
    }
}
