import ArgumentParser
import Foundation

/// The flags of `berth rmi` / `berth image rm`.
struct ImageRemoveOptions: ParsableArguments {
    @Flag(name: [.short, .customLong("force")], help: "Force removal of the image") var force = false
    @Flag(name: .customLong("no-prune"), help: "Do not delete untagged parents") var noPrune = false
    @Argument(help: "The images") var images: [String]

    func run() throws {
        guard !images.isEmpty else { throw CLIError.usage("\"rmi\" requires at least 1 argument.") }
        let client = try CLI.client()
        var q: [(String, String)] = []
        if force { q.append(("force", "1")) }
        if noPrune { q.append(("noprune", "1")) }
        try CommandSupport.each(images, kind: "image") { name in
            let items = try client.json("DELETE", "/images/\(name)", query: q) as? [[String: Any]] ?? []
            let lines = items.compactMap { i -> String? in
                if let u = i["Untagged"] as? String { return "Untagged: " + u }
                if let d = i["Deleted"] as? String { return "Deleted: " + d }
                return nil
            }
            return lines.isEmpty ? nil : lines.joined(separator: "\n")
        }
    }
}

struct Rmi: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi", abstract: "Remove one or more images", usage: "berth rmi [OPTIONS] IMAGE [IMAGE...]", helpNames: [.long])
    @OptionGroup var options: ImageRemoveOptions
    func run() throws { try options.run() }
}

struct ImageRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove one or more images", usage: "berth image rm [OPTIONS] IMAGE [IMAGE...]",
        helpNames: [.long], aliases: ["remove", "rmi"])
    @OptionGroup var options: ImageRemoveOptions
    func run() throws { try options.run() }
}
