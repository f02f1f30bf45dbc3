import ArgumentParser
import Foundation

/// `berth image inspect`: `GET /images/{name}/json` for each name, as docker's indented JSON array
/// or the `--format` template; names that do not exist are reported after the output (exit 1).
struct ImageInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Display detailed information on one or more images",
        usage: "berth image inspect [OPTIONS] IMAGE [IMAGE...]", helpNames: [.long])

    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Option(name: .customLong("platform"), help: "Inspect a specific platform of the multi-platform image") var platform: String?
    @Argument(help: "The images") var images: [String]

    func run() throws {
        guard !images.isEmpty else { throw CLIError.usage("\"image inspect\" requires at least 1 argument.") }
        try CommandSupport.inspect(images, kind: "image", format: format) { "/images/\($0)/json" }
    }
}
