import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth inspect`: any object by name or ID — a container, else an image, a network, a volume —
/// or only the kind `--type` names.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Return low-level information on Docker objects", helpNames: [.long])
    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .customLong("size")], help: "Display total file sizes if the type is container") var size = false
    @Option(name: .customLong("type"), help: "Only inspect objects of the given type") var type: String?
    @Argument(help: "Names or IDs") var names: [String]

    static let kinds = ["container", "image", "network", "volume"]

    func run() throws {
        if let type, !Self.kinds.contains(type) {
            throw CLIError("\"\(type)\" is not a valid value for --type")
        }
        let client = try CLI.client()
        func get(_ kind: String, _ name: String) throws -> Any {
            switch kind {
            case "container": return try client.json("GET", "/containers/\(name)/json", query: size ? [("size", "1")] : [])
            case "image": return try client.json("GET", "/images/\(name)/json")
            case "network": return try client.json("GET", "/networks/\(name)")
            default: return try client.json("GET", "/volumes/\(name)")
            }
        }
        try InspectOutput.run(names, format: format) { name in
            if let type { return try get(type, name) }
            for kind in Self.kinds {
                do { return try get(kind, name) } catch let e as EngineClientError where e.status == 404 { continue }
            }
            throw CLIError("Error: No such object: \(name)")
        }
    }
}
