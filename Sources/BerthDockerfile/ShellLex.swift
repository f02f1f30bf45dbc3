/// Docker's shell-word lexer (BuildKit `frontend/dockerfile/shell/lex.go`): expands `$VAR`,
/// `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`, `${VAR:?msg}`, `${VAR?msg}`, removes
/// single and double quotes, and honours the Dockerfile's escape character.
///
/// It is not a shell: there is no command substitution, globbing or arithmetic, exactly as in Docker.
public struct ShellLex: Sendable {
    /// The escape character (`\` or the `` ` `` chosen by an `# escape=` directive).
    public let escape: Character
    /// Keep quote characters in the output (BuildKit's RawQuotes): heredoc bodies and heredoc names.
    var rawQuotes = false
    /// Keep escape characters in the output (BuildKit's RawEscapes).
    var rawEscapes = false
    /// Leave references to unset variables as written instead of expanding them to "".
    var skipUnsetEnv = false

    /// A lexer using `escape` as the escape character.
    public init(escape: Character) {
        self.escape = escape
    }

    /// Expands `word` as one word: quotes removed, whitespace kept, no splitting.
    public func processWord(_ word: String, env: [String: String]) throws(DockerfileError) -> String {
        var scanner = WordScanner(text: Array(word), lex: self, env: env)
        return try scanner.processStop(on: nil).text
    }

    /// Expands `word` and splits it on whitespace that is neither quoted nor escaped. Whitespace that
    /// comes from an unquoted variable's value splits too, as in Docker.
    public func processWords(_ word: String, env: [String: String]) throws(DockerfileError) -> [String] {
        var scanner = WordScanner(text: Array(word), lex: self, env: env)
        return try scanner.processStop(on: nil).words
    }

    /// Expands variables in a COPY/ADD heredoc body: quotes stay (BuildKit's ExpandRaw), escapes are
    /// processed so that `\$` yields a literal dollar.
    public func expandHeredoc(_ content: String, env: [String: String]) throws(DockerfileError) -> String {
        var raw = self
        raw.rawQuotes = true
        return try raw.processWord(content, env: env)
    }
}

/// Collects the words of a lexed string: unquoted whitespace ends a word, quoted text never does.
private struct WordCollector {
    var words: [String] = []
    var word = ""
    var inWord = false

    mutating func addChar(_ ch: Character) {
        if ch.isWhitespace {
            if inWord && !word.isEmpty {
                words.append(word)
                word = ""
                inWord = false
            }
        } else {
            addRawChar(ch)
        }
    }

    mutating func addRawChar(_ ch: Character) {
        word.append(ch)
        inWord = true
    }

    mutating func addString(_ text: String) {
        for ch in text { addChar(ch) }
    }

    mutating func addRawString(_ text: String) {
        word += text
        inWord = true
    }

    func finished() -> [String] {
        word.isEmpty ? words : words + [word]
    }
}

private struct WordScanner {
    let text: [Character]
    let lex: ShellLex
    let env: [String: String]
    var position = 0

    init(text: [Character], lex: ShellLex, env: [String: String]) {
        self.text = text
        self.lex = lex
        self.env = env
    }

    func peek() -> Character? {
        position < text.count ? text[position] : nil
    }

    mutating func next() -> Character? {
        guard position < text.count else { return nil }
        defer { position += 1 }
        return text[position]
    }

    static func fail(_ message: String) -> DockerfileError {
        DockerfileError(line: 0, message)
    }

    mutating func processStop(on stop: Character?) throws(DockerfileError) -> (text: String, words: [String]) {
        var result = ""
        var words = WordCollector()
        scan: while let ch = peek() {
            if let stop, ch == stop {
                position += 1
                return (result, words.finished())
            }
            switch ch {
            case "'":
                let quoted = try singleQuoted()
                result += quoted
                words.addRawString(quoted)
            case "\"":
                let quoted = try doubleQuoted()
                result += quoted
                words.addRawString(quoted)
            case "$":
                let value = try dollar()
                result += value
                words.addString(value)
            default:
                position += 1
                var out = ch
                if ch == lex.escape {
                    if lex.rawEscapes {
                        words.addRawChar(ch)
                        result.append(ch)
                    }
                    // An escape at the very end of the text is dropped, as in Docker.
                    guard let escaped = next() else { break scan }
                    out = escaped
                    words.addRawChar(escaped)
                } else {
                    words.addChar(ch)
                }
                result.append(out)
            }
        }
        if let stop {
            throw Self.fail("unexpected end of statement while looking for matching \(stop)")
        }
        return (result, words.finished())
    }

