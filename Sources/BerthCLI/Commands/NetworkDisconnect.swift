import ArgumentParser
import Foundation

/// `berth network disconnect NETWORK CONTAINER`.
struct NetworkDisconnect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disconnect", abstract: "Disconnect a container from a network",
        usage: "berth network disconnect [OPTIONS] NETWORK CONTAINER", helpNames: [.long])

    @Flag(name: [.short, .customLong("force")], help: "Force the container to disconnect from a network") var force = false
    @Argument(help: "The network") var network: String
    @Argument(help: "The container") var container: String

    func run() throws {
        _ = try CLI.client().json("POST", "/networks/\(network)/disconnect", body: ["Container": container, "Force": force])
    }
}
