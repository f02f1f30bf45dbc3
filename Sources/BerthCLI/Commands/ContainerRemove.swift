import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth rm`. With `-f`, a container that does not exist is reported but is not a failure, as docker.
struct Rm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one or more containers",
                                                    helpNames: [.long], aliases: ["remove"])
    @Flag(name: [.short, .customLong("force")], help: "Force the removal of a running container (uses SIGKILL)") var force = false
    @Flag(name: [.short, .customLong("link")], help: "Remove the specified link") var link = false
    @Flag(name: [.short, .customLong("volumes")], help: "Remove anonymous volumes associated with the container") var volumes = false
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        var q: [(String, String)] = []
        if force { q.append(("force", "1")) }
        if link { q.append(("link", "1")) }
        if volumes { q.append(("v", "1")) }
        var ignored: Set<String> = []
        try ContainerBatch.run(containers, output: { ignored.contains($0) ? nil : $0 }) { name in
            let trimmed = name.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard !trimmed.isEmpty else { throw CLIError("Container name cannot be empty") }
            do {
                try client.call("DELETE", "/containers/\(trimmed)", query: q)
            } catch let e as EngineClientError where force && e.status == 404 {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                ignored.insert(name)
            }
        }
    }
}
