import Foundation
import BerthImage

/// Everything that can go wrong talking to a registry. Each case names the registry host and the
/// reference, repository or digest it was about, so the message is actionable on its own.
public enum RegistryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The registry (or its token service) refused the credentials, or there were none.
    /// `message` is the registry's own explanation (its `errors[].message`, or the token service's text).
    case unauthorized(host: String, resource: String, message: String)
    /// `GET /v2/<name>/manifests/<ref>` answered 404.
    case manifestUnknown(reference: String, message: String)
    /// A blob the registry does not have.
    case blobUnknown(repository: String, digest: String)
    /// 429 after every retry was spent.
    case tooManyRequests(host: String, resource: String)
    /// Any other unexpected status, with an excerpt of the body.
    case httpStatus(host: String, method: String, resource: String, status: Int, body: String)
    /// The connection failed (refused, reset, timed out, TLS).
    case transport(host: String, resource: String, reason: String)
    /// The client would have had to use plain HTTP with a registry that is neither loopback nor listed
    /// as insecure.
    case insecureRefused(host: String)
    /// The registry's answer was malformed (a missing header, bad JSON, a wrong Content-Range).
    case invalidResponse(host: String, resource: String, reason: String)
    /// The content fetched does not hash to the digest it was fetched by.
    case digestMismatch(resource: String, expected: String, actual: String)
    /// A blob longer or shorter than its descriptor says.
    case sizeMismatch(resource: String, expected: Int64, actual: Int64)
    /// A manifest bigger than the configured limit (4 MiB by default).
    case manifestTooLarge(reference: String, limit: Int)
    /// A local file needed for a push could not be read.
    case localFile(path: String, reason: String)
    /// The configuration file with credentials could not be parsed.
    case invalidAuthFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .unauthorized(let host, let resource, let message):
            return "unauthorized: access to \(resource) on registry \(host) denied: \(message)"
        case .manifestUnknown(let reference, let message):
            let extra = message.isEmpty || message == "manifest unknown" ? "" : " (\(message))"
            return "manifest for \(reference) not found: manifest unknown\(extra)"
        case .blobUnknown(let repository, let digest):
            return "blob \(digest) not found in \(repository): blob unknown"
        case .tooManyRequests(let host, let resource):
            return "toomanyrequests: registry \(host) rate-limited the request for \(resource)"
        case .httpStatus(let host, let method, let resource, let status, let body):
            return "\(method) \(resource) on registry \(host): unexpected HTTP status \(status)\(body.isEmpty ? "" : ": \(body)")"
        case .transport(let host, let resource, let reason):
            return "registry \(host): \(resource): \(reason)"
        case .insecureRefused(let host):
            return "registry \(host) is not loopback and not configured as insecure: refusing plain HTTP"
        case .invalidResponse(let host, let resource, let reason):
            return "registry \(host): invalid response for \(resource): \(reason)"
        case .digestMismatch(let resource, let expected, let actual):
            return "digest mismatch for \(resource): expected \(expected), got \(actual)"
        case .sizeMismatch(let resource, let expected, let actual):
            return "size mismatch for \(resource): expected \(expected) bytes, got \(actual)"
        case .manifestTooLarge(let reference, let limit):
            return "manifest for \(reference) is larger than the \(limit)-byte limit"
        case .localFile(let path, let reason):
            return "read \(path): \(reason)"
        case .invalidAuthFile(let path, let reason):
            return "invalid registry credentials file \(path): \(reason)"
        }
    }

    /// Whether retrying the same request may succeed: connection failures, 429 and 5xx.
    public var isTransient: Bool {
        switch self {
        case .transport, .tooManyRequests: return true
        case .httpStatus(_, _, _, let status, _): return status >= 500 || status == 429 || status == 408
        default: return false
        }
    }
}

/// The `{"errors":[{"code","message","detail"}]}` body of distribution-spec error responses.
struct RegistryErrorBody: Decodable {
    struct Entry: Decodable {
        var code: String?
        var message: String?
    }
    var errors: [Entry]?
    /// Token services (Docker Hub's, ours in tests) answer with `details`.
    var details: String?

    /// A one-line summary, or nil when the body is not a registry error document.
    static func summary(_ bytes: [UInt8]) -> String? {
        guard let body = try? JSONDecoder().decode(RegistryErrorBody.self, from: Data(bytes)) else { return nil }
        if let errors = body.errors, !errors.isEmpty {
            return errors.map { e in
                [e.code?.lowercased().replacingOccurrences(of: "_", with: " "), e.message]
                    .compactMap { $0 }.uniqued().joined(separator: ": ")
            }.joined(separator: "; ")
        }
        return body.details
    }

    static func codes(_ bytes: [UInt8]) -> [String] {
        guard let body = try? JSONDecoder().decode(RegistryErrorBody.self, from: Data(bytes)) else { return [] }
        return body.errors?.compactMap(\.code) ?? []
    }
}

/// The first few hundred bytes of a body, for error messages.
func excerpt(_ bytes: [UInt8], limit: Int = 300) -> String {
    if let s = RegistryErrorBody.summary(bytes) { return s }
    var text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
        .replacingOccurrences(of: "\n", with: " ")
    if bytes.count > limit { text += "…" }
    return text
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
