import ArgumentParser
import Foundation
import Glibc

/// `berth import file|URL|- [REPOSITORY[:TAG]]`: `POST /images/create?fromSrc=-` with the tar as
/// the body; prints the new image's ID as docker does.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import the contents from a tarball to create a filesystem image",
        usage: "berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", helpNames: [.long])

    @Option(name: [.short, .customLong("change")], help: "Apply Dockerfile instruction to the created image") var change: [String] = []
    @Option(name: [.short, .customLong("message")], help: "Set commit message for imported image") var message: String?
    @Option(name: .customLong("platform"), help: "Set platform if server is multi-platform capable") var platform: String?
    @Argument(help: "file, URL or - for stdin") var source: String
    @Argument(help: "The new image's reference") var reference: String?

    func run() throws {
        let data: Data?
        var fromSrc = "-"
        if source == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else if source.hasPrefix("http://") || source.hasPrefix("https://") {
            // The daemon fetches a URL, as dockerd does (berthd answers that it cannot yet).
            fromSrc = source
            data = nil
        } else {
            guard let d = FileManager.default.contents(atPath: source) else {
                throw CLIError("open \(source): \(String(cString: strerror(errno)))")
            }
            data = d
        }
        var q: [(String, String)] = [("fromSrc", fromSrc)]
        if let reference {
            let (repo, tag) = ImagePulling.split(reference)
            q.append(("repo", repo)); q.append(("tag", tag))
        }
        if let message { q.append(("message", message)) }
        if let platform { q.append(("platform", platform)) }
        for c in change { q.append(("changes", c)) }
        let reader = try CLI.client().open("POST", "/images/create", query: q, body: data,
                                           headers: [("Content-Type", "application/x-tar")])
        try JSONMessages.display(reader, output: 1, quiet: false)
    }
}
