@testable import BerthCgroups
import BerthOCI
import Testing

@Suite struct CgroupManagerV1Tests {
    let root = "/sys/fs/cgroup"

    func manager(_ fs: FakeCgroupFS, path: String? = nil, layout: CgroupLayout = Fixtures.hybridLayout) throws -> CgroupManager {
        try CgroupManager(layout: layout, cgroupsPath: path, containerID: "ctr", fs: fs)
    }

    /// A manager whose directories exist already.
    func created(_ fs: FakeCgroupFS, layout: CgroupLayout = Fixtures.hybridLayout) throws -> CgroupManager {
        let manager = try manager(fs, layout: layout)
        try manager.create()
        fs.clearWrites()
        return manager
    }

    /// A fake host with the root files the manager reads.
    func host() -> FakeCgroupFS {
        FakeCgroupFS([
            "\(root)/cpuset/cpuset.cpus": "0-1\n",
            "\(root)/cpuset/cpuset.mems": "0\n",
            "\(root)/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "\(root)/cpu/cpu.shares": "1024\n",
        ])
    }

    // MARK: paths

    @Test func defaultPathIsBerthSlashID() throws {
        let paths = try manager(host()).paths
        #expect(paths["memory"] == "\(root)/memory/berth/ctr")
        #expect(paths["cpu"] == "\(root)/cpu/berth/ctr")
        #expect(paths["cpuacct"] == "\(root)/cpuacct/berth/ctr")
        #expect(paths["name=systemd"] == "\(root)/systemd/berth/ctr")
        #expect(paths["unified"] == "\(root)/unified/berth/ctr")
        #expect(paths.count == 10)
    }

    @Test func combinedHierarchiesShareOneDirectory() throws {
        let manager = try manager(host(), path: "/x", layout: Fixtures.combinedLayout)
        #expect(manager.paths["cpu"] == "\(root)/cpu,cpuacct/x")
        #expect(manager.paths["cpuacct"] == "\(root)/cpu,cpuacct/x")
        #expect(manager.directories.count == manager.paths.count - 2)  // cpu,cpuacct and net_cls,net_prio
    }

    @Test(arguments: [
        ("/a/b", "/a/b"), ("a/b", "/a/b"), ("/a/../b", "/b"), ("/../../etc", "/etc"), ("a//./b/", "/a/b"), ("", "/berth/ctr"),
    ])
    func cgroupsPathIsCleanedUnderTheRoot(input: String, expected: String) throws {
        #expect(try CgroupManager.cgroupPath(input, containerID: "ctr") == expected)
    }

