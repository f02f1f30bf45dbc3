/// Go's time.ParseDuration ("1m30s", "500ms", "1.5h", "-2s", "0"), in nanoseconds: HEALTHCHECK's
/// flags are Go durations, so they accept exactly what Docker accepts.
enum GoDuration {
    static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    static func parse(_ text: String) throws(DockerfileError) -> Int64 {
        let invalid = DockerfileError(line: 0, "time: invalid duration \"\(text)\"")
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw invalid }
        var total: Double = 0
        while !rest.isEmpty {
            let whole = rest.prefix(while: { $0.isASCII && $0.isNumber })
            rest = rest.dropFirst(whole.count)
            var fraction = Substring("")
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix(while: { $0.isASCII && $0.isNumber })
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { throw invalid }
            let unitText = rest.prefix(while: { !($0.isASCII && ($0.isNumber || $0 == ".")) })
            rest = rest.dropFirst(unitText.count)
            guard !unitText.isEmpty else {
                throw DockerfileError(line: 0, "time: missing unit in duration \"\(text)\"")
            }
            guard let scale = units.first(where: { $0.0 == unitText })?.1 else {
                throw DockerfileError(line: 0, "time: unknown unit \"\(unitText)\" in duration \"\(text)\"")
            }
            guard let value = Double("\(whole.isEmpty ? "0" : whole).\(fraction.isEmpty ? "0" : fraction)") else {
                throw invalid
            }
            total += value * scale
        }
        guard total <= Double(Int64.max) else { throw invalid }
        let nanoseconds = Int64(total.rounded(.towardZero))
        return negative ? -nanoseconds : nanoseconds
    }
}
