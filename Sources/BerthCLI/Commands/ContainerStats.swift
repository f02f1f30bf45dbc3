import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth stats`: CPU, memory, network, block I/O and PIDs per container, computed from the
/// Engine API's stats exactly as docker/cli's stats_helpers.go does. Live by default: one stream
/// per container on its own thread, the table redrawn every half second with docker's ANSI clear.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Display a live stream of container(s) resource usage statistics",
                                                    helpNames: [.long])
    @Flag(name: [.short, .customLong("all")], help: "Show all containers (default shows just running)") var all = false
    @Option(name: .customLong("format"), help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("no-stream"), help: "Disable streaming stats and only pull the first result") var noStream = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate output") var noTrunc = false
    @Argument(help: "Containers (default: all running)") var containers: [String] = []

    static let defaultTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
    static let headers = ["Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
                          "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"]

    func run() throws {
        let client = try CLI.client()
        let collector = StatsCollector(host: client.host, version: try client.apiVersion(), stream: !noStream)
        let showAll = containers.isEmpty
        func listed() throws -> [String] {
            let list = try client.json("GET", "/containers/json", query: all ? [("all", "1")] : []) as? [[String: Any]] ?? []
            return list.compactMap { ($0["Id"] as? String).map { String($0.prefix(12)) } }
        }
        if showAll { collector.track(try listed()) } else { collector.track(containers) }
        collector.waitFirst(timeout: noStream ? 10 : 2)
        if !showAll {
            let errors = collector.snapshot().compactMap(\.error)
            if !errors.isEmpty { throw CLIError(errors.joined(separator: "\n")) }
        }
        let list = ListFormat(format: format, defaultTable: Self.defaultTable, quiet: false, quietFormat: "{{.ID}}", headers: Self.headers)
        var tick = 0
        while true {
            let rows = collector.snapshot().map { $0.context(trunc: !noTrunc) }
            var out = try list.render(rows)
            if !noStream { out = "\u{1B}[2J\u{1B}[H" + out }
            writeAll(1, Array(out.utf8))
            if noStream { return }
            usleep(500_000)
            tick += 1
            // Containers that started or stopped since (docker follows the events for this).
            if showAll && tick % 2 == 0, let ids = try? listed() {
                collector.track(ids)
                if !all { collector.keepOnly(Set(ids)) }
            }
        }
    }
}

/// One container's numbers, as docker/cli's StatsEntry.
struct StatsEntry: Sendable, Equatable {
    var container: String
    var name = ""
    var id = ""
    var cpuPercentage = 0.0
    var memory = 0.0
    var memoryLimit = 0.0
    var memoryPercentage = 0.0
    var networkRx = 0.0
    var networkTx = 0.0
    var blockRead = 0.0
    var blockWrite = 0.0
    var pids: UInt64 = 0
    var invalid = false
    var error: String?

    init(container: String) { self.container = container }

    /// The entry for one stats response (Linux).
    init(container: String, stats v: [String: Any]) {
        self.container = container
        name = v["name"] as? String ?? ""
        id = v["id"] as? String ?? ""
        cpuPercentage = StatsMath.cpuPercent(previous: v["precpu_stats"] as? [String: Any] ?? [:], current: v["cpu_stats"] as? [String: Any] ?? [:])
        let mem = v["memory_stats"] as? [String: Any] ?? [:]
        memory = StatsMath.memUsageNoCache(mem)
        memoryLimit = StatsMath.number(mem["limit"])
        memoryPercentage = memoryLimit != 0 ? memory / memoryLimit * 100 : 0
        (networkRx, networkTx) = StatsMath.network(v["networks"] as? [String: Any] ?? [:])
        (blockRead, blockWrite) = StatsMath.blockIO(v["blkio_stats"] as? [String: Any] ?? [:])
        pids = UInt64(StatsMath.number((v["pids_stats"] as? [String: Any])?["current"]))
    }

    /// The template context, with docker's field names and texts.
    func context(trunc: Bool) -> [String: Any] {
        func pct(_ v: Double) -> String { String(format: "%.2f%%", v) }
        func size(_ v: Double) -> String { humanSize(Int64(v)) }
        return [
            "Container": container,
            "Name": name.count > 1 ? String(name.dropFirst()) : "--",
            "ID": trunc ? truncateID(id) : id,
            "CPUPerc": invalid ? "--" : pct(cpuPercentage),
            "MemUsage": invalid ? "-- / --" : "\(bytesSize(Int64(memory))) / \(bytesSize(Int64(memoryLimit)))",
            "MemPerc": invalid ? "--" : pct(memoryPercentage),
            "NetIO": invalid ? "--" : "\(size(networkRx)) / \(size(networkTx))",
            "BlockIO": invalid ? "--" : "\(size(blockRead)) / \(size(blockWrite))",
            "PIDs": invalid ? "--" : String(pids),
        ]
    }
}

/// docker/cli's stats_helpers.go arithmetic over the JSON of one stats response.
enum StatsMath {
    static func number(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? 0 }

    /// calculateCPUPercentUnix: the container's share of the system's CPU time between the two
    /// samples, times the online CPUs.
    static func cpuPercent(previous: [String: Any], current: [String: Any]) -> Double {
        let curUsage = current["cpu_usage"] as? [String: Any] ?? [:]
        let preUsage = previous["cpu_usage"] as? [String: Any] ?? [:]
        let cpuDelta = number(curUsage["total_usage"]) - number(preUsage["total_usage"])
        let systemDelta = number(current["system_cpu_usage"]) - number(previous["system_cpu_usage"])
        var online = number(current["online_cpus"])
        if online == 0 { online = Double((curUsage["percpu_usage"] as? [Any])?.count ?? 0) }
        guard systemDelta > 0, cpuDelta > 0 else { return 0 }
        return cpuDelta / systemDelta * online * 100
    }

    /// calculateMemUsageUnixNoCache: usage less inactive file pages (v1: total_inactive_file).
    static func memUsageNoCache(_ mem: [String: Any]) -> Double {
        let usage = number(mem["usage"])
        let stats = mem["stats"] as? [String: Any] ?? [:]
        if stats["total_inactive_file"] != nil {
            let v = number(stats["total_inactive_file"])
            if v < usage { return usage - v }
        }
        let v = number(stats["inactive_file"])
        if v < usage { return usage - v }
        return usage
    }

    static func network(_ networks: [String: Any]) -> (Double, Double) {
        var rx = 0.0, tx = 0.0
        for case let n as [String: Any] in networks.values {
            rx += number(n["rx_bytes"])
            tx += number(n["tx_bytes"])
        }
        return (rx, tx)
    }

    static func blockIO(_ blkio: [String: Any]) -> (Double, Double) {
        var r = 0.0, w = 0.0
        for case let e as [String: Any] in blkio["io_service_bytes_recursive"] as? [Any] ?? [] {
            guard let op = (e["op"] as? String)?.first else { continue }
            switch op {
            case "r", "R": r += number(e["value"])
            case "w", "W": w += number(e["value"])
            default: break
            }
        }
        return (r, w)
    }
}

/// The stats of several containers, each fetched (or streamed) by a thread of its own with a
/// connection of its own.
final class StatsCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var order: [String] = []
    private var entries: [String: StatsEntry] = [:]
    private var firstPending = 0
    private let first = DispatchSemaphore(value: 0)
    let host: EngineHost
    let version: String
    let stream: Bool

    init(host: EngineHost, version: String, stream: Bool) { self.host = host; self.version = version; self.stream = stream }

    func track(_ containers: [String]) {
        for c in containers {
            lock.lock()
            let known = entries[c] != nil
            if !known { order.append(c); entries[c] = StatsEntry(container: c); firstPending += 1 }
            lock.unlock()
            if !known { Thread { self.collect(c) }.start() }
        }
    }

    func keepOnly(_ keep: Set<String>) {
        lock.lock(); defer { lock.unlock() }
        order.removeAll { !keep.contains($0) }
        entries = entries.filter { keep.contains($0.key) }
    }

    func snapshot() -> [StatsEntry] {
        lock.lock(); defer { lock.unlock() }
        return order.compactMap { entries[$0] }
    }

    /// Until every tracked container has its first result (or failed), at most `timeout` seconds.
    func waitFirst(timeout: Double) {
        let deadline = DispatchTime.now() + timeout
        while true {
            lock.lock(); let pending = firstPending; lock.unlock()
            if pending <= 0 || first.wait(timeout: deadline) == .timedOut { return }
        }
    }

    private func update(_ c: String, _ change: (inout StatsEntry) -> Void) {
        lock.lock()
        if var e = entries[c] { change(&e); entries[c] = e }
        lock.unlock()
    }

    private func firstDone(_ done: inout Bool) {
        guard !done else { return }
        done = true
        lock.lock(); firstPending -= 1; lock.unlock()
        first.signal()
    }

    private func collect(_ c: String) {
        var reported = false
        defer { firstDone(&reported) }
        let client = EngineClient(host: host, version: version)
        do {
            let reader = try client.open("GET", "/containers/\(c)/stats", query: [("stream", stream ? "1" : "0")])
            while let line = try reader.nextLine() {
                guard let v = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                let entry = StatsEntry(container: c, stats: v)
                update(c) { $0 = entry }
                firstDone(&reported)
                if !stream { return }
            }
        } catch {
            let message = ContainerBatch.message(error)
            update(c) { $0.error = message; $0.invalid = true }
        }
    }
}
