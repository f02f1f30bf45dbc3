/// docker's list formatting (`ps`, `images`, `volume ls`, …): picks the template from `--format`,
/// renders one line per row, and for table formats adds the header line and aligns the columns.
///
/// - `nil`, `""` or `"table"`: the default table (or `quietFormat`, without a header, when `quiet`);
/// - `"table <template>"`: a table of that template;
/// - `"json"`: each row as `{{json .}}` (docker 24+);
/// - anything else: a raw template, one line per row, no header, no alignment.
///
/// As in docker, the literal two-character sequences `\t` and `\n` in a format are a tab and a newline.
public struct ListFormat: Sendable {
    public var format: String?
    public var defaultTable: String
    public var quiet: Bool
    public var quietFormat: String
    /// Field name → column header (`"ID": "CONTAINER ID"`); other fields get ``ListFormat/defaultHeader(_:)``.
    public var headers: [String: String]

    public init(
        format: String?, defaultTable: String, quiet: Bool = false, quietFormat: String = "{{.ID}}",
        headers: [String: String] = [:]
    ) {
        self.format = format
        self.defaultTable = defaultTable
        self.quiet = quiet
        self.quietFormat = quietFormat
        self.headers = headers
    }

    /// The format docker ends up with (its `Format`): `"table"` resolved to the default or quiet one.
    public var resolvedFormat: String {
        let source = (format ?? "").isEmpty ? "table" : format ?? "table"
        if source == "table" { return quiet ? quietFormat : defaultTable }
        return source
    }

    /// Whether the output is a table with a header line.
    public var isTable: Bool { resolvedFormat.hasPrefix("table") }

    /// The template text that is executed per row (docker's `finalFormat`).
    public var template: String {
        var t = resolvedFormat
        if t.hasPrefix("table") { t = String(t.dropFirst(5)) } else if t == "json" { t = "{{json .}}" }
        while t.hasPrefix(" ") { t.removeFirst() }
        while t.hasSuffix(" ") { t.removeLast() }
        return t.replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
    }

    /// Renders `rows` to the text docker prints (each line ends with a newline). Errors read like
    /// docker's: `template parsing error: template: :1: function "foo" not defined`.
    public func render(_ rows: [[String: Any]]) throws(TemplateError) -> String {
        let tmpl: GoTemplate
        do throws(TemplateError) { tmpl = try GoTemplate(template) } catch {
            throw TemplateError("template parsing error: \(error.message)")
        }
        var body = ""
        for row in rows {
            do throws(TemplateError) { body += try tmpl.render(row) } catch {
                throw TemplateError("template parsing error: \(error.message)")
            }
            body += "\n"
        }
        guard isTable else { return body }
        var context: [String: Any] = [:]
        for field in tmpl.referencedFields { context[field] = headers[field] ?? Self.defaultHeader(field) }
        // docker ignores a header that fails to render.
        let header = (try? tmpl.renderHeader(context)) ?? ""
        return TableWriter().format(header + "\n" + body)
    }

    /// A header for a field docker has no name for: its words upper-cased (`RunningFor` → `RUNNING FOR`,
    /// `IPAddress` → `IP ADDRESS`).
    public static func defaultHeader(_ field: String) -> String {
        let chars = Array(field)
        var out = ""
        for (i, c) in chars.enumerated() {
            if i > 0 && c.isUppercase {
                let prev = chars[i - 1]
                let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
                if prev.isLowercase || prev.isNumber || (prev.isUppercase && nextIsLower) { out += " " }
            }
            out.append(c)
        }
        return out.uppercased()
    }
}

/// `docker inspect` output: without a format (or with `""`), the values as a JSON array indented by four
/// spaces (`json.Indent`, keys sorted, `<>&` escaped as the daemon sends them); with `json`, the compact
/// array; otherwise the template rendered once per value, each on its own line.
public func inspectFormat(_ format: String?, values: [Any]) throws(TemplateError) -> String {
    let format = format ?? ""
    if format.isEmpty || format == "json" {
        if values.isEmpty { return "[]\n" }
        return goJSON(.list(values), escapeHTML: true, indent: format.isEmpty ? "    " : nil) + "\n"
    }
    let tmpl: GoTemplate
    do throws(TemplateError) { tmpl = try GoTemplate(format) } catch {
        throw TemplateError("template parsing error: \(error.message)")
    }
    var out = ""
    for value in values {
        do throws(TemplateError) { out += try tmpl.render(value) } catch {
            throw TemplateError("template parsing error: \(error.message)")
        }
        out += "\n"
    }
    return out.isEmpty ? "\n" : out
}
