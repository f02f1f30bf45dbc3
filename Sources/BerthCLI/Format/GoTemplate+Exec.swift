import Foundation

/// A template value, classified once from Foundation's JSON objects. `missing` is Go's invalid
/// reflect.Value (a missing key; prints `<no value>`), `null` a nil interface inside a map or list.
enum TVal {
    case missing
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Any])
    case map([String: Any])
    case method(TemplateMethod)
    case other(Any)

    static func of(_ any: Any?) -> TVal {
        guard let any else { return .null }
        if any is NSNull { return .null }
        if let v = any as? TVal { return v }
        let t = type(of: any)
        if t == Bool.self, let v = any as? Bool { return .bool(v) }
        if t == Int.self, let v = any as? Int { return .int(v) }
        if t == Double.self, let v = any as? Double { return .double(v) }
        if t == String.self, let v = any as? String { return .string(v) }
        if t == Int64.self, let v = any as? Int64 { return .int(Int(v)) }
        if t == Int32.self, let v = any as? Int32 { return .int(Int(v)) }
        if t == UInt64.self, let v = any as? UInt64 { return v <= UInt64(Int.max) ? .int(Int(v)) : .double(Double(v)) }
        if t == UInt32.self, let v = any as? UInt32 { return .int(Int(v)) }
        if t == UInt.self, let v = any as? UInt { return v <= UInt(Int.max) ? .int(Int(v)) : .double(Double(v)) }
        if t == Float.self, let v = any as? Float { return .double(Double(v)) }
        if let n = any as? NSNumber {
            // JSONSerialization's booleans are __NSCFBoolean (objCType "c"); its integers "i"/"q", its other numbers "d".
            let objCType = String(cString: n.objCType)
            if String(describing: type(of: n)).contains("Boolean") || objCType == "c" || objCType == "B" { return .bool(n.boolValue) }
            if objCType == "d" || objCType == "f" { return .double(n.doubleValue) }
            if objCType == "Q" && n.uint64Value > UInt64(Int.max) { return .double(n.doubleValue) }
            return .int(n.intValue)
        }
        if let v = any as? String { return .string(v) }
        if let v = any as? TemplateMethod { return .method(v) }
        if let v = any as? [String: Any] { return .map(v) }
        if let v = any as? [Any] { return .list(v) }
        let mirror = Mirror(reflecting: any)
        if mirror.displayStyle == .optional { return of(mirror.children.first?.value) }
        return .other(any)
    }

    /// Back to a Swift value, for methods and `index` results.
    var swiftValue: Any? {
        switch self {
        case .missing, .null: return nil
        case .bool(let v): return v
        case .int(let v): return v
        case .double(let v): return v
        case .string(let v): return v
        case .list(let v): return v
        case .map(let v): return v
        case .method(let v): return v
        case .other(let v): return v
        }
    }

    var isNil: Bool {
        switch self { case .missing, .null: return true; default: return false }
    }

    /// Go's type name in messages (`can't evaluate field X in type string`).
    var goType: String {
        switch self {
        case .missing, .null: return "interface {}"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float64"
        case .string: return "string"
        case .list: return "[]interface {}"
        case .map: return "map[string]interface {}"
        case .method: return "func"
        case .other(let v): return String(describing: type(of: v))
        }
    }

    /// Go's isTrue: the zero value and empty collections are false.
    var truth: Bool {
        switch self {
        case .missing, .null: return false
        case .bool(let v): return v
        case .int(let v): return v != 0
        case .double(let v): return v != 0
        case .string(let v): return !v.isEmpty
        case .list(let v): return !v.isEmpty
        case .map(let v): return !v.isEmpty
        case .method, .other: return true
        }
    }
}

final class TemplateExec {
    let bytes: [UInt8]
    let root: TVal
    let headerMode: Bool
    var out = ""
    var vars: [(name: String, value: TVal)]

    enum Flow { case normal, breakLoop, continueLoop }

    init(text: String, root: TVal, headerMode: Bool) {
        self.bytes = Array(text.utf8)
        self.root = root
        self.headerMode = headerMode
        self.vars = [("$", root)]
    }

    /// Go's execution error: `template: :1:2: executing "" at <.A.B>: message`.
    func error(_ pos: Int, _ context: String, _ message: String) -> TemplateError {
        let before = bytes[..<min(pos, bytes.count)]
        let line = 1 + before.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let col = before.lastIndex(of: 0x0A).map { pos - $0 - 1 } ?? pos
        return TemplateError("template: :\(line):\(col): executing \"\" at <\(context)>: \(message)")
    }

