import Foundation
import NIOHTTP1
import BerthEngineAPI

/// One Engine API request as the router sees it: method, path without the version prefix, query,
/// headers and the (bounded) body.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path after `/v1.NN`, e.g. `/containers/json`.
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: Data
    /// The version the client asked for (the prefix), else the newest.
    public var version: APIVersion
    /// Where an upload's body was stored (docker load, docker cp into a container).
    public var bodyFile: String?
    /// The query as sent, for keys that repeat (`names=a&names=b`).
    public var rawQuery: String

    /// Every value of a repeated key.
    public func all(_ key: String) -> [String] {
        rawQuery.split(separator: "&").compactMap { parseQuery($0)[key] }
    }

    /// `1`, `true`, `True`… are true, as Go's strconv.ParseBool.
    public func bool(_ key: String) -> Bool? {
        guard let v = query[key] else { return nil }
        switch v.lowercased() {
        case "1", "t", "true": return true
        case "", "0", "f", "false": return false
        default: return nil
        }
    }

    public func int(_ key: String) -> Int? { query[key].flatMap { Int($0) } }

    /// A query value, with "" counted as absent.
    public func string(_ key: String) -> String? { query[key].flatMap { $0.isEmpty ? nil : $0 } }

    /// Whether the client asked for the connection to be hijacked (`Upgrade: tcp`).
    public var wantsUpgrade: Bool { headers.first(name: "Upgrade") != nil }
}

/// Splits `a=1&b=x%20y` the way Go's url.ParseQuery does (first value wins here).
func parseQuery(_ q: Substring?) -> [String: String] {
    guard let q, !q.isEmpty else { return [:] }
    var out: [String: String] = [:]
    for pair in q.split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let key = decodeComponent(kv[0])
        let value = kv.count > 1 ? decodeComponent(kv[1]) : ""
        if out[key] == nil { out[key] = value }
    }
    return out
}

private func decodeComponent(_ s: Substring) -> String {
    let plus = s.replacingOccurrences(of: "+", with: " ")
    return plus.removingPercentEncoding ?? plus
}
