import ArgumentParser
import Foundation

/// `berth volume inspect`: `GET /volumes/{name}` for each.
struct VolumeInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Display detailed information on one or more volumes",
        usage: "berth volume inspect [OPTIONS] VOLUME [VOLUME...]", helpNames: [.long])

    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Argument(help: "The volumes") var volumes: [String]

    func run() throws {
        guard !volumes.isEmpty else { throw CLIError.usage("\"volume inspect\" requires at least 1 argument.") }
        try CommandSupport.inspect(volumes, kind: "volume", format: format) { "/volumes/\($0)" }
    }
}
