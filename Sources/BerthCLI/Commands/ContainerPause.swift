import ArgumentParser

/// `berth pause`: freezes every process of the containers.
struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause all processes within one or more containers", helpNames: [.long])
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        try ContainerBatch.run(containers) { try client.call("POST", "/containers/\($0)/pause") }
    }
}
