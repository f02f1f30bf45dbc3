import Foundation

/// The lifecycle wire protocol (Specs/lifecycle-protocol.md): JSON-RPC 2.0, one JSON object per
/// line, on a unix socket. A request may be answered by any number of `progress` notifications that
/// carry its id, then exactly one response.
public enum Wire {
    public static let version = "2.0"
    /// Longest line either side accepts: big enough for an image inspect, small enough to refuse abuse.
    public static let maxLineBytes = 32 << 20
    public static let progressMethod = "progress"
}

/// An error as it crosses the wire: an HTTP-like status code the API daemon maps one-to-one, and a
/// message for the user.
public struct WireError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: Int, message: String) { self.code = code; self.message = message }

    public static func badRequest(_ m: String) -> WireError { WireError(code: 400, message: m) }
    public static func unauthorized(_ m: String) -> WireError { WireError(code: 401, message: m) }
    public static func forbidden(_ m: String) -> WireError { WireError(code: 403, message: m) }
    public static func notFound(_ m: String) -> WireError { WireError(code: 404, message: m) }
    public static func conflict(_ m: String) -> WireError { WireError(code: 409, message: m) }
    public static func internalError(_ m: String) -> WireError { WireError(code: 500, message: m) }
    /// JSON-RPC's own codes for frames that are not valid requests.
    public static func parse(_ m: String) -> WireError { WireError(code: -32700, message: m) }
    public static func methodNotFound(_ m: String) -> WireError { WireError(code: -32601, message: "no such method: \(m)") }
    public static func invalidParams(_ m: String) -> WireError { WireError(code: -32602, message: m) }

    public var description: String { message }
}

/// An error type that knows its wire form.
public protocol WireConvertibleError: Error {
    var wireError: WireError { get }
}

struct RequestHead: Decodable {
    var jsonrpc: String?
    var id: Int64?
    var method: String
}

struct RequestParams<P: Decodable>: Decodable {
    var params: P
}

struct Request<P: Encodable>: Encodable {
    var jsonrpc = Wire.version
    var id: Int64
    var method: String
    var params: P
}

struct ResultEnvelope<R: Encodable>: Encodable {
    var jsonrpc = Wire.version
    var id: Int64
    var result: R
}

struct ErrorEnvelope: Codable {
    var jsonrpc = Wire.version
    var id: Int64?
    var error: WireError

    enum CodingKeys: String, CodingKey { case jsonrpc, id, error }

    init(id: Int64?, error: WireError) { self.id = id; self.error = error }

    /// JSON-RPC 2.0 wants `"id": null` when the request's id is unknown, not a missing key.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jsonrpc, forKey: .jsonrpc)
        if let id { try c.encode(id, forKey: .id) } else { try c.encodeNil(forKey: .id) }
        try c.encode(error, forKey: .error)
    }
}

struct NotificationEnvelope<P: Encodable>: Encodable {
    var jsonrpc = Wire.version
    var method: String
    var params: ProgressParams<P>
}

struct ProgressParams<P: Encodable>: Encodable {
    var id: Int64
    var event: P
}

/// What a client reads: a response or a notification, told apart by `method`.
struct IncomingHead: Decodable {
    var id: Int64?
    var method: String?
    var error: WireError?
    var params: ProgressHead?
}

struct ProgressHead: Decodable {
    var id: Int64
}

struct ResultBody<R: Decodable>: Decodable {
    var result: R
}

struct EventBody<E: Decodable>: Decodable {
    var params: EventParams<E>
}

struct EventParams<E: Decodable>: Decodable {
    var event: E
}

/// `{}` for requests without parameters and responses without a result.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

enum WireCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