    func walk(_ list: [TNode], dot: TVal) throws(TemplateError) -> Flow {
        for node in list {
            switch node {
            case .text(let s): out += s
            case .action(let pipe):
                let v = try evalPipeline(dot, pipe)
                if pipe.decl.isEmpty { out += goPrint(v) }
            case .ifBlock(let b), .withBlock(let b):
                let mark = vars.count
                defer { vars.removeLast(vars.count - mark) }
                let v = try evalPipeline(dot, b.pipe)
                let flow: Flow
                if v.truth {
                    if case .withBlock = node { flow = try walk(b.list, dot: v) } else { flow = try walk(b.list, dot: dot) }
                } else if let e = b.elseList {
                    flow = try walk(e, dot: dot)
                } else {
                    flow = .normal
                }
                if flow != .normal { return flow }
            case .rangeBlock(let b):
                try walkRange(b, dot: dot)
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    func walkRange(_ b: TBranch, dot: TVal) throws(TemplateError) {
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        var pipe = b.pipe
        let decl = pipe.decl
        pipe.decl = []
        let v = try evalPipeline(dot, pipe)
        if !b.pipe.isAssign { for name in decl { vars.append((name, .null)) } }
        let bodyMark = vars.count

        func setVar(_ name: String, _ value: TVal, slot: Int) {
            if b.pipe.isAssign {
                if let idx = vars.lastIndex(where: { $0.name == name }) { vars[idx].value = value }
            } else {
                vars[mark + slot].value = value
            }
        }
        func one(_ key: TVal, _ elem: TVal) throws(TemplateError) -> Flow {
            if decl.count == 1 { setVar(decl[0], elem, slot: 0) }
            if decl.count == 2 { setVar(decl[0], key, slot: 0); setVar(decl[1], elem, slot: 1) }
            defer { vars.removeLast(vars.count - bodyMark) }
            return try walk(b.list, dot: elem)
        }

        var iterated = false
        switch v {
        case .list(let items):
            for (i, item) in items.enumerated() {
                iterated = true
                if try one(.int(i), TVal.of(item)) == .breakLoop { break }
            }
        case .map(let m):
            for key in m.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                iterated = true
                if try one(.string(key), TVal.of(m[key])) == .breakLoop { break }
            }
        case .int(let n):
            if decl.count > 1 { throw error(b.pos, "range", "can't use \(n) to iterate over more than one variable") }
            for i in 0..<max(n, 0) {
                iterated = true
                if try one(.int(i), .int(i)) == .breakLoop { break }
            }
        case .missing, .null:
            break
        default:
            // Go reports it at the node it evaluated last.
            let node = b.pipe.cmds.last?.args.first
            throw error(node?.pos ?? b.pos, node?.description ?? "range", "range can't iterate over \(goPrint(v))")
        }
        if !iterated, let e = b.elseList { _ = try walk(e, dot: dot) }
    }

    func evalPipeline(_ dot: TVal, _ pipe: TPipe) throws(TemplateError) -> TVal {
        var value: TVal? = nil
        for cmd in pipe.cmds {
            var v = try evalCommand(dot, cmd, final: value)
            // Go digs a nil interface{} down to the invalid value: a null prints <no value>.
            if case .null = v { v = .missing }
            value = v
        }
        let result = value ?? .missing
        for name in pipe.decl {
            if pipe.isAssign, let idx = vars.lastIndex(where: { $0.name == name }) {
                vars[idx].value = result
            } else {
                vars.append((name, result))
            }
        }
        return result
    }

    func evalCommand(_ dot: TVal, _ cmd: TCommand, final: TVal?) throws(TemplateError) -> TVal {
        let first = cmd.args[0]
        switch first.kind {
        case .field(let idents):
            return try evalFieldChain(dot, receiver: dot, node: first, idents: idents, args: cmd.args, final: final)
        case .chain(let inner, let idents):
            let receiver = try evalArg(dot, inner)
            return try evalFieldChain(dot, receiver: receiver, node: first, idents: idents, args: cmd.args, final: final)
        case .identifier(let name):
            return try evalFunction(dot, name, node: first, args: Array(cmd.args.dropFirst()), final: final, command: cmd.description)
        case .variable(let name, let idents):
            let v = lookup(name)
            if idents.isEmpty {
                try notAFunction(cmd, final)
                return v
            }
            return try evalFieldChain(dot, receiver: v, node: first, idents: idents, args: cmd.args, final: final)
        case .pipe(let p):
            try notAFunction(cmd, final)
            return try evalPipeline(dot, p)
        case .nilLiteral:
            throw error(first.pos, "nil", "nil is not a command")
        default:
            try notAFunction(cmd, final)
            return try evalArg(dot, first)
        }
    }

    func notAFunction(_ cmd: TCommand, _ final: TVal?) throws(TemplateError) {
        if cmd.args.count > 1 || final != nil {
            throw error(cmd.args[0].pos, cmd.args[0].description, "can't give argument to non-function \(cmd.args[0].description)")
        }
    }

    func lookup(_ name: String) -> TVal {
        vars.last(where: { $0.name == name })?.value ?? .missing
    }

    func evalFieldChain(_ dot: TVal, receiver: TVal, node: TArg, idents: [String], args: [TArg], final: TVal?) throws(TemplateError) -> TVal {
        var r = receiver
        if headerMode, node.kind.isDotField {
            // A header context is flat: `.State.Health` and `.Label "x"` both name their column.
            return try evalField(dot, idents[0], node: node, args: [], final: nil, receiver: r)
        }
        for ident in idents.dropLast() {
            r = try evalField(dot, ident, node: node, args: [], final: nil, receiver: r)
        }
        return try evalField(dot, idents[idents.count - 1], node: node, args: args, final: final, receiver: r)
    }

    func evalField(_ dot: TVal, _ name: String, node: TArg, args: [TArg], final: TVal?, receiver: TVal) throws(TemplateError) -> TVal {
        let hasArgs = args.count > 1 || final != nil
        switch receiver {
        case .missing:
            return .missing
        case .map(let m):
            let v = m[name].map { TVal.of($0) }
            if case .method(let method)? = v {
                var values: [Any?] = []
                for a in args.dropFirst() { values.append(try evalArg(dot, a).swiftValue) }
                if let final { values.append(final.swiftValue) }
                do throws(TemplateError) {
                    return TVal.of(try method.body(values))
                } catch {
                    throw self.error(node.pos, node.description, "error calling \(name): \(error.message)")
                }
            }
            if hasArgs { throw error(node.pos, node.description, "\(name) is not a method but has arguments") }
            return v ?? .missing
        case .null:
            throw error(node.pos, node.description, "nil pointer evaluating interface {}.\(name)")
        default:
            throw error(node.pos, node.description, "can't evaluate field \(name) in type \(receiver.goType)")
        }
    }

    func evalArg(_ dot: TVal, _ arg: TArg) throws(TemplateError) -> TVal {
        switch arg.kind {
        case .dot: return dot
        case .nilLiteral: return .null
        case .bool(let b): return .bool(b)
        case .number(let n, _):
            switch n { case .int(let i): return .int(i); case .double(let d): return .double(d) }
        case .string(let s, _): return .string(s)
        case .field(let idents): return try evalFieldChain(dot, receiver: dot, node: arg, idents: idents, args: [arg], final: nil)
        case .variable(let name, let idents):
            let v = lookup(name)
            return idents.isEmpty ? v : try evalFieldChain(dot, receiver: v, node: arg, idents: idents, args: [arg], final: nil)
        case .identifier(let name): return try evalFunction(dot, name, node: arg, args: [], final: nil, command: name)
        case .pipe(let p): return try evalPipeline(dot, p)
        case .chain(let inner, let idents):
            let r = try evalArg(dot, inner)
            return try evalFieldChain(dot, receiver: r, node: arg, idents: idents, args: [arg], final: nil)
        }
    }

    // MARK: Functions

    /// Calls function `name` (at `node`) of the command `command` (Go's context for "error calling").
    func evalFunction(_ dot: TVal, _ name: String, node: TArg, args: [TArg], final: TVal?, command: String) throws(TemplateError) -> TVal {
        let argc = args.count + (final == nil ? 0 : 1)
        func fail(_ message: String) -> TemplateError { error(node.pos, name, message) }
        func calling(_ message: String) -> TemplateError { error(node.pos, command, "error calling \(name): \(message)") }
        func want(_ n: Int) throws(TemplateError) {
            if argc != n { throw fail("wrong number of args for \(name): want \(n) got \(argc)") }
        }
        func wantAtLeast(_ n: Int) throws(TemplateError) {
            if argc < n { throw fail("wrong number of args for \(name): want at least \(n) got \(argc)") }
        }

        // and/or evaluate their arguments lazily and return one of them (Go 1.18).
        if name == "and" || name == "or" {
            try wantAtLeast(1)
            var v = TVal.missing
            for a in args {
                v = try evalArg(dot, a)
                if v.truth != (name == "and") { return v }
            }
            if let final { v = final }
            return v
        }

        var values: [TVal] = []
        for a in args { values.append(try evalArg(dot, a)) }
        if let final { values.append(final) }
        /// Go's evalArg errors: a literal of the wrong kind, or a computed value of the wrong type, at its node.
        func argError(_ i: Int, expected: String, goName: String) -> TemplateError {
            let arg = i < args.count ? args[i] : node
            switch arg.kind {
            case .nilLiteral:
                return error(arg.pos, arg.description, "cannot assign nil to \(goName)")
            case .number, .bool, .string:
                if goName == "[]string" {
                    return error(arg.pos, arg.description, "can't handle \(arg.description) for arg of type []string")
                }
                return error(arg.pos, arg.description, "expected \(expected); found \(arg.description)")
            default:
                if values[i].isNil { return error(arg.pos, arg.description, "invalid value; expected \(goName)") }
                return error(arg.pos, arg.description, "wrong type for value; expected \(goName); got \(values[i].goType)")
            }
        }

        func string(_ i: Int) throws(TemplateError) -> String {
            switch values[i] {
            case .string(let s): return s
            default: throw argError(i, expected: "string", goName: "string")
            }
        }
        func int(_ i: Int) throws(TemplateError) -> Int {
            switch values[i] {
            case .int(let v): return v
            case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int(d)
            default: throw argError(i, expected: "integer", goName: "int")
            }
        }

        if headerMode, ["json", "split", "join", "title", "lower", "upper", "truncate"].contains(name) {
            try wantAtLeast(1)
            return values[0]
        }

        switch name {
        case "not":
            try want(1)
            return .bool(!values[0].truth)
        case "len":
            try want(1)
            switch values[0] {
            case .string(let s): return .int(s.utf8.count)
            case .list(let l): return .int(l.count)
            case .map(let m): return .int(m.count)
            case .missing, .null: throw calling("len of untyped nil")
            default: throw calling("len of type \(values[0].goType)")
            }
        case "index":
            try wantAtLeast(1)
            var item = values[0]
            for key in values.dropFirst() {
                switch item {
                case .missing, .null: throw calling("index of untyped nil")
                case .map(let m):
                    guard case .string(let k) = key else {
                        throw calling("value has type \(key.goType); should be string")
                    }
                    if let v = m[k] { item = TVal.of(v) } else {
                        // Go returns the map's zero value: "" for string maps (labels), nil otherwise.
                        item = m.values.allSatisfy({ TVal.of($0).isString }) ? .string("") : .null
                    }
                case .list(let l):
                    guard case .int(let i) = key else { throw calling("cannot index slice/array with type \(key.goType)") }
                    guard i >= 0 && i < l.count else { throw calling("index out of range: \(i)") }
                    item = TVal.of(l[i])
                case .string(let s):
                    guard case .int(let i) = key else { throw calling("cannot index slice/array with type \(key.goType)") }
                    let u = Array(s.utf8)
                    guard i >= 0 && i < u.count else { throw calling("index out of range: \(i)") }
                    item = .int(Int(u[i]))
                default:
                    throw calling("can't index item of type \(item.goType)")
                }
            }
            return item
        case "slice":
            try wantAtLeast(1)
            var idx: [Int] = []
            for i in 1..<values.count { idx.append(try int(i)) }
            if idx.count > 3 { throw calling("too many slice indexes: \(idx.count)") }
            switch values[0] {
            case .string(let s):
                if idx.count == 3 { throw calling("cannot 3-index slice a string") }
                let u = Array(s.utf8)
                let lo = idx.first ?? 0, hi = idx.count > 1 ? idx[1] : u.count
                guard lo >= 0, hi <= u.count, lo <= hi else { throw calling("index out of range: \(hi)") }
                return .string(String(decoding: u[lo..<hi], as: UTF8.self))
            case .list(let l):
                let lo = idx.first ?? 0, hi = idx.count > 1 ? idx[1] : l.count
                guard lo >= 0, hi <= l.count, lo <= hi else { throw calling("index out of range: \(hi)") }
                return .list(Array(l[lo..<hi]))
            case .missing, .null: throw calling("slice of untyped nil")
            default: throw calling("can't slice item of type \(values[0].goType)")
            }
        case "print":
            return .string(goSprint(values))
        case "println":
            return .string(values.map { goPrint($0, nilText: "<nil>") }.joined(separator: " ") + "\n")
        case "printf":
            try wantAtLeast(1)
            return .string(goSprintf(try string(0), Array(values.dropFirst())))
        case "eq", "ne", "lt", "le", "gt", "ge":
            if name == "eq" { try wantAtLeast(1) } else { try want(2) }
            if name == "eq" && values.count < 2 { throw calling("missing argument for comparison") }
            do throws(TemplateError) {
                switch name {
                case "eq":
                    for other in values.dropFirst() where try goEqual(values[0], other) { return .bool(true) }
                    return .bool(false)
                case "ne": return .bool(try !goEqual(values[0], values[1]))
                case "lt": return .bool(try goLess(values[0], values[1]))
                case "le", "gt":
                    let less = try goLess(values[0], values[1])
                    let equal = try goEqual(values[0], values[1])
                    return .bool((less || equal) == (name == "le"))
                default: return .bool(try !goLess(values[0], values[1]))
                }
            } catch {
                throw calling(error.message)
            }
        case "json":
            try want(1)
            return .string(goJSON(values[0], escapeHTML: false))
        case "split":
            try want(2)
            let s = try string(0), sep = try string(1)
            return .list(goSplit(s, sep))
        case "join":
            try want(2)
            let sep = try string(1)
            guard case .list(let l) = values[0] else {
                throw argError(0, expected: "[]string", goName: "[]string")
            }
            return .string(l.map { goPrint(TVal.of($0), nilText: "<nil>") }.joined(separator: sep))
        case "title":
            try want(1)
            return .string(goTitle(try string(0)))
        case "lower":
            try want(1)
            return .string(try string(0).lowercased())
        case "upper":
            try want(1)
            return .string(try string(0).uppercased())
        case "pad":
            try want(3)
            let s = try string(0), l = try int(1), r = try int(2)
            if s.isEmpty { return .string(s) }
            return .string(String(repeating: " ", count: max(l, 0)) + s + String(repeating: " ", count: max(r, 0)))
        case "truncate":
            try want(2)
            let s = try string(0), n = try int(1)
            let scalars = s.unicodeScalars
            if scalars.count < n { return .string(s) }
            return .string(String(String.UnicodeScalarView(scalars.prefix(max(n, 0)))))
        default:
            throw fail("function \(goQuote(name)) not defined")
        }
    }
}

extension TArg.Kind {
    var isDotField: Bool { if case .field = self { return true } else { return false } }
}

extension TVal {
    var isString: Bool { if case .string = self { return true } else { return false } }
}

extension TemplateExec.Flow: Equatable {}

/// Go's eq for basic kinds. Numbers compare by value whatever their kind (docker's typed ints
/// meet JSON's numbers here); a missing value equals nothing but nil.
func goEqual(_ a: TVal, _ b: TVal) throws(TemplateError) -> Bool {
    switch (a, b) {
    case (.bool(let x), .bool(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.int(let x), .double(let y)): return Double(x) == y
    case (.double(let x), .int(let y)): return x == Double(y)
    case (.double(let x), .double(let y)): return x == y
    case (.missing, _), (.null, _), (_, .missing), (_, .null): return a.isNil && b.isNil
    case (.list, .list), (.map, .map): throw TemplateError("non-comparable type \(goPrint(a)): \(a.goType)")
    default: throw TemplateError("incompatible types for comparison")
    }
}

func goLess(_ a: TVal, _ b: TVal) throws(TemplateError) -> Bool {
    switch (a, b) {
    case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
    case (.int(let x), .int(let y)): return x < y
    case (.int(let x), .double(let y)): return Double(x) < y
    case (.double(let x), .int(let y)): return x < Double(y)
    case (.double(let x), .double(let y)): return x < y
    case (.bool, .bool), (.list, _), (.map, _), (.missing, _), (.null, _): throw TemplateError("invalid type for comparison")
    default: throw TemplateError("incompatible types for comparison")
    }
}

/// Go's strings.Split.
func goSplit(_ s: String, _ sep: String) -> [Any] {
    if sep.isEmpty { return s.unicodeScalars.map { String($0) } }
    return s.components(separatedBy: sep)
}

/// Go's strings.Title: the first letter of every word upper-cased.
func goTitle(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    var prevSeparator = true
    for u in s.unicodeScalars {
        if prevSeparator { out.append(contentsOf: String(u).uppercased().unicodeScalars) } else { out.append(u) }
        let p = u.properties
        if u.isASCII {
            let c = u.value
            prevSeparator = !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F)
        } else {
            prevSeparator = !(p.isAlphabetic || p.numericType != nil) && p.isWhitespace
        }
    }
    return String(out)
}
