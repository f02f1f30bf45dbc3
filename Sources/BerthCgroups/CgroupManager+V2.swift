import BerthOCI
import Glibc

// cgroup v2: one directory, controller files named <controller>.<knob>. Mapping follows runc's
// libcontainer/cgroups/fs2, including its conversions from v1-style spec values.

extension CgroupManager {
    /// The unified directory; every v2 manager has one.
    func unifiedDirectory() throws(CgroupError) -> String {
        guard let dir = paths[""] else {
            throw CgroupError(operation: "find unified cgroup directory", reason: "the saved cgroup paths have no \"\" (cgroup v2) entry")
        }
        return dir
    }

    // MARK: create

    /// Creates the directory level by level, delegating every controller the root offers
    /// through each parent's `cgroup.subtree_control` first (runc's CreateCgroupPath): without
    /// that, the leaf has no memory.max, pids.max, ….
    func createV2(mountPoint: String) throws(CgroupError) {
        let dir = try unifiedDirectory()
        guard dir.hasPrefix(mountPoint) else {
            try fs.mkdirAll(dir)
            return
        }
        let available = (try? read(mountPoint, "cgroup.controllers"))?
            .split(whereSeparator: \.isWhitespace).map { "+" + $0 } ?? []
        var current = mountPoint
        for component in dir.dropFirst(mountPoint.count).split(separator: "/") {
            if !available.isEmpty { enableControllers(available, in: current) }
            current += "/" + component
            try fs.mkdirAll(current)
        }
    }

    /// Best effort, like runc: a controller can be unavailable (rootless, threaded subtree) or
    /// the parent can hold processes; the resource writes later report what is really missing.
    private func enableControllers(_ controllers: [String], in dir: String) {
        if (try? write(dir, "cgroup.subtree_control", controllers.joined(separator: " "))) == nil {
            for controller in controllers {
                try? write(dir, "cgroup.subtree_control", controller)
            }
        }
    }

    // MARK: apply

    func applyV2(_ r: Resources) throws(CgroupError) {
        let dir = try unifiedDirectory()
        if r.network?.classID != nil || !(r.network?.priorities ?? []).isEmpty {
            throw CgroupError.unsupported("apply linux.resources.network",
                                          "net_cls and net_prio do not exist in cgroup v2")
        }
        if (r.cpu?.realtimePeriod ?? 0) != 0 || (r.cpu?.realtimeRuntime ?? 0) != 0 {
            throw CgroupError.unsupported("apply linux.resources.cpu.realtimeRuntime/realtimePeriod",
                                          "cgroup v2 has no real-time CPU bandwidth control")
        }
        // runc's order: pids, memory, io, cpu, devices, cpuset, hugetlb, rdma, unified (last,
        // so explicit unified values win over converted ones).
        if let pids = r.pids {
            try write(dir, "pids.max", CgroupManager.pidsMax(pids.limit))
        }
        if let memory = r.memory { try applyMemoryV2(memory, dir) }
        if let blockIO = r.blockIO { try applyIOV2(blockIO, dir) }
        if let cpu = r.cpu { try applyCPUV2(cpu, dir) }
        if let rules = r.devices, !rules.isEmpty {
            try fs.attachDeviceFilter(try deviceFilterProgram(rules), to: dir)
        }
        if let cpus = r.cpu?.cpus, !cpus.isEmpty { try write(dir, "cpuset.cpus", cpus) }
        if let mems = r.cpu?.mems, !mems.isEmpty { try write(dir, "cpuset.mems", mems) }
        for limit in r.hugepageLimits ?? [] {
            try write(dir, "hugetlb.\(limit.pageSize).max", String(limit.limit))
            let reserved = "hugetlb.\(limit.pageSize).rsvd.max"
            if fs.exists(dir + "/" + reserved) { try write(dir, reserved, String(limit.limit)) }
        }
        for (device, limit) in (r.rdma ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let line = CgroupManager.rdmaLine(device, limit) { try write(dir, "rdma.max", line) }
        }
        for (key, value) in (r.unified ?? [:]).sorted(by: { $0.key < $1.key }) {
            try writeUnified(key, value, dir)
        }
    }

