import ArgumentParser

/// docker's command tree: management groups, and the top-level shortcuts docker keeps.
enum CommandTree {
    static let root: [ParsableCommand.Type] = [
        ContainerGroup.self,
        Run.self, Create.self, Start.self, Attach.self, Logs.self,
        Ps.self, Stop.self, Restart.self, Kill.self, Rm.self, Pause.self, Unpause.self, Rename.self, Wait.self,
        Port.self, Top.self, Inspect.self, Diff.self, Export.self, Cp.self, Commit.self, Stats.self, Exec.self,
    ]
}

struct ContainerGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers",
        subcommands: [Run.self, Create.self, Start.self, Attach.self, Logs.self,
                      ContainerLs.self, Stop.self, Restart.self, Kill.self, Rm.self, Pause.self, Unpause.self, Rename.self,
                      Wait.self, Port.self, Top.self, ContainerInspect.self, Diff.self, Export.self, Cp.self, Commit.self,
                      Stats.self, Exec.self, ContainerPrune.self],
        helpNames: [.long])
}
