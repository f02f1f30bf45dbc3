import ArgumentParser
import Glibc
import BerthOCI

/// `berth-runtime`: an OCI runtime with runc's command line.
public struct RuntimeCommand: ParsableCommand {
    public static let version = "0.1.0"
    public static let configuration = CommandConfiguration(
        commandName: "berth-runtime",
        abstract: "Run containers from OCI bundles (runc-compatible command line).",
        discussion: """
        Global flags (before the command): --root DIR (default /run/berth/runtime), --log FILE,
        --log-format text|json, --debug, --systemd-cgroup (not supported), --version.
        """,
        subcommands: [
            Create.self, Start.self, Run.self, StateCmd.self, Kill.self, Delete.self, List.self,
            Exec.self, Ps.self, Pause.self, Resume.self, Events.self, Update.self, FeaturesCmd.self, SpecCmd.self,
        ])
    public init() {}

    /// Entry point for the thin main.
    public static func entry() -> Never {
        let argv = Array(CommandLine.arguments.dropFirst())
        let rest: [String]
        do { (globals, rest) = try GlobalOptions.split(argv) } catch { fail(error) }
        if rest.first == "--version" || rest.first == "-v" {
            print("berth-runtime version \(version)\nspec: \(Spec.version)")
            Glibc.exit(0)
        }
        do {
            var cmd = try RuntimeCommand.parseAsRoot(rest)
            try cmd.run()
            Glibc.exit(0)
        } catch {
            if error is RuntimeError { fail(error) }
            RuntimeCommand.exit(withError: error)
        }
    }
}