    private func applyMemoryV2(_ memory: BerthOCI.Memory, _ dir: String) throws(CgroupError) {
        // kernel, kernelTCP, swappiness and disableOOMKiller have no v2 equivalent; runc ignores them.
        let limit = memory.limit ?? 0
        let swapSpec = memory.swap ?? 0
        let reservation = memory.reservation ?? 0
        guard limit != 0 || swapSpec != 0 || reservation != 0 else { return }

        if memory.checkBeforeUpdate == true, limit > 0,
           let usage = try readNumberIfPresent(dir, "memory.current"), usage >= UInt64(limit) {
            throw CgroupError.invalid("linux.resources.memory.limit",
                                      "rejecting memory limit \(limit) below current usage \(usage)")
        }
        let swap = try CgroupManager.swapV2(memorySwap: swapSpec, memory: limit)
        var swapText = CgroupManager.v2Number(swap)
        // memory and swap set to the same value means "no swap".
        if swapText == nil && swap == 0 && swapSpec > 0 { swapText = "0" }
        if let swapText {
            do {
                try write(dir, "memory.swap.max", swapText)
            } catch {
                // Without swap accounting there is no file; "no swap" and "unlimited" then hold anyway.
                guard error.errno == ENOENT, swapText == "max" || swapText == "0" else { throw error }
            }
        }
        if let text = CgroupManager.v2Number(limit) { try write(dir, "memory.max", text) }
        if let text = CgroupManager.v2Number(reservation) { try write(dir, "memory.low", text) }
    }

    /// The OCI spec's swap is memory+swap (v1 semantics); memory.swap.max is swap alone.
    /// Port of runc's ConvertMemorySwapToCgroupV2Value.
    static func swapV2(memorySwap: Int64, memory: Int64) throws(CgroupError) -> Int64 {
        // Unlimited memory with swap unset means unlimited both, as on v1.
        if memory == -1 && memorySwap == 0 { return -1 }
        if memorySwap == -1 || memorySwap == 0 { return memorySwap }
        let field = "linux.resources.memory.swap"
        if memory == 0 || memory == -1 {
            throw .invalid(field, "a swap limit (\(memorySwap)) needs a memory limit")
        }
        if memorySwap < memory {
            throw .invalid(field, "memory+swap limit \(memorySwap) is below the memory limit \(memory)")
        }
        return memorySwap - memory
    }

    /// runc's numToStr: 0 is "unset", -1 is "max".
    static func v2Number(_ value: Int64) -> String? {
        switch value {
        case 0: return nil
        case -1: return "max"
        default: return String(value)
        }
    }

    private func applyCPUV2(_ cpu: BerthOCI.CPU, _ dir: String) throws(CgroupError) {
        if let idle = cpu.idle { try write(dir, "cpu.idle", String(idle)) }
        if let shares = cpu.shares, shares != 0 {
            try write(dir, "cpu.weight", String(CgroupManager.cpuWeight(shares: shares)))
        }
        if let burst = cpu.burst { try write(dir, "cpu.max.burst", String(burst)) }
        let quota = cpu.quota ?? 0
        let period = cpu.period ?? 0
        if quota != 0 || period != 0 {
            // 100000 µs is the kernel's default period; runc fills it in the same way.
            let quotaText = quota > 0 ? String(quota) : "max"
            try write(dir, "cpu.max", "\(quotaText) \(period != 0 ? period : 100_000)")
        }
    }

    /// cpu.shares (2-262144, default 1024) to cpu.weight (1-10000, default 100), runc's linear map.
    public static func cpuWeight(shares: UInt64) -> UInt64 {
        let clamped = min(max(shares, 2), 262_144)
        return 1 + ((clamped - 2) * 9999) / 262_142
    }

    /// blkio.weight (10-1000) to io.weight (1-10000), runc's linear map.
    public static func ioWeight(blkioWeight: UInt16) -> UInt64 {
        let clamped = UInt64(min(max(blkioWeight, 10), 1000))
        return 1 + (clamped - 10) * 9999 / 990
    }

