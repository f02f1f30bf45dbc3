import BerthEngineClient
import Foundation

/// What the multi-container commands (stop, kill, rm, pause, …) share: docker runs the call for
/// every argument, prints the argument when it succeeded and the error on stderr when it did not,
/// and exits 1 if any failed.
enum ContainerBatch {
    /// `action` per name; `output` is what to print on success (the name by default, nil for nothing).
    static func run(_ names: [String], output: (String) -> String? = { $0 }, _ action: (String) throws -> Void) throws {
        var failed = false
        for name in names {
            do {
                try action(name)
                if let line = output(name) { print(line) }
            } catch {
                failed = true
                CLI.flush()
                FileHandle.standardError.write(Data((Self.message(error) + "\n").utf8))
            }
        }
        if failed { throw CLIError(code: 1, "") }
    }

    /// An error as docker prints it for one argument.
    static func message(_ error: Error) -> String {
        switch error {
        case let e as EngineClientError: return e.description
        case let e as CLIError: return e.message
        default: return "\(error)"
        }
    }
}

/// `-f key=value` flags as the Engine API's `filters` JSON: `{"key":{"value":true}}`.
enum FilterArgs {
    static func query(_ flags: [String]) throws -> [(String, String)] {
        guard !flags.isEmpty else { return [] }
        var m: [String: [String: Bool]] = [:]
        for f in flags {
            guard let eq = f.firstIndex(of: "=") else {
                throw CLIError.usage("invalid argument \"\(f)\" for \"-f, --filter\" flag: bad format of filter (expected name=value)")
            }
            let key = f[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = f[f.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            m[key, default: [:]][value] = true
        }
        let data = try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys, .withoutEscapingSlashes])
        return [("filters", String(decoding: data, as: UTF8.self))]
    }
}

/// Go's net.JoinHostPort: IPv6 hosts in brackets.
func joinHostPort(_ host: String, _ port: String) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

/// Go's stringid.TruncateID: the part after any `algo:` prefix, at most 12 characters.
func truncateID(_ id: String) -> String {
    var s = Substring(id)
    if let colon = s.firstIndex(of: ":") { s = s[s.index(after: colon)...] }
    return String(s.prefix(12))
}

/// Reads a confirmation the way docker's prompts do: only "y" or "Y" (trimmed) is yes.
func confirm(_ prompt: String) -> Bool {
    writeAll(1, Array(prompt.utf8))
    CLI.flush()
    guard let line = readLine(strippingNewline: true) else { return false }
    return line.trimmingCharacters(in: .whitespaces).lowercased() == "y"
}
