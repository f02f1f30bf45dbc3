import ArgumentParser
import Glibc
import BerthOCI
import BerthSeccomp

/// Help and version in runc's (urfave/cli) layout: scripts and runc's own tests read them by line.
enum Help {
    /// The name we were invoked as: `runc` when installed as a drop-in.
    static var program: String {
        let a0 = CommandLine.arguments.first ?? "berth-runtime"
        return String(a0.split(separator: "/").last ?? "berth-runtime")
    }

    static let commands: [(name: String, usage: String, summary: String, type: ParsableCommand.Type)] = [
        ("checkpoint", "<container-id>", "checkpoint a running container", Checkpoint.self),
        ("create", "<container-id>", "create a container", Create.self),
        ("delete", "<container-id>", "delete any resources held by the container often used with detached container", Delete.self),
        ("events", "<container-id>", "display container events such as OOM notifications, cpu, memory, and IO usage statistics", Events.self),
        ("exec", "<container-id> <command> [command options]  || -p process.json <container-id>", "execute new process inside the container", Exec.self),
        ("kill", "<container-id> [signal]", "kill sends the specified signal (default: SIGTERM) to the container's init process", Kill.self),
        ("list", "", "lists containers started by \(program) with the given root", List.self),
        ("pause", "<container-id>", "pause suspends all processes inside the container", Pause.self),
        ("ps", "<container-id> [ps options]", "ps displays the processes running inside a container", Ps.self),
        ("restore", "<container-id>", "restore a container from a previous checkpoint", Restore.self),
        ("resume", "<container-id>", "resumes all processes that have been previously paused", Resume.self),
        ("run", "<container-id>", "create and run a container", Run.self),
        ("spec", "", "create a new specification file", SpecCmd.self),
        ("start", "<container-id>", "executes the user defined process in a created container", Start.self),
        ("state", "<container-id>", "output the state of a container", StateCmd.self),
        ("update", "<container-id>", "update container resource constraints", Update.self),
        ("features", "", "show the enabled features", FeaturesCmd.self),
    ]

    static func root() -> String {
        var s = "NAME:\n   \(program) - Open Container Initiative runtime\n\n"
        s += "USAGE:\n   \(program) [global options] command [command options] [arguments...]\n\n"
        s += "VERSION:\n   \(RuntimeCommand.version)\n\n"
        s += "DESCRIPTION:\n   \(program) (berth-runtime) runs containers from OCI bundles with runc's command line.\n\n"
        s += "COMMANDS:\n"
        for c in commands { s += "   " + pad(c.name, 12) + c.summary + "\n" }
        s += "   " + pad("help, h", 12) + "Shows a list of commands or help for one command\n\n"
        s += """
        GLOBAL OPTIONS:
           --debug             enable debug logging
           --log value         set the log file to write runc logs to (default is '/dev/stderr')
           --log-format value  set the log format ('text' (default), or 'json') (default: "text")
           --root value        root directory for storage of container state (default: "/run/berth/runtime")
           --systemd-cgroup    refused: berth-runtime manages cgroupfs directly
           --help, -h          show help
           --version, -v       print the version

        """
        return s
    }

    /// urfave's per-command help; the options come from ArgumentParser's own description.
    static func command(_ name: String) -> String? {
        guard let c = commands.first(where: { $0.name == name }) else { return nil }
        var s = "NAME:\n   \(program) \(c.name) - \(c.summary)\n\n"
        s += "USAGE:\n   \(program) \(c.name) [command options] \(c.usage)\n"
        let generated = c.type.helpMessage(columns: 100)
        let lines = generated.split(separator: "\n", omittingEmptySubsequences: false)
        if let i = lines.firstIndex(where: { $0.hasPrefix("OPTIONS:") }) {
            let opts = lines[(i + 1)...].filter { !$0.isEmpty }.map { "   " + $0.trimmingLeadingSpaces }
            s += "\nOPTIONS:\n" + opts.joined(separator: "\n") + "\n"
        }
        return s
    }

    static func version() -> String {
        "\(program) version \(RuntimeCommand.version)\ncommit: berth-runtime-\(RuntimeCommand.version)\nspec: \(Spec.version)\n" +
            "libseccomp: \(SeccompCompiler.libseccompVersion)\n"
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    /// Handles -h/--help/help and -v/--version the way runc does; returns false if argv is not a help request.
    static func handle(_ rest: [String]) -> Bool {
        let beforeDashDash = rest.prefix { $0 != "--" }
        if rest.isEmpty || rest == ["-h"] || rest == ["--help"] || rest == ["help"] || rest == ["h"] {
            Stdout.write(root()); return true
        }
        if rest.first == "--version" || rest.first == "-v" { Stdout.write(version()); return true }
        var topic: String?
        if (rest.first == "help" || rest.first == "h"), rest.count > 1 { topic = rest[1] }
        else if beforeDashDash.dropFirst().contains(where: { $0 == "-h" || $0 == "--help" }) { topic = rest[0] }
        guard let topic else { return false }
        guard let text = command(topic) else {
            FileHandleStderr.write("No help topic for '\(topic)'\n")
            exit(3)
        }
        Stdout.write(text)
        return true
    }
}

extension Substring {
    var trimmingLeadingSpaces: Substring { drop { $0 == " " } }
}

struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checkpoint a running container (needs CRIU: not supported).")
    @Argument var id: String
    func run() throws { perform { throw RuntimeError("checkpoint is not supported: berth-runtime has no CRIU support") } }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a container from a checkpoint (needs CRIU: not supported).")
    @Argument var id: String
    func run() throws { perform { throw RuntimeError("restore is not supported: berth-runtime has no CRIU support") } }
}
