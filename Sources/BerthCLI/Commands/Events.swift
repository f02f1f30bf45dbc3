import ArgumentParser
import Foundation

/// `berth events` / `berth system events`: `GET /events`, one line per event as docker prints it:
/// `2026-11-24T19:02:02.123456789Z container start <id> (image=busybox, name=x)`.
struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Get real time events from the server", usage: "berth events [OPTIONS]", helpNames: [.long])

    @Option(name: [.short, .customLong("filter")], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Option(name: .customLong("since"), help: "Show all events created since timestamp") var since: String?
    @Option(name: .customLong("until"), help: "Stream events until this timestamp") var until: String?

    func run() throws {
        var q = try CommandSupport.filterQuery(filter)
        let now = Date()
        if let since { q.append(("since", try Self.timestamp(since, now: now))) }
        if let until { q.append(("until", try Self.timestamp(until, now: now))) }
        // `json` prints each event as the daemon sent it.
        let template = try format.flatMap { $0 == "json" ? nil : try GoTemplate($0) }
        let reader = try CLI.client().open("GET", "/events", query: q)
        while let line = try reader.nextLine() {
            guard !line.isEmpty, let e = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let template {
                CommandSupport.out(try template.render(Self.templateContext(e)) + "\n")
            } else if format != nil {
                CommandSupport.out(line + "\n")
            } else {
                CommandSupport.out(Self.line(e))
            }
            CLI.flush()
        }
    }

    /// The event as Go sees docker's `events.Message`: its JSON plus the Go field names whose
    /// JSON keys differ (`time` → `.Time`, `timeNano` → `.TimeNano`, and the old `id`/`status`/`from`).
    static func templateContext(_ e: [String: Any]) -> [String: Any] {
        var c = e
        for (json, go) in [("time", "Time"), ("timeNano", "TimeNano"), ("id", "ID"), ("status", "Status"), ("from", "From")]
        where c[go] == nil {
            c[go] = e[json] ?? ""
        }
        return c
    }

    /// docker's `prettyPrintEvent`.
    static func line(_ e: [String: Any], timeZone: TimeZone = .current) -> String {
        var out = ""
        let nano = CommandSupport.int(e["timeNano"])
        let secs = CommandSupport.int(e["time"])
        if nano != 0 { out += rfc3339NanoFixed(nano, timeZone: timeZone) + " " } else if secs != 0 { out += rfc3339NanoFixed(secs * 1_000_000_000, timeZone: timeZone) + " " }
        let actor = e["Actor"] as? [String: Any] ?? [:]
        out += "\(e["Type"] as? String ?? "") \(e["Action"] as? String ?? "") \(actor["ID"] as? String ?? "")"
        let attrs = actor["Attributes"] as? [String: Any] ?? [:]
        if !attrs.isEmpty {
            out += " (" + attrs.keys.sorted().map { "\($0)=\(attrs[$0].map { "\($0)" } ?? "")" }.joined(separator: ", ") + ")"
        }
        return out + "\n"
    }

    /// Go's `2006-01-02T15:04:05.000000000Z07:00` in the given zone.
    static func rfc3339NanoFixed(_ nanos: Int64, timeZone: TimeZone) -> String {
        let secs = nanos / 1_000_000_000, frac = nanos % 1_000_000_000
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let date = Date(timeIntervalSince1970: TimeInterval(secs))
        let offset = timeZone.secondsFromGMT(for: date)
        let zone = offset == 0 ? "Z" : String(format: "%@%02d:%02d", offset < 0 ? "-" : "+", abs(offset) / 3600, abs(offset) % 3600 / 60)
        return f.string(from: date) + String(format: ".%09lld", frac) + zone
    }

    /// docker's `timetypes.GetTimestamp`: a Unix timestamp as is, a Go duration (`10m`, `1h30m`)
    /// back from now, or an RFC 3339 date (or date and time without a zone, as UTC).
    static func timestamp(_ value: String, now: Date) throws -> String {
        if value.allSatisfy({ $0.isNumber || $0 == "." }), Double(value) != nil { return value }
        if let d = goDuration(value) {
            return unix(now.addingTimeInterval(-d))
        }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: value) { return unix(d) }
        iso.formatOptions = [.withInternetDateTime]
        if let d = iso.date(from: value) { return unix(d) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        for layout in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = layout
            if let d = f.date(from: value) { return unix(d) }
        }
        throw CLIError("failed to parse value as time or duration: \"\(value)\"")
    }

    static func unix(_ d: Date) -> String {
        let t = d.timeIntervalSince1970
        let s = Int64(t.rounded(.down))
        return String(format: "%lld.%09lld", s, Int64(((t - Double(s)) * 1e9).rounded()))
    }

    /// `1h30m`, `10s`, `1.5h`, `300ms` in seconds; nil when not a Go duration.
    static func goDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("h", 3600), ("m", 60), ("s", 1)]
        var rest = Substring(s), total = 0.0
        var negative = false
        if rest.first == "-" { negative = true; rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let num = rest.prefix { $0.isNumber || $0 == "." }
            guard let n = Double(num) else { return nil }
            rest = rest.dropFirst(num.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            total += n * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return negative ? -total : total
    }
}
