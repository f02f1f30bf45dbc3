/// Everything that can go wrong with an image, its references, its blobs and its layers. Each case
/// names what it was about (the reference, the digest, the layer entry) so the message is actionable.
public enum ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidReference(String, reason: String)
    case invalidDigest(String)
    case digestMismatch(expected: String, actual: String, size: Int64)
    case sizeMismatch(digest: String, expected: Int64, actual: Int64)
    case blobNotFound(String)
    case invalidJSON(what: String, digest: String?, reason: String)
    case unsupportedMediaType(String)
    case noMatchingPlatform(reference: String, platform: String, available: [String])
    /// A layer entry that would escape its snapshot or is otherwise unacceptable.
    case unsafeLayerEntry(layer: String, entry: String, reason: String)
    case layerUnpack(layer: String, entry: String?, reason: String)
    case io(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let r, let reason): return "invalid reference format \"\(r)\": \(reason)"
        case .invalidDigest(let d): return "invalid digest \"\(d)\": expected sha256:<64 hex digits>"
        case .digestMismatch(let e, let a, let size): return "digest mismatch: expected \(e), got \(a) (\(size) bytes)"
        case .sizeMismatch(let d, let e, let a): return "size mismatch for \(d): expected \(e) bytes, got \(a)"
        case .blobNotFound(let d): return "blob \(d) not found in the content store"
        case .invalidJSON(let what, let digest, let reason):
            return "invalid \(what)\(digest.map { " \($0)" } ?? ""): \(reason)"
        case .unsupportedMediaType(let m): return "unsupported media type \(m)"
        case .noMatchingPlatform(let r, let p, let avail):
            return "no matching manifest for \(p) in the manifest list entries of \(r) (available: \(avail.joined(separator: ", ")))"
        case .unsafeLayerEntry(let layer, let entry, let reason):
            return "layer \(layer): refusing entry \"\(entry)\": \(reason)"
        case .layerUnpack(let layer, let entry, let reason):
            return "layer \(layer)\(entry.map { ": entry \"\($0)\"" } ?? ""): \(reason)"
        case .io(let op, let path, let reason): return "\(op) \(path): \(reason)"
        }
    }
}