    /// Everything up to the next `'` is literal; a single quote cannot be escaped inside.
    mutating func singleQuoted() throws(DockerfileError) -> String {
        position += 1
        var result = lex.rawQuotes ? "'" : ""
        while true {
            guard let ch = next() else {
                throw Self.fail("unexpected end of statement while looking for matching single-quote")
            }
            if ch == "'" {
                if lex.rawQuotes { result.append(ch) }
                return result
            }
            result.append(ch)
        }
    }

    /// Text up to the next unescaped `"`, with `$` expansions; the escape character only escapes
    /// `"`, `$` and itself, anything else keeps it.
    mutating func doubleQuoted() throws(DockerfileError) -> String {
        position += 1
        var result = lex.rawQuotes ? "\"" : ""
        while true {
            guard let ch = peek() else {
                throw Self.fail("unexpected end of statement while looking for matching double-quote")
            }
            switch ch {
            case "\"":
                position += 1
                if lex.rawQuotes { result.append(ch) }
                return result
            case "$":
                result += try dollar()
            default:
                position += 1
                var out = ch
                if ch == lex.escape {
                    if lex.rawEscapes { result.append(ch) }
                    guard let following = peek() else { continue }
                    if following == "\"" || following == "$" || following == lex.escape {
                        position += 1
                        out = following
                    }
                }
                result.append(out)
            }
        }
    }

    func lookup(_ name: String) -> String? {
        env[name]
    }

    mutating func dollar() throws(DockerfileError) -> String {
        position += 1
        guard peek() == "{" else {
            let name = processName()
            if name.isEmpty { return "$" }
            if let value = lookup(name) { return value }
            return lex.skipUnsetEnv ? "$" + name : ""
        }
        position += 1
        switch peek() {
        case nil:
            throw Self.fail("syntax error: missing '}'")
        case "{", "}", ":":
            throw Self.fail("syntax error: bad substitution")
        default:
            break
        }
        let name = processName()
        guard let ch = next() else {
            throw Self.fail("syntax error: missing '}'")
        }
        let value = lookup(name)
        switch ch {
        case "}":
            if value == nil && lex.skipUnsetEnv { return "${\(name)}" }
            return value ?? ""
        case ":":
            guard let modifier = next() else {
                throw Self.fail("syntax error: missing '}'")
            }
            let word = try modifierWord()
            switch modifier {
            case "+":
                return (value ?? "").isEmpty ? "" : word
            case "-":
                return (value ?? "").isEmpty ? word : (value ?? "")
            case "?":
                guard let value else {
                    throw Self.fail("\(name): \(word.isEmpty ? "is not allowed to be unset" : word)")
                }
                if value.isEmpty {
                    throw Self.fail("\(name): \(word.isEmpty ? "is not allowed to be empty" : word)")
                }
                return value
            default:
                throw Self.fail("unsupported modifier (\(modifier)) in substitution")
            }
        case "+", "-", "?":
            let word = try modifierWord()
            switch ch {
            case "+":
                return value == nil ? "" : word
            case "-":
                return value ?? word
            default:
                guard let value else {
                    throw Self.fail("\(name): \(word.isEmpty ? "is not allowed to be unset" : word)")
                }
                return value
            }
        default:
            throw Self.fail("unsupported modifier (\(ch)) in substitution")
        }
    }

    /// The word of `${NAME<op>word}`, itself expanded; running out of text means the `}` is missing.
    mutating func modifierWord() throws(DockerfileError) -> String {
        do {
            return try processStop(on: "}").text
        } catch {
            if peek() == nil { throw Self.fail("syntax error: missing '}'") }
            throw error
        }
    }

    /// A variable name: letters, digits and `_`; a leading digit run or one special parameter
    /// (`$@ $* $# $? $- $$ $! $0`) is a name on its own, as in POSIX shells.
    mutating func processName() -> String {
        var name = ""
        while let ch = peek() {
            if name.isEmpty && ch.isDecimalDigit {
                while let digit = peek(), digit.isDecimalDigit {
                    name.append(digit)
                    position += 1
                }
                return name
            }
            if name.isEmpty && "@*#?-$!0".contains(ch) {
                position += 1
                return String(ch)
            }
            guard ch == "_" || ch.isLetter || ch.isDecimalDigit else { break }
            name.append(ch)
            position += 1
        }
        return name
    }
}

extension Character {
    /// Go's unicode.IsDigit: a single decimal-number scalar.
    var isDecimalDigit: Bool {
        unicodeScalars.count == 1 && unicodeScalars.first?.properties.generalCategory == .decimalNumber
    }
}
