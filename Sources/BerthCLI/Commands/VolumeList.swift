import ArgumentParser
import Foundation

/// `berth volume ls`: DRIVER, VOLUME NAME, sorted by name as docker's.
struct VolumeList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List volumes", usage: "berth volume ls [OPTIONS]", helpNames: [.long], aliases: ["list"])

    @Option(name: [.short, .customLong("filter")], help: "Provide filter values (e.g. \"dangling=true\")") var filter: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .customLong("quiet")], help: "Only display volume names") var quiet = false
    @Flag(name: .customLong("cluster"), help: "Display only cluster volumes, and use cluster volume list formatting") var cluster = false

    static let headers = ["Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                          "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED AT"]

    func run() throws {
        let r = try CLI.client().json("GET", "/volumes", query: try CommandSupport.filterQuery(filter)) as? [String: Any] ?? [:]
        for w in r["Warnings"] as? [String] ?? [] { CommandSupport.err(w + "\n") }
        let list = (r["Volumes"] as? [[String: Any]] ?? []).sorted { ($0["Name"] as? String ?? "") < ($1["Name"] as? String ?? "") }
        let rows = list.map { v -> [String: Any] in
            let labels = (v["Labels"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let usage = v["UsageData"] as? [String: Any]
            return ["Name": v["Name"] as? String ?? "", "Driver": v["Driver"] as? String ?? "", "Scope": v["Scope"] as? String ?? "",
                    "Mountpoint": v["Mountpoint"] as? String ?? "", "Labels": labels.joined(separator: ","),
                    "Links": usage.map { String(CommandSupport.int($0["RefCount"])) } ?? "N/A",
                    "Size": usage.map { humanSize(CommandSupport.int($0["Size"])) } ?? "N/A",
                    "CreatedAt": v["CreatedAt"] as? String ?? ""]
        }
        let fmt = ListFormat(format: format, quiet: quiet, defaultTable: "table {{.Driver}}\t{{.Name}}",
                             quietTemplate: "{{.Name}}", headers: Self.headers)
        CommandSupport.out(try fmt.render(rows))
    }
}
