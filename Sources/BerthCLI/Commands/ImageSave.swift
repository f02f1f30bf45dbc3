import ArgumentParser
import Foundation
import Glibc

/// `berth save`: `GET /images/get?names=…` into `-o FILE` or stdout (never a terminal).
struct Save: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save one or more images to a tar archive (streamed to STDOUT by default)",
        usage: "berth save [OPTIONS] IMAGE [IMAGE...]", helpNames: [.long])

    @Option(name: [.short, .customLong("output")], help: "Write to a file, instead of STDOUT") var output: String?
    @Option(name: .customLong("platform"), help: "Save only the given platform variant") var platform: String?
    @Argument(help: "The images") var images: [String]

    func run() throws {
        guard !images.isEmpty else { throw CLIError.usage("\"save\" requires at least 1 argument.") }
        if output == nil && isatty(1) == 1 { throw CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect") }
        let client = try CLI.client()
        let reader = try client.open("GET", "/images/get", query: images.map { ("names", $0) })
        let fd: Int32
        var tmp: String?
        if let output {
            // Written beside the target and renamed at the end, so a failed save leaves no partial file.
            let dir = (output as NSString).deletingLastPathComponent
            guard dir.isEmpty || FileManager.default.fileExists(atPath: dir) else {
                throw CLIError("failed to save image: invalid output path: directory \"\(dir)\" does not exist")
            }
            tmp = output + ".berth-save-\(getpid())"
            fd = open(tmp!, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CLIError("failed to save image: \(output): \(String(cString: strerror(errno)))") }
        } else {
            fd = 1
        }
        do {
            while let chunk = try reader.next() { writeAll(fd, chunk) }
        } catch {
            if let tmp { close(fd); unlink(tmp) }
            throw error
        }
        if let tmp, let output {
            close(fd)
            guard rename(tmp, output) == 0 else { unlink(tmp); throw CLIError("failed to save image: \(output): \(String(cString: strerror(errno)))") }
        }
    }
}
