import Foundation

/// Malformed detach keys, in Docker's words.
public struct DetachKeysError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Docker's detach keys (`ctrl-p,ctrl-q`), shared by berthd, which watches a hijacked client's input
/// for them, and the berth CLI, which watches what the user types, as the docker CLI does; input
/// arrives in chunks, and a sequence may span them.
public struct DetachScanner: Sendable {
    public let keys: [UInt8]
    /// The prefix of `keys` seen at the end of the input so far, not yet forwarded.
    public private(set) var held: [UInt8] = []

    public init(keys: [UInt8]) { self.keys = keys }

    /// What of `chunk` to forward, and whether the sequence is complete (the rest is dropped).
    public mutating func feed<C: Collection>(_ chunk: C) -> (forward: [UInt8], detached: Bool) where C.Element == UInt8 {
        guard !keys.isEmpty else { return (Array(chunk), false) }
        var out: [UInt8] = []
        for b in chunk {
            if b == keys[held.count] {
                held.append(b)
                if held.count == keys.count { held = []; return (out, true) }
            } else {
                // The match broke: what was held is ordinary input; this byte may start a new one.
                out += held
                held = []
                if b == keys[0] {
                    held = [b]
                    if keys.count == 1 { held = []; return (out, true) }
                } else {
                    out.append(b)
                }
            }
        }
        return (out, false)
    }

    public static let defaultKeys: [UInt8] = [16, 17]

    /// Docker's `ctrl-p,ctrl-q` syntax (term.ToBytes): single characters or ctrl-<a-z @ [ \\ ] ^ _>;
    /// an empty string is the default.
    public static func keys(_ s: String?) throws(DetachKeysError) -> [UInt8] {
        guard let s, !s.isEmpty else { return defaultKeys }
        var out: [UInt8] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let k = part.lowercased().trimmingCharacters(in: .whitespaces)
            if k.count == 1, let a = k.unicodeScalars.first, a.isASCII {
                out.append(UInt8(a.value))
            } else if k.hasPrefix("ctrl-"), k.count == 6, let c = k.unicodeScalars.last {
                switch c {
                case "a"..."z": out.append(UInt8(c.value) - 96)
                case "@", "[", "\\", "]", "^", "_": out.append(UInt8(c.value) - 64)
                default: throw DetachKeysError(message: "Invalid detach keys (\(s)) provided")
                }
            } else {
                throw DetachKeysError(message: "Invalid detach keys (\(s)) provided")
            }
        }
        return out
    }
}

