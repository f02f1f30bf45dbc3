import BerthOCI
import Glibc

// cgroup v1: one directory per hierarchy, one file per knob. Mapping and write order follow
// runc's libcontainer/cgroups/fs.

extension CgroupManager {
    // MARK: create

    /// Creates the cpuset directory level by level from the hierarchy root. A new cpuset cgroup
    /// starts with empty `cpuset.cpus`/`cpuset.mems`, and the kernel refuses tasks in it, so
    /// each level inherits its parent's sets (runc's ensureParent / cpusetCopyIfNeeded).
    func createCpusetV1(_ directory: String, root: String) throws(CgroupError) {
        guard directory.hasPrefix(root) else {
            try fs.mkdirAll(directory)
            return
        }
        var current = root
        for component in directory.dropFirst(root.count).split(separator: "/") {
            let parent = current
            current += "/" + component
            try fs.mkdirAll(current)
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let own = fs.exists(current + "/" + file) ? try read(current, file).trimmed : ""
                if own.isEmpty {
                    try write(current, file, try read(parent, file).trimmed)
                }
            }
        }
    }

    // MARK: apply

    func applyV1(_ r: Resources) throws(CgroupError) {
        if let key = r.unified?.keys.sorted().first {
            // runc's ErrV1NoUnified wording; its tests look for "invalid configuration".
            throw CgroupError.unsupported("apply linux.resources.unified[\"\(key)\"]",
                                          "invalid configuration: cannot use unified on cgroup v1")
        }
        // runc's subsystem order: cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma.
        try applyCpusetV1(r.cpu)
        try applyDevicesV1(r.devices)
        if let memory = r.memory { try applyMemoryV1(memory) }
        if let cpu = r.cpu { try applyCPUV1(cpu) }
        if let pids = r.pids {
            try write(try directory(for: "pids", field: "pids"), "pids.max", CgroupManager.pidsMax(pids.limit))
        }
        if let blockIO = r.blockIO { try applyBlockIOV1(blockIO) }
        for limit in r.hugepageLimits ?? [] {
            let dir = try directory(for: "hugetlb", field: "hugepageLimits")
            try write(dir, "hugetlb.\(limit.pageSize).limit_in_bytes", String(limit.limit))
            // Reservation accounting (kernel 5.7+) must be limited too, or reserved pages escape it.
            let reserved = "hugetlb.\(limit.pageSize).rsvd.limit_in_bytes"
            if fs.exists(dir + "/" + reserved) { try write(dir, reserved, String(limit.limit)) }
        }
        if let classID = r.network?.classID {
            try write(try directory(for: "net_cls", field: "network.classID"), "net_cls.classid", String(classID))
        }
        for priority in r.network?.priorities ?? [] {
            try write(try directory(for: "net_prio", field: "network.priorities"), "net_prio.ifpriomap",
                      "\(priority.name) \(priority.priority)")
        }
        for (device, limit) in (r.rdma ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let line = CgroupManager.rdmaLine(device, limit) {
                try write(try directory(for: "rdma", field: "rdma"), "rdma.max", line)
            }
        }
    }

    private func applyCpusetV1(_ cpu: BerthOCI.CPU?) throws(CgroupError) {
        if let cpus = cpu?.cpus, !cpus.isEmpty {
            try write(try directory(for: "cpuset", field: "cpu.cpus"), "cpuset.cpus", cpus)
        }
        if let mems = cpu?.mems, !mems.isEmpty {
            try write(try directory(for: "cpuset", field: "cpu.mems"), "cpuset.mems", mems)
        }
    }

    /// Rules go to devices.allow / devices.deny in spec order; the kernel applies them the way
    /// the emulator in DeviceFilter.swift models.
    private func applyDevicesV1(_ rules: [DeviceCgroup]?) throws(CgroupError) {
        guard let rules, !rules.isEmpty else { return }
        let dir = try directory(for: "devices", field: "devices")
        for (index, rule) in rules.enumerated() {
            let normalized = try DeviceRule(rule, field: "linux.resources.devices[\(index)]")
            try write(dir, normalized.allow ? "devices.allow" : "devices.deny", normalized.v1Line)
        }
    }

    private func applyMemoryV1(_ memory: BerthOCI.Memory) throws(CgroupError) {
        let anything = [memory.limit, memory.reservation, memory.swap, memory.kernel, memory.kernelTCP]
            .contains { ($0 ?? 0) != 0 } || memory.swappiness != nil || memory.disableOOMKiller == true
        guard anything else { return }
        let dir = try directory(for: "memory", field: "memory")

        let limit = memory.limit ?? 0
        var swap = memory.swap ?? 0
        let swapSupported = fs.exists(dir + "/memory.memsw.limit_in_bytes")
        // An unlimited memory update with no swap given means "unlimited both" (runc).
        if limit == -1 && swap == 0 && swapSupported { swap = -1 }
        if !swapSupported { swap = 0 }

        if memory.checkBeforeUpdate == true, limit > 0,
           let usage = try readNumberIfPresent(dir, "memory.usage_in_bytes"), usage >= UInt64(limit) {
            throw CgroupError.invalid("linux.resources.memory.limit",
                                      "rejecting memory limit \(limit) below current usage \(usage)")
        }

        // memsw must stay >= memory: when raising (or unlimiting) swap, write it first.
        var wrote = false
        if limit != 0 && swap != 0 {
            let current = try readNumberIfPresent(dir, "memory.limit_in_bytes") ?? 0
            if swap == -1 || current < UInt64(swap) {
                try write(dir, "memory.memsw.limit_in_bytes", String(swap))
                try setMemoryLimitV1(dir, limit)
                wrote = true
            }
        }
        if !wrote {
            if limit != 0 { try setMemoryLimitV1(dir, limit) }
            if swap != 0 { try write(dir, "memory.memsw.limit_in_bytes", String(swap)) }
        }

        // Kernel memory limits are deprecated and rejected by newer kernels; best effort only.
        if let kernel = memory.kernel, kernel != 0, fs.exists(dir + "/memory.kmem.limit_in_bytes") {
            try? write(dir, "memory.kmem.limit_in_bytes", String(kernel))
        }
        if let kernelTCP = memory.kernelTCP, kernelTCP != 0, fs.exists(dir + "/memory.kmem.tcp.limit_in_bytes") {
            try? write(dir, "memory.kmem.tcp.limit_in_bytes", String(kernelTCP))
        }
        if let reservation = memory.reservation, reservation != 0 {
            try write(dir, "memory.soft_limit_in_bytes", String(reservation))
        }
        if memory.disableOOMKiller == true {
            try write(dir, "memory.oom_control", "1")
        }
        if let swappiness = memory.swappiness {
            try write(dir, "memory.swappiness", String(swappiness))
        }
    }

    /// EBUSY from memory.limit_in_bytes means usage is above the new limit; say so with numbers.
    private func setMemoryLimitV1(_ dir: String, _ limit: Int64) throws(CgroupError) {
        do {
            try write(dir, "memory.limit_in_bytes", String(limit))
        } catch {
            guard error.errno == EBUSY else { throw error }
            let usage = (try? readNumberIfPresent(dir, "memory.usage_in_bytes")).flatMap { $0 }
            let peak = (try? readNumberIfPresent(dir, "memory.max_usage_in_bytes")).flatMap { $0 }
            var explained = error
            explained.reason = "\(errnoText(EBUSY)) (limit \(limit) is below current usage \(usage.map(String.init) ?? "?"), peak \(peak.map(String.init) ?? "?"))"
            throw explained
        }
    }

    private func applyCPUV1(_ cpu: BerthOCI.CPU) throws(CgroupError) {
        let anything = (cpu.shares ?? 0) != 0 || (cpu.quota ?? 0) != 0 || (cpu.period ?? 0) != 0
            || cpu.burst != nil || cpu.idle != nil || (cpu.realtimePeriod ?? 0) != 0 || (cpu.realtimeRuntime ?? 0) != 0
        guard anything else { return }
        let dir = try directory(for: "cpu", field: "cpu")

        if let shares = cpu.shares, shares != 0 {
            try write(dir, "cpu.shares", String(shares))
            // The kernel clamps out-of-range shares silently; report that instead of lying.
            if let actual = try readNumberIfPresent(dir, "cpu.shares"), actual != shares {
                throw CgroupError.invalid("linux.resources.cpu.shares",
                                          "the kernel set \(actual) instead of \(shares) (\(shares > actual ? "maximum" : "minimum") allowed)")
            }
        }
        try writePeriodPair(dir, periodFile: "cpu.cfs_period_us", period: cpu.period ?? 0,
                            valueFile: "cpu.cfs_quota_us", value: cpu.quota ?? 0)
        if let burst = cpu.burst {
            try write(dir, "cpu.cfs_burst_us", String(burst))
        }
        if let idle = cpu.idle {
            try write(dir, "cpu.idle", String(idle))
        }
        try writePeriodPair(dir, periodFile: "cpu.rt_period_us", period: cpu.realtimePeriod ?? 0,
                            valueFile: "cpu.rt_runtime_us", value: cpu.realtimeRuntime ?? 0)
    }

    /// Period and quota (or rt period and runtime) constrain each other: the kernel may reject
    /// the new period with EINVAL until the new quota is in place, so runc retries the period
    /// after the quota. Zero means "not set".
    private func writePeriodPair(_ dir: String, periodFile: String, period: UInt64,
                                 valueFile: String, value: Int64) throws(CgroupError) {
        var periodPending = false
        if period != 0 {
            do {
                try write(dir, periodFile, String(period))
            } catch {
                guard error.errno == EINVAL, value != 0 else { throw error }
                periodPending = true
            }
        }
        if value != 0 {
            try write(dir, valueFile, String(value))
            if periodPending { try write(dir, periodFile, String(period)) }
        }
    }

    private func applyBlockIOV1(_ blockIO: BlockIO) throws(CgroupError) {
        let throttles: [(String, [ThrottleDevice]?)] = [
            ("blkio.throttle.read_bps_device", blockIO.throttleReadBpsDevice),
            ("blkio.throttle.write_bps_device", blockIO.throttleWriteBpsDevice),
            ("blkio.throttle.read_iops_device", blockIO.throttleReadIOPSDevice),
            ("blkio.throttle.write_iops_device", blockIO.throttleWriteIOPSDevice),
        ]
        let anything = (blockIO.weight ?? 0) != 0 || (blockIO.leafWeight ?? 0) != 0
            || !(blockIO.weightDevice ?? []).isEmpty || throttles.contains { !($0.1 ?? []).isEmpty }
        guard anything else { return }
        let dir = try directory(for: "blkio", field: "blockIO")

        // CFQ's files are gone on kernels with only BFQ, which names them blkio.bfq.*.
        let cfq = fs.exists(dir + "/blkio.weight")
        let weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight"
        let weightDeviceFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device"

        if let weight = blockIO.weight, weight != 0 {
            try write(dir, weightFile, String(weight))
        }
        if let leafWeight = blockIO.leafWeight, leafWeight != 0 {
            try write(dir, "blkio.leaf_weight", String(leafWeight))
        }
        for device in blockIO.weightDevice ?? [] {
            if let weight = device.weight, weight != 0 {
                try write(dir, weightDeviceFile, "\(device.major):\(device.minor) \(weight)")
            }
            if let leafWeight = device.leafWeight, leafWeight != 0 {
                try write(dir, "blkio.leaf_weight_device", "\(device.major):\(device.minor) \(leafWeight)")
            }
        }
        for (file, devices) in throttles {
            for device in devices ?? [] {
                try write(dir, file, "\(device.major):\(device.minor) \(device.rate)")
            }
        }
    }

    /// pids.max: a positive limit, or `max` for 0 and negatives (unlimited in the OCI spec).
    static func pidsMax(_ limit: Int64) -> String {
        limit > 0 ? String(limit) : "max"
    }

    /// `mlx4_0 hca_handle=2 hca_object=2000`; nil when neither limit is set.
    static func rdmaLine(_ device: String, _ limit: RdmaLimit) -> String? {
        var parts = [device]
        if let handles = limit.hcaHandles { parts.append("hca_handle=\(handles)") }
        if let objects = limit.hcaObjects { parts.append("hca_object=\(objects)") }
        return parts.count > 1 ? parts.joined(separator: " ") : nil
    }

    // MARK: freezer

    func freezeV1() throws(CgroupError) {
        let dir = try directory(for: "freezer", field: "freezer")
        let deadline = monotonicMilliseconds() + 2000
        var pause = 1
        while true {
            // Re-writing FROZEN makes the kernel retry tasks that were busy (runc does the same).
            try write(dir, "freezer.state", "FROZEN")
            let state = try read(dir, "freezer.state").trimmed
            if state == "FROZEN" { return }
            if state != "FREEZING" {
                throw CgroupError(operation: "freeze", path: dir + "/freezer.state", reason: "unexpected state \"\(state)\"")
            }
            if monotonicMilliseconds() >= deadline {
                try? write(dir, "freezer.state", "THAWED")
                throw CgroupError(operation: "freeze", path: dir, reason: "still FREEZING after 2 s; thawed again")
            }
            sleepMilliseconds(pause)
            pause = min(pause * 2, 10)
        }
    }

    func thawV1() throws(CgroupError) {
        let dir = try directory(for: "freezer", field: "freezer")
        try write(dir, "freezer.state", "THAWED")
    }

    func isFrozenV1() -> Bool {
        freezerStateV1() == "FROZEN"
    }

    /// THAWED, FREEZING or FROZEN; nil without a freezer directory.
    func freezerStateV1() -> String? {
        guard let dir = paths["freezer"], let state = try? read(dir, "freezer.state") else { return nil }
        return state.trimmed
    }

    // MARK: stats

    func statsV1() throws(CgroupError) -> CgroupStats {
        var stats = CgroupStats()
        if let dir = paths["cpuacct"] { try cpuacctStatsV1(dir, into: &stats.cpu.usage) }
        if let dir = paths["cpu"], fs.exists(dir + "/cpu.stat") {
            let cpuStat = CgroupText.keyValues(try read(dir, "cpu.stat"))
            stats.cpu.throttling = CgroupStats.Throttling(periods: cpuStat["nr_periods"] ?? 0,
                                                          throttledPeriods: cpuStat["nr_throttled"] ?? 0,
                                                          throttledTime: cpuStat["throttled_time"] ?? 0)
        }
        if let dir = paths["memory"] { stats.memory = try memoryStatsV1(dir) }
        if let dir = paths["pids"] {
            stats.pids.current = try readNumberIfPresent(dir, "pids.current") ?? 0
            let limit = try readNumberIfPresent(dir, "pids.max") ?? 0
            stats.pids.limit = limit == UInt64.max ? 0 : limit
        }
        if let dir = paths["blkio"] {
            stats.blkio.ioServiceBytesRecursive = try blkioEntries(dir, ["blkio.io_service_bytes_recursive",
                                                                         "blkio.bfq.io_service_bytes_recursive",
                                                                         "blkio.throttle.io_service_bytes_recursive"])
            stats.blkio.ioServicedRecursive = try blkioEntries(dir, ["blkio.io_serviced_recursive",
                                                                     "blkio.bfq.io_serviced_recursive",
                                                                     "blkio.throttle.io_serviced_recursive"])
        }
        if let dir = paths["hugetlb"] {
            for size in try hugepageSizes() {
                stats.hugetlb[size] = CgroupStats.Hugetlb(
                    usage: try readNumberIfPresent(dir, "hugetlb.\(size).usage_in_bytes") ?? 0,
                    max: try readNumberIfPresent(dir, "hugetlb.\(size).max_usage_in_bytes") ?? 0,
                    failcnt: try readNumberIfPresent(dir, "hugetlb.\(size).failcnt") ?? 0)
            }
        }
        return stats
    }

    private func cpuacctStatsV1(_ dir: String, into usage: inout CgroupStats.CPUUsage) throws(CgroupError) {
        usage.total = try readNumberIfPresent(dir, "cpuacct.usage") ?? 0
        if fs.exists(dir + "/cpuacct.usage_percpu") {
            usage.percpu = CgroupText.numbers(try read(dir, "cpuacct.usage_percpu"))
        }
        if fs.exists(dir + "/cpuacct.stat") {
            // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
            let ticks = CgroupText.keyValues(try read(dir, "cpuacct.stat"))
            let hz = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
            usage.user = (ticks["user"] ?? 0) * (1_000_000_000 / hz)
            usage.kernel = (ticks["system"] ?? 0) * (1_000_000_000 / hz)
        }
        if fs.exists(dir + "/cpuacct.usage_all") {
            // "cpu user system" header, then one line per CPU in nanoseconds.
            for line in try read(dir, "cpuacct.usage_all").split(whereSeparator: \.isNewline).dropFirst() {
                let fields = line.split(separator: " ").compactMap { UInt64($0) }
                guard fields.count == 3 else { continue }
                usage.percpuUser.append(fields[1])
                usage.percpuKernel.append(fields[2])
            }
        }
    }

    private func memoryStatsV1(_ dir: String) throws(CgroupError) -> CgroupStats.Memory {
        var memory = CgroupStats.Memory()
        if fs.exists(dir + "/memory.stat") {
            memory.raw = CgroupText.keyValues(try read(dir, "memory.stat"))
        }
        memory.cache = memory.raw["cache"] ?? 0
        memory.usage = try memoryEntryV1(dir, prefix: "memory")
        memory.swap = try memoryEntryV1(dir, prefix: "memory.memsw")
        memory.kernel = try memoryEntryV1(dir, prefix: "memory.kmem")
        memory.kernelTCP = try memoryEntryV1(dir, prefix: "memory.kmem.tcp")
        return memory
    }

    private func memoryEntryV1(_ dir: String, prefix: String) throws(CgroupError) -> CgroupStats.MemoryEntry {
        CgroupStats.MemoryEntry(limit: try readNumberIfPresent(dir, prefix + ".limit_in_bytes") ?? 0,
                                usage: try readNumberIfPresent(dir, prefix + ".usage_in_bytes") ?? 0,
                                max: try readNumberIfPresent(dir, prefix + ".max_usage_in_bytes") ?? 0,
                                failcnt: try readNumberIfPresent(dir, prefix + ".failcnt") ?? 0)
    }

    /// The first of `files` that has entries: CFQ, then BFQ, then throttle statistics (runc's order).
    private func blkioEntries(_ dir: String, _ files: [String]) throws(CgroupError) -> [CgroupStats.BlkioEntry] {
        for file in files where fs.exists(dir + "/" + file) {
            let entries = CgroupManager.parseBlkio(try read(dir, file))
            if !entries.isEmpty { return entries }
        }
        return []
    }

    /// `8:0 Read 4096` lines; the trailing `Total N` line is a sum and skipped.
    static func parseBlkio(_ text: String) -> [CgroupStats.BlkioEntry] {
        var entries: [CgroupStats.BlkioEntry] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == ":" })
            guard fields.count >= 3, let major = UInt64(fields[0]), let minor = UInt64(fields[1]) else { continue }
            let op = fields.count == 4 ? String(fields[2]) : ""
            guard let value = UInt64(fields[fields.count - 1]) else { continue }
            entries.append(CgroupStats.BlkioEntry(major: major, minor: minor, op: op, value: value))
        }
        return entries
    }

    /// Page sizes the kernel supports, named like hugetlb files (`2MB`), from /sys/kernel/mm/hugepages.
    func hugepageSizes() throws(CgroupError) -> [String] {
        try fs.subdirectories("/sys/kernel/mm/hugepages").compactMap { name -> String? in
            // hugepages-2048kB
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                  let kilobytes = UInt64(name.dropFirst("hugepages-".count).dropLast(2)) else { return nil }
            return CgroupManager.hugepageName(kilobytes: kilobytes)
        }
    }

    static func hugepageName(kilobytes: UInt64) -> String {
        var value = kilobytes
        for unit in ["KB", "MB", "GB"] {
            if value < 1024 || value % 1024 != 0 || unit == "GB" { return "\(value)\(unit)" }
            value /= 1024
        }
        return "\(kilobytes)KB"
    }
}
