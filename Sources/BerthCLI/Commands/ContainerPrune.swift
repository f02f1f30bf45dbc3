import ArgumentParser
import Foundation

/// `berth container prune`: removes every stopped container (after a confirmation unless `-f`).
struct ContainerPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove all stopped containers", helpNames: [.long])
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation") var force = false
    @Option(name: .customLong("filter"), help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []

    func run() throws {
        let q = try FilterArgs.query(filter)
        if !force && !confirm("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ") { return }
        let r = try CLI.client().json("POST", "/containers/prune", query: q) as? [String: Any] ?? [:]
        var out = ""
        if let deleted = r["ContainersDeleted"] as? [String], !deleted.isEmpty {
            out = "Deleted Containers:\n" + deleted.map { $0 + "\n" }.joined() + "\n"
        }
        out += "Total reclaimed space: \(humanSize((r["SpaceReclaimed"] as? NSNumber)?.int64Value ?? 0))\n"
        writeAll(1, Array(out.utf8))
    }
}
