@testable import BerthCgroups
import Testing

/// Cgroups that exist before `create`: runc's tests pre-create them (empty, frozen, or in use
/// by another container) and expect create to cope or the runtime to refuse.
@Suite struct PreexistingCgroupTests {
    let root = "/sys/fs/cgroup"

    func host() -> FakeCgroupFS {
        FakeCgroupFS(["\(root)/cpuset/cpuset.cpus": "0-1\n", "\(root)/cpuset/cpuset.mems": "0\n",
                      "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n"])
    }

    func v1(_ fs: FakeCgroupFS) throws -> CgroupManager {
        try CgroupManager(layout: Fixtures.hybridLayout, cgroupsPath: "/test/ct", containerID: "unused", fs: fs)
    }

    func v2(_ fs: FakeCgroupFS) throws -> CgroupManager {
        try CgroupManager(layout: Fixtures.unifiedLayout, cgroupsPath: "/test/ct", containerID: "unused", fs: fs)
    }

    // MARK: hasProcesses

    @Test func missingCgroupHasNoProcesses() throws {
        #expect(!(try v1(host())).hasProcesses())
        #expect(!(try v2(host())).hasProcesses())
    }

    @Test func emptyCgroupHasNoProcesses() throws {
        let fs = host()
        let manager = try v1(fs)
        try manager.create()
        for directory in manager.directories { fs.seed([directory + "/cgroup.procs": ""]) }
        #expect(!manager.hasProcesses())
    }

    @Test func anyHierarchyWithAPidCounts() throws {
        let fs = host()
        let manager = try v1(fs)
        try manager.create()
        for directory in manager.directories { fs.seed([directory + "/cgroup.procs": ""]) }
        // Only the freezer hierarchy (not the pids or memory one pids() prefers) has a process.
        fs.seed(["\(root)/freezer/test/ct/cgroup.procs": "1234\n"])
        #expect(manager.hasProcesses())
    }

    @Test func processesInAChildCgroupCount() throws {
        let fs = host()
        let manager = try v2(fs)
        fs.seed(["\(root)/test/ct/cgroup.procs": "", "\(root)/test/ct/sub/cgroup.procs": "77\n"])
        #expect(manager.hasProcesses())
    }

    @Test func unreadableProcsCountAsEmpty() throws {
        let fs = host()
        let manager = try v2(fs)
        fs.seed(["\(root)/test/ct/cgroup.procs": "5\n"])
        fs.fail("\(root)/test/ct/cgroup.procs", errno: 19 /* ENODEV: removed meanwhile */)
        #expect(!manager.hasProcesses())
        #expect(manager.hasProcesses())
    }

    // MARK: frozen before create

    @Test func v1FrozenBeforeCreateReadsFrozen() throws {
        let fs = host()
        // The test does: mkdir -p $FREEZER_DIR; echo FROZEN > $FREEZER_DIR/freezer.state
        fs.seed(["\(root)/freezer/test/ct/freezer.state": "FROZEN\n"])
        let manager = try v1(fs)
        #expect(manager.isFrozen())
        #expect(manager.wasFrozen())
        try manager.create()  // the directory exists already
        #expect(manager.isFrozen())
        #expect(manager.wasFrozen())
    }

    @Test func v1FreezingCountsAsFrozenBeforeCreate() throws {
        let fs = host()
        fs.seed(["\(root)/freezer/test/ct/freezer.state": "FREEZING\n"])
        let manager = try v1(fs)
        #expect(!manager.isFrozen())
        #expect(manager.wasFrozen())
        fs.seed(["\(root)/freezer/test/ct/freezer.state": "THAWED\n"])
        #expect(!manager.wasFrozen())
    }

    @Test func v2FrozenBeforeCreateReadsFrozen() throws {
        let fs = host()
        let manager = try v2(fs)
        #expect(!manager.wasFrozen())
        try fs.mkdirAll("\(root)/test/ct")
        try fs.write("\(root)/test/ct/cgroup.freeze", "1")  // the fake updates cgroup.events
        #expect(manager.isFrozen())
        #expect(manager.wasFrozen())
        // Requested but not complete yet: cgroup.freeze 1, cgroup.events frozen 0.
        fs.seed(["\(root)/test/ct/cgroup.events": "populated 1\nfrozen 0\n"])
        #expect(!manager.isFrozen())
        #expect(manager.wasFrozen())
    }

    // MARK: create and destroy

    @Test func createAcceptsExistingDirectoriesAndDestroyRemovesThem() throws {
        let fs = host()
        let manager = try v1(fs)
        for directory in manager.directories { try fs.mkdirAll(directory) }
        try manager.create()
        try manager.create()  // twice is fine too
        #expect(fs.file("\(root)/cpuset/test/ct/cpuset.cpus") == "0-1")
        try manager.destroy()
        for directory in manager.directories { #expect(!fs.isDirectory(directory)) }
    }

    @Test func v2CreateAcceptsAnExistingDirectory() throws {
        let fs = host()
        let manager = try v2(fs)
        try fs.mkdirAll("\(root)/test/ct")
        try manager.create()
        try manager.destroy()
        #expect(!fs.isDirectory("\(root)/test/ct"))
    }
}