    @Test func systemdStylePathIsRejected() {
        let error = #expect(throws: CgroupError.self) {
            try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: "system.slice:berth:ctr", containerID: "ctr", fs: FakeCgroupFS())
        }
        #expect(error?.description.contains("systemd") == true)
    }

    @Test func hierarchyRootAndBadIDsAreRejected() {
        #expect(throws: CgroupError.self) { try CgroupManager.cgroupPath("/a/..", containerID: "ctr") }
        #expect(throws: CgroupError.self) { try CgroupManager.cgroupPath(nil, containerID: "../x") }
        #expect(throws: CgroupError.self) { try CgroupManager.cgroupPath(nil, containerID: "") }
    }

    @Test func restoredManagerUsesSavedPaths() throws {
        let fs = host()
        let original = try created(fs)
        let restored = CgroupManager(paths: original.paths, layout: original.layout, fs: fs)
        #expect(restored.paths == original.paths)
        try restored.add(pid: 42)
        #expect(fs.file("\(root)/pids/berth/ctr/cgroup.procs") == "42")
    }

    // MARK: create

    @Test func createCopiesCpusetFromParentsAndMakesEveryHierarchy() throws {
        let fs = host()
        try manager(fs).create()
        #expect(fs.file("\(root)/cpuset/berth/cpuset.cpus") == "0-1")
        #expect(fs.file("\(root)/cpuset/berth/cpuset.mems") == "0")
        #expect(fs.file("\(root)/cpuset/berth/ctr/cpuset.cpus") == "0-1")
        #expect(fs.file("\(root)/cpuset/berth/ctr/cpuset.mems") == "0")
        for hierarchy in ["cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids", "systemd"] {
            #expect(fs.isDirectory("\(root)/\(hierarchy)/berth/ctr"))
        }
    }

    @Test func createKeepsAParentsOwnCpuset() throws {
        let fs = host()
        fs.seed(["\(root)/cpuset/berth/cpuset.cpus": "1\n", "\(root)/cpuset/berth/cpuset.mems": "0\n"])
        try manager(fs).create()
        #expect(fs.written("/cpuset/berth/cpuset.cpus").isEmpty)
        #expect(fs.file("\(root)/cpuset/berth/ctr/cpuset.cpus") == "1")
    }

    // MARK: apply

    @Test func appliesEveryV1Knob() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        fs.seed(["\(root)/memory/berth/ctr/memory.memsw.limit_in_bytes": "9223372036854771712",
                 "\(root)/memory/berth/ctr/memory.limit_in_bytes": "9223372036854771712",
                 "\(root)/memory/berth/ctr/memory.kmem.limit_in_bytes": "9223372036854771712",
                 "\(root)/blkio/berth/ctr/blkio.weight": "500"])
        fs.clearWrites()
        var resources = Resources(
            devices: [DeviceCgroup(allow: false, access: "rwm"),
                      DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                      DeviceCgroup(allow: true, type: "c", major: 136, access: "rw")],
            memory: Memory(limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10, disableOOMKiller: true),
            cpu: CPU(shares: 512, quota: 50_000, period: 100_000, cpus: "0", mems: "0"),
            pids: Pids(limit: 10),
            blockIO: try Fixtures.decode(BlockIO.self, """
                {"weight": 300, "leafWeight": 200,
                 "weightDevice": [{"major": 8, "minor": 0, "weight": 400, "leafWeight": 100}],
                 "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                 "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]}
                """))
        resources.memory?.kernel = 1 << 30
        resources.cpu?.realtimePeriod = 1_000_000
        resources.cpu?.realtimeRuntime = 950_000
        try manager.apply(resources)

        let d = "/berth/ctr/"
        #expect(fs.written("cpuset\(d)cpuset.cpus") == ["0"])
        #expect(fs.written("cpuset\(d)cpuset.mems") == ["0"])
        #expect(fs.written("devices\(d)devices.deny") == ["a *:* rwm"])
        #expect(fs.written("devices\(d)devices.allow") == ["c 1:3 rwm", "c 136:* rw"])
        // The current limit is unlimited (above the new swap), so the memory limit goes first.
        #expect(fs.writes.filter { $0.path.hasSuffix("/memory.limit_in_bytes") || $0.path.hasSuffix("/memory.memsw.limit_in_bytes") }.map(\.description) == [
            "\(root)/memory\(d)memory.limit_in_bytes=67108864",
            "\(root)/memory\(d)memory.memsw.limit_in_bytes=134217728",
        ])
        #expect(fs.written("memory.kmem.limit_in_bytes") == ["1073741824"])
        #expect(fs.written("memory.soft_limit_in_bytes") == ["33554432"])
        #expect(fs.written("memory.oom_control") == ["1"])
        #expect(fs.written("memory.swappiness") == ["10"])
        #expect(fs.written("cpu\(d)cpu.shares") == ["512"])
        #expect(fs.written("cpu.cfs_period_us") == ["100000"])
        #expect(fs.written("cpu.cfs_quota_us") == ["50000"])
        #expect(fs.written("cpu.rt_period_us") == ["1000000"])
        #expect(fs.written("cpu.rt_runtime_us") == ["950000"])
        #expect(fs.written("pids.max") == ["10"])
        #expect(fs.written("blkio.weight") == ["300"])
        #expect(fs.written("blkio.leaf_weight") == ["200"])
        #expect(fs.written("blkio.weight_device") == ["8:0 400"])
        #expect(fs.written("blkio.leaf_weight_device") == ["8:0 100"])
        #expect(fs.written("blkio.throttle.read_bps_device") == ["8:0 1048576"])
        #expect(fs.written("blkio.throttle.write_iops_device") == ["8:16 100"])
        // Nothing that was not asked for.
        #expect(!fs.writes.contains { $0.path.hasSuffix("cpu.idle") || $0.path.hasSuffix("cpu.cfs_burst_us") })
    }

    @Test func loweringMemoryWritesTheLimitBeforeSwap() throws {
        let fs = host()
        let manager = try manager(fs)
        let dir = "\(root)/memory/berth/ctr"
        fs.seed(["\(dir)/memory.limit_in_bytes": "268435456", "\(dir)/memory.memsw.limit_in_bytes": "536870912"])
        try manager.apply(Resources(memory: Memory(limit: 64 << 20, swap: 128 << 20)))
        #expect(fs.writes.map(\.path) == ["\(dir)/memory.limit_in_bytes", "\(dir)/memory.memsw.limit_in_bytes"])
    }

    @Test func raisingMemoryWritesSwapFirst() throws {
        let fs = host()
        let dir = "\(root)/memory/berth/ctr"
        fs.seed(["\(dir)/memory.limit_in_bytes": "67108864", "\(dir)/memory.memsw.limit_in_bytes": "134217728"])
        try manager(fs).apply(Resources(memory: Memory(limit: 256 << 20, swap: 512 << 20)))
        #expect(fs.writes.map(\.description) == ["\(dir)/memory.memsw.limit_in_bytes=536870912", "\(dir)/memory.limit_in_bytes=268435456"])
    }

    @Test func unlimitedMemoryAlsoUnlimitsSwapFirst() throws {
        let fs = host()
        let dir = "\(root)/memory/berth/ctr"
        fs.seed(["\(dir)/memory.limit_in_bytes": "67108864", "\(dir)/memory.memsw.limit_in_bytes": "67108864"])
        try manager(fs).apply(Resources(memory: Memory(limit: -1)))
        #expect(fs.writes.map(\.description) == ["\(dir)/memory.memsw.limit_in_bytes=-1", "\(dir)/memory.limit_in_bytes=-1"])
    }

    @Test func swapIsSkippedWithoutSwapAccounting() throws {
        let fs = host()
        let dir = "\(root)/memory/berth/ctr"
        fs.seed(["\(dir)/memory.limit_in_bytes": "67108864"])
        try manager(fs).apply(Resources(memory: Memory(limit: 1 << 30, swap: 2 << 30)))
        #expect(fs.writes.map(\.description) == ["\(dir)/memory.limit_in_bytes=1073741824"])
    }

    @Test func busyMemoryLimitExplainsUsage() throws {
        let fs = host()
        let dir = "\(root)/memory/berth/ctr"
        fs.seed(["\(dir)/memory.limit_in_bytes": "67108864", "\(dir)/memory.usage_in_bytes": "5000000\n",
                 "\(dir)/memory.max_usage_in_bytes": "6000000\n"])
        fs.fail("\(dir)/memory.limit_in_bytes", errno: 16)
        let error = #expect(throws: CgroupError.self) { try manager(fs).apply(Resources(memory: Memory(limit: 100))) }
        #expect(error?.description == "write 100 to \(dir)/memory.limit_in_bytes: Device or resource busy (limit 100 is below current usage 5000000, peak 6000000)")
        #expect(error?.errno == 16)
    }

    @Test func periodRejectedBeforeQuotaIsRetriedAfterIt() throws {
        let fs = host()
        let dir = "\(root)/cpu/berth/ctr"
        fs.seed(["\(dir)/cpu.cfs_quota_us": "-1"])
        fs.fail("\(dir)/cpu.cfs_period_us", errno: 22)
        try manager(fs).apply(Resources(cpu: CPU(quota: 5000, period: 10_000)))
        #expect(fs.writes.map(\.description) == ["\(dir)/cpu.cfs_quota_us=5000", "\(dir)/cpu.cfs_period_us=10000"])
    }

    @Test func clampedSharesAreReported() throws {
        let fs = host()
        let dir = "\(root)/cpu/berth/ctr"
        fs.seed(["\(dir)/cpu.shares": "1024"])
        // A kernel with a lower maximum: the read-back differs from what was written.
        let clamping = ClampingFS(fs, path: "\(dir)/cpu.shares", value: "100000")
        let manager = try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: nil, containerID: "ctr", fs: clamping)
        let error = #expect(throws: CgroupError.self) { try manager.apply(Resources(cpu: CPU(shares: 200_000))) }
        #expect(error?.description.contains("maximum") == true)
    }

    @Test(arguments: [(Int64(-1), "max"), (0, "max"), (10, "10")])
    func pidsLimit(limit: Int64, expected: String) throws {
        let fs = host()
        try created(fs).apply(Resources(pids: Pids(limit: limit)))
        #expect(fs.written("pids.max") == [expected])
    }

    @Test func blkioFallsBackToBFQFiles() throws {
        let fs = host()
        let blockIO = try Fixtures.decode(BlockIO.self, #"{"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 400}]}"#)
        try created(fs).apply(Resources(blockIO: blockIO))
        #expect(fs.written("blkio.bfq.weight") == ["300"])
        #expect(fs.written("blkio.bfq.weight_device") == ["8:0 400"])
    }

    @Test func hugetlbNetworkAndRdmaNeedTheirControllers() throws {
        let fs = host()
        let manager = try created(fs, layout: Fixtures.combinedLayout)
        try manager.apply(Resources(hugepageLimits: [HugepageLimit(pageSize: "2MB", limit: 1 << 30)]))
        #expect(fs.written("/sys/fs/cgroup/hugetlb/berth/ctr/hugetlb.2MB.limit_in_bytes") == ["1073741824"])

        var resources = Resources()
        resources.network = try Fixtures.decode(Network.self, #"{"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}"#)
        resources.rdma = ["mlx5_1": try Fixtures.decode(RdmaLimit.self, #"{"hcaHandles": 3, "hcaObjects": 10000}"#)]
        try manager.apply(resources)
        #expect(fs.written("net_cls,net_prio/berth/ctr/net_cls.classid") == ["1048577"])
        #expect(fs.written("net_cls,net_prio/berth/ctr/net_prio.ifpriomap") == ["eth0 5"])
        #expect(fs.written("rdma/berth/ctr/rdma.max") == ["mlx5_1 hca_handle=3 hca_object=10000"])

        // The build machine's layout has no hugetlb mount.
        let error = #expect(throws: CgroupError.self) {
            try self.manager(fs).apply(Resources(hugepageLimits: [HugepageLimit(pageSize: "2MB", limit: 1)]))
        }
        #expect(error?.description == "apply linux.resources.hugepageLimits: the hugetlb cgroup controller is not mounted on this host")
    }

    @Test func unifiedOnV1NamesTheKey() throws {
        let fs = host()
        let error = #expect(throws: CgroupError.self) {
            try manager(fs).apply(Resources(pids: Pids(limit: 5), unified: ["memory.high": "1G"]))
        }
        #expect(error?.description.contains("unified[\"memory.high\"]") == true)
        // runc's wording, which its integration test greps for.
        #expect(error?.description.hasSuffix(": invalid configuration: cannot use unified on cgroup v1") == true)
        #expect(fs.writes.isEmpty)
    }

    @Test func invalidValuesWriteNothingAndNameTheField() throws {
        let fs = host()
        let manager = try manager(fs)
        let cases: [(Resources, String)] = [
            (Resources(cpu: CPU(cpus: "0-1\n2"), pids: Pids(limit: 3)), "linux.resources.cpu.cpus"),
            (Resources(cpu: CPU(mems: "0 1")), "linux.resources.cpu.mems"),
            (Resources(hugepageLimits: [HugepageLimit(pageSize: "2M/../x", limit: 1)]), "linux.resources.hugepageLimits[0].pageSize"),
            (Resources(hugepageLimits: [HugepageLimit(pageSize: "MB", limit: 1)]), "linux.resources.hugepageLimits[0].pageSize"),
            (Resources(memory: Memory(swappiness: 101)), "linux.resources.memory.swappiness"),
            (Resources(memory: Memory(limit: -2)), "linux.resources.memory.limit"),
            (Resources(blockIO: BlockIO(weight: 5)), "linux.resources.blockIO.weight"),
            (Resources(devices: [DeviceCgroup(allow: true, type: "x")]), "linux.resources.devices[0].type"),
            (Resources(devices: [DeviceCgroup(allow: true, type: "c", access: "rwx")]), "linux.resources.devices[0].access"),
            (Resources(cpu: CPU(shares: 1)), "linux.resources.cpu.shares"),
        ]
        for (resources, field) in cases {
            let error = #expect(throws: CgroupError.self) { try manager.apply(resources) }
            #expect(error?.description.hasPrefix("invalid \(field):") == true, "\(String(describing: error))")
        }
        #expect(fs.writes.isEmpty)
        #expect(CgroupManager.isHugepageSize("1GB") && CgroupManager.isHugepageSize("64KB"))
    }

    @Test func emptyResourcesWriteNothing() throws {
        let fs = host()
        try manager(fs).apply(Resources(devices: [], memory: Memory(), cpu: CPU(), blockIO: BlockIO()))
        #expect(fs.writes.isEmpty)
    }

    // MARK: processes, freezer, destroy

    @Test func addWritesEachDirectoryOnce() throws {
        let fs = host()
        let manager = try manager(fs, layout: Fixtures.combinedLayout)
        try manager.create()
        fs.clearWrites()
        try manager.add(pid: 1234)
        let procs = fs.writes.filter { $0.path.hasSuffix("/cgroup.procs") }
        #expect(procs.count == manager.directories.count)
        #expect(Set(procs.map(\.value)) == ["1234"])
        #expect(procs.contains { $0.path == "\(root)/cpu,cpuacct/berth/ctr/cgroup.procs" })
    }

    @Test func pidsIncludeChildCgroups() throws {
        let fs = host()
        let dir = "\(root)/pids/berth/ctr"
        fs.seed(["\(dir)/cgroup.procs": "10\n11\n", "\(dir)/sub/cgroup.procs": "12\n", "\(dir)/sub/deeper/cgroup.procs": "13\n10\n",
                 "\(root)/memory/berth/ctr/cgroup.procs": "99\n"])
        #expect(try manager(fs).pids() == [10, 11, 12, 13])
    }

    @Test func freezeAndThaw() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        #expect(!manager.isFrozen())
        try manager.freeze()
        #expect(fs.file("\(root)/freezer/berth/ctr/freezer.state") == "FROZEN")
        #expect(manager.isFrozen())
        try manager.thaw()
        #expect(!manager.isFrozen())
    }

    @Test func freezeWithoutFreezerFails() throws {
        let layout = CgroupLayout.v1(hierarchies: [V1Hierarchy(mountPoint: "/cg/memory", subsystems: ["memory"])])
        let manager = try CgroupManager(layout: layout, cgroupsPath: nil, containerID: "ctr", fs: FakeCgroupFS())
        #expect(throws: CgroupError.self) { try manager.freeze() }
        #expect(!manager.isFrozen())
    }

    @Test func destroyRemovesChildrenFirstAndRetriesBusy() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        try fs.mkdirAll("\(root)/memory/berth/ctr/inner/deeper")
        fs.fail("\(root)/pids/berth/ctr", errno: 16)  // one EBUSY while the last task exits
        try manager.destroy()
        let removed = fs.removed
        #expect(removed.firstIndex(of: "\(root)/memory/berth/ctr/inner/deeper")! < removed.firstIndex(of: "\(root)/memory/berth/ctr/inner")!)
        #expect(removed.firstIndex(of: "\(root)/memory/berth/ctr/inner")! < removed.firstIndex(of: "\(root)/memory/berth/ctr")!)
        for dir in manager.directories { #expect(!fs.isDirectory(dir)) }
        #expect(fs.isDirectory("\(root)/memory/berth"))
        // Destroying again finds nothing and succeeds.
        try manager.destroy()
    }

    @Test func destroyGivesUpOnPersistentBusyButTriesEveryDirectory() throws {
        let fs = host()
        let manager = try manager(fs)
        try manager.create()
        fs.fail("\(root)/cpu/berth/ctr", errno: 16, times: 10)
        let error = #expect(throws: CgroupError.self) { try manager.destroy() }
        #expect(error?.description == "rmdir \(root)/cpu/berth/ctr: Device or resource busy")
        #expect(!fs.isDirectory("\(root)/memory/berth/ctr"))
    }
}

/// Wraps a fake so one file reads back a different value, like a kernel clamping it.
struct ClampingFS: CgroupFS {
    let inner: FakeCgroupFS
    let path: String
    let value: String
    init(_ inner: FakeCgroupFS, path: String, value: String) { self.inner = inner; self.path = path; self.value = value }
    func read(_ path: String) throws(CgroupError) -> String { path == self.path ? value : try inner.read(path) }
    func write(_ path: String, _ value: String) throws(CgroupError) { try inner.write(path, value) }
    func mkdirAll(_ path: String) throws(CgroupError) { try inner.mkdirAll(path) }
    func rmdir(_ path: String) throws(CgroupError) { try inner.rmdir(path) }
    func exists(_ path: String) -> Bool { inner.exists(path) }
}
