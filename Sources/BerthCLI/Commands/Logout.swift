import ArgumentParser
import Foundation

/// `berth logout [SERVER]`: removes the stored credentials.
struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log out from a registry", usage: "berth logout [SERVER]", helpNames: [.long])

    @Argument(help: "The registry (Docker Hub when absent)") var server: String?

    func run() throws {
        let address = RegistryAuth.serverKey(server ?? "")
        var config = CLIConfig.load()
        // docker 28 says so whether or not there was anything to remove.
        CommandSupport.out("Removing login credentials for \(address)\n")
        if config.remove(address) { try config.save() }
    }
}
