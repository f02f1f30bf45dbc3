@testable import BerthCgroups
import BerthOCI
import Glibc
import Testing

/// What the machine running the tests offers; the real-cgroup tests skip themselves otherwise.
enum Host {
    static let isRoot = getuid() == 0
    static let layout = try? CgroupLayout.host()
    static var isV1: Bool {
        if case .v1 = layout { return true }
        return false
    }
    /// A cgroup2 mount to attach device filters to: the unified root, or the hybrid one.
    static var cgroup2Mount: String? {
        switch layout {
        case .v2(let mountPoint): return mountPoint
        case .v1: return access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "/sys/fs/cgroup/unified" : nil
        case nil: return nil
        }
    }
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// Real cgroups under /sys/fs/cgroup; each test removes what it created, even on failure.
@Suite(.serialized) struct HostCgroupTests {
    @Test(.enabled(if: Host.isRoot && Host.isV1, "needs root on a cgroup v1 host"))
    func createApplyAddFreezeDestroyOnV1() throws {
        guard let layout = Host.layout else { return }
        let fs = HostCgroupFS()
        let manager = try CgroupManager(layout: layout, cgroupsPath: "/" + Host.uniqueName("berth-test"), containerID: "unused", fs: fs)
        defer {
            do { try manager.destroy() } catch { Issue.record("destroy: \(error)") }
            for directory in manager.directories { #expect(!fs.exists(directory), "left behind: \(directory)") }
        }
        try manager.create()

        let cpuset = try #require(manager.paths["cpuset"])
        let parentCpus = try fs.read(parentPath(cpuset) + "/cpuset.cpus").trimmed
        #expect(try fs.read(cpuset + "/cpuset.cpus").trimmed == parentCpus)  // copied by create()

        try manager.apply(Resources(
            devices: [DeviceCgroup(allow: false, access: "rwm"), DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm")],
            memory: Memory(limit: 64 << 20),
            cpu: CPU(shares: 512, cpus: parentCpus),
            pids: Pids(limit: 10)))
        let memory = try #require(manager.paths["memory"])
        #expect(try fs.read(memory + "/memory.limit_in_bytes").trimmed == "67108864")
        #expect(try fs.read(try #require(manager.paths["pids"]) + "/pids.max").trimmed == "10")
        #expect(try fs.read(try #require(manager.paths["cpu"]) + "/cpu.shares").trimmed == "512")
        #expect(try fs.read(try #require(manager.paths["devices"]) + "/devices.list").trimmed == "c 1:3 rwm")

        // One real process: joined, listed, frozen, thawed, killed before destroy runs.
        let pid = try spawnSleep()
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try manager.add(pid: pid)
        #expect(try manager.pids() == [pid])
        try manager.freeze()
        #expect(manager.isFrozen())
        try manager.thaw()
        #expect(!manager.isFrozen())

        let stats = try manager.stats()
        #expect(stats.pids == CgroupStats.Pids(current: 1, limit: 10))
        #expect(stats.memory.usage.limit == 64 << 20)
    }

    @Test(.enabled(if: Host.isRoot && Host.cgroup2Mount != nil, "needs root and a cgroup2 mount"))
    func deviceFilterPassesTheVerifierAndReplacesTheOldOne() throws {
        guard let mount = Host.cgroup2Mount else { return }
        let fs = HostCgroupFS()
        let directory = mount + "/" + Host.uniqueName("berth-test-bpf")
        try fs.mkdirAll(directory)
        defer {
            do { try fs.rmdir(directory) } catch { Issue.record("rmdir: \(error)") }
        }
        let rules = [DeviceCgroup(allow: false, access: "rwm"),
                     DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                     DeviceCgroup(allow: true, type: "c", major: 136, access: "rw"),
                     DeviceCgroup(allow: true, type: "b", access: "m")]
        try fs.attachDeviceFilter(try deviceFilterProgram(rules), to: directory)
        let first = try DeviceFilterLoader.attachedProgramIDs(of: directory)
        #expect(first.count == 1)

        try fs.attachDeviceFilter(try deviceFilterProgram([DeviceCgroup(allow: true)]), to: directory)
        let second = try DeviceFilterLoader.attachedProgramIDs(of: directory)
        #expect(second.count == 1)
        #expect(second != first)
    }

    @Test(.enabled(if: Host.isRoot, "needs root"))
    func hostFSReportsErrnoAndToleratesMissingDirectories() throws {
        let fs = HostCgroupFS()
        try fs.rmdir("/sys/fs/cgroup/berth-test-does-not-exist")
        #expect(try fs.subdirectories("/sys/fs/cgroup/berth-test-does-not-exist").isEmpty)
        let error = #expect(throws: CgroupError.self) { try fs.write("/sys/fs/cgroup/berth-test-does-not-exist/x", "1") }
        #expect(error?.description == "write 1 to /sys/fs/cgroup/berth-test-does-not-exist/x: No such file or directory")
        #expect(error?.errno == ENOENT)
    }

    @Test(.enabled(if: Host.isRoot && Host.isV1, "needs root on a cgroup v1 host"))
    func execSubCgroupAndOccupancyOnV1() throws {
        guard let layout = Host.layout else { return }
        let fs = HostCgroupFS()
        let name = "/" + Host.uniqueName("berth-test-sub")
        let manager = try CgroupManager(layout: layout, cgroupsPath: name, containerID: "unused", fs: fs)
        #expect(!manager.hasProcesses())  // not created yet
        let memory = try #require(manager.paths["memory"])
        defer {
            try? fs.rmdir(memory + "/submem")
            do { try manager.destroy() } catch { Issue.record("destroy: \(error)") }
            for directory in manager.directories { #expect(!fs.exists(directory), "left behind: \(directory)") }
        }
        try manager.create()
        #expect(!manager.hasProcesses())
        try fs.mkdirAll(memory + "/submem")

        let pid = try spawnSleep()
        var reaped = false
        defer {
            if !reaped {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        try manager.add(pid: pid, subCgroup: "submem", controllers: ["memory"])
        let cgroups = CgroupLayout.processCgroups(try fs.read("/proc/\(pid)/cgroup"))
        #expect(cgroups["memory"] == name + "/submem")
        #expect(cgroups["pids"] == name)
        #expect(cgroups["freezer"] == name)
        #expect(manager.hasProcesses())

        let missing = #expect(throws: CgroupError.self) { try manager.add(pid: pid, subCgroup: "nonexistent", controllers: ["cpu"]) }
        let cpu = try #require(manager.paths["cpu"])
        #expect(missing?.description == "adding pid \(pid) to cgroups: open \(cpu)/nonexistent/cgroup.procs: no such file or directory")
        let parent = #expect(throws: CgroupError.self) { try manager.add(pid: pid, subCgroup: "..", controllers: nil) }
        #expect(parent?.description == ".. is not a sub cgroup path")

        // Back to the container cgroup everywhere, then gone.
        try manager.add(pid: pid, subCgroup: "/", controllers: nil)
        #expect(CgroupLayout.processCgroups(try fs.read("/proc/\(pid)/cgroup"))["memory"] == name)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
        #expect(!manager.hasProcesses())
    }

    @Test(.enabled(if: Host.isRoot && Host.isV1, "needs root on a cgroup v1 host"))
    func freezerFrozenBeforeCreateOnV1() throws {
        guard let layout = Host.layout else { return }
        let fs = HostCgroupFS()
        let manager = try CgroupManager(layout: layout, cgroupsPath: "/" + Host.uniqueName("berth-test-frozen"), containerID: "unused", fs: fs)
        let freezer = try #require(manager.paths["freezer"])
        defer {
            try? fs.write(freezer + "/freezer.state", "THAWED")
            do { try manager.destroy() } catch { Issue.record("destroy: \(error)") }
            for directory in manager.directories { #expect(!fs.exists(directory), "left behind: \(directory)") }
        }
        // What runc's "runc run/create should refuse pre-existing frozen cgroup" does.
        try fs.mkdirAll(freezer)
        try fs.write(freezer + "/freezer.state", "FROZEN")
        #expect(manager.wasFrozen())
        #expect(manager.isFrozen())
        try manager.create()
        #expect(manager.wasFrozen())
        try manager.thaw()
        #expect(!manager.wasFrozen())
    }

    @Test(.enabled(if: Host.isRoot && Host.isV1, "needs root on a cgroup v1 host"),
          .timeLimit(.minutes(1)))
    func oomNotificationOnV1() throws {
        guard let layout = Host.layout else { return }
        let fs = HostCgroupFS()
        let manager = try CgroupManager(layout: layout, cgroupsPath: "/" + Host.uniqueName("berth-test-oom"), containerID: "unused", fs: fs)
        defer {
            do { try manager.destroy() } catch { Issue.record("destroy: \(error)") }
            for directory in manager.directories { #expect(!fs.exists(directory), "left behind: \(directory)") }
        }
        try manager.create()
        try manager.apply(Resources(memory: Memory(limit: 8 << 20, swap: 8 << 20)))
        let watcher = try manager.oomWatcher()
        defer { watcher.close() }
        #expect(!watcher.wait(timeoutMs: 0))

        // A shell that waits for a line on stdin, then grows without bound (tail keeps the
        // newline-free /dev/zero as one line): joined to the cgroup before it allocates.
        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        let pid = try spawn(["/bin/sh", "-c", "read line; exec tail /dev/zero"], stdin: pipeFDs[0])
        close(pipeFDs[0])
        var reaped = false
        defer {
            close(pipeFDs[1])
            if !reaped {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        try manager.add(pid: pid)
        #expect(write(pipeFDs[1], "go\n", 3) == 3)

        #expect(watcher.wait(timeoutMs: 20_000), "no OOM event within 20 s")
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
        #expect(status & 0x7f == SIGKILL, "the OOM killer ends tail: status \(status)")

        // Removing the cgroup signals the eventfd too; that is not an OOM.
        try manager.destroy()
        #expect(!watcher.wait(timeoutMs: 5000))
        #expect(watcher.cgroupRemoved)
    }

    private func spawnSleep() throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, nil)
        try #require(rc == 0, "posix_spawn /bin/sleep: \(rc)")
        return pid
    }
}
