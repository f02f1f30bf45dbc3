import Foundation

/// A .dockerignore file with moby/patternmatcher's semantics: `#` comments, blank lines skipped,
/// patterns cleaned like filepath.Clean with a leading "/" dropped, `*`/`?`/`[…]`/`**` globs, `!`
/// exceptions, the last matching pattern wins, and a path is excluded when it or a parent matches.
public struct DockerIgnore: Sendable {
    /// The cleaned patterns, exceptions keeping their leading "!".
    public var patterns: [String]
    let compiled: [IgnorePattern]

    /// Parses .dockerignore text; a malformed pattern (such as "[") is an error naming it and its line.
    public init(_ text: String) throws(DockerfileError) {
        var patterns: [String] = []
        var compiled: [IgnorePattern] = []
        for (offset, rawLine) in Dockerfile.splitLines(text).enumerated() {
            // As the docker CLI's ReadAll: a comment is a line whose very first character is "#".
            guard !rawLine.hasPrefix("#") else { continue }
            var pattern = rawLine.trimmingWhitespace()
            guard !pattern.isEmpty else { continue }
            let exclusion = pattern.hasPrefix("!")
            if exclusion { pattern = String(pattern.dropFirst()).trimmingWhitespace() }
            if !pattern.isEmpty {
                pattern = cleanPath(pattern)
                if pattern.count > 1 && pattern.hasPrefix("/") { pattern.removeFirst() }
            }
            if exclusion && pattern.isEmpty {
                throw DockerfileError(line: offset + 1, "illegal exclusion pattern: \"!\"")
            }
            do {
                compiled.append(try IgnorePattern(pattern, exclusion: exclusion))
            } catch {
                throw DockerfileError(line: offset + 1, "invalid .dockerignore pattern \"\(rawLine.trimmingWhitespace())\": \(error.message)")
            }
            patterns.append(exclusion ? "!" + pattern : pattern)
        }
        self.patterns = patterns
        self.compiled = compiled
    }

    /// True when `relativePath` ("/"-separated, relative to the context root) is ignored.
    public func excludes(_ relativePath: String) -> Bool {
        let file = cleanPath(relativePath)
        guard file != "." else { return false }
        let components = file.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let parents = (1..<max(components.count, 1)).map { components[0..<$0].joined(separator: "/") }
        var matched = false
        for pattern in compiled {
            // An inclusion cannot change an already excluded path, nor an exception an included one.
            if pattern.exclusion != matched { continue }
            let match = pattern.matches(file) || parents.contains(where: pattern.matches)
            if match { matched = !pattern.exclusion }
        }
        return matched
    }

    /// True when `relativeDir` is excluded and no exception pattern could re-include anything below
    /// it, so a walker may skip the whole tree.
    public func canSkipDirectory(_ relativeDir: String) -> Bool {
        guard excludes(relativeDir) else { return false }
        let components = cleanPath(relativeDir).split(separator: "/").map(String.init)
        return !compiled.contains { $0.exclusion && $0.couldMatchBelow(components) }
    }
}

/// One compiled pattern, matched the way patternmatcher's Pattern.match does.
struct IgnorePattern: Sendable {
    enum Kind: Sendable {
        case exact, prefix, suffix, regex
    }

    let text: String
    let exclusion: Bool
    let kind: Kind
    let regex: NSRegularExpressionBox?

    init(_ text: String, exclusion: Bool) throws(DockerfileError) {
        self.text = text
        self.exclusion = exclusion
        try checkGlobSyntax(text)
        let (kind, pattern) = compileGlob(text)
        self.kind = kind
        if kind == .regex {
            guard let regex = try? NSRegularExpression(pattern: pattern, options: []) else {
                throw DockerfileError(line: 0, "syntax error in pattern")
            }
            self.regex = NSRegularExpressionBox(regex)
        } else {
            self.regex = nil
        }
    }

    func matches(_ path: String) -> Bool {
        switch kind {
        case .exact:
            return path == text
        case .prefix:
            return path.hasPrefix(String(text.dropLast(2)))
        case .suffix:
            let suffix = String(text.dropFirst(2))
            if path.hasSuffix(suffix) { return true }
            return suffix.hasPrefix("/") && path == String(suffix.dropFirst())
        case .regex:
            guard let regex else { return false }
            return regex.matches(path)
        }
    }

