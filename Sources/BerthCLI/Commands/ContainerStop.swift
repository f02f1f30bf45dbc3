import ArgumentParser

/// `berth stop`: SIGTERM (or the container's stop signal), then SIGKILL after the timeout.
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop one or more running containers", helpNames: [.long])
    @Option(name: [.short, .customLong("signal")], help: "Signal to send to the container") var signal: String?
    @Option(name: [.short, .customLong("time")], help: "Seconds to wait before killing the container") var time: Int?
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        let q = Self.query(signal: signal, time: time)
        try ContainerBatch.run(containers) { try client.call("POST", "/containers/\($0)/stop", query: q) }
    }

    /// `signal` and `t` as docker sends them (only when given).
    static func query(signal: String?, time: Int?) -> [(String, String)] {
        var q: [(String, String)] = []
        if let signal { q.append(("signal", signal)) }
        if let time { q.append(("t", String(time))) }
        return q
    }
}
