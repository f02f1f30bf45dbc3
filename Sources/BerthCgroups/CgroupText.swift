// Parsing of the small text formats cgroup files use. Kept here so v1 and v2 share one
// definition of "a number", "max" and "key value" lines.

extension String {
    /// The string without leading and trailing whitespace (cgroup files end in a newline).
    var trimmed: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}

enum CgroupText {
    /// A cgroup number; `max` (unlimited) reads as `UInt64.max`, like runc's GetCgroupParamUint.
    /// Negative values (v1 reports `-1` in a few files) clamp to 0.
    static func uint(_ text: String) -> UInt64? {
        let value = text.trimmed
        if value == "max" { return UInt64.max }
        if let number = UInt64(value) { return number }
        if let number = Int64(value), number < 0 { return 0 }
        return nil
    }

    /// `key value` lines (memory.stat, cpu.stat, cpuacct.stat) as a dictionary; lines that do
    /// not end in a number are skipped.
    static func keyValues(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let value = uint(String(fields[1])) else { continue }
            result[String(fields[0])] = value
        }
        return result
    }

    /// Whitespace-separated numbers (cpuacct.usage_percpu).
    static func numbers(_ text: String) -> [UInt64] {
        text.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
    }

    /// The `pid` lines of cgroup.procs.
    static func pids(_ text: String) -> [Int32] {
        text.split(whereSeparator: \.isNewline).compactMap { Int32($0.trimmed) }
    }
}

extension Substring {
    fileprivate var trimmed: String { String(self).trimmed }
}

/// Joins a hierarchy mount point and a cgroup path that starts with `/`.
func joinPath(_ base: String, _ path: String) -> String {
    if path.isEmpty || path == "/" { return base }
    if base.hasSuffix("/") { return String(base.dropLast()) + path }
    return base + path
}

/// The parent directory of an absolute path (`/a/b` → `/a`, `/a` → `/`).
func parentPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "/" }
    let parent = String(path[..<slash])
    return parent.isEmpty ? "/" : parent
}
