import ArgumentParser
import Foundation

/// `berth pull` / `berth image pull`: the daemon's JSON messages rendered as docker does, then the
/// fully qualified reference (`docker.io/library/busybox:latest`) on the last line.
struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download an image from a registry",
        usage: "berth pull [OPTIONS] NAME[:TAG|@DIGEST]", helpNames: [.long])

    @Flag(name: [.short, .customLong("all-tags")], help: "Download all tagged images in the repository") var allTags = false
    @Flag(name: [.customLong("disable-content-trust")], help: "Skip image verification (default true)") var disableContentTrust = false
    @Option(name: .customLong("platform"), help: "Set platform if server is multi-platform capable") var platform: String?
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress verbose output") var quiet = false
    @Argument(help: "The image") var name: String

    func run() throws {
        let (repo, tagOrDigest) = ImagePulling.split(name)
        let explicitTag = name.contains("@") || (name.split(separator: "/").last ?? "").contains(":")
        if allTags && explicitTag { throw CLIError("tag can't be used with --all-tags/-a") }
        if !allTags && !explicitTag && !quiet { CommandSupport.out("Using default tag: latest\n") }
        let client = try CLI.client()
        try ImagePulling.pull(client, reference: allTags ? repo : name, platform: platform, quiet: quiet, output: 1, allTags: allTags)
        let sep = name.contains("@") ? "@" : ":"
        CommandSupport.out(ImageReference.qualified(repo) + (allTags ? "" : sep + tagOrDigest) + "\n")
    }
}

/// docker's reference normalisation, for what the CLI prints.
enum ImageReference {
    /// `busybox` → `docker.io/library/busybox`; `me/app` → `docker.io/me/app`; `host:5000/app` as is.
    static func qualified(_ repo: String) -> String {
        let parts = repo.split(separator: "/", maxSplits: 1)
        if parts.count == 2, RegistryAuth.registryOf(repo) != "docker.io" || parts[0] == "docker.io" { return repo }
        return parts.count == 1 ? "docker.io/library/" + repo : "docker.io/" + repo
    }

    /// `docker.io/library/busybox:latest` → `busybox:latest` (the short form docker shows in lists).
    static func familiar(_ ref: String) -> String {
        for prefix in ["docker.io/library/", "docker.io/"] where ref.hasPrefix(prefix) {
            return String(ref.dropFirst(prefix.count))
        }
        return ref
    }
}
