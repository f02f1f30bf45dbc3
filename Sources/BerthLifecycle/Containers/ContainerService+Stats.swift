import Foundation
import Glibc
import BerthCgroups
import BerthOCI
import BerthOS
import BerthWire

/// One sample of `GET /containers/{id}/stats` in Docker's keys (the cgroup part; networks come
/// with the network tier). `precpu_stats` is the caller's previous sample, as Docker streams it.
public struct ContainerStats: Codable, Sendable {
    public struct CPUUsage: Codable, Sendable {
        public var total_usage: UInt64
        public var percpu_usage: [UInt64]
        public var usage_in_kernelmode: UInt64
        public var usage_in_usermode: UInt64
    }
    public struct Throttling: Codable, Sendable {
        public var periods: UInt64
        public var throttled_periods: UInt64
        public var throttled_time: UInt64
    }
    public struct CPUStats: Codable, Sendable {
        public var cpu_usage: CPUUsage
        public var system_cpu_usage: UInt64
        public var online_cpus: Int
        public var throttling_data: Throttling
    }
    public struct MemoryStats: Codable, Sendable {
        public var usage: UInt64
        public var max_usage: UInt64
        public var limit: UInt64
        public var failcnt: UInt64
        public var stats: [String: UInt64]
    }
    public struct PidsStats: Codable, Sendable {
        public var current: UInt64
        public var limit: UInt64?
    }
    public var id: String
    public var name: String
    public var read: String
    public var preread: String
    public var pids_stats: PidsStats
    public var cpu_stats: CPUStats
    public var precpu_stats: CPUStats?
    public var memory_stats: MemoryStats
    public var blkio_stats: [String: [String]]
}

extension ContainerService {
    /// Top of a running container: `ps` (default `-ef`) limited to its processes.
    public func top(_ p: ContainerTopParams) async throws -> ContainerTopResult {
        let c = try resolve(p.id)
        guard c.state.running else { throw LifecycleError.conflict("Container \(c.id) is not running") }
        if c.state.restarting { throw LifecycleError.conflict("Container \(c.id) is restarting, wait until the container is running") }
        let args = (p.psArgs ?? "").split(separator: " ").map(String.init)
        let r = try await Blocking.run { [self] in try runRuntime(["ps", c.id, "--"] + (args.isEmpty ? ["-ef"] : args)) }
        guard r.status == 0 else { throw LifecycleError.internalError("ps in container \(c.id): \(r.output)") }
        return try Self.parsePS(r.raw)
    }

    /// `ps` output as Docker's titles and rows: the last column (the command) keeps its spaces.
    static func parsePS(_ text: String) throws -> ContainerTopResult {
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        guard let header = lines.first else { throw LifecycleError.internalError("ps printed nothing") }
        let titles = header.split(separator: " ").map(String.init)
        guard titles.contains("PID") else { throw LifecycleError.invalidArgument("Couldn't find PID field in ps output") }
        let rows = lines.dropFirst().map { line -> [String] in
            let fields = line.split(separator: " ", maxSplits: max(0, titles.count - 1), omittingEmptySubsequences: true).map(String.init)
            return fields
        }
        return ContainerTopResult(titles: titles, processes: rows)
    }

    /// One stats sample from the container's cgroups.
    public func stats(_ ref: String) async throws -> ContainerStats {
        let c = try resolve(ref)
        let spec = try JSONDecoder().decode(Spec.self, from: Data(try FS.readBytes(bundle(c.id) + "/config.json")))
        var s = CgroupStats()
        if c.state.running {
            do {
                let m = try CgroupManager(layout: try CgroupLayout.host(), cgroupsPath: spec.linux?.cgroupsPath, containerID: c.id, fs: HostCgroupFS())
                s = try m.stats()
            } catch { throw LifecycleError.internalError("stats of container \(c.id): \(error)") }
        }
        let cpu = ContainerStats.CPUStats(
            cpu_usage: .init(total_usage: s.cpu.usage.total, percpu_usage: s.cpu.usage.percpu,
                             usage_in_kernelmode: s.cpu.usage.kernel, usage_in_usermode: s.cpu.usage.user),
            system_cpu_usage: Self.systemCPUUsage(), online_cpus: ProcessInfo.processInfo.activeProcessorCount,
            throttling_data: .init(periods: s.cpu.throttling.periods, throttled_periods: s.cpu.throttling.throttledPeriods,
                                   throttled_time: s.cpu.throttling.throttledTime))
        return ContainerStats(
            id: c.id, name: "/" + c.name, read: Self.now(), preread: ContainerState.zeroTime,
            pids_stats: .init(current: s.pids.current, limit: s.pids.limit == 0 ? nil : s.pids.limit),
            cpu_stats: cpu, precpu_stats: nil,
            memory_stats: .init(usage: s.memory.usage.usage, max_usage: s.memory.usage.max, limit: s.memory.usage.limit,
                                failcnt: s.memory.usage.failcnt, stats: s.memory.raw),
            blkio_stats: [:])
    }

    /// The host's total CPU time in nanoseconds (/proc/stat's first line), as Docker reports it.
    static func systemCPUUsage() -> UInt64 {
        guard let text = try? FS.readString("/proc/stat"), let line = text.split(separator: "\n").first else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }.reduce(0, +)
        let hz = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return ticks * (1_000_000_000 / hz)
    }
}
