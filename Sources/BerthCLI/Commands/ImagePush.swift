import ArgumentParser
import Foundation

/// `berth push` / `berth image push`: `POST /images/{name}/push?tag=`, the daemon's messages
/// (`The push refers to repository [...]`, per layer, `<tag>: digest: … size: …`) as docker shows them.
struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload an image to a registry",
        usage: "berth push [OPTIONS] NAME[:TAG]", helpNames: [.long])

    @Flag(name: [.short, .customLong("all-tags")], help: "Push all tags of an image to the repository") var allTags = false
    @Flag(name: [.customLong("disable-content-trust")], help: "Skip image signing (default true)") var disableContentTrust = false
    @Option(name: .customLong("platform"), help: "Push a platform-specific manifest as a single-platform image") var platform: String?
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress verbose output") var quiet = false
    @Argument(help: "The image") var name: String

    func run() throws {
        let explicitTag = (name.split(separator: "/").last ?? "").contains(":")
        if allTags && explicitTag { throw CLIError("tag can't be used with --all-tags/-a") }
        let (repo, tag) = ImagePulling.split(name)
        if !allTags && !explicitTag && !quiet { CommandSupport.out("Using default tag: latest\n") }
        let q: [(String, String)] = allTags ? [] : [("tag", tag)]
        let client = try CLI.client()
        if platform != nil {
            throw CLIError("\"--platform\" requires API version 1.46, but the Docker daemon API version is \(try client.apiVersion())")
        }
        let reader = try client.open("POST", "/images/\(repo)/push", query: q,
                                     headers: [("X-Registry-Auth", RegistryAuth.header(for: repo))])
        try JSONMessages.display(reader, output: 1, quiet: quiet)
        if quiet { CommandSupport.out(name + "\n") }
    }
}
