import ArgumentParser
import Foundation

/// `berth network inspect`: `GET /networks/{id}` for each, as JSON or through `--format`.
struct NetworkInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Display detailed information on one or more networks",
        usage: "berth network inspect [OPTIONS] NETWORK [NETWORK...]", helpNames: [.long])

    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .customLong("verbose")], help: "Verbose output for diagnostics") var verbose = false
    @Argument(help: "The networks") var networks: [String]

    func run() throws {
        guard !networks.isEmpty else { throw CLIError.usage("\"network inspect\" requires at least 1 argument.") }
        try CommandSupport.inspect(networks, kind: "network", format: format, query: verbose ? [("verbose", "true")] : []) { "/networks/\($0)" }
    }
}