    private func applyIOV2(_ blockIO: BlockIO, _ dir: String) throws(CgroupError) {
        // BFQ takes blkio-style weights as they are; io.weight needs the converted scale.
        let bfq = fs.exists(dir + "/io.bfq.weight")
        if let weight = blockIO.weight, weight != 0 {
            if bfq {
                try write(dir, "io.bfq.weight", String(weight))
            } else {
                try write(dir, "io.weight", String(CgroupManager.ioWeight(blkioWeight: weight)))
            }
        }
        // Only BFQ has per-device weights; runc drops them otherwise, and so do we.
        if bfq {
            for device in blockIO.weightDevice ?? [] {
                if let weight = device.weight, weight != 0 {
                    try write(dir, "io.bfq.weight", "\(device.major):\(device.minor) \(weight)")
                }
            }
        }
        for line in CgroupManager.ioMaxLines(blockIO) {
            try write(dir, "io.max", line)
        }
    }

    /// One io.max line per device (`8:0 rbps=1048576 wiops=100`), devices in first-seen order.
    static func ioMaxLines(_ blockIO: BlockIO) -> [String] {
        var order: [String] = []
        var settings: [String: [String]] = [:]
        let lists: [(String, [ThrottleDevice]?)] = [
            ("rbps", blockIO.throttleReadBpsDevice), ("wbps", blockIO.throttleWriteBpsDevice),
            ("riops", blockIO.throttleReadIOPSDevice), ("wiops", blockIO.throttleWriteIOPSDevice),
        ]
        for (key, devices) in lists {
            for device in devices ?? [] {
                let name = "\(device.major):\(device.minor)"
                if settings[name] == nil { order.append(name) }
                settings[name, default: []].append("\(key)=\(device.rate)")
            }
        }
        return order.map { name in ([name] + (settings[name] ?? [])).joined(separator: " ") }
    }

    private func writeUnified(_ key: String, _ value: String, _ dir: String) throws(CgroupError) {
        do {
            try write(dir, key, value)
        } catch {
            guard error.errno == ENOENT || error.errno == EPERM else { throw error }
            // Say whether the controller is missing rather than just "No such file".
            let parts = key.split(separator: ".", maxSplits: 1)
            if parts.count != 2 {
                throw CgroupError.invalid("linux.resources.unified[\"\(key)\"]", "the key must look like CONTROLLER.PARAMETER")
            }
            let controller = String(parts[0])
            let available = ((try? read(dir, "cgroup.controllers")) ?? "").split(whereSeparator: \.isWhitespace)
            if controller != "cgroup" && !available.contains(Substring(controller)) {
                throw CgroupError.unsupported("apply linux.resources.unified[\"\(key)\"]",
                                              "controller \"\(controller)\" is not available in \(dir)")
            }
            throw error
        }
    }

    // MARK: freezer

    func setFrozenV2(_ frozen: Bool) throws(CgroupError) {
        let dir = try unifiedDirectory()
        let want = frozen ? "1" : "0"
        do {
            try write(dir, "cgroup.freeze", want)
        } catch {
            guard error.errno == ENOENT else { throw error }
            var explained = error
            explained.reason = "\(errnoText(ENOENT)) (the cgroup v2 freezer needs Linux 5.2 or later)"
            throw explained
        }
        // The write only starts freezing; cgroup.events says when every task has stopped.
        let deadline = monotonicMilliseconds() + 2000
        var pause = 1
        while eventsFrozenV2(dir) != frozen {
            if monotonicMilliseconds() >= deadline {
                if frozen { try? write(dir, "cgroup.freeze", "0") }
                throw CgroupError(operation: frozen ? "freeze" : "thaw", path: dir,
                                  reason: "cgroup.events did not report frozen \(want) within 2 s")
            }
            sleepMilliseconds(pause)
            pause = min(pause * 2, 10)
        }
    }

    func isFrozenV2() -> Bool {
        guard let dir = paths[""] else { return false }
        return eventsFrozenV2(dir)
    }

    /// cgroup.freeze says 1: frozen or being frozen.
    func freezeRequestedV2() -> Bool {
        guard let dir = paths[""], let value = try? read(dir, "cgroup.freeze") else { return false }
        return value.trimmed == "1"
    }

    private func eventsFrozenV2(_ dir: String) -> Bool {
        guard let events = try? read(dir, "cgroup.events") else { return false }
        return CgroupText.keyValues(events)["frozen"] == 1
    }

    // MARK: stats

