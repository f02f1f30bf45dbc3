import ArgumentParser
import Glibc
import BerthOS

/// runc's global flags. They come before the command (`berth-runtime --root X create …`),
/// so they are split off argv before ArgumentParser sees the command.
public struct GlobalOptions: Sendable {
    public var root = "/run/berth/runtime"
    public var log: String?
    public var logFormat = "text"
    public var debug = false
    public var systemdCgroup = false
    public var rootless: String?

    /// Splits argv into the global flags and the rest; throws on a bad flag value.
    public static func split(_ argv: [String]) throws(RuntimeError) -> (GlobalOptions, [String]) {
        var g = GlobalOptions()
        var i = 0
        func value(_ name: String) throws(RuntimeError) -> String {
            let arg = argv[i]
            if let eq = arg.firstIndex(of: "=") { return String(arg[arg.index(after: eq)...]) }
            i += 1
            guard i < argv.count else { throw RuntimeError("flag needs an argument: \(name)") }
            return argv[i]
        }
        while i < argv.count {
            let arg = argv[i]
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            switch name {
            case "--root": g.root = try value(name)
            case "--log": g.log = try value(name)
            case "--log-format":
                g.logFormat = try value(name)
                guard g.logFormat == "text" || g.logFormat == "json" else {
                    throw RuntimeError("invalid log-format: \(g.logFormat) (must be text or json)")
                }
            case "--debug": g.debug = true
            case "--systemd-cgroup": g.systemdCgroup = true
            case "--rootless": g.rootless = try value(name)
            case "--criu": _ = try value(name)
            default:
                return (g, Array(argv[i...]))
            }
            i += 1
        }
        return (g, [])
    }

    var logger: RuntimeLogger { RuntimeLogger(path: log, json: logFormat == "json", debug: debug) }

    func runtime() throws(RuntimeError) -> Runtime {
        if systemdCgroup {
            throw RuntimeError("--systemd-cgroup is not supported: berth-runtime manages cgroupfs directly; use cgroupsPath like /berth/<id>")
        }
        return Runtime(root: FS.absolute(root), log: logger)
    }
}

/// Set once in main before parsing, read by commands.
nonisolated(unsafe) var globals = GlobalOptions()

/// Exit with a runtime error the way runc does: message on stderr and in --log.
func fail(_ e: any Error, exitCode: Int32 = 1) -> Never {
    let msg = (e as? RuntimeError)?.message ?? "\(e)"
    globals.logger.error(msg)
    FileHandleStderr.write("\(Help.program): \(msg)\n")
    exit(exitCode)
}

/// Runs a command body, turning errors into runc-style failures.
func perform(exitCode: Int32 = 1, _ body: () throws -> Void) {
    do { try body() } catch { fail(error, exitCode: exitCode) }
}
