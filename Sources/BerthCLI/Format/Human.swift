import Foundation

// docker's human-readable units (github.com/docker/go-units) and the `ps` Status text (moby's State.String()).

private func sizeAndUnit(_ size: Double, base: Double, units: [String]) -> (Double, String) {
    var size = size
    var i = 0
    while size >= base && i < units.count - 1 {
        size /= base
        i += 1
    }
    return (size, units[i])
}

/// go-units `HumanSizeWithPrecision(size, 3)`, decimal units, as `docker images` and `ps --size` print
/// sizes: `0B`, `999B`, `1kB`, `4.26MB`, `1.23GB`.
public func humanSize(_ size: Int64) -> String {
    humanSize(Double(size), precision: 3)
}

/// go-units `HumanSizeWithPrecision`: `%.*g` of the size in B, kB, MB, GB, TB, PB, EB, ZB, YB (base 1000),
/// falling back to `%.0f` where `%g` would switch to an exponent (999.9MB is `1000MB`, not `1e+03MB`).
public func humanSize(_ size: Double, precision: Int) -> String {
    let (value, unit) = sizeAndUnit(size, base: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"])
    let s = String(format: "%.\(precision)g", value)
    if s.contains("e") || s.contains("E") { return String(format: "%.0f", value) + unit }
    return s + unit
}

/// go-units `BytesSize`: `%.4g` in B, KiB, MiB, GiB, TiB, PiB (base 1024), as `docker stats` prints memory
/// (`1.953MiB`, `7.772GiB`).
public func bytesSize(_ size: Int64) -> String {
    let (value, unit) = sizeAndUnit(Double(size), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"])
    return String(format: "%.4g", value) + unit
}

/// go-units `HumanDuration`: "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
/// "About an hour", "N hours", then rounded "N days" (under 2 weeks), "N weeks" (under 2 months of 30 days),
/// "N months" (under 2 years of 365 days), "N years".
public func humanDuration(seconds: Double) -> String {
    let d = seconds
    let minute = 60.0, hour = 3600.0, day = 86400.0, week = 7 * 86400.0, month = 30 * 86400.0, year = 365 * 86400.0
    func truncated(_ x: Double) -> Int { x.isFinite ? Int(x.rounded(.towardZero)) : 0 }
    func round(_ unit: Double) -> Int { Int((d / unit + 0.5).rounded(.down)) }
    let s = truncated(d)
    if s < 1 { return "Less than a second" }
    if s == 1 { return "1 second" }
    if s < 60 { return "\(s) seconds" }
    let m = truncated(d / minute)
    if m == 1 { return "About a minute" }
    if m < 60 { return "\(m) minutes" }
    let h = round(hour)
    if h == 1 { return "About an hour" }
    if h < 48 { return "\(h) hours" }
    if d < 2 * week { return "\(round(day)) days" }
    if d < 2 * month { return "\(round(week)) weeks" }
    if d < 2 * year { return "\(round(month)) months" }
    return "\(round(year)) years"
}

/// `"\(humanDuration) ago"`, docker's CREATED column (`2 hours ago`).
public func ago(_ date: Date, now: Date = Date()) -> String {
    humanDuration(seconds: now.timeIntervalSince(date)) + " ago"
}

/// Parses the Engine API's RFC 3339 times with up to nanoseconds (`2026-11-24T19:02:02.123456789Z`,
/// `2024-01-02T03:04:05+01:00`). Go's zero time (`0001-01-01T00:00:00Z`, "never") and malformed text are nil.
public func parseDockerDate(_ s: String) -> Date? {
    let b = Array(s.utf8)
    func digits(_ from: Int, _ count: Int) -> Int? {
        guard from + count <= b.count else { return nil }
        var v = 0
        for c in b[from..<(from + count)] {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }
    guard b.count >= 20, let year = digits(0, 4), b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D,
          let dayOfMonth = digits(8, 2), b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
          let hour = digits(11, 2), b[13] == 0x3A, let minute = digits(14, 2), b[16] == 0x3A, let second = digits(17, 2),
          (1...12).contains(month), (1...31).contains(dayOfMonth), hour < 24, minute < 60, second < 61
    else { return nil }
    var i = 19
    var fraction = 0.0
    if i < b.count && (b[i] == 0x2E || b[i] == 0x2C) {
        i += 1
        var scale = 0.1
        let start = i
        while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 {
            fraction += Double(b[i] - 0x30) * scale
            scale /= 10
            i += 1
        }
        guard i > start else { return nil }
    }
    guard i < b.count else { return nil }
    var offset = 0
    if b[i] == 0x5A || b[i] == 0x7A {
        i += 1
    } else if b[i] == 0x2B || b[i] == 0x2D, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A, let om = digits(i + 4, 2) {
        offset = (oh * 3600 + om * 60) * (b[i] == 0x2D ? -1 : 1)
        i += 6
    } else {
        return nil
    }
    guard i == b.count else { return nil }
    if year == 1 && month == 1 && dayOfMonth == 1 && hour == 0 && minute == 0 && second == 0 && fraction == 0 && offset == 0 {
        return nil
    }
    // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + dayOfMonth - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
    return Date(timeIntervalSince1970: seconds)
}

/// The `STATUS` column of `docker ps` for a container in Engine API `state` (`created`, `running`,
/// `paused`, `restarting`, `removing`, `exited`, `dead`), as moby's State.String() words it:
/// "Up 5 seconds", "Up 2 minutes (healthy)", "Up 1 second (health: starting)", "Up 3 seconds (Paused)",
/// "Exited (0) 5 seconds ago", "Restarting (1) 2 seconds ago", "Created", "Removal In Progress", "Dead".
/// `health` is the healthcheck status (`starting`, `healthy`, `unhealthy`), nil or "none" without one.
public func containerStatus(
    state: String, startedAt: Date?, finishedAt: Date?, exitCode: Int, health: String?, now: Date = Date()
) -> String {
    func since(_ date: Date?) -> String { humanDuration(seconds: date.map { now.timeIntervalSince($0) } ?? 0) }
    switch state {
    case "running":
        if let health, !health.isEmpty, health != "none" {
            return "Up \(since(startedAt)) (\(health == "starting" ? "health: starting" : health))"
        }
        return "Up \(since(startedAt))"
    case "paused":
        return "Up \(since(startedAt)) (Paused)"
    case "restarting":
        return "Restarting (\(exitCode)) \(since(finishedAt)) ago"
    case "removing":
        return "Removal In Progress"
    case "dead":
        return "Dead"
    case "created":
        return "Created"
    default:
        guard startedAt != nil else { return "Created" }
        guard let finishedAt else { return "" }
        return "Exited (\(exitCode)) \(since(finishedAt)) ago"
    }
}
