import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth export`: the container's filesystem as a tar, to `-o FILE` or a redirected stdout.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a container's filesystem as a tar archive", helpNames: [.long])
    @Option(name: [.short, .customLong("output")], help: "Write to a file, instead of STDOUT") var output: String?
    @Argument(help: "The container") var container: String

    func run() throws {
        if output == nil && isatty(1) == 1 {
            throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        }
        let reader = try CLI.client().open("GET", "/containers/\(container)/export")
        try copyBody(reader, to: output)
    }
}

/// Streams a response body to a file (created or truncated, as docker's -o) or to stdout.
func copyBody(_ reader: BodyReader, to path: String?) throws {
    var fd: Int32 = 1
    if let path {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("failed to export container: open \(path): \(String(cString: strerror(errno)))") }
    }
    defer { if fd != 1 { close(fd) } }
    while let bytes = try reader.next() { writeAll(fd, bytes) }
}