    /// Conservatively, whether this pattern might match something strictly below the directory
    /// with these components: every leading pattern component must be able to match the directory's
    /// one, and a `**` component can match anything from there on.
    func couldMatchBelow(_ dir: [String]) -> Bool {
        let parts = text.split(separator: "/").map(String.init)
        for (index, component) in dir.enumerated() {
            guard index < parts.count else { return true }
            if parts[index].contains("**") { return true }
            guard let single = try? IgnorePattern(parts[index], exclusion: false), single.matches(component) else {
                return false
            }
        }
        return true
    }
}

/// NSRegularExpression is immutable and thread-safe once built; this wrapper says so to Swift 6.
final class NSRegularExpressionBox: @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ regex: NSRegularExpression) {
        self.regex = regex
    }

    func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..., in: text)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }
}

/// patternmatcher's compile: a glob to a kind and (for .regex) an anchored regular expression.
func compileGlob(_ pattern: String) -> (IgnorePattern.Kind, String) {
    var regex = "^"
    var kind = IgnorePattern.Kind.exact
    let chars = Array(pattern)
    var position = 0
    var index = 0
    var inClass = false
    while position < chars.count {
        let ch = chars[position]
        position += 1
        defer { index += 1 }
        if inClass {
            // Inside […] characters pass through; `\` escapes the next one.
            if ch == "]" { inClass = false }
            if ch == "\\", position < chars.count {
                regex += "\\" + String(chars[position])
                position += 1
            } else if ch == "[" || ch == "&" || ch == "-" && position < chars.count && chars[position] == "-" {
                regex += "\\" + String(ch)
            } else {
                regex.append(ch)
            }
            continue
        }
        switch ch {
        case "*":
            if position < chars.count && chars[position] == "*" {
                position += 1
                if position < chars.count && chars[position] == "/" { position += 1 }
                if position == chars.count {
                    if kind == .exact {
                        kind = .prefix
                    } else {
                        regex += ".*"
                        kind = .regex
                    }
                } else {
                    regex += "(.*/)?"
                    kind = .regex
                }
                if index == 0 { kind = .suffix }
            } else {
                regex += "[^/]*"
                kind = .regex
            }
        case "?":
            regex += "[^/]"
            kind = .regex
        case "\\":
            if position < chars.count {
                regex += NSRegularExpression.escapedPattern(for: String(chars[position]))
                position += 1
                kind = .regex
            } else {
                regex += "\\\\"
            }
        case "[":
            inClass = true
            regex += "["
            if position < chars.count && chars[position] == "^" {
                regex += "^"
                position += 1
            }
            kind = .regex
        case "]":
            regex += "\\]"
            kind = .regex
        default:
            regex += NSRegularExpression.escapedPattern(for: String(ch))
        }
    }
    return (kind, regex + "$")
}

/// Go's filepath.Match syntax check: `[` needs a closing `]` with at least one character or range
/// (`^` negates), ranges need both ends, and a trailing `\` is malformed.
func checkGlobSyntax(_ pattern: String) throws(DockerfileError) {
    let bad = DockerfileError(line: 0, "syntax error in pattern")
    let chars = Array(pattern)
    var position = 0
    func escapedChar() throws(DockerfileError) -> Character {
        guard position < chars.count, chars[position] != "-", chars[position] != "]" else { throw bad }
        var ch = chars[position]
        if ch == "\\" {
            position += 1
            guard position < chars.count else { throw bad }
            ch = chars[position]
        }
        position += 1
        return ch
    }
    while position < chars.count {
        let ch = chars[position]
        position += 1
        switch ch {
        case "\\":
            guard position < chars.count else { throw bad }
            position += 1
        case "[":
            if position < chars.count && chars[position] == "^" { position += 1 }
            var ranges = 0
            while true {
                if position < chars.count && chars[position] == "]" && ranges > 0 {
                    position += 1
                    break
                }
                let low = try escapedChar()
                if position < chars.count && chars[position] == "-" {
                    position += 1
                    let high = try escapedChar()
                    guard low <= high else { throw bad }
                }
                ranges += 1
            }
        default:
            break
        }
    }
}

/// Go's filepath.Clean for "/"-separated paths: duplicate slashes, "." and resolvable ".."
/// removed; "" becomes ".".
func cleanPath(_ path: String) -> String {
    let rooted = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." {
            if let last = parts.last, last != ".." {
                parts.removeLast()
            } else if !rooted {
                parts.append(part)
            }
            continue
        }
        parts.append(part)
    }
    let joined = parts.joined(separator: "/")
    if rooted { return "/" + joined }
    return joined.isEmpty ? "." : joined
}
