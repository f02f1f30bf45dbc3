import ArgumentParser
import Foundation

/// `berth volume create [VOLUME]`: prints the volume's name.
struct VolumeCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a volume", usage: "berth volume create [OPTIONS] [VOLUME]", helpNames: [.long])

    @Option(name: [.short, .customLong("driver")], help: "Specify volume driver name") var driver = "local"
    @Option(name: .customLong("label"), help: "Set metadata for a volume") var label: [String] = []
    @Option(name: [.short, .customLong("opt")], help: "Set driver specific options") var opt: [String] = []
    @Option(name: .customLong("name"), help: "Specify volume name") var nameFlag: String?
    @Argument(help: "The volume's name") var name: String?

    func run() throws {
        if let a = name, let b = nameFlag, a != b {
            throw CLIError.usage("conflicting options: cannot specify a volume-name through both --name and as a positional arg")
        }
        var body: [String: Any] = ["Driver": driver, "DriverOpts": NetworkCreate.keyValues(opt), "Labels": NetworkCreate.keyValues(label)]
        if let n = name ?? nameFlag { body["Name"] = n }
        let v = try CLI.client().json("POST", "/volumes/create", body: body) as? [String: Any] ?? [:]
        CommandSupport.out((v["Name"] as? String ?? "") + "\n")
    }
}
