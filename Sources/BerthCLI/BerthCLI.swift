import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth`: docker's command line over the Engine API. Global flags (`-H`, `-D`, `--log-level`)
/// come before the command, as with docker; everything after goes to ArgumentParser.
public enum BerthCLIMain {
    public static func run() -> Never {
        var args = Array(CommandLine.arguments.dropFirst())
        do {
            args = try CLI.takeGlobalFlags(args)
        } catch {
            CLI.fail(error)
        }
        if args.isEmpty { args = ["--help"] }
        do {
            var command = try Berth.parseAsRoot(args)
            try command.run()
            CLI.flush()
            exit(0)
        } catch {
            CLI.fail(error)
        }
    }
}

/// What a command needs beyond its flags: the daemon, and how to end.
enum CLI {
    nonisolated(unsafe) static var hostFlag: String?
    nonisolated(unsafe) static var debug = false
    nonisolated(unsafe) private static var cached: EngineClient?

    /// The client for `-H` / `BERTH_HOST` / `DOCKER_HOST` / the default socket.
    static func client() throws -> EngineClient {
        if let c = cached { return c }
        let c = EngineClient(host: try EngineHost.resolve(flag: hostFlag))
        cached = c
        return c
    }

    /// Removes docker's global flags from the front of argv.
    static func takeGlobalFlags(_ args: [String]) throws -> [String] {
        var rest = args[...]
        while let a = rest.first, a.hasPrefix("-") {
            func value() throws -> String {
                if let eq = a.firstIndex(of: "=") { rest = rest.dropFirst(); return String(a[a.index(after: eq)...]) }
                rest = rest.dropFirst()
                guard let v = rest.first else { throw CLIError.usage("flag needs an argument: \(a)") }
                rest = rest.dropFirst()
                return v
            }
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            switch name {
            case "-H", "--host": hostFlag = try value()
            case "-D", "--debug": debug = true; rest = rest.dropFirst()
            case "-l", "--log-level", "--config", "--context", "-c": _ = try value()
            case "-v", "--version": return ["version", "--short-banner"]
            case "--tls", "--tlsverify":
                throw CLIError.usage("TLS is not supported by berth; use unix:// or tcp:// on a trusted network")
            default: return Array(rest)
            }
        }
        return Array(rest)
    }

    static func flush() { fflush(nil) }

    /// Prints the error the way docker does and exits with its code.
    static func fail(_ error: Error) -> Never {
        fflush(nil)
        switch error {
        case let e as CLIError:
            if !e.message.isEmpty { FileHandle.standardError.write(Data((e.message + "\n").utf8)) }
            exit(e.code)
        case let e as EngineClientError:
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            exit(1)
        case let e as TemplateError:
            let text = e.message.hasPrefix("template") ? e.message : "template parsing error: " + e.message
            FileHandle.standardError.write(Data((text + "\n").utf8))
            exit(64)
        default:
            let code = Berth.exitCode(for: error)
            if code == .success { Berth.exit(withError: error) }
            // Usage errors: docker exits 125 for a bad flag, 1 for a missing argument.
            let msg = Berth.fullMessage(for: error)
            FileHandle.standardError.write(Data(("berth: " + msg + "\n").utf8))
            if code.rawValue != 64 { exit(code.rawValue) }
            exit(msg.contains("Missing expected argument") ? 1 : 125)
        }
    }
}

/// A command's failure with the exit code docker uses for it.
struct CLIError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    init(code: Int32 = 1, _ message: String) { self.code = code; self.message = message }
    static func usage(_ m: String) -> CLIError { CLIError(code: 125, "berth: " + m) }
    /// A daemon error in `run`/`create`: docker prints `docker: <message>.` and exits 125.
    static func run(_ e: Error) -> CLIError {
        if let c = e as? CLIError { return c.code == 1 ? CLIError(code: 125, "berth: " + c.message) : c }
        if let e = e as? EngineClientError { return CLIError(code: 125, "berth: " + e.description + ".") }
        return CLIError(code: 125, "berth: \(e)")
    }
    var description: String { message }
}

/// The command tree, as docker's.
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A self-sufficient runtime for containers (docker's command line, served by berthd).",
        subcommands: CommandTree.root,
        helpNames: [.long]
    )
}
