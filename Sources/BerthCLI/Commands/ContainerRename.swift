import ArgumentParser
import Foundation

/// `berth rename OLD NEW`.
struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rename a container", helpNames: [.long])
    @Argument(help: "The container") var container: String
    @Argument(help: "Its new name") var newName: String

    func run() throws {
        let old = container.trimmingCharacters(in: .whitespaces)
        let new = newName.trimmingCharacters(in: .whitespaces)
        if old.isEmpty || new.isEmpty { throw CLIError("Error: Neither old nor new names may be empty") }
        do {
            try CLI.client().call("POST", "/containers/\(old)/rename", query: [("name", new)])
        } catch {
            throw CLIError("\(ContainerBatch.message(error))\nError: failed to rename container named \(old)")
        }
    }
}
