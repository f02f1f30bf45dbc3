import ArgumentParser
import Foundation

/// `berth network prune`: docker's warning and prompt, then the deleted networks.
struct NetworkPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove all unused networks", usage: "berth network prune [OPTIONS]", helpNames: [.long])

    @Option(name: .customLong("filter"), help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation") var force = false

    static let warning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?"

    func run() throws {
        if !force && !CommandSupport.confirm(Self.warning) { return }
        let text = try Self.prune(filter: filter)
        if !text.isEmpty { CommandSupport.out(text + "\n") }
    }

    /// `Deleted Networks:` and their names, or nothing.
    static func prune(filter: [String]) throws -> String {
        let r = try CLI.client().json("POST", "/networks/prune", query: try CommandSupport.filterQuery(filter)) as? [String: Any] ?? [:]
        let names = r["NetworksDeleted"] as? [String] ?? []
        return names.isEmpty ? "" : "Deleted Networks:\n" + names.map { $0 + "\n" }.joined()
    }
}
