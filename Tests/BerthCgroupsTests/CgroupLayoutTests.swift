@testable import BerthCgroups
import Testing

@Suite struct CgroupLayoutTests {
    @Test func hybridHostIsV1WithSeparateCpuAndCpuacct() {
        let layout = CgroupLayout.detect(mountinfo: Fixtures.hybridMountinfo)
        guard case .v1(let hierarchies) = layout else {
            Issue.record("expected v1, got \(String(describing: layout))")
            return
        }
        #expect(hierarchies.map(\.subsystems) == [["cpu"], ["cpuacct"], ["cpuset"], ["memory"], ["devices"],
                                                  ["freezer"], ["blkio"], ["pids"], ["name=systemd"], ["unified"]])
        #expect(hierarchies.first?.mountPoint == "/sys/fs/cgroup/cpu")
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/systemd", subsystems: ["name=systemd"])))
        // The controller-less cgroup2 tree of a hybrid host: containers get a cgroup there too (runc).
        #expect(hierarchies.last == V1Hierarchy(mountPoint: "/sys/fs/cgroup/unified", subsystems: [V1Hierarchy.unified]))
    }

    @Test func unifiedHostIsV2() {
        #expect(CgroupLayout.detect(mountinfo: Fixtures.unifiedMountinfo) == .v2(mountPoint: "/sys/fs/cgroup"))
    }

    @Test func combinedMountsKeepTheirSubsystemsTogether() {
        guard case .v1(let hierarchies) = CgroupLayout.detect(mountinfo: Fixtures.combinedMountinfo) else {
            Issue.record("expected v1")
            return
        }
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/cpu,cpuacct", subsystems: ["cpu", "cpuacct"])))
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/net_cls,net_prio", subsystems: ["net_cls", "net_prio"])))
        // Mount flags such as clone_children and xattr are not subsystems.
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/cpuset", subsystems: ["cpuset"])))
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/systemd", subsystems: ["name=systemd"])))
        // The bind mount of /docker/abc loses to the mount of the hierarchy's root.
        #expect(hierarchies.filter { $0.subsystems == ["memory"] }.map(\.mountPoint) == ["/sys/fs/cgroup/memory"])
        // \040 is a space.
        #expect(hierarchies.contains(V1Hierarchy(mountPoint: "/sys/fs/cgroup/my blkio", subsystems: ["blkio"])))
    }

    @Test func cgroup2ElsewhereWithoutV1ControllersIsV2() {
        let mountinfo = """
            22 1 8:1 / / rw - ext4 /dev/sda1 rw
            40 22 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 22 0:38 / /run/cgroup2 rw,relatime - cgroup2 cgroup2 rw
            """
        #expect(CgroupLayout.detect(mountinfo: mountinfo) == .v2(mountPoint: "/run/cgroup2"))
    }

    @Test func noCgroupMountsIsNil() {
        #expect(CgroupLayout.detect(mountinfo: "22 1 8:1 / / rw - ext4 /dev/sda1 rw\ngarbage line\n") == nil)
        #expect(CgroupLayout.detect(mountinfo: "") == nil)
    }

    @Test func processCgroupsParsesV1AndV2Lines() {
        let text = """
            9:name=systemd:/
            4:memory:/process_api/7393
            2:cpu,cpuacct:/a:b
            0::/user.slice
            """
        let cgroups = CgroupLayout.processCgroups(text)
        #expect(cgroups["memory"] == "/process_api/7393")
        #expect(cgroups["cpu"] == "/a:b")
        #expect(cgroups["cpuacct"] == "/a:b")
        #expect(cgroups["name=systemd"] == "/")
        #expect(cgroups[""] == "/user.slice")
    }

    @Test func hostLayoutIsReadable() throws {
        // Whatever this machine is, it has some cgroup filesystem.
        _ = try CgroupLayout.host()
    }
}
