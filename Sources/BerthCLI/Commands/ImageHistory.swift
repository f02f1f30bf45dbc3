import ArgumentParser
import Foundation

/// `berth history` / `berth image history`: IMAGE, CREATED, CREATED BY, SIZE, COMMENT.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the history of an image", usage: "berth history [OPTIONS] IMAGE", helpNames: [.long])

    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: [.customShort("H"), .customLong("human")], inversion: .prefixedNo,
          help: "Print sizes and dates in human readable format") var human = true
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Flag(name: [.short, .customLong("quiet")], help: "Only show image IDs") var quiet = false
    @Option(name: .customLong("platform"), help: "Show history for the given platform") var platform: String?
    @Argument(help: "The image") var image: String

    static let headers = ["ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
                          "Size": "SIZE", "Comment": "COMMENT"]

    func run() throws {
        let entries = try CLI.client().json("GET", "/images/\(image)/history") as? [[String: Any]] ?? []
        let rows = entries.map { Self.row($0, human: human, noTrunc: noTrunc) }
        let fmt = ListFormat(format: format, quiet: quiet,
                             defaultTable: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
                             quietTemplate: "{{.ID}}", headers: Self.headers)
        CommandSupport.out(try fmt.render(rows))
    }

    static func row(_ e: [String: Any], human: Bool, noTrunc: Bool) -> [String: Any] {
        let id = e["Id"] as? String ?? ""
        let created = CommandSupport.int(e["Created"])
        let date = Date(timeIntervalSince1970: TimeInterval(created))
        let size = CommandSupport.int(e["Size"])
        var createdBy = (e["CreatedBy"] as? String ?? "").replacingOccurrences(of: "\t", with: " ")
        if !noTrunc { createdBy = ellipsis(createdBy, 45) }
        let rfc = ISO8601DateFormatter().string(from: date)
        return [
            "ID": id.hasPrefix("sha256:") && !noTrunc ? CommandSupport.shortID(id) : id,
            "CreatedSince": human ? ago(date) : rfc, "CreatedAt": rfc, "CreatedBy": createdBy,
            "Size": human ? humanSize(size) : String(size), "Comment": e["Comment"] as? String ?? "",
        ]
    }

    /// docker's `formatter.Ellipsis`: at most `width` characters, the last one `…` when cut.
    static func ellipsis(_ s: String, _ width: Int) -> String {
        s.count <= width ? s : String(s.prefix(width - 1)) + "…"
    }
}
