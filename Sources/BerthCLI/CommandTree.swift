import ArgumentParser

/// docker's command tree: management groups, and the top-level shortcuts docker keeps.
enum CommandTree {
    static let root: [ParsableCommand.Type] = [
        ContainerGroup.self,
        Run.self, Create.self, Start.self, Attach.self, Logs.self,
    ]
}

struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [Run.self, Create.self, Start.self, Attach.self, Logs.self],
        helpNames: [.long])
}
