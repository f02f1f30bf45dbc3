import Foundation

/// A failed template: its text and what is wrong, as Go prints it (`template: :1: function "foo" not defined`).
/// docker prefixes it with "template parsing error: " (``ListFormat`` does the same).
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A method a context exposes to templates, like docker's `{{.Label "com.example.key"}}` on `ps`.
/// Store one as a value in a context dictionary; the template calls it with its arguments
/// (Swift values: `String`, `Int`, `Double`, `Bool`, `[Any]`, `[String: Any]` or `nil`).
public struct TemplateMethod {
    let body: ([Any?]) throws(TemplateError) -> Any?
    public init(_ body: @escaping ([Any?]) throws(TemplateError) -> Any?) { self.body = body }
}

/// The subset of Go's text/template that `docker … --format` users write, with docker's extra
/// functions (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`).
///
/// Values are Foundation JSON objects: `[String: Any]`, `[Any]`, `String`, `NSNumber`/`Int`/`Double`/`Bool`,
/// `NSNull`, `nil`. They behave like Go's `map[string]interface{}` data: a missing key or a null
/// prints `<no value>`, a field of a null is an error. Integers print as integers, other numbers like
/// Go's `%v` of a float64 (`1.5`, `1.2345678e+07`).
///
/// Not supported: `define`, `template`, `block`, and the functions `call`, `html`, `js`, `urlquery`.
public struct GoTemplate: Sendable {
    let text: String
    let root: [TNode]

    /// Parses `text`; throws Go's parse error (`template: :1: unexpected EOF`).
    public init(_ text: String) throws(TemplateError) {
        self.text = text
        var parser = TemplateParser(text: text)
        self.root = try parser.parseTemplate()
    }

    /// Executes the template against `value`; throws Go's execution error
    /// (`template: :1:2: executing "" at <.A.B>: nil pointer evaluating interface {}.B`).
    public func render(_ value: Any) throws(TemplateError) -> String {
        try execute(value, headerMode: false)
    }

    /// docker renders a table's header with `HeaderFunctions`: `json`, `split`, `join`, `title`, `lower`,
    /// `upper` and `truncate` return their first argument, so the header names stay as they are.
    func renderHeader(_ value: Any) throws(TemplateError) -> String {
        try execute(value, headerMode: true)
    }

    func execute(_ value: Any, headerMode: Bool) throws(TemplateError) -> String {
        let state = TemplateExec(text: text, root: TVal.of(value), headerMode: headerMode)
        _ = try state.walk(root, dot: TVal.of(value))
        return state.out
    }

    /// The first name of every field chain on `.` in the template (`{{.ID}}`, `{{json .Labels}}`), in order.
    var referencedFields: [String] {
        var names: [String] = []
        func visit(_ arg: TArg) {
            switch arg.kind {
            case .field(let idents): if let f = idents.first, !names.contains(f) { names.append(f) }
            case .pipe(let p): visitPipe(p)
            case .chain(let inner, _): visit(inner)
            default: break
            }
        }
        func visitPipe(_ p: TPipe) { for c in p.cmds { for a in c.args { visit(a) } } }
        func visitList(_ list: [TNode]) {
            for n in list {
                switch n {
                case .text, .breakLoop, .continueLoop: break
                case .action(let p): visitPipe(p)
                case .ifBlock(let b), .rangeBlock(let b), .withBlock(let b):
                    visitPipe(b.pipe); visitList(b.list); if let e = b.elseList { visitList(e) }
                }
            }
        }
        visitList(root)
        return names
    }
}

// MARK: - Syntax tree

indirect enum TNode: Sendable {
    case text(String)
    case action(TPipe)
    case ifBlock(TBranch)
    case rangeBlock(TBranch)
    case withBlock(TBranch)
    case breakLoop(Int)
    case continueLoop(Int)
}

struct TBranch: Sendable {
    var pos: Int
    var pipe: TPipe
    var list: [TNode]
    var elseList: [TNode]?
}

struct TPipe: Sendable {
    var pos: Int
    var isAssign = false
    var decl: [String] = []
    var cmds: [TCommand] = []

    var description: String {
        var s = ""
        if !decl.isEmpty { s = decl.joined(separator: ", ") + (isAssign ? " = " : " := ") }
        return s + cmds.map(\.description).joined(separator: " | ")
    }
}

