import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth exec`: a process in a running container — create the exec, hijack its start, pump the
/// streams, then exit with the process's code from the exec's inspect (126/127 when berthd could
/// not execute / find the command, as dockerd).
struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Execute a command in a running container",
                                                    usage: "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]", helpNames: [.long])
    @Flag(name: [.short, .customLong("detach")], help: "Detached mode: run command in the background") var detach = false
    @Option(name: .customLong("detach-keys"), help: "Override the key sequence for detaching a container") var detachKeys: String?
    @Option(name: [.short, .customLong("env")], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFile: [String] = []
    @Flag(name: [.short, .customLong("interactive")], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: .customLong("privileged"), help: "Give extended privileges to the command") var privileged = false
    @Flag(name: [.short, .customLong("tty")], help: "Allocate a pseudo-TTY") var tty = false
    @Option(name: [.short, .customLong("user")], help: "Username or UID (format: \"<name|uid>[:<group|gid>]\")") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container") var workdir: String?
    @Argument(help: "The container") var container: String = ""
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments") var command: [String] = []

    func body() throws -> [String: Any] {
        var b: [String: Any] = ["Cmd": command, "Tty": tty, "AttachStdin": interactive && !detach,
                                "AttachStdout": !detach, "AttachStderr": !detach, "Privileged": privileged]
        var envs: [String] = []
        for f in envFile { envs += try ContainerCreateOptions.readEnvFile(f) }
        envs += env.compactMap(ContainerCreateOptions.expandEnv)
        if !envs.isEmpty { b["Env"] = envs }
        if let user { b["User"] = user }
        if let workdir { b["WorkingDir"] = workdir }
        if let detachKeys { b["DetachKeys"] = detachKeys }
        if detach { b["Detach"] = true }
        // The terminal's size from the first byte, as docker's CLI sends it (API 1.42+).
        if tty, let (h, w) = StreamPump.terminalSize() { b["ConsoleSize"] = [h, w] }
        return b
    }

    func run() throws {
        guard !container.isEmpty, !command.isEmpty else {
            throw CLIError(code: 1, "berth: 'berth exec' requires at least 2 arguments\n\nUsage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
                           + "See 'berth exec --help' for more information")
        }
        if tty && interactive && !detach && isatty(0) != 1 { throw CLIError("the input device is not a TTY") }
        if let detachKeys { _ = try StreamPump.parseKeys(detachKeys) }
        let client = try CLI.client()
        let created = try client.json("POST", "/containers/\(container)/exec", body: try body()) as? [String: Any] ?? [:]
        guard let execID = created["Id"] as? String, !execID.isEmpty else { throw CLIError("exec ID empty") }
        let start = try JSONSerialization.data(withJSONObject: ["Detach": detach, "Tty": tty], options: [.sortedKeys])
        if detach {
            try client.call("POST", "/exec/\(execID)/start", body: start)
            return
        }
        let (_, conn) = try client.hijack("POST", "/exec/\(execID)/start", body: start)
        let stdin = interactive
        let pump = StreamPump(conn: conn, tty: tty, stdin: stdin)
        if stdin && tty { pump.detachKeys = try StreamPump.parseKeys(detachKeys ?? "ctrl-p,ctrl-q") }
        if tty {
            pump.onResize = { h, w in _ = try? client.call("POST", "/exec/\(execID)/resize", query: [("h", String(h)), ("w", String(w))]) }
        }
        if pump.run() == .detached { return }
        let info = try client.json("GET", "/exec/\(execID)/json") as? [String: Any] ?? [:]
        let code = (info["ExitCode"] as? NSNumber)?.int32Value ?? 0
        if code != 0 { throw CLIError(code: code, "") }
    }
}
