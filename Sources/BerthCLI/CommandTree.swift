import ArgumentParser

/// docker's command tree: management groups, and the top-level shortcuts docker keeps.
enum CommandTree {
    static let root: [ParsableCommand.Type] = [
        ContainerGroup.self, ImageGroup.self, NetworkGroup.self, VolumeGroup.self, SystemGroup.self,
        Run.self, Create.self, Start.self, Attach.self, Logs.self,
        Ps.self, Stop.self, Restart.self, Kill.self, Rm.self, Pause.self, Unpause.self, Rename.self, Wait.self,
        Port.self, Top.self, Inspect.self, Diff.self, Export.self, Cp.self, Commit.self, Stats.self, Exec.self,
        Images.self, Build.self, Pull.self, Push.self, Rmi.self, Tag.self, Save.self, Load.self, Import.self, History.self,
        Login.self, Logout.self, Version.self, Info.self, Events.self,
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

struct ImageGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage images",
        subcommands: [Build.self, Pull.self, Push.self, ImageList.self, ImageRemove.self, Tag.self, ImageInspect.self, History.self,
                      ImagePrune.self, Save.self, Load.self, Import.self],
        helpNames: [.long])
}

struct NetworkGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks",
        subcommands: [NetworkCreate.self, NetworkList.self, NetworkInspect.self, NetworkRemove.self, NetworkPrune.self,
                      NetworkConnect.self, NetworkDisconnect.self],
        helpNames: [.long])
}

struct VolumeGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage volumes",
        subcommands: [VolumeCreate.self, VolumeList.self, VolumeInspect.self, VolumeRemove.self, VolumePrune.self],
        helpNames: [.long])
}

struct SystemGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "system", abstract: "Manage Docker",
        subcommands: [SystemDF.self, Events.self, Info.self, SystemPrune.self],
        helpNames: [.long])
}
