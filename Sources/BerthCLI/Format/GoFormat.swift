import Foundation

// Go's fmt and encoding/json output for template values: what `{{.X}}`, `printf` and `json` print.

/// fmt.Sprint of one value (`%v`). A missing value prints `nilText` (`<no value>` for an action).
func goPrint(_ v: TVal, nilText: String = "<no value>") -> String {
    switch v {
    case .missing: return nilText
    case .null: return "<nil>"
    case .bool(let b): return b ? "true" : "false"
    case .int(let n): return String(n)
    case .double(let d): return goFormatFloat(d, verb: "g", precision: nil)
    case .string(let s): return s
    case .list(let l): return "[" + l.map { goPrint(TVal.of($0), nilText: "<nil>") }.joined(separator: " ") + "]"
    case .map(let m):
        return "map[" + goSortedKeys(m).map { "\($0):\(goPrint(TVal.of(m[$0]), nilText: "<nil>"))" }.joined(separator: " ") + "]"
    case .method: return "<func>"
    case .other(let o): return String(describing: o)
    }
}

func goSortedKeys(_ m: [String: Any]) -> [String] {
    m.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
}

/// fmt.Sprint: spaces between operands when neither side is a string.
func goSprint(_ values: [TVal]) -> String {
    var out = ""
    for (i, v) in values.enumerated() {
        if i > 0, !v.isString, !values[i - 1].isString { out += " " }
        out += goPrint(v, nilText: "<nil>")
    }
    return out
}

// MARK: - Floats

/// The shortest decimal digits that round-trip `d` (positive, finite, non-zero) and the position of
/// the decimal point (strconv's `digs.nd`/`digs.dp`): 1234.5 is ("12345", 4).
func goShortestDigits(_ d: Double) -> (digits: [Character], dp: Int) {
    var s = "\(d)"  // Swift prints the shortest round-trip representation too
    var exp = 0
    if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp = Int(s[s.index(after: e)...]) ?? 0
        s = String(s[..<e])
    }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = parts[0], frac = parts.count > 1 ? parts[1] : ""
    var digits = Array(intPart + frac)
    var dp = intPart.count + exp
    while digits.first == "0" { digits.removeFirst(); dp -= 1 }
    while digits.last == "0" { digits.removeLast() }
    return (digits, dp)
}

/// strconv.FormatFloat for 'e', 'f' and 'g' (precision nil: shortest) the way fmt and json use it.
func goFormatFloat(_ d: Double, verb: Character, precision: Int?) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
    if let precision {
        let spec = verb == "F" ? "f" : String(verb)
        return String(format: "%.\(precision)\(spec)", d)
    }
    let sign = d.sign == .minus ? "-" : ""
    if d == 0 {
        switch verb {
        case "e", "E": return sign + "0e+00"
        default: return sign + "0"
        }
    }
    let (digits, dp) = goShortestDigits(abs(d))
    func eForm() -> String {
        var m = String(digits[0])
        if digits.count > 1 { m += "." + String(digits[1...]) }
        let x = dp - 1
        let mag = abs(x)
        return sign + m + (verb == "E" || verb == "G" ? "E" : "e") + (x < 0 ? "-" : "+") + (mag < 10 ? "0" : "") + String(mag)
    }
    func fForm() -> String {
        if dp <= 0 { return sign + "0." + String(repeating: "0", count: -dp) + String(digits) }
        if dp >= digits.count { return sign + String(digits) + String(repeating: "0", count: dp - digits.count) }
        return sign + String(digits[..<dp]) + "." + String(digits[dp...])
    }
    switch verb {
    case "e", "E": return eForm()
    case "f", "F": return fForm()
    default:
        // %v and %g of the shortest representation switch to an exponent at 1e+06 and below 1e-04.
        let x = dp - 1
        return (x < -4 || x >= 6) ? eForm() : fForm()
    }
}

// MARK: - Quoting

/// strconv.Quote.
func goQuote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\u{07}": out += "\\a"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{0B}": out += "\\v"
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        default:
            if u.value < 0x20 || u.value == 0x7F {
                out += String(format: "\\x%02x", u.value)
            } else if goIsPrint(u) {
                out.unicodeScalars.append(u)
            } else if u.value < 0x10000 {
                out += String(format: "\\u%04x", u.value)
            } else {
                out += String(format: "\\U%08x", u.value)
            }
        }
    }
    return out + "\""
}

private func goIsPrint(_ u: Unicode.Scalar) -> Bool {
    if u == " " { return true }
    switch u.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
        .nonspacingMark, .spacingMark, .enclosingMark,
        .decimalNumber, .letterNumber, .otherNumber,
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
        .finalPunctuation, .otherPunctuation,
        .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
        return true
    default:
        return false
    }
}

