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
        // One list of commands, shared with the runc-style help.
        subcommands: Help.commands.map(\.type))
    public init() {}

    /// `--memory -1` means the value -1 (runc's CLI reads it so); ArgumentParser would take "-1"
    /// for a flag, so such pairs are joined into `--memory=-1`.
    static func joinNegativeValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append(a + "=" + args[i + 1]); i += 2; continue
            }
            out.append(a); i += 1
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        s.count > 1 && s.hasPrefix("-") && s.dropFirst().allSatisfy(\.isNumber)
    }

    /// Entry point for the thin main.
    public static func entry() -> Never {
        let argv = Array(CommandLine.arguments.dropFirst())
        let rest: [String]
        do { (globals, rest) = try GlobalOptions.split(argv) } catch { fail(error) }
        if Help.handle(rest) { Glibc.exit(0) }
        do {
            var cmd = try RuntimeCommand.parseAsRoot(joinNegativeValues(rest))
            try cmd.run()
            Glibc.exit(0)
        } catch {
            if error is RuntimeError { fail(error) }
            RuntimeCommand.exit(withError: error)
        }
    }
}
