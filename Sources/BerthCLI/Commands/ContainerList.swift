import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// The flags of `berth ps` / `berth container ls`.
struct ContainerListOptions: ParsableArguments {
    @Flag(name: [.short, .customLong("all")], help: "Show all containers (default shows just running)") var all = false
    @Option(name: [.short, .customLong("filter")], help: "Filter output based on conditions provided") var filter: [String] = []
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Option(name: [.customShort("n"), .customLong("last")], help: "Show n last created containers (includes all states)") var last = -1
    @Flag(name: [.short, .customLong("latest")], help: "Show the latest created container (includes all states)") var latest = false
    @Flag(name: .customLong("no-trunc"), help: "Don't truncate output") var noTrunc = false
    @Flag(name: [.short, .customLong("quiet")], help: "Only display container IDs") var quiet = false
    @Flag(name: [.short, .customLong("size")], help: "Display total file sizes") var size = false

    func run() throws {
        let client = try CLI.client()
        let limit = latest ? 1 : last
        var q: [(String, String)] = []
        if all || limit > 0 { q.append(("all", "1")) }
        if limit > 0 { q.append(("limit", String(limit))) }
        // As docker: a template that uses .Size asks the daemon for sizes.
        let wantSize = size || (format?.contains(".Size") ?? false)
        if wantSize && !quiet { q.append(("size", "1")) }
        q += try FilterArgs.query(filter)
        let list = try client.json("GET", "/containers/json", query: q) as? [[String: Any]] ?? []
        var table = ContainerRow.defaultTable
        if size { table += "\t{{.Size}}" }
        // As docker: -q wins over a custom --format.
        let out = try ListFormat(format: quiet ? nil : format, defaultTable: table, quiet: quiet, quietFormat: "{{.ID}}",
                                 headers: ContainerRow.headers).render(list.map { ContainerRow.context($0, trunc: !noTrunc) })
        writeAll(1, Array(out.utf8))
    }
}

/// `berth ps`.
struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers", helpNames: [.long])
    @OptionGroup var options: ContainerListOptions
    func run() throws { try options.run() }
}

/// `berth container ls` (`list`, `ps`).
struct ContainerLs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers",
                                                    helpNames: [.long], aliases: ["list", "ps"])
    @OptionGroup var options: ContainerListOptions
    func run() throws { try options.run() }
}

/// One `ps` row as docker/cli's ContainerContext: the same field names, so templates and
/// `{{json .}}` give what docker gives.
enum ContainerRow {
    static let defaultTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    static let headers = [
        "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
        "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
    ]

