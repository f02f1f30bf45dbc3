/// JSON with keys in a fixed order, as runc (Go's encoding/json) prints them: tools and
/// tests read `list --format json` and `events` by position, and JSONEncoder's order is a hash's.
indirect enum OrderedJSON {
    case object([(String, OrderedJSON)])
    case array([OrderedJSON])
    case string(String)
    case int(Int64)
    case raw(String)      // already-encoded JSON
    case null

    func render(pretty: Bool = false, indent: String = "") -> String {
        switch self {
        case .string(let s): return OrderedJSON.quote(s)
        case .int(let i): return String(i)
        case .raw(let r): return r
        case .null: return "null"
        case .array(let items):
            if items.isEmpty { return "[]" }
            if !pretty { return "[" + items.map { $0.render() }.joined(separator: ",") + "]" }
            let inner = indent + "  "
            return "[\n" + items.map { inner + $0.render(pretty: true, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            if !pretty { return "{" + fields.map { OrderedJSON.quote($0.0) + ":" + $0.1.render() }.joined(separator: ",") + "}" }
            let inner = indent + "  "
            return "{\n" + fields.map { inner + OrderedJSON.quote($0.0) + ": " + $0.1.render(pretty: true, indent: inner) }
                .joined(separator: ",\n") + "\n\(indent)}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
