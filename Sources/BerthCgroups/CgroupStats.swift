/// Resource usage of a container's cgroup, shaped like the `data` of runc's `events --stats`
/// so tools reading runc's output read ours. Units: CPU times in nanoseconds, memory in bytes.
public struct CgroupStats: Codable, Sendable, Equatable {
    public var cpu: CPU
    public var memory: Memory
    public var pids: Pids
    public var blkio: Blkio
    /// Keyed by page size (`"2MB"`).
    public var hugetlb: [String: Hugetlb]

    public init(cpu: CPU = CPU(), memory: Memory = Memory(), pids: Pids = Pids(), blkio: Blkio = Blkio(),
                hugetlb: [String: Hugetlb] = [:]) {
        self.cpu = cpu; self.memory = memory; self.pids = pids; self.blkio = blkio; self.hugetlb = hugetlb
    }

    /// CPU time used and time throttled by the CFS quota.
    public struct CPU: Codable, Sendable, Equatable {
        public var usage: CPUUsage
        public var throttling: Throttling
        public init(usage: CPUUsage = CPUUsage(), throttling: Throttling = Throttling()) {
            self.usage = usage; self.throttling = throttling
        }
    }

    /// CPU time in nanoseconds, in total, per CPU and split into user and kernel time.
    public struct CPUUsage: Codable, Sendable, Equatable {
        public var total: UInt64
        public var percpu: [UInt64]
        public var percpuKernel: [UInt64]
        public var percpuUser: [UInt64]
        public var kernel: UInt64
        public var user: UInt64

        public init(total: UInt64 = 0, percpu: [UInt64] = [], percpuKernel: [UInt64] = [], percpuUser: [UInt64] = [],
                    kernel: UInt64 = 0, user: UInt64 = 0) {
            self.total = total; self.percpu = percpu; self.percpuKernel = percpuKernel
            self.percpuUser = percpuUser; self.kernel = kernel; self.user = user
        }

        enum CodingKeys: String, CodingKey {
            case total, percpu, kernel, user
            case percpuKernel = "percpu_kernel"
            case percpuUser = "percpu_user"
        }
    }

    /// CFS bandwidth periods, how many were throttled, and the throttled time in nanoseconds.
    public struct Throttling: Codable, Sendable, Equatable {
        public var periods: UInt64
        public var throttledPeriods: UInt64
        public var throttledTime: UInt64
        public init(periods: UInt64 = 0, throttledPeriods: UInt64 = 0, throttledTime: UInt64 = 0) {
            self.periods = periods; self.throttledPeriods = throttledPeriods; self.throttledTime = throttledTime
        }
    }

    /// Memory, swap and kernel memory counters plus the raw memory.stat.
    public struct Memory: Codable, Sendable, Equatable {
        /// Page cache: `cache` in v1's memory.stat, `file` in v2's.
        public var cache: UInt64
        public var usage: MemoryEntry
        /// Memory plus swap, as v1 reports it (v2 values are converted to match).
        public var swap: MemoryEntry
        public var kernel: MemoryEntry
        public var kernelTCP: MemoryEntry
        /// Every line of memory.stat.
        public var raw: [String: UInt64]

        public init(cache: UInt64 = 0, usage: MemoryEntry = MemoryEntry(), swap: MemoryEntry = MemoryEntry(),
                    kernel: MemoryEntry = MemoryEntry(), kernelTCP: MemoryEntry = MemoryEntry(), raw: [String: UInt64] = [:]) {
            self.cache = cache; self.usage = usage; self.swap = swap; self.kernel = kernel
            self.kernelTCP = kernelTCP; self.raw = raw
        }
    }

    /// One memory counter family: limit, current usage, peak usage and limit hits, in bytes.
    public struct MemoryEntry: Codable, Sendable, Equatable {
        /// `UInt64.max` when unlimited on v2; v1 reports its own large sentinel.
        public var limit: UInt64
        public var usage: UInt64
        /// Peak usage.
        public var max: UInt64
        public var failcnt: UInt64
        public init(limit: UInt64 = 0, usage: UInt64 = 0, max: UInt64 = 0, failcnt: UInt64 = 0) {
            self.limit = limit; self.usage = usage; self.max = max; self.failcnt = failcnt
        }
    }

    /// Number of tasks and the pids limit.
    public struct Pids: Codable, Sendable, Equatable {
        public var current: UInt64
        /// 0 when unlimited, as in runc.
        public var limit: UInt64
        public init(current: UInt64 = 0, limit: UInt64 = 0) { self.current = current; self.limit = limit }
    }

    /// Block I/O bytes and operations per device, as runc reports them for v1 and v2.
    public struct Blkio: Codable, Sendable, Equatable {
        public var ioServiceBytesRecursive: [BlkioEntry]
        public var ioServicedRecursive: [BlkioEntry]
        public init(ioServiceBytesRecursive: [BlkioEntry] = [], ioServicedRecursive: [BlkioEntry] = []) {
            self.ioServiceBytesRecursive = ioServiceBytesRecursive; self.ioServicedRecursive = ioServicedRecursive
        }
    }

    /// One `major:minor op value` counter.
    public struct BlkioEntry: Codable, Sendable, Equatable {
        public var major: UInt64
        public var minor: UInt64
        /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
        public var op: String
        public var value: UInt64
        public init(major: UInt64, minor: UInt64, op: String, value: UInt64) {
            self.major = major; self.minor = minor; self.op = op; self.value = value
        }
    }

    /// Hugepage usage of one page size, in bytes.
    public struct Hugetlb: Codable, Sendable, Equatable {
        public var usage: UInt64
        public var max: UInt64
        public var failcnt: UInt64
        public init(usage: UInt64 = 0, max: UInt64 = 0, failcnt: UInt64 = 0) {
            self.usage = usage; self.max = max; self.failcnt = failcnt
        }
    }
}
