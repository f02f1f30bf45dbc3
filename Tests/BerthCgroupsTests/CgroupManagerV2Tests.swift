@testable import BerthCgroups
import BerthOCI
import Testing

@Suite struct CgroupManagerV2Tests {
    let dir = "/sys/fs/cgroup/berth/ctr"

    func host() -> FakeCgroupFS {
        FakeCgroupFS(["/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n"])
    }

    func manager(_ fs: FakeCgroupFS) throws -> CgroupManager {
        try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: nil, containerID: "ctr", fs: fs)
    }

    func created(_ fs: FakeCgroupFS) throws -> CgroupManager {
        let manager = try manager(fs)
        try manager.create()
        fs.clearWrites()
        return manager
    }

    @Test func pathsHaveOneUnifiedEntry() throws {
        #expect(try manager(host()).paths == ["": dir])
    }

    @Test func createDelegatesControllersDownToTheParent() throws {
        let fs = host()
        try manager(fs).create()
        let all = "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc"
        #expect(fs.writes.map(\.description) == [
            "/sys/fs/cgroup/cgroup.subtree_control=\(all)",
            "/sys/fs/cgroup/berth/cgroup.subtree_control=\(all)",
        ])
        #expect(fs.isDirectory(dir))
    }

    @Test func createFallsBackToOneControllerAtATime() throws {
        let fs = host()
        fs.fail("/sys/fs/cgroup/berth/cgroup.subtree_control", errno: 2 /* one controller missing */)
        try manager(fs).create()
        #expect(fs.written("/sys/fs/cgroup/berth/cgroup.subtree_control") == ["+cpuset", "+cpu", "+io", "+memory", "+hugetlb", "+pids", "+rdma", "+misc"])
    }

    @Test func appliesConvertedV1Values() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        fs.clearWrites()
        var resources = Resources(
            devices: [DeviceCgroup(allow: false, access: "rwm"), DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm")],
            memory: Memory(limit: 256 << 20, reservation: 128 << 20, swap: 512 << 20, swappiness: 60, disableOOMKiller: true),
            cpu: CPU(shares: 1024, quota: 50_000, period: 100_000, cpus: "0-1", mems: "0"),
            pids: Pids(limit: 100),
            blockIO: try Fixtures.decode(BlockIO.self, """
                {"weight": 500,
                 "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                 "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                 "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 10}]}
                """),
            hugepageLimits: [HugepageLimit(pageSize: "2MB", limit: 1 << 30)],
            unified: ["memory.high": "200M", "cpu.idle": "0"])
        resources.memory?.kernel = 1 << 20  // no v2 equivalent: ignored
        try manager.apply(resources)

        #expect(fs.writes.map(\.description) == [
            "\(dir)/pids.max=100",
            "\(dir)/memory.swap.max=268435456",
            "\(dir)/memory.max=268435456",
            "\(dir)/memory.low=134217728",
            "\(dir)/io.weight=4950",
            "\(dir)/io.max=8:0 rbps=1048576 wbps=2097152",
            "\(dir)/io.max=8:16 riops=10",
            "\(dir)/cpu.weight=39",
            "\(dir)/cpu.max=50000 100000",
            "\(dir)/cpuset.cpus=0-1",
            "\(dir)/cpuset.mems=0",
            "\(dir)/hugetlb.2MB.max=1073741824",
            "\(dir)/cpu.idle=0",
            "\(dir)/memory.high=200M",
        ])
        #expect(fs.attached.count == 1)
        #expect(fs.attached.first?.directory == dir)
        #expect(fs.attached.first?.program == (try deviceFilterProgram(resources.devices ?? [])))
    }

    @Test(arguments: [
        // (memory, swap) → memory.swap.max, following runc's conversion table.
        (Int64(-1), Int64(0), "max"),
        (100, 0, nil),
        (100, -1, "max"),
        (100, 100, "0"),
        (100, 300, "200"),
    ] as [(Int64, Int64, String?)])
    func swapConversion(memory: Int64, swap: Int64, expected: String?) throws {
        let fs = host()
        try created(fs).apply(Resources(memory: Memory(limit: memory, swap: swap)))
        #expect(fs.written("memory.swap.max") == (expected.map { [$0] } ?? []))
    }

    @Test func swapWithoutMemoryOrBelowMemoryIsRejected() throws {
        let fs = host()
        #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(memory: Memory(swap: 100))) }
        let error = #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(memory: Memory(limit: 200, swap: 100))) }
        #expect(error?.description.hasPrefix("invalid linux.resources.memory.swap:") == true)
        #expect(fs.writes.isEmpty)
    }

    @Test func missingSwapFileIsFineForMaxAndZero() throws {
        let fs = host()
        let manager = try created(fs)
        fs.fail("\(dir)/memory.swap.max", errno: 2)
        try manager.apply(Resources(memory: Memory(limit: -1)))
        #expect(fs.written("memory.max") == ["max"])
        fs.fail("\(dir)/memory.swap.max", errno: 2)
        #expect(throws: CgroupError.self) { try manager.apply(Resources(memory: Memory(limit: 100, swap: 300))) }
    }

    @Test(arguments: [
        (UInt64(2), UInt64(1)), (1024, 39), (262_144, 10_000), (512, 20),
    ])
    func cpuWeightFromShares(shares: UInt64, weight: UInt64) {
        #expect(CgroupManager.cpuWeight(shares: shares) == weight)
    }

    @Test(arguments: [(UInt16(10), UInt64(1)), (500, 4950), (1000, 10_000)])
    func ioWeightFromBlkioWeight(blkio: UInt16, weight: UInt64) {
        #expect(CgroupManager.ioWeight(blkioWeight: blkio) == weight)
    }

    @Test func quotaWithoutLimitIsMax() throws {
        let fs = host()
        let manager = try created(fs)
        try manager.apply(Resources(cpu: CPU(quota: -1)))
        try manager.apply(Resources(cpu: CPU(quota: 20_000, period: 50_000)))
        #expect(fs.written("cpu.max") == ["max 100000", "20000 50000"])
    }

    @Test func bfqTakesRawWeights() throws {
        let fs = host()
        fs.seed(["\(dir)/io.bfq.weight": "default 100\n"])
        let blockIO = try Fixtures.decode(BlockIO.self, #"{"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 400}]}"#)
        try manager(fs).apply(Resources(blockIO: blockIO))
        #expect(fs.written("io.bfq.weight") == ["300", "8:0 400"])
        #expect(fs.written("io.weight").isEmpty)
    }

    @Test func unifiedKeysMustBePlainFileNames() throws {
        let fs = host()
        for key in ["../cgroup.procs", "a/b", "..", "", "."] {
            let error = #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(unified: [key: "1"])) }
            #expect(error?.description.contains("unified[\"\(key)\"]") == true)
        }
        #expect(fs.writes.isEmpty)
    }

    @Test func unifiedKeyOfAMissingControllerSaysSo() throws {
        let fs = host()
        try manager(fs).create()
        fs.seed(["\(dir)/cgroup.controllers": "cpu memory pids\n"])
        fs.fail("\(dir)/io.latency", errno: 2)
        let error = #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(unified: ["io.latency": "8:0 target=10"])) }
        #expect(error?.description == "apply linux.resources.unified[\"io.latency\"]: controller \"io\" is not available in \(dir)")
    }

    @Test func v1OnlySettingsAreRejected() throws {
        let fs = host()
        var resources = Resources()
        resources.network = try Fixtures.decode(Network.self, #"{"classID": 1}"#)
        #expect(throws: CgroupError.self) { try manager(fs).apply(resources) }
        var realtime = CPU()
        realtime.realtimeRuntime = 1000
        #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(cpu: realtime)) }
        #expect(fs.writes.isEmpty)
    }

    @Test func devicesNeedAFilterCapableFS() throws {
        // A CgroupFS without attachDeviceFilter must fail, never silently allow every device.
        let manager = try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: nil, containerID: "ctr",
                                        fs: ClampingFS(host(), path: "", value: ""))
        let error = #expect(throws: CgroupError.self) {
            try manager.apply(Resources(devices: [DeviceCgroup(allow: false, access: "rwm")]))
        }
        #expect(error?.description.contains("cannot load eBPF") == true)
    }

    @Test func freezeWaitsForCgroupEvents() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        try manager.freeze()
        #expect(fs.file("\(dir)/cgroup.freeze") == "1")
        #expect(manager.isFrozen())
        try manager.thaw()
        #expect(!manager.isFrozen())
    }

    @Test func freezeOnOldKernelsExplains() throws {
        let fs = host()
        fs.fail("\(dir)/cgroup.freeze", errno: 2)
        let error = #expect(throws: CgroupError.self) { try manager(fs).freeze() }
        #expect(error?.description.contains("Linux 5.2") == true)
    }

    @Test func pidsAndDestroy() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        fs.seed(["\(dir)/cgroup.procs": "7\n", "\(dir)/init/cgroup.procs": "8\n"])
        #expect(try manager.pids() == [7, 8])
        try manager.destroy()
        #expect(fs.removed == ["\(dir)/init", dir])
    }
}
