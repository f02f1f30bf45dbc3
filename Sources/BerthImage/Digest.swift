import Foundation
import Crypto

/// A content digest, `sha256:<64 lowercase hex>` (sha512 is accepted for reading descriptors).
public struct Digest: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let algorithm: String
    public let encoded: String

    public init(parsing s: String) throws(ImageError) {
        guard let colon = s.firstIndex(of: ":") else { throw .invalidDigest(s) }
        let algo = String(s[..<colon]), hex = String(s[s.index(after: colon)...])
        let want: Int
        switch algo {
        case "sha256": want = 64
        case "sha512": want = 128
        default: throw .invalidDigest(s)
        }
        guard hex.utf8.count == want, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw .invalidDigest(s)
        }
        algorithm = algo; encoded = hex
    }

    /// sha256 of a whole buffer.
    public static func sha256<B: DataProtocol>(of bytes: B) -> Digest {
        Digest(hex: SHA256.hash(data: bytes))
    }

    init(hex digest: SHA256.Digest) {
        algorithm = "sha256"
        encoded = digest.map { String(format2: $0) }.joined()
    }

    public var description: String { "\(algorithm):\(encoded)" }
    /// The first 12 hex digits, as `docker images` shows IDs.
    public var short: String { String(encoded.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.description < b.description }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { self = try Digest(parsing: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Incremental sha256, for hashing a stream while it is written or unpacked.
public struct DigestHasher: Sendable {
    private var hasher = SHA256()
    public private(set) var count: Int64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += Int64(bytes.count)
    }

    public mutating func update<B: DataProtocol>(_ bytes: B) {
        hasher.update(data: bytes)
        count += Int64(bytes.count)
    }

    public func finalize() -> Digest { Digest(hex: hasher.finalize()) }
}

private let hexDigits = Array("0123456789abcdef")
extension String {
    fileprivate init(format2 byte: UInt8) {
        self.init([hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xf)]])
    }
}
