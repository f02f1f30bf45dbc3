import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth container inspect`: the daemon's JSON for each container, or a template per container.
struct ContainerInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Display detailed information on one or more containers",
                                                    helpNames: [.long])
    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Flag(name: [.short, .customLong("size")], help: "Display total file sizes") var size = false
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        let q: [(String, String)] = size ? [("size", "1")] : []
        try InspectOutput.run(containers, format: format) { try client.json("GET", "/containers/\($0)/json", query: q) }
    }
}

/// What every inspect shares: the values found go out together (one JSON array, or the template
/// per value); each name that failed is reported on stderr, and then the exit code is 1.
enum InspectOutput {
    static func run(_ names: [String], format: String?, _ lookup: (String) throws -> Any) throws {
        var values: [Any] = []
        var errors: [String] = []
        for name in names {
            do { values.append(try lookup(name)) } catch { errors.append(ContainerBatch.message(error)) }
        }
        // docker prints what it found even when some names failed.
        if values.isEmpty {
            if format == nil { print("[]") }
        } else {
            writeAll(1, Array(try inspectFormat(format, values: values).utf8))
        }
        if !errors.isEmpty { throw CLIError(errors.joined(separator: "\n")) }
    }
}
