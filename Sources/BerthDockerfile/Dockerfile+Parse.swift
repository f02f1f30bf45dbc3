import Foundation

extension Dockerfile {
    /// Parses a whole Dockerfile: parser directives, instructions (continuations, comments,
    /// heredocs), then groups them into stages and checks every instruction's flags and arguments.
    public static func parse(_ text: String) throws(DockerfileError) -> Dockerfile {
        var reader = LineReader(lines: splitLines(text), escape: "\\", directivesDone: false, lineOffset: 0)
        let instructions = try reader.readAll()
        guard !instructions.isEmpty else {
            throw DockerfileError(line: 0, "file with no instructions")
        }
        var metaArgs: [Instruction] = []
        var stages: [Stage] = []
        for instruction in instructions {
            try instruction.validate(escape: reader.escape)
            if instruction.keyword == "FROM" {
                var name: String?
                if case .from(_, let stageName, _) = try instruction.decode(nil) {
                    name = stageName
                }
                stages.append(Stage(index: stages.count, name: name, from: instruction, instructions: []))
            } else if stages.isEmpty {
                // Only ARG may come before the first FROM (Docker's "meta args").
                guard instruction.keyword == "ARG" else {
                    throw DockerfileError(line: instruction.line, "no build stage in current context")
                }
                metaArgs.append(instruction)
            } else {
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
        guard !stages.isEmpty else {
            throw DockerfileError(line: 0, "no build stage in current context")
        }
        return Dockerfile(escape: reader.escape, metaArgs: metaArgs, stages: stages)
    }

    /// One instruction from text (ONBUILD triggers run later): same rules as in a file, with
    /// `line` as the first line's number for errors.
    public static func parseInstruction(_ text: String, line: Int, escape: Character) throws(DockerfileError) -> Instruction {
        var reader = LineReader(lines: splitLines(text), escape: escape, directivesDone: true, lineOffset: line - 1)
        let instructions = try reader.readAll()
        guard instructions.count == 1 else {
            throw DockerfileError(line: line, instructions.isEmpty ? "file with no instructions" : "expected one instruction, found \(instructions.count)")
        }
        try instructions[0].validate(escape: escape)
        return instructions[0]
    }

    /// Lines as bufio.Scanner gives them: split on "\n", a trailing "\r" dropped, no empty last line
    /// for a final newline, the UTF-8 byte-order mark removed.
    static func splitLines(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            return String(decoding: trimmed, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") {
            lines[0] = String(first.dropFirst())
        }
        return lines
    }
}

/// BuildKit's line machine: directives at the top, comments dropped (also inside continuation
/// runs), the escape character at a line's end joining lines, heredoc bodies read after their line.
struct LineReader {
    let lines: [String]
    var escape: Character
    var directivesDone: Bool
    let lineOffset: Int
    var index = 0
    var seenDirectives: Set<String> = []

    init(lines: [String], escape: Character, directivesDone: Bool, lineOffset: Int) {
        self.lines = lines
        self.escape = escape
        self.directivesDone = directivesDone
        self.lineOffset = lineOffset
    }

    static let knownKeywords: Set<String> = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]
    static let jsonKeywords: Set<String> = ["RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"]
    static let heredocKeywords: Set<String> = ["RUN", "COPY", "ADD"]

    mutating func readAll() throws(DockerfileError) -> [Instruction] {
        var instructions: [Instruction] = []
        while index < lines.count {
            let token = lines[index].trimmingLeadingWhitespace()
            index += 1
            let startLine = index + lineOffset
            try parseDirective(token)
            var (line, endOfLine) = trimContinuation(isComment(token) ? "" : token)
            if endOfLine && line.isEmpty { continue }
            while !endOfLine && index < lines.count {
                let raw = lines[index]
                index += 1
                try parseDirective(raw.trimmingLeadingWhitespace())
                // Comment lines and blank lines inside a continuation run are dropped; the run goes on.
                if isComment(raw) || raw.allSatisfy(\.isWhitespace) { continue }
                let (part, end) = trimContinuation(raw)
                line += part
                endOfLine = end
            }
            var instruction = try makeInstruction(line, startLine: startLine)
            if Self.heredocKeywords.contains(instruction.keyword), instruction.json == nil, line.contains("<<") {
                for spec in heredocSpecs(in: line) {
                    instruction.heredocs.append(try readHeredoc(spec, startLine: startLine))
                }
            }
            instruction.endLine = index + lineOffset
            instructions.append(instruction)
        }
        return instructions
    }

    func isComment(_ line: String) -> Bool {
        line.trimmingLeadingWhitespace().hasPrefix("#")
    }

    /// Removes a trailing escape character (plus spaces/tabs after it); false when one was removed.
    func trimContinuation(_ line: String) -> (String, Bool) {
        var trimmed = Substring(line)
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        guard trimmed.last == escape else { return (line, true) }
        trimmed.removeLast()
        return (String(trimmed), false)
    }

    /// `# key=value` lines before anything else; the first other line (blank lines and ordinary
    /// comments included) ends the directive block for good.
    mutating func parseDirective(_ token: String) throws(DockerfileError) {
        guard !directivesDone else { return }
        guard let (key, value) = Self.matchDirective(token) else {
            directivesDone = true
            return
        }
        guard key == "escape" || key == "syntax" || key == "check" else {
            // Docker treats an unknown directive as a comment, and later directives as comments too.
            directivesDone = true
            return
        }
        guard seenDirectives.insert(key).inserted else {
            throw DockerfileError(line: index + lineOffset, "only one \(key) parser directive can be used")
        }
        if key == "escape" {
            guard value == "`" || value == "\\", let character = value.first else {
                throw DockerfileError(line: index + lineOffset, "invalid escape token '\(value)' does not match ` or \\")
            }
            escape = character
        }
    }

    /// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, with the key lowercased.
    static func matchDirective(_ token: String) -> (String, String)? {
        var rest = Substring(token)
        guard rest.first == "#" else { return nil }
        rest = rest.dropFirst().drop(while: \.isWhitespace)
        guard let first = rest.first, first.isASCII, first.isLetter else { return nil }
        let key = rest.prefix(while: { $0.isASCII && ($0.isLetter || $0.isNumber) })
        rest = rest.dropFirst(key.count).drop(while: \.isWhitespace)
        guard rest.first == "=" else { return nil }
        let value = rest.dropFirst().trimmingWhitespace()
        guard !value.isEmpty else { return nil }
        return (key.lowercased(), value)
    }

    func makeInstruction(_ line: String, startLine: Int) throws(DockerfileError) -> Instruction {
        let original = line.trimmingWhitespace()
        let keywordText = original.prefix(while: { !$0.isWhitespace })
        let keyword = keywordText.uppercased()
        guard Self.knownKeywords.contains(keyword) else {
            throw DockerfileError(line: startLine, "unknown instruction: \(keyword)")
        }
        let (remaining, flags) = extractFlags(String(original.dropFirst(keywordText.count)))
        let arguments = remaining.trimmingWhitespace()
        var json: [String]?
        if Self.jsonKeywords.contains(keyword) {
            do {
                json = try parseJSONStringArray(arguments)
            } catch {
                throw error.at(line: startLine)
            }
        }
        return Instruction(
            keyword: keyword, line: startLine, endLine: startLine, original: original, flags: flags,
            arguments: arguments, json: json)
    }

    mutating func readHeredoc(_ spec: HeredocSpec, startLine: Int) throws(DockerfileError) -> Heredoc {
        var content = ""
        while index < lines.count {
            var body = Substring(lines[index])
            index += 1
            if spec.chomp { body = body.drop(while: { $0 == "\t" }) }
            if body == spec.name {
                return Heredoc(delimiter: spec.name, content: content, expand: spec.expand)
            }
            content += body + "\n"
        }
        throw DockerfileError(line: startLine, "unterminated heredoc")
    }
}

/// A heredoc introduced on an instruction line: `<<NAME`, `<<-NAME`, `<<"NAME"`, `<<'NAME'`.
struct HeredocSpec: Equatable {
    var name: String
    var chomp: Bool
    var expand: Bool
}

/// The heredocs a RUN/COPY/ADD line introduces: its words, lexed with quotes and escapes kept,
/// that have the form `[n]<<[-]word`.
func heredocSpecs(in line: String) -> [HeredocSpec] {
    var lex = ShellLex(escape: "\\")
    lex.rawQuotes = true
    lex.rawEscapes = true
    guard let words = try? lex.processWords(line, env: [:]) else { return [] }
    return words.compactMap(parseHeredocWord)
}

/// BuildKit's ParseHeredoc: `^(\d*)<<(-?)([^<]*)$`; the delimiter is one shell word, and it
/// expands its body unless some part of it was quoted.
func parseHeredocWord(_ word: String) -> HeredocSpec? {
    var rest = Substring(word).drop(while: { $0.isASCII && $0.isNumber })
    guard rest.hasPrefix("<<") else { return nil }
    rest = rest.dropFirst(2)
    let chomp = rest.first == "-"
    if chomp { rest = rest.dropFirst() }
    guard !rest.isEmpty, !rest.contains("<") else { return nil }
    var lex = ShellLex(escape: "\\")
    lex.skipUnsetEnv = true
    guard let words = try? lex.processWords(String(rest), env: [:]), words.count == 1 else { return nil }
    lex.rawQuotes = true
    guard let raw = try? lex.processWords(String(rest), env: [:]), raw.count == 1 else { return nil }
    func quotes(_ text: String) -> Int { text.filter { $0 == "'" || $0 == "\"" }.count }
    return HeredocSpec(name: words[0], chomp: chomp, expand: quotes(words[0]) == quotes(raw[0]))
}

/// BuildKit's extractBuilderFlags: leading words starting with `--` (quotes removed, `\` escaping),
/// up to the first other word or a bare `--`.
func extractFlags(_ text: String) -> (remaining: String, flags: [Flag]) {
    let chars = Array(text)
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var blankOK = false
    var position = 0

    func flag(_ word: String) -> Flag {
        let body = word.dropFirst(2)
        guard let equals = body.firstIndex(of: "=") else { return Flag(name: String(body), value: nil) }
        return Flag(name: String(body[..<equals]), value: String(body[body.index(after: equals)...]))
    }

    while position <= chars.count {
        if !inWord {
            guard position < chars.count else { break }
            let ch = chars[position]
            if ch.isWhitespace {
                position += 1
                continue
            }
            guard ch == "-", position + 1 < chars.count, chars[position + 1] == "-" else {
                return (String(chars[position...]), words.map(flag))
            }
            inWord = true
        }
        guard position < chars.count else {
            if word != "--" && (blankOK || !word.isEmpty) { words.append(word) }
            break
        }
        var ch = chars[position]
        if let open = quote {
            if ch == open {
                quote = nil
                position += 1
                continue
            }
        } else if ch.isWhitespace {
            inWord = false
            if word == "--" { return (String(chars[position...]), words.map(flag)) }
            if blankOK || !word.isEmpty { words.append(word) }
            word = ""
            blankOK = false
            position += 1
            continue
        } else if ch == "'" || ch == "\"" {
            quote = ch
            blankOK = true
            position += 1
            continue
        }
        if ch == "\\" {
            if position + 1 == chars.count {
                position += 1
                continue
            }
            position += 1
            ch = chars[position]
        }
        word.append(ch)
        position += 1
    }
    return ("", words.map(flag))
}

/// The arguments as a JSON array of strings, nil when they are not a JSON array (shell form).
/// Like Go's json.Decoder, only the first JSON value is read: text after the array is ignored.
func parseJSONStringArray(_ text: String) throws(DockerfileError) -> [String]? {
    guard text.hasPrefix("["), let end = endOfFirstJSONArray(text) else { return nil }
    let data = Data(text.utf8.prefix(end))
    guard let array = (try? JSONSerialization.jsonObject(with: data, options: [])) as? [Any] else { return nil }
    var strings: [String] = []
    for element in array {
        guard let string = element as? String else {
            throw DockerfileError(line: 0, "when using JSON array syntax, arrays must be comprised of strings only")
        }
        strings.append(string)
    }
    return strings
}

/// The UTF-8 length of the leading bracketed value, skipping brackets inside strings.
private func endOfFirstJSONArray(_ text: String) -> Int? {
    var depth = 0
    var inString = false
    var escaped = false
    for (offset, byte) in text.utf8.enumerated() {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            continue
        }
        switch byte {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            depth -= 1
            if depth == 0 { return offset + 1 }
        default: break
        }
    }
    return nil
}

extension StringProtocol {
    func trimmingLeadingWhitespace() -> String {
        String(drop(while: \.isWhitespace))
    }

    func trimmingWhitespace() -> String {
        let start = drop(while: \.isWhitespace)
        var end = start[...]
        while let last = end.last, last.isWhitespace { end = end.dropLast() }
        return String(end)
    }
}