// MARK: - printf

struct GoFormatSpec {
    var minus = false, plus = false, zero = false, space = false, sharp = false
    var width: Int?
    var precision: Int?
}

/// fmt.Sprintf for the verbs docker users write: %v %s %d %q %f %e %g %x %X %t %c %%, with flags,
/// width and precision. Errors print inline as Go does (`%!d(string=x)`, `%!s(MISSING)`).
func goSprintf(_ format: String, _ args: [TVal]) -> String {
    let f = Array(format.unicodeScalars)
    var out = ""
    var i = 0, argi = 0
    func number() -> Int? {
        var n: Int?
        while i < f.count, let d = Int(String(f[i])), f[i].isASCII { n = (n ?? 0) * 10 + d; i += 1 }
        return n
    }
    func starArg() -> Int? {
        guard argi < args.count else { return nil }
        defer { argi += 1 }
        if case .int(let n) = args[argi] { return n }
        return nil
    }
    while i < f.count {
        let c = f[i]
        if c != "%" { out.unicodeScalars.append(c); i += 1; continue }
        i += 1
        var spec = GoFormatSpec()
        flags: while i < f.count {
            switch f[i] {
            case "-": spec.minus = true
            case "+": spec.plus = true
            case "0": spec.zero = true
            case " ": spec.space = true
            case "#": spec.sharp = true
            default: break flags
            }
            i += 1
        }
        if i < f.count && f[i] == "*" {
            i += 1
            guard let w = starArg() else { out += "%!(BADWIDTH)"; continue }
            if w < 0 { spec.minus = true }
            spec.width = abs(w)
        } else {
            spec.width = number()
        }
        if i < f.count && f[i] == "." {
            i += 1
            if i < f.count && f[i] == "*" {
                i += 1
                guard let p = starArg() else { out += "%!(BADPREC)"; continue }
                spec.precision = max(p, 0)
            } else {
                spec.precision = number() ?? 0
            }
        }
        guard i < f.count else { out += "%!(NOVERB)"; break }
        let verb = Character(f[i])
        i += 1
        if verb == "%" { out += "%"; continue }
        guard argi < args.count else { out += "%!\(verb)(MISSING)"; continue }
        out += goFormatArg(args[argi], verb: verb, spec: spec)
        argi += 1
    }
    if argi < args.count {
        let extra = args[argi...].map { $0.isNil ? "<nil>" : "\($0.goType)=\(goPrint($0, nilText: "<nil>"))" }
        out += "%!(EXTRA " + extra.joined(separator: ", ") + ")"
    }
    return out
}

