import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth start`: starts containers; with `-a` attaches first and exits with the container's code.
struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start one or more stopped containers", helpNames: [.long])
    @Flag(name: [.short, .customLong("attach")], help: "Attach STDOUT/STDERR and forward signals") var attach = false
    @Flag(name: [.short, .customLong("interactive")], help: "Attach container's STDIN") var interactive = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Argument(help: "Containers") var containers: [String]

    func run() throws {
        let client = try CLI.client()
        if attach || interactive {
            guard containers.count == 1 else { throw CLIError("you cannot start and attach multiple containers at once") }
            let id = containers[0]
            let info = try ContainerInfo.inspect(client, id)
            let status = try ContainerInfo.attachAndRun(client, id: info.id, tty: info.tty, stdin: interactive && info.openStdin,
                                                        detachKeys: detachKeys) {
                try client.call("POST", "/containers/\(info.id)/start")
            }
            if let status, status != 0 { throw CLIError(code: status, "") }
            return
        }
        var failed: [String] = []
        for c in containers {
            do { try client.call("POST", "/containers/\(c)/start"); print(c) }
            catch { FileHandle.standardError.write(Data("\(error)\n".utf8)); failed.append(c) }
        }
        if !failed.isEmpty { throw CLIError("Error: failed to start containers: \(failed.joined(separator: ", "))") }
    }
}

/// `berth attach`: our stdio to a running container's.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach local standard input, output, and error streams to a running container", helpNames: [.long])
    @Flag(name: .customLong("no-stdin"), help: "Do not attach STDIN") var noStdin = false
    @Option(name: .customLong("sig-proxy"), help: "Proxy all received signals to the process") var sigProxy = true
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Argument(help: "Container") var container: String

    func run() throws {
        let client = try CLI.client()
        let info = try ContainerInfo.inspect(client, container)
        guard info.running else { throw CLIError("You cannot attach to a stopped container, start it first") }
        if info.paused { throw CLIError("You cannot attach to a paused container, unpause it first") }
        let stdin = info.openStdin && !noStdin
        if info.tty && stdin && isatty(0) != 1 { throw CLIError("the input device is not a TTY") }
        let status = try ContainerInfo.attachAndRun(client, id: info.id, tty: info.tty, stdin: stdin, detachKeys: detachKeys,
                                                    sigProxy: sigProxy, start: nil)
        if let status, status != 0 { throw CLIError(code: status, "") }
    }
}

/// What attach needs to know about a container.
struct ContainerInfo {
    var id: String
    var tty: Bool
    var openStdin: Bool
    var running: Bool
    var paused: Bool
    var raw: [String: Any]

    static func inspect(_ client: EngineClient, _ ref: String) throws -> ContainerInfo {
        guard let obj = try client.json("GET", "/containers/\(ref)/json") as? [String: Any] else {
            throw CLIError("Error: No such container: \(ref)")
        }
        let config = obj["Config"] as? [String: Any] ?? [:]
        let state = obj["State"] as? [String: Any] ?? [:]
        return ContainerInfo(id: obj["Id"] as? String ?? ref, tty: config["Tty"] as? Bool ?? false,
                             openStdin: config["OpenStdin"] as? Bool ?? false, running: state["Running"] as? Bool ?? false,
                             paused: state["Paused"] as? Bool ?? false, raw: obj)
    }

    /// Hijacks `/attach`, runs `start` (if any), pumps until the stream ends; the exit code, or nil
    /// after a detach.
    static func attachAndRun(_ client: EngineClient, id: String, tty: Bool, stdin: Bool, detachKeys: String?,
                             sigProxy: Bool = true, start: (() throws -> Void)?) throws -> Int32? {
        var q: [(String, String)] = [("stream", "1"), ("stdout", "1"), ("stderr", "1")]
        if stdin { q.append(("stdin", "1")) }
        if let detachKeys { q.append(("detachKeys", detachKeys)) }
        let (_, conn) = try client.hijack("POST", "/containers/\(id)/attach", query: q)
        let wait = try client.open("POST", "/containers/\(id)/wait", query: [("condition", "next-exit")])
        try start?()
        let pump = StreamPump(conn: conn, tty: tty, stdin: stdin)
        if stdin && tty { pump.detachKeys = try StreamPump.parseKeys(detachKeys ?? "ctrl-p,ctrl-q") }
        if tty {
            pump.onResize = { h, w in _ = try? client.call("POST", "/containers/\(id)/resize", query: [("h", String(h)), ("w", String(w))]) }
        } else if sigProxy {
            pump.onSignal = { sig in _ = try? client.call("POST", "/containers/\(id)/kill", query: [("signal", sig)]) }
        }
        if pump.run() == .detached { return nil }
        return try ContainerCreation.exitStatus(wait)
    }
}

/// `berth logs`.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fetch the logs of a container", helpNames: [.long])
    @Flag(name: [.short, .customLong("follow")], help: "Follow log output") var follow = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: "Number of lines to show from the end of the logs") var tail = "all"
    @Flag(name: [.short, .customLong("timestamps")], help: "Show timestamps") var timestamps = false
    @Flag(name: .customLong("details"), help: "Show extra details provided to logs") var details = false
    @Option(name: .customLong("since"), help: "Show logs since timestamp or relative (e.g. 42m)") var since: String?
    @Option(name: .customLong("until"), help: "Show logs before a timestamp or relative (e.g. 42m)") var until: String?
    @Argument(help: "Container") var container: String

    func run() throws {
        let client = try CLI.client()
        let info = try ContainerInfo.inspect(client, container)
        var q: [(String, String)] = [("stdout", "1"), ("stderr", "1"), ("tail", tail)]
        if follow { q.append(("follow", "1")) }
        if timestamps { q.append(("timestamps", "1")) }
        if details { q.append(("details", "1")) }
        if let since { q.append(("since", try TimeArgument.unix(since))) }
        if let until { q.append(("until", try TimeArgument.unix(until))) }
        let reader = try client.open("GET", "/containers/\(info.id)/logs", query: q)
        var demux = FrameDemux()
        while let bytes = try reader.next() {
            if info.tty { writeAll(1, bytes) } else { demux.feed(bytes) { s, p in writeAll(s == 2 ? 2 : 1, p) } }
        }
    }
}

/// `--since`/`--until` values: RFC 3339, a Unix timestamp, or a duration before now (`10m`).
enum TimeArgument {
    static func unix(_ s: String) throws -> String {
        if Double(s) != nil { return s }
        if let ns = try? ContainerCreateOptions.parseDuration(s, flag: "--since") {
            return String(format: "%.9f", Date().timeIntervalSince1970 - Double(ns) / 1e9)
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) ?? ISO8601DateFormatter().date(from: s) { return String(format: "%.9f", d.timeIntervalSince1970) }
        for fmt in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            let df = DateFormatter()
            df.locale = Locale(identifier: "en_US_POSIX"); df.timeZone = .current; df.dateFormat = fmt
            if let d = df.date(from: s) { return String(format: "%.9f", d.timeIntervalSince1970) }
        }
        throw CLIError.usage("invalid value for \"since\": could not parse \"\(s)\"")
    }
}