    func statsV2() throws(CgroupError) -> CgroupStats {
        let dir = try unifiedDirectory()
        var stats = CgroupStats()

        if fs.exists(dir + "/cpu.stat") {
            // v2 counts microseconds; runc reports nanoseconds.
            let cpu = CgroupText.keyValues(try read(dir, "cpu.stat"))
            stats.cpu.usage.total = (cpu["usage_usec"] ?? 0) * 1000
            stats.cpu.usage.user = (cpu["user_usec"] ?? 0) * 1000
            stats.cpu.usage.kernel = (cpu["system_usec"] ?? 0) * 1000
            stats.cpu.throttling = CgroupStats.Throttling(periods: cpu["nr_periods"] ?? 0,
                                                          throttledPeriods: cpu["nr_throttled"] ?? 0,
                                                          throttledTime: (cpu["throttled_usec"] ?? 0) * 1000)
        }

        if fs.exists(dir + "/memory.stat") {
            stats.memory.raw = CgroupText.keyValues(try read(dir, "memory.stat"))
        }
        stats.memory.cache = stats.memory.raw["file"] ?? 0
        let usage = CgroupStats.MemoryEntry(
            limit: try readNumberIfPresent(dir, "memory.max") ?? 0,
            usage: try readNumberIfPresent(dir, "memory.current") ?? 0,
            max: try readNumberIfPresent(dir, "memory.peak") ?? 0,
            failcnt: fs.exists(dir + "/memory.events") ? CgroupText.keyValues(try read(dir, "memory.events"))["max"] ?? 0 : 0)
        stats.memory.usage = usage
        if let swapUsage = try readNumberIfPresent(dir, "memory.swap.current") {
            let swapLimit = try readNumberIfPresent(dir, "memory.swap.max") ?? 0
            // v1 reports memory+swap; do the same so consumers need not know the version.
            let combinedLimit = swapLimit == UInt64.max || usage.limit == UInt64.max
                ? UInt64.max : swapLimit &+ usage.limit
            stats.memory.swap = CgroupStats.MemoryEntry(limit: combinedLimit, usage: swapUsage &+ usage.usage)
        }

        stats.pids.current = try readNumberIfPresent(dir, "pids.current") ?? 0
        let pidsLimit = try readNumberIfPresent(dir, "pids.max") ?? 0
        stats.pids.limit = pidsLimit == UInt64.max ? 0 : pidsLimit

        if fs.exists(dir + "/io.stat") {
            stats.blkio = CgroupManager.parseIOStat(try read(dir, "io.stat"))
        }

        for size in try hugepageSizes() where fs.exists(dir + "/hugetlb.\(size).current") {
            let events = fs.exists(dir + "/hugetlb.\(size).events")
                ? CgroupText.keyValues(try read(dir, "hugetlb.\(size).events")) : [:]
            stats.hugetlb[size] = CgroupStats.Hugetlb(
                usage: try readNumberIfPresent(dir, "hugetlb.\(size).current") ?? 0,
                max: try readNumberIfPresent(dir, "hugetlb.\(size).max") ?? 0,
                failcnt: events["max"] ?? 0)
        }
        return stats
    }

    /// `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` lines into v1-style entries.
    static func parseIOStat(_ text: String) -> CgroupStats.Blkio {
        var blkio = CgroupStats.Blkio()
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard let device = fields.first else { continue }
            let numbers = device.split(separator: ":")
            guard numbers.count == 2, let major = UInt64(numbers[0]), let minor = UInt64(numbers[1]) else { continue }
            for field in fields.dropFirst() {
                let pair = field.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = UInt64(pair[1]) else { continue }
                let entry: (op: String, bytes: Bool)
                switch pair[0] {
                case "rbytes": entry = ("Read", true)
                case "wbytes": entry = ("Write", true)
                case "dbytes": entry = ("Discard", true)
                case "rios": entry = ("Read", false)
                case "wios": entry = ("Write", false)
                case "dios": entry = ("Discard", false)
                default: continue
                }
                let stat = CgroupStats.BlkioEntry(major: major, minor: minor, op: entry.op, value: value)
                if entry.bytes {
                    blkio.ioServiceBytesRecursive.append(stat)
                } else {
                    blkio.ioServicedRecursive.append(stat)
                }
            }
        }
        return blkio
    }
}
