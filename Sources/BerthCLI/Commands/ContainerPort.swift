import ArgumentParser
import Foundation

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports.
struct Port: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List port mappings or a specific mapping for the container",
                                                    helpNames: [.long])
    @Argument(help: "The container") var container: String
    @Argument(help: "PRIVATE_PORT[/PROTO]") var port: String?

    func run() throws {
        let info = try ContainerInfo.inspect(CLI.client(), container)
        let ports = (info.raw["NetworkSettings"] as? [String: Any])?["Ports"] as? [String: Any] ?? [:]
        let lines = try Self.lines(ports: ports, port: port, container: container)
        if !lines.isEmpty { print(lines.joined(separator: "\n")) }
    }

    /// The output lines, sorted as docker sorts them (natural order).
    static func lines(ports: [String: Any], port: String?, container: String) throws -> [String] {
        func bindings(_ v: Any?) -> [String]? {
            guard let list = v as? [[String: Any]] else { return nil }
            return list.map { joinHostPort($0["HostIp"] as? String ?? "", $0["HostPort"] as? String ?? "") }
        }
        var out: [String] = []
        if let port {
            let parts = port.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let number = String(parts[0])
            let proto = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : "tcp"
            guard let n = UInt32(number), n <= 65535 else {
                throw CLIError("Error: invalid port (\(number)): strconv.ParseUint: parsing \(goQuote(number)): invalid syntax")
            }
            guard let b = bindings(ports["\(number)/\(proto)"]) else {
                throw CLIError("Error: No public port '\(port)' published for \(container)")
            }
            out = b
        } else {
            for (from, v) in ports { for b in bindings(v) ?? [] { out.append("\(from) -> \(b)") } }
        }
        return out.sorted(by: naturalLess)
    }
}

/// sortorder.NaturalLess: digit runs compare as numbers.
func naturalLess(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var i = 0, j = 0
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    while i < x.count && j < y.count {
        if isDigit(x[i]) && isDigit(y[j]) {
            var i2 = i, j2 = j
            while i2 < x.count && x[i2] == 0x30 { i2 += 1 }
            while j2 < y.count && y[j2] == 0x30 { j2 += 1 }
            var ie = i2, je = j2
            while ie < x.count && isDigit(x[ie]) { ie += 1 }
            while je < y.count && isDigit(y[je]) { je += 1 }
            if ie - i2 != je - j2 { return ie - i2 < je - j2 }
            for k in 0..<(ie - i2) where x[i2 + k] != y[j2 + k] { return x[i2 + k] < y[j2 + k] }
            if ie - i != je - j { return ie - i < je - j }  // more leading zeros sorts later
            i = ie; j = je
        } else {
            if x[i] != y[j] { return x[i] < y[j] }
            i += 1; j += 1
        }
    }
    return x.count - i < y.count - j
}
