import Foundation

/// Docker's `filters` query parameter: `{"status":["running"]}`, or the form the docker CLI up to
/// 20.10 still sends, `{"status":{"running":true}}`.
public enum FilterArgs {
    public struct Malformed: Error, Sendable { public var message: String }

    /// The filters as `key → values`; nil for an absent or empty parameter.
    public static func parse(_ text: String?) throws(Malformed) -> [String: [String]]? {
        guard let text, !text.isEmpty else { return nil }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw Malformed(message: "invalid filter '\(text)'")
        }
        var out: [String: [String]] = [:]
        for (k, v) in obj {
            if let list = v as? [String] { out[k] = list }
            else if let map = v as? [String: Bool] { out[k] = map.filter(\.value).keys.sorted() }
            else { throw Malformed(message: "invalid filter '\(k)'") }
        }
        return out.isEmpty ? nil : out
    }
}