struct TCommand: Sendable {
    var pos: Int
    var args: [TArg] = []
    var description: String {
        args.map { a in if case .pipe = a.kind { return "(\(a.description))" } else { return a.description } }.joined(separator: " ")
    }
}

enum TNumber: Sendable { case int(Int), double(Double) }

struct TArg: Sendable {
    indirect enum Kind: Sendable {
        case dot
        case nilLiteral
        case bool(Bool)
        case number(TNumber, String)
        case string(String, String)
        case field([String])
        case variable(String, [String])
        case identifier(String)
        case pipe(TPipe)
        case chain(TArg, [String])
    }
    var pos: Int
    var kind: Kind

    var description: String {
        switch kind {
        case .dot: return "."
        case .nilLiteral: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .number(_, let text), .string(_, let text): return text
        case .field(let idents): return idents.map { "." + $0 }.joined()
        case .variable(let name, let idents): return name + idents.map { "." + $0 }.joined()
        case .identifier(let name): return name
        case .pipe(let p): return p.description
        case .chain(let inner, let idents):
            let head = if case .pipe = inner.kind { "(\(inner.description))" } else { inner.description }
            return head + idents.map { "." + $0 }.joined()
        }
    }
}

// MARK: - Lexer

struct TToken {
    enum Kind: Equatable {
        case text, leftDelim, rightDelim, space, field, dot, variable, identifier, keyword, string, rawString
        case number, char, pipe, leftParen, rightParen, declare, assign, comma, error, eof
    }
    var kind: Kind
    var val: String
    var pos: Int
    var line: Int

    /// Go's item.String(): how the token appears in "unexpected … in …".
    var description: String {
        switch kind {
        case .eof: return "EOF"
        case .error: return val
        case .keyword: return "<\(val)>"
        default:
            if val.unicodeScalars.count > 10 { return goQuote(String(String.UnicodeScalarView(val.unicodeScalars.prefix(10)))) + "..." }
            return goQuote(val)
        }
    }
}

private let templateKeywords: Set<String> = ["if", "else", "end", "range", "with", "break", "continue", "nil", "true", "false", "define", "template", "block"]

struct TemplateLexer {
    let b: [UInt8]
    var tokens: [TToken] = []

    init(_ text: String) { b = Array(text.utf8) }

