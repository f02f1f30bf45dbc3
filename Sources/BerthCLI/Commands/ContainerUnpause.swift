import ArgumentParser

/// `berth unpause`.
struct Unpause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Unpause all processes within one or more containers", helpNames: [.long])
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        try ContainerBatch.run(containers) { try client.call("POST", "/containers/\($0)/unpause") }
    }
}
