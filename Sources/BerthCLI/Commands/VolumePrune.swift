import ArgumentParser
import Foundation

/// `berth volume prune`: anonymous volumes (all with `-a`) no container uses.
struct VolumePrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unused local volumes", usage: "berth volume prune [OPTIONS]", helpNames: [.long])

    @Flag(name: [.short, .customLong("all")], help: "Remove all unused volumes, not just anonymous ones") var all = false
    @Option(name: .customLong("filter"), help: "Provide filter values (e.g. \"label=<label>\")") var filter: [String] = []
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation") var force = false

    static let warning = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
    static let allWarning = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"

    func run() throws {
        if !force && !CommandSupport.confirm(all ? Self.allWarning : Self.warning) {
            CommandSupport.out("Total reclaimed space: \(humanSize(0))\n")
            return
        }
        let (text, space) = try Self.prune(all: all, filter: filter)
        if !text.isEmpty { CommandSupport.out(text + "\n") }
        CommandSupport.out("Total reclaimed space: \(humanSize(space))\n")
    }

    static func prune(all: Bool, filter: [String]) throws -> (String, Int64) {
        // API 1.42+: only anonymous volumes go unless `all=true`.
        let q = try CommandSupport.filterQuery(filter + (all ? ["all=true"] : []))
        let r = try CLI.client().json("POST", "/volumes/prune", query: q) as? [String: Any] ?? [:]
        let names = r["VolumesDeleted"] as? [String] ?? []
        let text = names.isEmpty ? "" : "Deleted Volumes:\n" + names.map { $0 + "\n" }.joined()
        return (text, CommandSupport.int(r["SpaceReclaimed"]))
    }
}