    static func context(_ c: [String: Any], trunc: Bool, now: Date = Date()) -> [String: Any] {
        let id = c["Id"] as? String ?? ""
        let names = (c["Names"] as? [String] ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        // Truncated, docker shows one name: the first that is not a legacy link ("/other/alias").
        let shownNames = trunc ? (names.first { !$0.contains("/") } ?? "") : names.joined(separator: ",")
        let created = Date(timeIntervalSince1970: (c["Created"] as? NSNumber)?.doubleValue ?? 0)
        let command = c["Command"] as? String ?? ""
        let state = c["State"] as? String ?? ""
        var status = c["Status"] as? String ?? ""
        if status.isEmpty { status = containerStatus(state: state, startedAt: nil, finishedAt: nil, exitCode: 0, health: nil, now: now) }
        let labels = (c["Labels"] as? [String: String] ?? [:]).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        let mounts = c["Mounts"] as? [[String: Any]] ?? []
        let mountNames = mounts.map { m -> String in
            let n = (m["Name"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? (m["Source"] as? String ?? "")
            return trunc ? ellipsis(n, 15) : n
        }.joined(separator: ",")
        let localVolumes = mounts.filter { ($0["Driver"] as? String) == "local" }.count
        let networks = ((c["NetworkSettings"] as? [String: Any])?["Networks"] as? [String: Any] ?? [:]).keys.sorted()
        let sizeRw = (c["SizeRw"] as? NSNumber)?.int64Value ?? 0
        let sizeRoot = (c["SizeRootFs"] as? NSNumber)?.int64Value ?? 0
        let size = sizeRoot > 0 ? "\(humanSize(sizeRw)) (virtual \(humanSize(sizeRoot)))" : humanSize(sizeRw)
        return [
            "ID": trunc ? truncateID(id) : id,
            "Names": shownNames,
            "Image": image(c["Image"] as? String ?? "", imageID: c["ImageID"] as? String ?? "", trunc: trunc),
            "Command": goQuote(trunc ? ellipsis(command, 20) : command),
            "CreatedAt": goTimeString(created),
            "RunningFor": ago(created, now: now),
            "Ports": displayablePorts(c["Ports"] as? [[String: Any]] ?? []),
            "State": state,
            "Status": status,
            "Size": size,
            "Labels": labels,
            "Mounts": mountNames,
            "LocalVolumes": String(localVolumes),
            "Networks": networks.joined(separator: ","),
            "Platform": NSNull(),
        ]
    }

    /// The IMAGE column: a bare image ID is shortened, a digest dropped (the tag kept), as docker.
    static func image(_ image: String, imageID: String, trunc: Bool) -> String {
        if image.isEmpty { return "<no image>" }
        guard trunc else { return image }
        if truncateID(imageID) == truncateID(image) { return truncateID(image) }
        var ref = image
        if let at = ref.firstIndex(of: "@") { ref = String(ref[..<at]) }
        for prefix in ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"] where ref.hasPrefix(prefix) {
            ref = String(ref.dropFirst(prefix.count))
            break
        }
        return ref
    }
}

/// docker/cli's DisplayablePorts: "0.0.0.0:80->9090/tcp, 9988/tcp". Ports published on the same
/// number (or only exposed) are grouped into ranges per IP and protocol; other mappings follow.
func displayablePorts(_ ports: [[String: Any]]) -> String {
    struct Port { var ip: String; var priv: Int; var pub: Int; var type: String }
    let list = ports.map {
        Port(ip: $0["IP"] as? String ?? "", priv: ($0["PrivatePort"] as? NSNumber)?.intValue ?? 0,
             pub: ($0["PublicPort"] as? NSNumber)?.intValue ?? 0, type: $0["Type"] as? String ?? "tcp")
    }.sorted { a, b in
        if a.priv != b.priv { return a.priv < b.priv }
        if a.ip != b.ip { return a.ip < b.ip }
        if a.pub != b.pub { return a.pub < b.pub }
        return a.type < b.type
    }
    func group(_ key: String, _ first: Int, _ last: Int) -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var type = parts[0], ip = ""
        if parts.count > 1 { ip = parts[0]; type = parts[1] }
        var g = String(first)
        if first != last { g += "-\(last)" }
        if !ip.isEmpty { g = "\(joinHostPort(ip, g))->\(g)" }
        return g + "/" + type
    }
    var groups: [String: (first: Int, last: Int)] = [:]
    var keys: [String] = []
    var result: [String] = []
    var mappings: [String] = []
    for p in list {
        var key = p.type
        if !p.ip.isEmpty {
            if p.pub != p.priv {
                mappings.append("\(joinHostPort(p.ip, String(p.pub)))->\(p.priv)/\(p.type)")
                continue
            }
            key = p.ip + "/" + p.type
        }
        guard let g = groups[key] else {
            groups[key] = (p.priv, p.priv)
            keys.append(key)
            continue
        }
        if p.priv == g.last + 1 { groups[key] = (g.first, p.priv); continue }
        result.append(group(key, g.first, g.last))
        groups[key] = (p.priv, p.priv)
    }
    for k in keys { if let g = groups[k] { result.append(group(k, g.first, g.last)) } }
    return (result + mappings).joined(separator: ", ")
}

/// docker/cli's Ellipsis: at most `width` display columns, the last one "…" when cut.
func ellipsis(_ s: String, _ width: Int) -> String {
    if width <= 0 { return "" }
    let scalars = Array(s.unicodeScalars)
    if width == 1 { return scalars.first.map { String($0) } ?? "" }
    var cols: [Int] = []
    var total = 0
    for u in scalars { total += displayWidth(u); cols.append(total) }
    if total <= width { return s }
    var out = String.UnicodeScalarView()
    for (i, u) in scalars.enumerated() where cols[i] <= width - 1 { out.append(u) }
    return String(out) + "…"
}

/// East Asian wide and full-width characters take two columns.
private func displayWidth(_ u: Unicode.Scalar) -> Int {
    switch u.value {
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
         0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
         0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
        return 2
    default:
        return 1
    }
}

/// Go's time.Time.String() for a Unix time in the local zone: "2006-01-02 15:04:05 -0700 MST".
func goTimeString(_ date: Date) -> String {
    var t = time_t(date.timeIntervalSince1970)
    var tmv = tm()
    localtime_r(&t, &tmv)
    var buf = [Int8](repeating: 0, count: 80)
    let n = strftime(&buf, buf.count, "%Y-%m-%d %H:%M:%S %z %Z", &tmv)
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
