import BerthImage
import BerthWire

/// Errors of berth-lifecycled's operations, each with the status the API daemon answers with and
/// Docker's wording where users know it.
public enum LifecycleError: Error, CustomStringConvertible, Sendable, WireConvertibleError {
    case noSuchImage(String)
    case invalidArgument(String)
    case conflict(String)
    case unauthorized(String)
    case notFound(String)
    /// Refused as Docker refuses it with 403 (removing a network that has active endpoints).
    case forbidden(String)
    case image(ImageError)
    case internalError(String)

    public var description: String {
        switch self {
        case .noSuchImage(let r): return "No such image: \(r)"
        case .invalidArgument(let m), .conflict(let m), .unauthorized(let m), .notFound(let m), .forbidden(let m),
             .internalError(let m): return m
        case .image(let e): return e.description
        }
    }

    public var wireError: WireError {
        switch self {
        case .noSuchImage, .notFound: return .notFound(description)
        case .invalidArgument: return .badRequest(description)
        case .conflict: return .conflict(description)
        case .unauthorized: return .unauthorized(description)
        case .forbidden: return .forbidden(description)
        case .image(let e):
            switch e {
            case .invalidReference, .invalidDigest: return .badRequest(description)
            case .noMatchingPlatform, .blobNotFound: return .notFound(description)
            default: return .internalError(description)
            }
        case .internalError: return .internalError(description)
        }
    }
}

import BerthRegistry

extension RegistryError {
    /// The status a Docker client expects for each registry failure.
    var lifecycleError: LifecycleError {
        switch self {
        case .unauthorized: return .unauthorized(description)
        case .manifestUnknown, .blobUnknown: return .notFound(description)
        case .insecureRefused, .invalidAuthFile: return .invalidArgument(description)
        default: return .internalError(description)
        }
    }
}

/// Parsing user input into image types, failing as a 400.
enum Parse {
    static func reference(_ s: String, defaultTag: Bool = true) throws -> Reference {
        do { return try Reference(parsing: s, defaultTag: defaultTag) } catch { throw LifecycleError.image(error) }
    }

    static func platform(_ s: String?) throws -> Platform? {
        guard let s else { return nil }
        do { return try Platform(parsing: s) } catch { throw LifecycleError.image(error) }
    }
}