func goFormatArg(_ arg: TVal, verb: Character, spec: GoFormatSpec) -> String {
    func pad(_ s: String, numeric: Bool = false) -> String {
        guard let w = spec.width else { return s }
        let n = s.unicodeScalars.count
        guard n < w else { return s }
        let fill = w - n
        if spec.minus { return s + String(repeating: " ", count: fill) }
        if spec.zero && numeric {
            if let first = s.first, first == "-" || first == "+" || first == " " {
                return String(first) + String(repeating: "0", count: fill) + s.dropFirst()
            }
            return String(repeating: "0", count: fill) + s
        }
        return String(repeating: " ", count: fill) + s
    }
    func bad() -> String {
        if arg.isNil { return "%!\(verb)(<nil>)" }
        return "%!\(verb)(\(arg.goType)=\(goPrint(arg, nilText: "<nil>")))"
    }
    func signed(_ s: String, negative: Bool) -> String {
        if negative { return s }
        if spec.plus { return "+" + s }
        if spec.space { return " " + s }
        return s
    }
    func integer(_ n: Int) -> String? {
        let mag = n.magnitude
        var digits: String
        switch verb {
        case "d", "v": digits = String(mag)
        case "x": digits = String(mag, radix: 16); if spec.sharp { digits = "0x" + digits }
        case "X": digits = String(mag, radix: 16).uppercased(); if spec.sharp { digits = "0X" + digits }
        case "o": digits = String(mag, radix: 8); if spec.sharp { digits = "0" + digits }
        case "b": digits = String(mag, radix: 2)
        case "c": return pad(Unicode.Scalar(UInt32(truncatingIfNeeded: n)).map { String(Character($0)) } ?? "\u{FFFD}")
        case "q": return pad(Unicode.Scalar(UInt32(truncatingIfNeeded: n)).map { "'" + goQuote(String($0)).dropFirst().dropLast() + "'" } ?? "'\u{FFFD}'")
        case "U": return pad(String(format: "U+%04X", n))
        case "e", "E", "f", "F", "g", "G": return float(Double(n))
        default: return nil
        }
        if let p = spec.precision, digits.count < p { digits = String(repeating: "0", count: p - digits.count) + digits }
        return pad(signed((n < 0 ? "-" : "") + digits, negative: n < 0), numeric: spec.precision == nil)
    }
    func float(_ d: Double) -> String? {
        var s: String
        switch verb {
        case "v", "g", "G": s = goFormatFloat(d, verb: verb == "v" ? "g" : verb, precision: spec.precision)
        case "e", "E": s = goFormatFloat(d, verb: verb, precision: spec.precision ?? 6)
        case "f", "F": s = goFormatFloat(d, verb: verb, precision: spec.precision ?? 6)
        case "d" where d == d.rounded() && abs(d) < 9e18: return integer(Int(d))
        default: return nil
        }
        s = signed(s, negative: d.sign == .minus)
        return pad(s, numeric: true)
    }
    switch arg {
    case .missing, .null:
        return verb == "v" ? pad("<nil>") : bad()
    case .bool(let b):
        return verb == "v" || verb == "t" ? pad(b ? "true" : "false") : bad()
    case .int(let n):
        return integer(n) ?? bad()
    case .double(let d):
        return float(d) ?? bad()
    case .string(let s):
        switch verb {
        case "s", "v":
            let t = spec.precision.map { String(String.UnicodeScalarView(s.unicodeScalars.prefix($0))) } ?? s
            return pad(t)
        case "q":
            return pad(goQuote(s))
        case "x", "X":
            let hex = s.utf8.map { String(format: verb == "x" ? "%02x" : "%02X", UInt32($0)) }.joined()
            return pad(hex)
        default: return bad()
        }
    case .list(let l):
        return "[" + l.map { goFormatArg(TVal.of($0), verb: verb, spec: spec) }.joined(separator: " ") + "]"
    case .map(let m):
        return "map[" + goSortedKeys(m).map {
            goFormatArg(.string($0), verb: verb, spec: spec) + ":" + goFormatArg(TVal.of(m[$0]), verb: verb, spec: spec)
        }.joined(separator: " ") + "]"
    case .method, .other:
        return verb == "v" || verb == "s" ? pad(goPrint(arg)) : bad()
    }
}

// MARK: - JSON

/// encoding/json of a template value: sorted keys, Go's number and string forms. `escapeHTML` is
/// json.Marshal's default (`<` as `\u003c`); docker's `json` function turns it off.
func goJSON(_ v: TVal, escapeHTML: Bool, indent: String? = nil, level: Int = 0) -> String {
    func nl(_ l: Int) -> String { indent.map { "\n" + String(repeating: $0, count: l) } ?? "" }
    switch v {
    case .missing, .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let n): return String(n)
    case .double(let d):
        if !d.isFinite { return "null" }
        let a = abs(d)
        if a != 0 && (a < 1e-6 || a >= 1e21) {
            // Go trims the exponent's leading zero: 1e-07 is 1e-7.
            var s = goFormatFloat(d, verb: "e", precision: nil)
            if let r = s.range(of: "e-0") { s.replaceSubrange(r, with: "e-") }
            if let r = s.range(of: "e+0") { s.replaceSubrange(r, with: "e+") }
            return s
        }
        return goFormatFloat(d, verb: "f", precision: nil)
    case .string(let s): return goJSONString(s, escapeHTML: escapeHTML)
    case .list(let l):
        if l.isEmpty { return "[]" }
        let items = l.map { nl(level + 1) + goJSON(TVal.of($0), escapeHTML: escapeHTML, indent: indent, level: level + 1) }
        return "[" + items.joined(separator: ",") + nl(level) + "]"
    case .map(let m):
        if m.isEmpty { return "{}" }
        let sep = indent == nil ? ":" : ": "
        let items = goSortedKeys(m).map {
            nl(level + 1) + goJSONString($0, escapeHTML: escapeHTML) + sep
                + goJSON(TVal.of(m[$0]), escapeHTML: escapeHTML, indent: indent, level: level + 1)
        }
        return "{" + items.joined(separator: ",") + nl(level) + "}"
    case .method: return "null"
    case .other(let o): return goJSONString(String(describing: o), escapeHTML: escapeHTML)
    }
}

func goJSONString(_ s: String, escapeHTML: Bool) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "<", ">", "&":
            if escapeHTML { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        case "\u{2028}", "\u{2029}": out += String(format: "\\u%04x", u.value)
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
