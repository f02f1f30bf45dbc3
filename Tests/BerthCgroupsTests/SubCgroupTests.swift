@testable import BerthCgroups
import Glibc
import Testing

/// `exec --cgroup`: which directory each hierarchy's cgroup.procs gets, and runc's error texts.
@Suite struct SubCgroupTests {
    let root = "/sys/fs/cgroup"

    func created(_ layout: CgroupLayout = Fixtures.hybridLayout, subs: [String] = []) throws -> (CgroupManager, FakeCgroupFS) {
        let fs = FakeCgroupFS(["\(root)/cpuset/cpuset.cpus": "0-1\n", "\(root)/cpuset/cpuset.mems": "0\n"])
        let manager = try CgroupManager(layout: layout, cgroupsPath: nil, containerID: "ctr", fs: fs)
        try manager.create()
        for sub in subs { try fs.mkdirAll(sub) }
        fs.clearWrites()
        return (manager, fs)
    }

    /// cgroup.procs writes as directory (without `/cgroup.procs`) → pid.
    func procs(_ fs: FakeCgroupFS) -> [String: String] {
        var result: [String: String] = [:]
        for write in fs.writes where write.path.hasSuffix("/cgroup.procs") {
            result[String(write.path.dropLast("/cgroup.procs".count))] = write.value
        }
        return result
    }

    @Test func noControllersMeansEveryHierarchy() throws {
        let (manager, _) = try created()
        let subs = manager.directories.map { $0 + "/sub" }
        let (sameManager, fs) = try created(subs: subs)
        try sameManager.add(pid: 42, subCgroup: "sub", controllers: nil)
        #expect(procs(fs) == Dictionary(uniqueKeysWithValues: subs.map { ($0, "42") }))
    }

    @Test func listedControllersGetTheSubCgroupTheRestTheContainerCgroup() throws {
        let (manager, fs) = try created(subs: ["\(root)/memory/berth/ctr/submem"])
        try manager.add(pid: 42, subCgroup: "submem", controllers: ["memory"])
        let written = procs(fs)
        #expect(written["\(root)/memory/berth/ctr/submem"] == "42")
        #expect(written["\(root)/memory/berth/ctr"] == nil)
        #expect(written["\(root)/pids/berth/ctr"] == "42")
        #expect(written.count == manager.directories.count)
    }

    @Test func severalFlagsGoThroughTheMap() throws {
        // runc exec --cgroup memory:submem --cgroup cpu,cpuacct:subcpu
        let (manager, fs) = try created(subs: ["\(root)/memory/berth/ctr/submem", "\(root)/cpu/berth/ctr/subcpu",
                                               "\(root)/cpuacct/berth/ctr/subcpu"])
        try manager.add(pid: 7, subCgroups: ["memory": "submem", "cpu": "subcpu", "cpuacct": "subcpu"])
        let written = procs(fs)
        #expect(written["\(root)/memory/berth/ctr/submem"] == "7")
        #expect(written["\(root)/cpu/berth/ctr/subcpu"] == "7")
        #expect(written["\(root)/cpuacct/berth/ctr/subcpu"] == "7")
        #expect(written["\(root)/freezer/berth/ctr"] == "7")
        #expect(written.count == manager.directories.count)
    }

