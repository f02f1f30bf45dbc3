import ArgumentParser
import Foundation

/// `berth system prune`: stopped containers, unused networks, (with `--volumes`) unused anonymous
/// volumes, dangling (with `-a`, unused) images — docker's warning, each part's list, the total.
struct SystemPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unused data", usage: "berth system prune [OPTIONS]", helpNames: [.long])

    @Flag(name: [.short, .customLong("all")], help: "Remove all unused images not just dangling ones") var all = false
    @Option(name: .customLong("filter"), help: "Provide filter values (e.g. \"label=<key>=<value>\")") var filter: [String] = []
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation") var force = false
    @Flag(name: .customLong("volumes"), help: "Prune anonymous volumes") var volumes = false

    /// docker's confirmation text for these options.
    static func warning(all: Bool, volumes: Bool, filters: [String]) -> String {
        var items = ["all stopped containers", "all networks not used by at least one container"]
        if volumes { items.append("all anonymous volumes not used by at least one container") }
        items.append(all ? "all images without at least one container associated to them" : "all dangling images")
        items.append(all ? "all build cache" : "all dangling build cache")
        var text = "WARNING! This will remove:\n" + items.map { "  - \($0)\n" }.joined()
        if !filters.isEmpty {
            text += "\n  Items to be pruned will be filtered with:\n" + filters.map { "  - \($0)\n" }.joined()
        }
        return text + "\nAre you sure you want to continue?"
    }

    func run() throws {
        if !force && !CommandSupport.confirm(Self.warning(all: all, volumes: volumes, filters: filter)) { return }
        var space: Int64 = 0
        let client = try CLI.client()
        let c = try client.json("POST", "/containers/prune", query: try CommandSupport.filterQuery(filter)) as? [String: Any] ?? [:]
        let ids = c["ContainersDeleted"] as? [String] ?? []
        space += CommandSupport.int(c["SpaceReclaimed"])
        if !ids.isEmpty { CommandSupport.out("Deleted Containers:\n" + ids.map { $0 + "\n" }.joined() + "\n") }
        let n = try NetworkPrune.prune(filter: filter)
        if !n.isEmpty { CommandSupport.out(n + "\n") }
        if volumes {
            let (v, s) = try VolumePrune.prune(all: false, filter: filter)
            space += s
            if !v.isEmpty { CommandSupport.out(v + "\n") }
        }
        let (i, s) = try ImagePrune.prune(all: all, filter: filter)
        space += s
        if !i.isEmpty { CommandSupport.out(i + "\n") }
        CommandSupport.out("Total reclaimed space: \(humanSize(space))\n")
    }
}
