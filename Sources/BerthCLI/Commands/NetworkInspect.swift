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
        let client = try CLI.client()
        var values: [Any] = []
        var errors: [String] = []
        for n in networks {
            do { values.append(try client.json("GET", "/networks/\(n)", query: verbose ? [("verbose", "true")] : [])) }
            catch { errors.append("\(error)") }
        }
        CommandSupport.out(try inspectFormat(format, values: values))
        if !errors.isEmpty { throw CLIError(errors.joined(separator: "\n")) }
    }
}
