import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, config-linux "Control groups" (cgroup v1 on this host), `update`, `pause`/`resume`.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct CgroupsTests {
    /// A cgroupsPath under a unique parent, and a cleanup that removes the parent afterwards.
    static func uniqueCgroupsPath(_ h: RuntimeHarness, id: String) -> (path: String, parent: String) {
        let parent = "berth-conf-\(randomSuffix())"
        h.onCleanup {
            for c in cgroupHierarchies { rmdir("/sys/fs/cgroup/\(c)/\(parent)/\(id)"); rmdir("/sys/fs/cgroup/\(c)/\(parent)") }
        }
        return ("/\(parent)/\(id)", parent)
    }

    @Test func limitsAreVisibleInsideTheContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("""
            cd /sys/fs/cgroup
            cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes memory/memory.swappiness
            cat pids/pids.max
            cat cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us
            cat cpuset/cpuset.cpus cpuset/cpuset.mems
            grep Cpus_allowed_list /proc/self/status
            cat blkio/blkio.weight 2>/dev/null || echo no-blkio-weight
            """) { spec in
            spec.linux?.resources?.memory = Memory(limit: 64 << 20, reservation: 32 << 20, swappiness: 10)
            spec.linux?.resources?.pids = Pids(limit: 42)
            spec.linux?.resources?.cpu = CPU(shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0")
        }
        let l = lines(out)
        try #require(l.count >= 10, "\(out)")
        #expect(Array(l[0..<9]) == ["\(64 << 20)", "\(32 << 20)", "10", "42", "512", "50000", "100000", "0", "0"], "\(out)")
        #expect(statusFields(l[9])["Cpus_allowed_list"] == "0")
    }

    @Test func containerSeesItsOwnCgroupAsRoot() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("cat /proc/self/cgroup; echo ---; grep ' /sys/fs/cgroup' /proc/self/mountinfo") {
            $0.linux?.namespaces?.append(Namespace(type: "cgroup"))
        }
        let parts = out.split(separator: "---\n").map(String.init)
        try #require(parts.count == 2, "\(out)")
        for l in lines(parts[0]) where !l.hasPrefix("0::") {
            #expect(l.hasSuffix(":/"), "cgroup namespace root expected: \(l)")
        }
        let mounts = MountInfo.parse(parts[1])
        let memory = try #require(mounts.first { $0.mountPoint == "/sys/fs/cgroup/memory" }, "\(parts[1])")
        #expect(memory.options.contains("ro"), "the spec's cgroup mount is ro: \(memory.options)")
        #expect(memory.fsType == "cgroup")
    }

    @Test func cgroupsPathIsHonouredOnTheHost() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "1000"])
        let id = h.newID("cgpath")
        let (path, _) = Self.uniqueCgroupsPath(h, id: id)
        var spec = Spec.defaultSpec()
        spec.process?.terminal = false
        spec.process?.args = ["sleep", "1000"]
        spec.linux?.cgroupsPath = path
        spec.linux?.resources?.memory = Memory(limit: 96 << 20)
        try h.writeSpec(spec, bundle: bundle)
        let c = try h.run(["create", "--bundle", bundle, id])
        try #require(c.status == 0, "\(c)")
        let pid = try h.state(id).pid
        for ctrl in ["memory", "pids", "cpu", "cpuset", "devices", "freezer"] {
            let dir = "/sys/fs/cgroup/\(ctrl)\(path)"
            #expect(exists(dir), "\(dir) missing")
            #expect(lines(try Fixtures.read(dir + "/cgroup.procs")).contains("\(pid)"), "\(ctrl): pid \(pid) not in \(dir)")
        }
        #expect(trimmed(try Fixtures.read("/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes")) == "\(96 << 20)")
        #expect(try Fixtures.read("/proc/\(pid)/cgroup").contains(":memory:\(path)\n"))
        #expect(try h.run(["start", id]).status == 0)
        let d = try h.run(["delete", "--force", id])
        #expect(d.status == 0, "\(d)")
        #expect(existingCgroupDirs(String(path.dropFirst())).isEmpty, "cgroups left after delete")
    }

    @Test func updateChangesTheLimitsOfARunningContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper { spec in
            spec.linux?.resources?.memory = Memory(limit: 64 << 20)
            spec.linux?.resources?.pids = Pids(limit: 20)
        }
        func read() throws -> [String] {
            let r = try h.exec(id, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/cpu/cpu.shares"])
            try #require(r.status == 0, "\(r)")
            return lines(r.stdout)
        }
        #expect(try read().prefix(2) == ["\(64 << 20)", "20"])
        let u = try h.run(["update", "--memory", "128m", "--pids-limit", "50", id])
        #expect(u.status == 0, "\(u)")
        #expect(try read().prefix(2) == ["\(128 << 20)", "50"])
        let u2 = try h.run(["update", "-r", "-", id], stdin: #"{"cpu": {"shares": 300}, "pids": {"limit": 60}}"#)
        #expect(u2.status == 0, "\(u2)")
        #expect(try read() == ["\(128 << 20)", "60", "300"])
    }

    @Test func pauseAndResumeFreezeTheContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let pid = try h.state(id).pid
        let freezerLine = try #require(lines(try Fixtures.read("/proc/\(pid)/cgroup")).first { $0.contains(":freezer:") })
        let freezer = "/sys/fs/cgroup/freezer" + String(freezerLine.split(separator: ":", maxSplits: 2)[2])
        #expect(try h.run(["pause", id]).status == 0)
        #expect(try h.state(id).status == "paused")
        #expect(trimmed(try Fixtures.read(freezer + "/freezer.state")) == "FROZEN")
        let e = try h.exec(id, ["true"])
        #expect(e.status != 0, "exec into a paused container must fail: \(e)")
        #expect(try h.run(["resume", id]).status == 0)
        #expect(try h.state(id).status == "running")
        #expect(trimmed(try Fixtures.read(freezer + "/freezer.state")) == "THAWED")
        #expect(try h.exec(id, ["true"]).status == 0)
        // A paused container can be force-deleted.
        #expect(try h.run(["pause", id]).status == 0)
        #expect(try h.run(["delete", "--force", id]).status == 0)
        #expect(!exists(freezer))
    }

    @Test func pidsLimitIsEnforced() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1; echo done") { spec in
            spec.linux?.resources?.pids = Pids(limit: 4)
        }
        #expect(r.stdout.contains("can't fork") || r.stderr.contains("can't fork"), "\(r)")
    }

    @Test func memoryLimitIsEnforced() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // No swap on this host: a 64 MiB buffer in a 16 MiB cgroup is OOM-killed.
        let r = try h.sh("dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?; cat /sys/fs/cgroup/memory/memory.failcnt") { spec in
            spec.linux?.resources?.memory = Memory(limit: 16 << 20)
        }
        let l = lines(r.stdout)
        #expect(l.first == "rc=137", "\(r)")
        #expect((Int(l.last ?? "") ?? 0) > 0, "\(r)")
    }

    @Test func updateCpusetAndEventsStats() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        #expect(try h.run(["update", "--cpuset-cpus", "0", "--cpu-quota", "20000", "--cpu-period", "100000", id]).status == 0)
        let r = try h.exec(id, ["sh", "-c", "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpu/cpu.cfs_quota_us; grep Cpus_allowed_list /proc/self/status"])
        let l = lines(r.stdout)
        #expect(l.prefix(2) == ["0", "20000"], "\(r)")
        #expect(statusFields(l.last ?? "")["Cpus_allowed_list"] == "0", "\(r)")

        struct Event: Decodable {
            var type: String
            var id: String
            struct D: Decodable { struct P: Decodable { var current: UInt64? }; var pids: P? }
            var data: D?
        }
        let e = try h.run(["events", "--stats", id])
        #expect(e.status == 0, "\(e)")
        let ev = try JSONDecoder().decode(Event.self, from: Data(e.stdout.utf8))
        #expect(ev.type == "stats" && ev.id == id)
        #expect((ev.data?.pids?.current ?? 0) >= 1)
    }
}
