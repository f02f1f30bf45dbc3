import BerthEngineClient
import Foundation

/// What the list and prune commands share: docker's `--filter key=value` flags, the confirmation
/// prompt, and writing to stdout.
enum CommandSupport {
    /// `-f key=value` flags as the API's `filters` JSON, `{"key":{"value":true}}`; nil when none.
    static func filters(_ flags: [String]) throws -> String? {
        guard !flags.isEmpty else { return nil }
        var m: [String: [String: Bool]] = [:]
        for f in flags {
            guard let eq = f.firstIndex(of: "=") else { throw CLIError.usage("bad format of filter (expected name=value)") }
            let k = f[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let v = f[f.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            m[k, default: [:]][v] = true
        }
        let d = try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: d, as: UTF8.self)
    }

    static func filterQuery(_ flags: [String]) throws -> [(String, String)] {
        try filters(flags).map { [("filters", $0)] } ?? []
    }

    /// docker's `PromptForConfirmation`: the message and ` [y/N] ` on stdout, an answer on stdin.
    static func confirm(_ message: String) -> Bool {
        out(message + " [y/N] ")
        CLI.flush()
        guard let line = readLine() else { return false }
        let a = line.trimmingCharacters(in: .whitespaces).lowercased()
        return a == "y" || a == "yes"
    }

    static func out(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }
    static func err(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    /// A Foundation number or string as Int64 (JSON numbers arrive as NSNumber).
    static func int(_ v: Any?) -> Int64 {
        switch v {
        case let n as NSNumber: return n.int64Value
        case let s as String: return Int64(s) ?? 0
        default: return 0
        }
    }

    /// `sha256:abc…` → the first 12 hex digits (docker's `stringid.TruncateID`).
    static func shortID(_ id: String) -> String {
        var s = Substring(id)
        if let colon = s.firstIndex(of: ":") { s = s[s.index(after: colon)...] }
        return String(s.prefix(12))
    }

    /// Go's `time.Time.String()` for a Unix time: `2024-05-01 12:00:00 +0000 UTC`.
    static func goTime(_ unix: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix))) + " +0000 UTC"
    }

    /// docker's `inspect` commands: each object's JSON (`GET path(name)`) as one indented array or
    /// through `--format`; names the daemon does not know are reported after the output (exit 1).
    static func inspect(_ names: [String], kind: String, format: String?, query: [(String, String)] = [],
                        path: (String) -> String) throws {
        let client = try CLI.client()
        var values: [Any] = []
        var errors: [String] = []
        for n in names {
            do { values.append(try client.json("GET", path(n), query: query)) } catch { errors.append(message(error, kind: kind, name: n)) }
        }
        out(try inspectFormat(format, values: values))
        if !errors.isEmpty { throw CLIError(errors.joined(separator: "\n")) }
    }

    /// Runs `body` over each name, printing what it returns; failures go to stderr and make the
    /// command exit 1 at the end, as docker's `rm`-like commands do.
    static func each(_ names: [String], kind: String, _ body: (String) throws -> String?) throws {
        var failed = false
        for n in names {
            do {
                if let line = try body(n) { out(line + "\n") }
            } catch {
                failed = true
                err(message(error, kind: kind, name: n) + "\n")
            }
        }
        if failed { throw CLIError("") }
    }

    /// A 404 as the docker CLI words it (`Error: No such image: nope`); other errors as they are.
    static func message(_ error: Error, kind: String, name: String) -> String {
        if case EngineClientError.daemon(404, _) = error { return "Error: No such \(kind): \(name)" }
        return "\(error)"
    }
}
