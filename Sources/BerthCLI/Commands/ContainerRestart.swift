import ArgumentParser

/// `berth restart`.
struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart one or more containers", helpNames: [.long])
    @Option(name: [.short, .customLong("signal")], help: "Signal to send to the container") var signal: String?
    @Option(name: [.short, .customLong("time")], help: "Seconds to wait before killing the container") var time: Int?
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        let q = Stop.query(signal: signal, time: time)
        try ContainerBatch.run(containers) { try client.call("POST", "/containers/\($0)/restart", query: q) }
    }
}