    @Test func sharedHierarchyIsWrittenOnceInTheSubCgroup() throws {
        let (manager, fs) = try created(Fixtures.combinedLayout, subs: ["\(root)/cpu,cpuacct/berth/ctr/subcpu"])
        try manager.add(pid: 9, subCgroup: "subcpu", controllers: ["cpu"])
        let cpuWrites = fs.writes.filter { $0.path.contains("/cpu,cpuacct/") }
        #expect(cpuWrites.map(\.path) == ["\(root)/cpu,cpuacct/berth/ctr/subcpu/cgroup.procs"])

        let error = #expect(throws: CgroupError.self) {
            try manager.add(pid: 9, subCgroups: ["cpu": "a", "cpuacct": "b"])
        }
        #expect(error?.description.contains("conflicting sub cgroups") == true)
    }

    @Test(arguments: ["", "/", ".", "a/..", "//"])
    func emptyOrRootSubIsTheContainerCgroup(sub: String) throws {
        let (manager, fs) = try created()
        try manager.add(pid: 5, subCgroup: sub, controllers: nil)
        #expect(procs(fs) == Dictionary(uniqueKeysWithValues: manager.directories.map { ($0, "5") }))
    }

    @Test func nestedAndAbsoluteSubPathsStayBelowTheContainer() throws {
        #expect(try CgroupManager.subCgroupPath("/a/b/") == "/a/b")
        #expect(try CgroupManager.subCgroupPath("a/./b/../c") == "/a/c")
    }

    @Test(arguments: ["..", "../x", "a/../../b", "/.."])
    func pathsLeavingTheContainerAreRefused(sub: String) throws {
        let (manager, fs) = try created()
        let error = #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: sub, controllers: nil) }
        // runc: fmt.Errorf("%s is not a sub cgroup path", add); the bats test greps " .. is not a sub cgroup path".
        #expect(error?.description == "\(sub) is not a sub cgroup path")
        #expect(fs.writes.isEmpty)
        #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: sub, controllers: ["memory"]) }
    }

    @Test func missingSubCgroupReadsLikeRunc() throws {
        let (manager, fs) = try created()
        let error = #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: "nonexistent", controllers: nil) }
        let first = manager.directories[0]
        #expect(error?.description == "adding pid 42 to cgroups: open \(first)/nonexistent/cgroup.procs: no such file or directory")
        #expect(error?.errno == ENOENT)
        #expect(fs.writes.isEmpty)  // checked before any move

        let cpuError = #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: "nonexistent", controllers: ["cpu"]) }
        #expect(cpuError?.description == "adding pid 42 to cgroups: open \(root)/cpu/berth/ctr/nonexistent/cgroup.procs: no such file or directory")
        #expect(fs.writes.isEmpty)
    }

    @Test func unknownControllerIsNamed() throws {
        let (manager, fs) = try created()
        let error = #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: "/", controllers: ["whaaat"]) }
        #expect(error?.description == "unknown controller \"whaaat\"")
        #expect(fs.writes.isEmpty)
    }

    @Test func writeFailuresUseGoErrnoText() throws {
        let (manager, fs) = try created(subs: ["\(root)/memory/berth/ctr/sub"])
        fs.fail("\(root)/memory/berth/ctr/sub/cgroup.procs", errno: EBUSY)
        let error = #expect(throws: CgroupError.self) { try manager.add(pid: 42, subCgroup: "sub", controllers: ["memory"]) }
        #expect(error?.description == "adding pid 42 to cgroups: write \(root)/memory/berth/ctr/sub/cgroup.procs: device or resource busy")
        #expect(error?.errno == EBUSY)
    }

    @Test func einvalIsRetriedLikeRunc() throws {
        let (manager, fs) = try created()
        fs.fail("\(root)/pids/berth/ctr/cgroup.procs", errno: EINVAL, times: 2)
        try manager.add(pid: 42, subCgroup: nil, controllers: nil)
        #expect(fs.file("\(root)/pids/berth/ctr/cgroup.procs") == "42")
    }

    // MARK: v2

    @Test func v2TakesOnePathForTheWholeCgroup() throws {
        let (manager, fs) = try created(Fixtures.unifiedLayout, subs: ["\(root)/berth/ctr/foobar"])
        try manager.add(pid: 3, subCgroup: "foobar", controllers: nil)
        #expect(procs(fs) == ["\(root)/berth/ctr/foobar": "3"])
        fs.clearWrites()
        try manager.add(pid: 3, subCgroup: "/", controllers: nil)
        #expect(procs(fs) == ["\(root)/berth/ctr": "3"])
    }

    @Test func v2HasNoPerControllerPaths() throws {
        let (manager, _) = try created(Fixtures.unifiedLayout)
        let error = #expect(throws: CgroupError.self) { try manager.add(pid: 3, subCgroup: "x", controllers: ["memory"]) }
        #expect(error?.description == "unknown controller \"memory\"")
        let parent = #expect(throws: CgroupError.self) { try manager.add(pid: 3, subCgroup: "..", controllers: nil) }
        #expect(parent?.description == ".. is not a sub cgroup path")
    }
}
