import Foundation

// STUB signatures of the formatting layer (the full versions arrive from the fmt branch; callers
// use exactly these).

/// docker's list output: `--format` (nil, "table", "table TEMPLATE", "json", or TEMPLATE), `-q`.
struct ListFormat {
    var format: String?
    var quiet: Bool
    /// e.g. "table {{.ID}}\t{{.Image}}\t{{.Names}}"
    var defaultTable: String
    /// e.g. "{{.ID}}"
    var quietTemplate: String
    /// field → header, e.g. ["ID": "CONTAINER ID"]
    var headers: [String: String]

    init(format: String?, quiet: Bool, defaultTable: String, quietTemplate: String, headers: [String: String]) {
        self.format = format; self.quiet = quiet; self.defaultTable = defaultTable
        self.quietTemplate = quietTemplate; self.headers = headers
    }

    /// The whole output for these row contexts (each a `[String: Any]` of the fields the templates use).
    func render(_ rows: [[String: Any]]) throws -> String {
        var tmpl = quiet ? quietTemplate : (format ?? defaultTable)
        if tmpl == "table" { tmpl = defaultTable }
        var lines: [String] = []
        if tmpl.hasPrefix("table ") {
            tmpl = String(tmpl.dropFirst(6))
            lines.append(try GoTemplate(tmpl).render(headers))
        }
        let t = try GoTemplate(tmpl)
        for r in rows { lines.append(try t.render(r)) }
        return lines.map { $0.replacingOccurrences(of: "\t", with: "   ") + "\n" }.joined()
    }
}

/// `inspect` output: an indented JSON array without a format, else the template per value.
func inspectFormat(_ format: String?, values: [Any]) throws -> String {
    if let format {
        let t = try GoTemplate(format)
        return try values.map { try t.render($0) + "\n" }.joined()
    }
    let d = try JSONSerialization.data(withJSONObject: values, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return String(decoding: d, as: UTF8.self) + "\n"
}

/// go-units HumanSizeWithPrecision(size, 3): "4.26MB" (decimal units).
func humanSize(_ bytes: Int64) -> String { "\(bytes)B" }
/// go-units BytesSize: "1.5MiB" (binary units; `stats`).
func bytesSize(_ bytes: Int64) -> String { "\(bytes)B" }
/// go-units HumanDuration: "Less than a second", "About a minute", "3 hours".
func humanDuration(seconds: Double) -> String { "\(Int(seconds)) seconds" }
/// "5 minutes ago".
func ago(_ date: Date, now: Date = Date()) -> String { humanDuration(seconds: now.timeIntervalSince(date)) + " ago" }
/// RFC 3339 with nanoseconds; nil for Go's zero time.
func parseDockerDate(_ s: String) -> Date? { ISO8601DateFormatter().date(from: s) }
/// ps's STATUS column: "Up 5 seconds", "Exited (0) 2 minutes ago", "Created", "Up 3 seconds (Paused)".
func containerStatus(state: String, startedAt: Date?, finishedAt: Date?, exitCode: Int, health: String?, now: Date = Date()) -> String {
    state
}
