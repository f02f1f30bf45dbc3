@testable import BerthCgroups
import FoundationEssentials
import Testing

@Suite struct CgroupStatsTests {
    @Test func v1StatsFromEveryHierarchy() throws {
        let root = "/sys/fs/cgroup"
        let d = "/berth/ctr"
        let fs = FakeCgroupFS([
            "\(root)/cpuacct\(d)/cpuacct.usage": "5000000000\n",
            "\(root)/cpuacct\(d)/cpuacct.usage_percpu": "3000000000 2000000000 \n",
            "\(root)/cpuacct\(d)/cpuacct.stat": "user 300\nsystem 100\n",
            "\(root)/cpuacct\(d)/cpuacct.usage_all": "cpu user system\n0 2500000000 500000000\n1 1500000000 500000000\n",
            "\(root)/cpu\(d)/cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 12345\n",
            "\(root)/memory\(d)/memory.usage_in_bytes": "1048576\n",
            "\(root)/memory\(d)/memory.max_usage_in_bytes": "2097152\n",
            "\(root)/memory\(d)/memory.limit_in_bytes": "67108864\n",
            "\(root)/memory\(d)/memory.failcnt": "3\n",
            "\(root)/memory\(d)/memory.memsw.usage_in_bytes": "1048576\n",
            "\(root)/memory\(d)/memory.memsw.limit_in_bytes": "9223372036854771712\n",
            "\(root)/memory\(d)/memory.stat": "cache 4096\nrss 8192\ntotal_cache 4096\n",
            "\(root)/pids\(d)/pids.current": "4\n",
            "\(root)/pids\(d)/pids.max": "max\n",
            "\(root)/blkio\(d)/blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
            "\(root)/blkio\(d)/blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
        ])
        let manager = try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        let stats = try manager.stats()
        #expect(stats.cpu.usage.total == 5_000_000_000)
        #expect(stats.cpu.usage.percpu == [3_000_000_000, 2_000_000_000])
        #expect(stats.cpu.usage.user == 3_000_000_000)  // 300 ticks at USER_HZ 100
        #expect(stats.cpu.usage.kernel == 1_000_000_000)
        #expect(stats.cpu.usage.percpuUser == [2_500_000_000, 1_500_000_000])
        #expect(stats.cpu.usage.percpuKernel == [500_000_000, 500_000_000])
        #expect(stats.cpu.throttling == CgroupStats.Throttling(periods: 10, throttledPeriods: 2, throttledTime: 12345))
        #expect(stats.memory.usage == CgroupStats.MemoryEntry(limit: 67_108_864, usage: 1_048_576, max: 2_097_152, failcnt: 3))
        #expect(stats.memory.swap.usage == 1_048_576)
        #expect(stats.memory.cache == 4096)
        #expect(stats.memory.raw["rss"] == 8192)
        #expect(stats.pids == CgroupStats.Pids(current: 4, limit: 0))
        #expect(stats.blkio.ioServiceBytesRecursive == [
            .init(major: 8, minor: 0, op: "Read", value: 4096),
            .init(major: 8, minor: 0, op: "Write", value: 8192),
            .init(major: 8, minor: 0, op: "Total", value: 12288),
        ])
        #expect(stats.blkio.ioServicedRecursive.count == 2)
    }

    @Test func v2StatsConvertToV1Units() throws {
        let dir = "/sys/fs/cgroup/berth/ctr"
        let fs = FakeCgroupFS([
            "\(dir)/cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 30\n",
            "\(dir)/memory.current": "1048576\n",
            "\(dir)/memory.max": "max\n",
            "\(dir)/memory.peak": "3145728\n",
            "\(dir)/memory.events": "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
            "\(dir)/memory.swap.current": "4096\n",
            "\(dir)/memory.swap.max": "max\n",
            "\(dir)/memory.stat": "anon 1000\nfile 2000\n",
            "\(dir)/pids.current": "3\n",
            "\(dir)/pids.max": "50\n",
            "\(dir)/io.stat": "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n253:1 rbytes=1 wbytes=2 rios=3 wios=4\n",
        ])
        let manager = try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        let stats = try manager.stats()
        #expect(stats.cpu.usage.total == 2_000_000)
        #expect(stats.cpu.usage.user == 1_500_000)
        #expect(stats.cpu.usage.kernel == 500_000)
        #expect(stats.cpu.throttling == CgroupStats.Throttling(periods: 4, throttledPeriods: 1, throttledTime: 30_000))
        #expect(stats.memory.usage == CgroupStats.MemoryEntry(limit: UInt64.max, usage: 1_048_576, max: 3_145_728, failcnt: 7))
        #expect(stats.memory.swap == CgroupStats.MemoryEntry(limit: UInt64.max, usage: 1_048_576 + 4096))
        #expect(stats.memory.cache == 2000)
        #expect(stats.pids == CgroupStats.Pids(current: 3, limit: 50))
        #expect(stats.blkio.ioServiceBytesRecursive.count == 5)
        #expect(stats.blkio.ioServiceBytesRecursive.first == .init(major: 8, minor: 0, op: "Read", value: 4096))
        #expect(stats.blkio.ioServicedRecursive.contains(.init(major: 253, minor: 1, op: "Write", value: 4)))
    }

    @Test func jsonUsesRuncKeys() throws {
        var stats = CgroupStats()
        stats.cpu.usage.percpuKernel = [1]
        stats.cpu.throttling.throttledPeriods = 2
        stats.hugetlb["2MB"] = CgroupStats.Hugetlb(usage: 1)
        let json = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self)
        for key in ["\"percpu_kernel\"", "\"percpu_user\"", "\"throttledPeriods\"", "\"ioServiceBytesRecursive\"",
                    "\"kernelTCP\"", "\"failcnt\"", "\"2MB\""] {
            #expect(json.contains(key), "\(key) missing from \(json)")
        }
        #expect(try JSONDecoder().decode(CgroupStats.self, from: Data(json.utf8)) == stats)
    }

    @Test(arguments: [(UInt64(2048), "2MB"), (1_048_576, "1GB"), (64, "64KB"), (32768, "32MB"), (16_777_216, "16GB")])
    func hugepageNames(kilobytes: UInt64, name: String) {
        #expect(CgroupManager.hugepageName(kilobytes: kilobytes) == name)
    }

    @Test func errorsSayWhatFailedWhere() {
        #expect(CgroupError.syscall("write 100 to", "/sys/fs/cgroup/memory/x/memory.limit_in_bytes", errno: 16).description
                == "write 100 to /sys/fs/cgroup/memory/x/memory.limit_in_bytes: Device or resource busy")
        #expect(CgroupError.invalid("linux.resources.cpu.cpus", "bad").description == "invalid linux.resources.cpu.cpus: bad")
    }
}
