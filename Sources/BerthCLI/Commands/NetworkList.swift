import ArgumentParser
import Foundation

/// `berth network ls`: NETWORK ID, NAME, DRIVER, SCOPE, sorted by name as docker's.
struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List networks", usage: "berth network ls [OPTIONS]", helpNames: [.long], aliases: ["list"])

    @Option(name: [.short, .customLong("filter")], help: "Provide filter values (e.g. \"driver=bridge\")") var filter: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the output") var noTrunc = false
    @Flag(name: [.short, .customLong("quiet")], help: "Only display network IDs") var quiet = false

    static let headers = ["ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
                          "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"]

    func run() throws {
        let list = try CLI.client().json("GET", "/networks", query: try CommandSupport.filterQuery(filter)) as? [[String: Any]] ?? []
        let rows = list.sorted { ($0["Name"] as? String ?? "") < ($1["Name"] as? String ?? "") }.map { n -> [String: Any] in
            let id = n["Id"] as? String ?? ""
            let labels = (n["Labels"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return ["ID": noTrunc ? id : CommandSupport.shortID(id), "Name": n["Name"] as? String ?? "",
                    "Driver": n["Driver"] as? String ?? "", "Scope": n["Scope"] as? String ?? "",
                    "IPv6": String(n["EnableIPv6"] as? Bool ?? false), "Internal": String(n["Internal"] as? Bool ?? false),
                    "Labels": labels.joined(separator: ","), "CreatedAt": n["Created"] as? String ?? ""]
        }
        let fmt = ListFormat(format: format, quiet: quiet, defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                             quietTemplate: "{{.ID}}", headers: Self.headers)
        CommandSupport.out(try fmt.render(rows))
    }
}
