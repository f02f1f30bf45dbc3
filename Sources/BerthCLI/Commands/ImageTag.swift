import ArgumentParser
import Foundation

/// `berth tag SOURCE TARGET`: `POST /images/{source}/tag?repo=&tag=`.
struct Tag: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        usage: "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", helpNames: [.long])

    @Argument(help: "The source image") var source: String
    @Argument(help: "The new reference") var target: String

    func run() throws {
        if target.contains("@") { throw CLIError("refusing to create a tag with a digest reference") }
        let (repo, tag) = ImagePulling.split(target)
        guard !repo.isEmpty, repo == repo.lowercased() else {
            throw CLIError("invalid reference format: repository name (\(repo)) must be lowercase")
        }
        try CLI.client().call("POST", "/images/\(source)/tag", query: [("repo", repo), ("tag", tag)])
    }
}
