import ArgumentParser
import Foundation

/// `berth top CONTAINER [ps OPTIONS]`: the container's processes as the daemon's `ps` lists them.
struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Display the running processes of a container", helpNames: [.long])
    @Argument(help: "The container") var container: String
    @Argument(parsing: .captureForPassthrough, help: "ps options") var psArgs: [String] = []

    func run() throws {
        var q: [(String, String)] = []
        if !psArgs.isEmpty { q.append(("ps_args", psArgs.joined(separator: " "))) }
        let r = try CLI.client().json("GET", "/containers/\(container)/top", query: q) as? [String: Any] ?? [:]
        let titles = r["Titles"] as? [String] ?? []
        let procs = (r["Processes"] as? [[Any]] ?? []).map { $0.map { "\($0)" } }
        writeAll(1, Array(Self.table([titles] + procs).utf8))
    }

    /// Go's tabwriter as `docker top` sets it up (min width 20, padding 3): every column but the
    /// last padded to its widest cell plus 3, and at least 20.
    static func table(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 20, count: columns)
        for r in rows { for (i, c) in r.enumerated() where i < r.count - 1 { widths[i] = max(widths[i], c.count + 3) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined() + "\n"
        }.joined()
    }
}
