import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth network rm`: each network removed is echoed; failures go to stderr (exit 1).
struct NetworkRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove one or more networks", usage: "berth network rm NETWORK [NETWORK...]",
        helpNames: [.long], aliases: ["remove"])

    @Flag(name: [.short, .customLong("force")], help: "Do not error if the network does not exist") var force = false
    @Argument(help: "The networks") var networks: [String]

    func run() throws {
        guard !networks.isEmpty else { throw CLIError.usage("\"network rm\" requires at least 1 argument.") }
        let client = try CLI.client()
        try CommandSupport.each(networks, kind: "network") { n in
            do { try client.call("DELETE", "/networks/\(n)") } catch EngineClientError.daemon(404, _) where force { return nil }
            return n
        }
    }
}
