import ArgumentParser
import Foundation

/// `berth image prune`: docker's warning and prompt, the deleted list and the reclaimed space.
struct ImagePrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unused images", usage: "berth image prune [OPTIONS]", helpNames: [.long])

    @Flag(name: [.short, .customLong("all")], help: "Remove all unused images, not just dangling ones") var all = false
    @Option(name: .customLong("filter"), help: "Provide filter values (e.g. \"until=<timestamp>\")") var filter: [String] = []
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation") var force = false

    static let danglingWarning = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
    static let allWarning = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"

    func run() throws {
        // Declining is no error for docker: nothing was reclaimed.
        if !force && !CommandSupport.confirm(all ? Self.allWarning : Self.danglingWarning) {
            CommandSupport.out("Total reclaimed space: \(humanSize(0))\n")
            return
        }
        let (output, space) = try Self.prune(all: all, filter: filter)
        if !output.isEmpty { CommandSupport.out(output + "\n") }
        CommandSupport.out("Total reclaimed space: \(humanSize(space))\n")
    }

    /// The `Deleted Images:` text (empty when nothing went) and the bytes reclaimed.
    static func prune(all: Bool, filter: [String]) throws -> (String, Int64) {
        let q = try CommandSupport.filterQuery(filter + ["dangling=\(all ? "false" : "true")"])
        let r = try CLI.client().json("POST", "/images/prune", query: q) as? [String: Any] ?? [:]
        let items = r["ImagesDeleted"] as? [[String: Any]] ?? []
        var text = ""
        if !items.isEmpty {
            text = "Deleted Images:\n"
            for i in items {
                if let u = i["Untagged"] as? String, !u.isEmpty { text += "untagged: \(u)\n" } else { text += "deleted: \(i["Deleted"] as? String ?? "")\n" }
            }
        }
        return (text, CommandSupport.int(r["SpaceReclaimed"]))
    }
}
