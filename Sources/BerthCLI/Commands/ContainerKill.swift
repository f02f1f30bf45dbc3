import ArgumentParser

/// `berth kill`: SIGKILL unless `-s` names another signal.
struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Kill one or more running containers", helpNames: [.long])
    @Option(name: [.short, .customLong("signal")], help: "Signal to send to the container") var signal: String?
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        let q: [(String, String)] = signal.map { [("signal", $0)] } ?? []
        try ContainerBatch.run(containers) { try client.call("POST", "/containers/\($0)/kill", query: q) }
    }
}