    func line(at pos: Int) -> Int { 1 + b[..<min(pos, b.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
    func str(_ from: Int, _ to: Int) -> String { String(decoding: b[from..<to], as: UTF8.self) }
    func has(_ s: String, at i: Int) -> Bool {
        let u = Array(s.utf8)
        return i + u.count <= b.count && Array(b[i..<(i + u.count)]) == u
    }
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
    static func isAlnum(_ c: UInt8) -> Bool { c == 0x5F || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c >= 0x80 }
    /// `{{- ` trims the text before the action; the dash needs a space after it (`{{-3}}` is a number).
    func leftTrim(at i: Int) -> Bool { i + 1 < b.count && b[i] == 0x2D && Self.isSpace(b[i + 1]) }
    /// ` -}}` trims the text after the action.
    func rightTrim(at i: Int) -> Bool { i + 1 < b.count && Self.isSpace(b[i]) && b[i + 1] == 0x2D && has("}}", at: i + 2) }

    mutating func emit(_ kind: TToken.Kind, _ from: Int, _ to: Int) {
        tokens.append(TToken(kind: kind, val: str(from, to), pos: from, line: line(at: from)))
    }
    mutating func fail(_ message: String, at pos: Int) {
        tokens.append(TToken(kind: .error, val: message, pos: pos, line: line(at: pos)))
    }

    mutating func lex() -> [TToken] {
        var i = 0
        var trimLeading = false
        let n = b.count
        outer: while i <= n {
            var start = i
            let open: Int? = {
                var j = i
                while j + 1 < n { if b[j] == 0x7B && b[j + 1] == 0x7B { return j }; j += 1 }
                return nil
            }()
            var end = open ?? n
            if trimLeading { while start < end && Self.isSpace(b[start]) { start += 1 } }
            trimLeading = false
            if let open, leftTrim(at: open + 2) { while end > start && Self.isSpace(b[end - 1]) { end -= 1 } }
            if end > start { emit(.text, start, end) }
            guard let open else { break }
            var k = open + 2
            if leftTrim(at: k) { k += 2 }
            // A comment fills the whole action: {{/* … */}} or {{- /* … */ -}}.
            if has("/*", at: k) {
                var e = k + 2
                while e + 1 < n && !(b[e] == 0x2A && b[e + 1] == 0x2F) { e += 1 }
                guard e + 1 < n else { fail("unclosed comment", at: open); break }
                k = e + 2
                if rightTrim(at: k) { k += 4; trimLeading = true } else if has("}}", at: k) { k += 2 } else {
                    fail("comment ends before closing delimiter", at: open); break
                }
                i = k
                continue
            }
            emit(.leftDelim, open, open + 2)
            var depth = 0
            while true {
                let trim = rightTrim(at: k)
                if trim || has("}}", at: k) {
                    if depth > 0 { fail("unclosed left paren", at: k); break outer }
                    let d = trim ? k + 2 : k
                    emit(.rightDelim, d, d + 2); i = d + 2; trimLeading = trim; continue outer
                }
                guard k < n else { fail("unclosed action", at: open); break outer }
                let c = b[k]
                let s = k
                switch c {
                case _ where Self.isSpace(c):
                    while k < n && Self.isSpace(b[k]) && !rightTrim(at: k) { k += 1 }
                    if k > s { emit(.space, s, k) }
                case 0x3D: k += 1; emit(.assign, s, k)
                case 0x3A:
                    guard k + 1 < n, b[k + 1] == 0x3D else { fail("expected :=", at: k); break outer }
                    k += 2; emit(.declare, s, k)
                case 0x7C: k += 1; emit(.pipe, s, k)
                case 0x2C: k += 1; emit(.comma, s, k)
                case 0x28: k += 1; depth += 1; emit(.leftParen, s, k)
                case 0x29:
                    k += 1; depth -= 1
                    if depth < 0 { fail("unexpected right paren", at: s); break outer }
                    emit(.rightParen, s, k)
                case 0x22:
                    k += 1
                    while true {
                        guard k < n, b[k] != 0x0A else { fail("unterminated quoted string", at: s); break outer }
                        if b[k] == 0x5C { k += 2; continue }
                        if b[k] == 0x22 { k += 1; break }
                        k += 1
                    }
                    emit(.string, s, k)
                case 0x60:
                    k += 1
                    while k < n && b[k] != 0x60 { k += 1 }
                    guard k < n else { fail("unterminated raw quoted string", at: s); break outer }
                    k += 1; emit(.rawString, s, k)
                case 0x27:
                    k += 1
                    while true {
                        guard k < n, b[k] != 0x0A else { fail("unterminated character constant", at: s); break outer }
                        if b[k] == 0x5C { k += 2; continue }
                        if b[k] == 0x27 { k += 1; break }
                        k += 1
                    }
                    emit(.char, s, k)
                case 0x24:
                    k += 1
                    while k < n && Self.isAlnum(b[k]) { k += 1 }
                    emit(.variable, s, k)
                case 0x2E where k + 1 < n && b[k + 1] >= 0x30 && b[k + 1] <= 0x39:
                    k = scanNumber(k); emit(.number, s, k)
                case 0x2E:
                    k += 1
                    while k < n && Self.isAlnum(b[k]) { k += 1 }
                    emit(k == s + 1 ? .dot : .field, s, k)
                case 0x2B, 0x2D, 0x30...0x39:
                    k = scanNumber(k)
                    if k < n && Self.isAlnum(b[k]) {
                        while k < n && Self.isAlnum(b[k]) { k += 1 }
                        fail("bad number syntax: \(goQuote(str(s, k)))", at: s); break outer
                    }
                    emit(.number, s, k)
                case _ where Self.isAlnum(c):
                    while k < n && Self.isAlnum(b[k]) { k += 1 }
                    emit(templateKeywords.contains(str(s, k)) ? .keyword : .identifier, s, k)
                default:
                    let scalar = str(s, n).unicodeScalars.first.map { Character($0) } ?? "?"
                    let code = String(format: "U+%04X", scalar.unicodeScalars.first.map { Int($0.value) } ?? 0)
                    fail("unrecognized character in action: \(code) '\(scalar)'", at: s); break outer
                }
            }
        }
        let last = tokens.last?.pos ?? 0
        if tokens.last?.kind != .error { tokens.append(TToken(kind: .eof, val: "", pos: n, line: line(at: max(last, 0)))) }
        return tokens
    }

    func scanNumber(_ start: Int) -> Int {
        var k = start
        if k < b.count && (b[k] == 0x2B || b[k] == 0x2D) { k += 1 }
        var hex = false
        if k + 1 < b.count && b[k] == 0x30 && (b[k + 1] | 0x20) == 0x78 { hex = true; k += 2 }
        while k < b.count {
            let c = b[k]
            if (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || (hex && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)) {
                k += 1
            } else if !hex && (c | 0x20) == 0x65 {
                k += 1
                if k < b.count && (b[k] == 0x2B || b[k] == 0x2D) { k += 1 }
            } else { break }
        }
        return k
    }
}

// MARK: - Parser

private let templateFunctions: Set<String> = [
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
]

struct TemplateParser {
    var tokens: [TToken]
    var i = 0
    var vars: [String] = ["$"]
    var rangeDepth = 0
    var lastLine = 1

    init(text: String) {
        var lexer = TemplateLexer(text)
        tokens = lexer.lex()
    }

    func error(_ message: String) -> TemplateError { TemplateError("template: :\(lastLine): \(message)") }

    mutating func next() throws(TemplateError) -> TToken {
        let t = tokens[min(i, tokens.count - 1)]
        if i < tokens.count { i += 1 }
        lastLine = t.line
        if t.kind == .error { throw error(t.val) }
        return t
    }
    mutating func backup() { i -= 1 }
    mutating func peek() throws(TemplateError) -> TToken {
        let t = try next(); backup(); return t
    }
    mutating func nextNonSpace() throws(TemplateError) -> TToken {
        var t = try next()
        while t.kind == .space { t = try next() }
        return t
    }
    mutating func peekNonSpace() throws(TemplateError) -> TToken {
        let t = try nextNonSpace(); backup(); return t
    }
    mutating func expect(_ kind: TToken.Kind, _ context: String) throws(TemplateError) -> TToken {
        let t = try nextNonSpace()
        if t.kind != kind { throw unexpected(t, context) }
        return t
    }
    func unexpected(_ t: TToken, _ context: String) -> TemplateError {
        if t.kind == .error { return error(t.val) }
        return error("unexpected \(t.description) in \(context)")
    }

    enum Stop { case eof, end, elseBranch(TToken) }

    mutating func parseTemplate() throws(TemplateError) -> [TNode] {
        var list: [TNode] = []
        while try peek().kind != .eof {
            switch try textOrAction() {
            case .node(let n): list.append(n)
            case .end: throw error("unexpected {{end}}")
            case .elseBranch: throw error("unexpected {{else}}")
            }
        }
        return list
    }

    enum Item { case node(TNode), end, elseBranch(TToken) }

    mutating func itemList() throws(TemplateError) -> ([TNode], Item) {
        var list: [TNode] = []
        while try peekNonSpace().kind != .eof {
            let item = try textOrAction()
            switch item {
            case .node(let n): list.append(n)
            case .end, .elseBranch: return (list, item)
            }
        }
        throw error("unexpected EOF")
    }

    mutating func textOrAction() throws(TemplateError) -> Item {
        let t = try nextNonSpace()
        switch t.kind {
        case .text: return .node(.text(t.val))
        case .leftDelim: return try action()
        default: throw unexpected(t, "input")
        }
    }

    mutating func action() throws(TemplateError) -> Item {
        let t = try nextNonSpace()
        if t.kind == .keyword {
            switch t.val {
            case "if": return .node(.ifBlock(try control("if", pos: t.pos)))
            case "range": return .node(.rangeBlock(try control("range", pos: t.pos)))
            case "with": return .node(.withBlock(try control("with", pos: t.pos)))
            case "end":
                _ = try expect(.rightDelim, "end")
                return .end
            case "else":
                let p = try peekNonSpace()
                if p.kind == .keyword && (p.val == "if" || p.val == "with") { return .elseBranch(p) }
                _ = try expect(.rightDelim, "else")
                return .elseBranch(t)
            case "break", "continue":
                if rangeDepth == 0 { throw error("{{\(t.val)}} outside {{range}}") }
                let d = try nextNonSpace()
                if d.kind != .rightDelim { throw unexpected(d, "{{\(t.val)}}") }
                return .node(t.val == "break" ? .breakLoop(t.pos) : .continueLoop(t.pos))
            case "define", "template", "block":
                throw error("{{\(t.val)}} is not supported")
            default: break
            }
        }
        backup()
        return .node(.action(try pipeline("command", end: .rightDelim, pos: t.pos)))
    }

    mutating func control(_ context: String, pos: Int) throws(TemplateError) -> TBranch {
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        let pipe = try pipeline(context, end: .rightDelim, pos: pos)
        if context == "range" { rangeDepth += 1 }
        let (list, stop) = try itemList()
        if context == "range" { rangeDepth -= 1 }
        var elseList: [TNode]?
        if case .elseBranch(let t) = stop {
            if t.kind == .keyword && t.val == context && (context == "if" || context == "with") {
                // {{else if …}} is {{else}}{{if …}}…{{end}} sharing the outer {{end}}.
                _ = try next()
                let inner = try control(context, pos: t.pos)
                elseList = [context == "if" ? .ifBlock(inner) : .withBlock(inner)]
            } else if t.kind == .keyword && t.val != "else" {
                throw error("unexpected <\(t.val)> in else")
            } else {
                let (list2, stop2) = try itemList()
                guard case .end = stop2 else { throw error("expected end; found {{else}}") }
                elseList = list2
            }
        }
        return TBranch(pos: pos, pipe: pipe, list: list, elseList: elseList)
    }

    mutating func pipeline(_ context: String, end: TToken.Kind, pos: Int) throws(TemplateError) -> TPipe {
        var pipe = TPipe(pos: pos)
        decls: while try peekNonSpace().kind == .variable {
            let v = try nextNonSpace()
            let after = try peek()
            let nextTok = try peekNonSpace()
            if nextTok.kind == .assign || nextTok.kind == .declare {
                _ = try nextNonSpace()
                pipe.isAssign = nextTok.kind == .assign
                pipe.decl.append(v.val)
                if nextTok.kind == .assign && !vars.contains(v.val) { throw error("undefined variable \(goQuote(v.val))") }
                vars.append(v.val)
                break decls
            } else if nextTok.kind == .comma {
                _ = try nextNonSpace()
                pipe.decl.append(v.val)
                vars.append(v.val)
                if context == "range" && pipe.decl.count < 2 {
                    let p = try peekNonSpace()
                    if p.kind == .variable || p.kind == end { continue decls }
                    throw error("range can only initialize variables")
                }
                throw error("too many declarations in \(context)")
            } else if after.kind == .space {
                backup(); backup()
            } else {
                backup()
            }
            break
        }
        while true {
            let t = try nextNonSpace()
            if t.kind == end {
                if pipe.cmds.isEmpty { throw error("missing value for \(context)") }
                for (n, c) in pipe.cmds.enumerated().dropFirst() {
                    switch c.args[0].kind {
                    case .bool, .dot, .nilLiteral, .number, .string:
                        throw error("non executable command in pipeline stage \(n + 1)")
                    default: break
                    }
                }
                return pipe
            }
            switch t.kind {
            case .keyword where ["nil", "true", "false"].contains(t.val):
                backup(); pipe.cmds.append(try command())
            case .char, .dot, .field, .identifier, .number, .string, .rawString, .variable, .leftParen:
                backup(); pipe.cmds.append(try command())
            default:
                throw unexpected(t, context)
            }
        }
    }

    mutating func command() throws(TemplateError) -> TCommand {
        var cmd = TCommand(pos: try peekNonSpace().pos)
        while true {
            _ = try peekNonSpace()
            if let op = try operand() { cmd.args.append(op) }
            let t = try next()
            switch t.kind {
            case .space: continue
            case .rightDelim, .rightParen: backup()
            case .pipe: break
            default: throw unexpected(t, "operand")
            }
            break
        }
        if cmd.args.isEmpty { throw error("empty command") }
        return cmd
    }

    mutating func operand() throws(TemplateError) -> TArg? {
        guard let term = try term() else { return nil }
        guard try peek().kind == .field else { return term }
        // Go positions a chain at its first chained field: `.Name.X` is at `.X`.
        let pos = try peek().pos
        var idents: [String] = []
        while try peek().kind == .field { idents.append(String(try next().val.dropFirst())) }
        switch term.kind {
        case .field(let head): return TArg(pos: pos, kind: .field(head + idents))
        case .variable(let name, let head): return TArg(pos: pos, kind: .variable(name, head + idents))
        case .bool, .string, .number, .nilLiteral, .dot:
            throw error("unexpected . after term \(goQuote(term.description))")
        default: return TArg(pos: pos, kind: .chain(term, idents))
        }
    }

    mutating func term() throws(TemplateError) -> TArg? {
        let t = try nextNonSpace()
        switch t.kind {
        case .identifier:
            guard templateFunctions.contains(t.val) else { throw error("function \(goQuote(t.val)) not defined") }
            return TArg(pos: t.pos, kind: .identifier(t.val))
        case .dot: return TArg(pos: t.pos, kind: .dot)
        case .keyword where t.val == "nil": return TArg(pos: t.pos, kind: .nilLiteral)
        case .keyword where t.val == "true" || t.val == "false": return TArg(pos: t.pos, kind: .bool(t.val == "true"))
        case .variable:
            guard vars.contains(t.val) else { throw error("undefined variable \(goQuote(t.val))") }
            return TArg(pos: t.pos, kind: .variable(t.val, []))
        case .field: return TArg(pos: t.pos, kind: .field([String(t.val.dropFirst())]))
        case .number, .char:
            guard let n = t.kind == .char ? Self.charValue(t.val) : Self.number(t.val) else {
                throw error("bad number syntax: \(goQuote(t.val))")
            }
            return TArg(pos: t.pos, kind: .number(n, t.val))
        case .leftParen:
            let p = try pipeline("parenthesized pipeline", end: .rightParen, pos: t.pos)
            return TArg(pos: t.pos, kind: .pipe(p))
        case .string:
            guard let s = goUnquote(t.val) else { throw error("invalid syntax: \(t.val)") }
            return TArg(pos: t.pos, kind: .string(s, t.val))
        case .rawString:
            return TArg(pos: t.pos, kind: .string(String(t.val.dropFirst().dropLast()), t.val))
        default:
            backup()
            return nil
        }
    }

    static func number(_ text: String) -> TNumber? {
        let clean = text.replacingOccurrences(of: "_", with: "")
        var body = Substring(clean)
        var negative = false
        if body.first == "+" || body.first == "-" { negative = body.first == "-"; body = body.dropFirst() }
        if body.lowercased().hasPrefix("0x"), let v = Int(body.dropFirst(2), radix: 16) { return .int(negative ? -v : v) }
        if let v = Int(body) { return .int(negative ? -v : v) }
        if let d = Double(body), body.first != "." || body.count > 1 { return .double(negative ? -d : d) }
        return nil
    }

    static func charValue(_ text: String) -> TNumber? {
        guard let s = goUnquote("\"" + text.dropFirst().dropLast() + "\""), s.unicodeScalars.count == 1,
              let u = s.unicodeScalars.first else { return nil }
        return .int(Int(u.value))
    }
}

/// Go's strconv.Unquote for a double-quoted literal.
func goUnquote(_ quoted: String) -> String? {
    var scalars = Array(quoted.unicodeScalars)
    guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return nil }
    scalars = Array(scalars[1..<(scalars.count - 1)])
    var out = String.UnicodeScalarView()
    var bytes: [UInt8] = []  // \x and octal escapes are bytes
    func flushBytes() { if !bytes.isEmpty { out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars); bytes = [] } }
    var i = 0
    func hex(_ count: Int) -> UInt32? {
        guard i + count <= scalars.count else { return nil }
        let s = String(String.UnicodeScalarView(scalars[i..<(i + count)]))
        i += count
        return UInt32(s, radix: 16)
    }
    while i < scalars.count {
        let c = scalars[i]; i += 1
        guard c == "\\" else { flushBytes(); out.append(c); continue }
        guard i < scalars.count else { return nil }
        let e = scalars[i]; i += 1
        switch e {
        case "n": flushBytes(); out.append("\n")
        case "t": flushBytes(); out.append("\t")
        case "r": flushBytes(); out.append("\r")
        case "a": flushBytes(); out.append("\u{07}")
        case "b": flushBytes(); out.append("\u{08}")
        case "f": flushBytes(); out.append("\u{0C}")
        case "v": flushBytes(); out.append("\u{0B}")
        case "\\", "\"", "'": flushBytes(); out.append(e)
        case "x": guard let v = hex(2) else { return nil }; bytes.append(UInt8(v))
        case "u", "U":
            guard let v = hex(e == "u" ? 4 : 8), let u = Unicode.Scalar(v) else { return nil }
            flushBytes(); out.append(u)
        case "0"..."7":
            guard i + 2 <= scalars.count, let v = UInt32(String(String.UnicodeScalarView(scalars[(i - 1)..<(i + 2)])), radix: 8), v < 256 else { return nil }
            i += 2; bytes.append(UInt8(v))
        default: return nil
        }
    }
    flushBytes()
    return String(out)
}
