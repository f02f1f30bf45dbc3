import Foundation

/// A failed template: its text and what is wrong, as docker prints it ("template parsing error: …").
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The subset of Go's text/template that `docker … --format` users write. Values are Foundation
/// JSON objects: `[String: Any]`, `[Any]`, `String`, `NSNumber`/`Int`/`Double`/`Bool`, `NSNull`.
/// STUB: fields and `json` only, replaced by the full engine.
public struct GoTemplate {
    let text: String
    public init(_ text: String) throws(TemplateError) { self.text = text }

    public func render(_ value: Any) throws(TemplateError) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { throw TemplateError("template: unclosed action") }
            var action = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            var asJSON = false
            if action.hasPrefix("json ") { asJSON = true; action = String(action.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
            var v: Any? = value
            for key in action.split(separator: ".") { v = (v as? [String: Any])?[String(key)] }
            if asJSON, let v, let d = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) {
                out += String(decoding: d, as: UTF8.self)
            } else if let v { out += "\(v)" } else { out += "<no value>" }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
