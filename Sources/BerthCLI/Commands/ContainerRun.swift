import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth run`: create (pulling the image when it is missing), attach, start, wait — the docker CLI's
/// sequence of API calls, so `--rm`, `-it`, `-d` and exit codes behave as docker's.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and run a new container from an image",
        usage: "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]", helpNames: [.long])

    @OptionGroup var options: ContainerCreateOptions
    @Flag(name: [.short, .customLong("detach")], help: "Run container in background and print container ID") var detach = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Option(name: .customLong("sig-proxy"), help: "Proxy received signals to the process") var sigProxy = true
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress the pull output") var quiet = false
    @Argument(help: "The image") var image: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments") var command: [String] = []

    func run() throws {
        if options.tty && options.interactive && isatty(0) != 1 {
            throw CLIError("the input device is not a TTY")
        }
        if detach && options.autoRemove == false, options.attach.count > 0 { throw CLIError.usage("Conflicting options: -a and -d") }
        let client = try CLI.client()
        let body: [String: Any]
        do { body = try options.body(image: image, command: command, detached: detach) } catch { throw CLIError.run(error) }
        let id: String
        do {
            id = try ContainerCreation.create(client, body: body, name: options.name, pull: options.pull,
                                              platform: options.platform, quiet: quiet)
        } catch { throw CLIError.run(error) }
        if let f = options.cidfile { try? (id + "").write(toFile: f, atomically: true, encoding: .utf8) }

        if detach {
            do { try client.call("POST", "/containers/\(id)/start") } catch { throw ContainerCreation.startError(error) }
            print(id)
            return
        }
        let wantIn = body["AttachStdin"] as? Bool ?? false
        let wantOut = body["AttachStdout"] as? Bool ?? false
        let wantErr = body["AttachStderr"] as? Bool ?? false
        var pump: StreamPump?
        if wantIn || wantOut || wantErr {
            var q: [(String, String)] = [("stream", "1")]
            if wantIn { q.append(("stdin", "1")) }
            if wantOut { q.append(("stdout", "1")) }
            if wantErr { q.append(("stderr", "1")) }
            if let detachKeys { q.append(("detachKeys", detachKeys)) }
            let (_, conn) = try client.hijack("POST", "/containers/\(id)/attach", query: q)
            let p = StreamPump(conn: conn, tty: options.tty, stdin: wantIn)
            if wantIn && options.tty { p.detachKeys = try StreamPump.parseKeys(detachKeys ?? "ctrl-p,ctrl-q") }
            pump = p
        }
        let wait = try client.open("POST", "/containers/\(id)/wait",
                                   query: [("condition", options.autoRemove ? "removed" : "next-exit")])
        do { try client.call("POST", "/containers/\(id)/start") } catch {
            if options.autoRemove { _ = try? client.call("DELETE", "/containers/\(id)", query: [("force", "1")]) }
            throw ContainerCreation.startError(error)
        }
        if let pump {
            if options.tty {
                pump.onResize = { h, w in _ = try? client.call("POST", "/containers/\(id)/resize", query: [("h", String(h)), ("w", String(w))]) }
            } else if sigProxy {
                pump.onSignal = { sig in _ = try? client.call("POST", "/containers/\(id)/kill", query: [("signal", sig)]) }
            }
            if pump.run() == .detached { return }
        }
        let status = try ContainerCreation.exitStatus(wait)
        if status != 0 { throw CLIError(code: status, "") }
    }
}

/// `berth create`: the container only, its ID printed.
struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new container",
        usage: "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]", helpNames: [.long])

    @OptionGroup var options: ContainerCreateOptions
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress the pull output") var quiet = false
    @Argument(help: "The image") var image: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments") var command: [String] = []

    func run() throws {
        let client = try CLI.client()
        do {
            let body = try options.body(image: image, command: command, detached: true)
            let id = try ContainerCreation.create(client, body: body, name: options.name, pull: options.pull,
                                                  platform: options.platform, quiet: quiet)
            if let f = options.cidfile { try? id.write(toFile: f, atomically: true, encoding: .utf8) }
            print(id)
        } catch { throw CLIError.run(error) }
    }
}

enum ContainerCreation {
    /// `POST /containers/create`; a missing image is pulled first (`--pull missing`), as docker does.
    static func create(_ client: EngineClient, body: [String: Any], name: String?, pull: String,
                       platform: String?, quiet: Bool) throws -> String {
        guard ["missing", "always", "never"].contains(pull) else {
            throw CLIError.usage("invalid pull option: '\(pull)': must be one of \"always\", \"missing\" or \"never\"")
        }
        let image = body["Image"] as? String ?? ""
        var query: [(String, String)] = []
        if let name { query.append(("name", name)) }
        if let platform { query.append(("platform", platform)) }
        if pull == "always" { try ImagePulling.pull(client, reference: image, platform: platform, quiet: quiet, output: 2) }
        do {
            return try createOnce(client, body: body, query: query)
        } catch EngineClientError.daemon(404, let message) where pull == "missing" && message.lowercased().contains("no such image") {
            let ref = ImagePulling.normalized(image)
            FileHandle.standardError.write(Data("Unable to find image '\(ref)' locally\n".utf8))
            try ImagePulling.pull(client, reference: image, platform: platform, quiet: quiet, output: 2)
            return try createOnce(client, body: body, query: query)
        }
    }

    private static func createOnce(_ client: EngineClient, body: [String: Any], query: [(String, String)]) throws -> String {
        let r = try client.json("POST", "/containers/create", query: query, body: body) as? [String: Any]
        for w in r?["Warnings"] as? [String] ?? [] { FileHandle.standardError.write(Data("WARNING: \(w)\n".utf8)) }
        guard let id = r?["Id"] as? String else { throw CLIError(code: 125, "berth: the daemon returned no container ID") }
        return id
    }

    /// docker's exit codes for a failed start: 127 command not found, 126 not executable, else 125.
    static func startError(_ error: Error) -> CLIError {
        guard case EngineClientError.daemon(_, let m) = error else { return CLIError.run(error) }
        let l = m.lowercased()
        var code: Int32 = 125
        if l.contains("executable file not found") || l.contains("no such file or directory") || l.contains("not found") { code = 127 }
        else if l.contains("permission denied") || l.contains("exec format error") { code = 126 }
        return CLIError(code: code, "berth: Error response from daemon: \(m).")
    }

    /// The `StatusCode` of a wait response, once it arrives.
    static func exitStatus(_ wait: BodyReader) throws -> Int32 {
        let data = try wait.readAll()
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError(code: 125, "berth: unexpected wait response: \(String(decoding: data, as: UTF8.self))")
        }
        if let err = obj["Error"] as? [String: Any], let m = err["Message"] as? String, !m.isEmpty {
            throw CLIError(code: 125, "berth: Error response from daemon: \(m)")
        }
        return Int32(truncatingIfNeeded: (obj["StatusCode"] as? Int) ?? 125)
    }
}
