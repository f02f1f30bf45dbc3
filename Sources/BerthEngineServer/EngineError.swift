import BerthWire
import NIOHTTP1

/// A failure of one API request: Docker's status code and the message the docker CLI prints after
/// "Error response from daemon: ".
public struct EngineError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponseStatus
    public var message: String

    public init(_ status: HTTPResponseStatus, _ message: String) { self.status = status; self.message = message }

    public static func badRequest(_ m: String) -> EngineError { EngineError(.badRequest, m) }
    public static func notFound(_ m: String) -> EngineError { EngineError(.notFound, m) }
    public static func conflict(_ m: String) -> EngineError { EngineError(.conflict, m) }
    public static func internalError(_ m: String) -> EngineError { EngineError(.internalServerError, m) }

    public var description: String { "\(status.code) \(message)" }

    /// The one place any error becomes a status: wire codes are HTTP-like already (the lifecycle
    /// protocol was designed for this), JSON-RPC's own codes mean a bad request or a berthd bug.
    public static func from(_ error: any Error) -> EngineError {
        switch error {
        case let e as EngineError: return e
        case let e as WireError:
            switch e.code {
            case 400, 401, 403, 404, 409, 500, 501, 503: return EngineError(HTTPResponseStatus(statusCode: e.code), e.message)
            case -32602: return .badRequest(e.message)
            default: return .internalError(e.message)
            }
        case is CancellationError: return .internalError("request cancelled")
        default: return .internalError(String(describing: error))
        }
    }
}
