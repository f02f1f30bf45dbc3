import ArgumentParser
import Foundation
import Glibc

/// `berth load`: a tar from `-i FILE` or stdin to `POST /images/load`, its messages shown
/// (`Loaded image: busybox:latest`).
struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load an image from a tar archive or STDIN", usage: "berth load [OPTIONS]", helpNames: [.long])

    @Option(name: [.short, .customLong("input")], help: "Read from tar archive file, instead of STDIN") var input: String?
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress the load output") var quiet = false
    @Option(name: .customLong("platform"), help: "Load only the given platform variant") var platform: String?

    func run() throws {
        let data: Data
        if let input {
            guard let d = FileManager.default.contents(atPath: input) else {
                throw CLIError("open \(input): \(String(cString: strerror(errno)))")
            }
            data = d
        } else {
            if isatty(0) == 1 { throw CLIError("requested load from stdin, but stdin is empty") }
            data = FileHandle.standardInput.readDataToEndOfFile()
            if data.isEmpty { throw CLIError("requested load from stdin, but stdin is empty") }
        }
        let q: [(String, String)] = quiet || isatty(1) != 1 ? [("quiet", "1")] : []
        let reader = try CLI.client().open("POST", "/images/load", query: q, body: data,
                                           headers: [("Content-Type", "application/x-tar")])
        if reader.head.header("content-type")?.hasPrefix("application/json") == true {
            try JSONMessages.display(reader, output: 1, quiet: false)
        } else {
            while let chunk = try reader.next() { writeAll(1, chunk) }
        }
    }
}
