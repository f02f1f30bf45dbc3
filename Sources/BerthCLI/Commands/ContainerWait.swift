import ArgumentParser

/// `berth wait`: blocks until each container stops, printing its exit code.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Block until one or more containers stop, then print their exit codes",
                                                    helpNames: [.long])
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        var codes: [String: Int32] = [:]
        try ContainerBatch.run(containers, output: { codes[$0].map { String($0) } }) { name in
            let reader = try client.open("POST", "/containers/\(name)/wait", query: [("condition", "not-running")])
            do { codes[name] = try ContainerCreation.exitStatus(reader) } catch let e as CLIError {
                // exitStatus words its errors for run; wait prints the daemon's message alone.
                throw CLIError(e.message.hasPrefix("berth: ") ? String(e.message.dropFirst(7)) : e.message)
            }
        }
    }
}
