import ArgumentParser

/// `berth diff`: changed (C), added (A) and deleted (D) paths of the container's filesystem.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect changes to files or directories on a container's filesystem",
                                                    helpNames: [.long])
    @Argument(help: "The container") var container: String

    func run() throws {
        let changes = try CLI.client().json("GET", "/containers/\(container)/changes") as? [[String: Any]] ?? []
        for c in changes {
            let kind = ["C", "A", "D"][min(max((c["Kind"] as? Int) ?? 0, 0), 2)]
            print("\(kind) \(c["Path"] as? String ?? "")")
        }
    }
}
