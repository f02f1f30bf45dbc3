import ArgumentParser
import Foundation

/// `berth commit CONTAINER [REPOSITORY[:TAG]]`: a new image from the container's changes.
struct Commit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a new image from a container's changes", helpNames: [.long])
    @Option(name: [.short, .customLong("author")], help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")") var author: String?
    @Option(name: [.short, .customLong("change")], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.short, .customLong("message")], help: "Commit message") var message: String?
    @Option(name: [.short, .customLong("pause")], help: "Pause container during commit") var pause = true
    @Argument(help: "The container") var container: String
    @Argument(help: "REPOSITORY[:TAG]") var reference: String?

    func run() throws {
        var q: [(String, String)] = [("container", container)]
        if let reference {
            let (repo, tag) = Self.split(reference)
            q.append(("repo", repo))
            if let tag { q.append(("tag", tag)) }
        }
        if let message { q.append(("comment", message)) }
        if let author { q.append(("author", author)) }
        for c in change { q.append(("changes", c)) }
        if !pause { q.append(("pause", "0")) }
        let r = try CLI.client().json("POST", "/commit", query: q, body: [String: Any]()) as? [String: Any] ?? [:]
        print(r["Id"] as? String ?? "")
    }

    /// `name:tag` → (name, tag); a colon inside the registry host (`host:5000/x`) is not a tag.
    static func split(_ ref: String) -> (String, String?) {
        var name = ref
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            return (String(name[..<colon]), String(name[name.index(after: colon)...]))
        }
        return (ref, nil)
    }
}
