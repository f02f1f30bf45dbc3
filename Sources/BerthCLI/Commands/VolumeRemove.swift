import ArgumentParser
import Foundation

/// `berth volume rm`: each volume removed is echoed; failures go to stderr (exit 1).
struct VolumeRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove one or more volumes", usage: "berth volume rm [OPTIONS] VOLUME [VOLUME...]",
        helpNames: [.long], aliases: ["remove"])

    @Flag(name: [.short, .customLong("force")], help: "Force the removal of one or more volumes") var force = false
    @Argument(help: "The volumes") var volumes: [String]

    func run() throws {
        guard !volumes.isEmpty else { throw CLIError.usage("\"volume rm\" requires at least 1 argument.") }
        let client = try CLI.client()
        try CommandSupport.each(volumes, kind: "volume") { v in
            try client.call("DELETE", "/volumes/\(v)", query: force ? [("force", "1")] : [])
            return v
        }
    }
}
