import BerthCgroups
import BerthOCI
import FoundationEssentials

enum Fixtures {
    /// The build machine: cgroup v1 with every controller on its own mount (cpu and cpuacct
    /// separate), plus an empty cgroup2 at /sys/fs/cgroup/unified (hybrid).
    static let hybridMountinfo = """
        22 1 253:0 / / rw,relatime - ext4 /dev/vda rw
        23 22 0:5 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
        24 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    /// A unified host (systemd default since 2021).
    static let unifiedMountinfo = """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
        25 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        31 25 0:27 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:10 - bpf bpf rw,mode=700
        """

    /// Classic systemd v1 host: cpu and cpuacct (and net_cls, net_prio) share a mount; one
    /// hierarchy is also bind-mounted below a container's cgroup, which must be ignored; the
    /// blkio mount point has an escaped space.
    static let combinedMountinfo = """
        25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
        28 25 0:25 /docker/abc /run/inner/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
        29 25 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
        30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
        31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,net_cls,net_prio
        32 25 0:29 / /sys/fs/cgroup/my\\040blkio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,blkio
        33 25 0:30 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,hugetlb
        34 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,cpuset,clone_children
        35 25 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,pids
        36 25 0:33 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,rdma
        """

    static var hybridLayout: CgroupLayout {
        CgroupLayout.detect(mountinfo: hybridMountinfo) ?? .v2(mountPoint: "/unexpected")
    }

    static var combinedLayout: CgroupLayout {
        CgroupLayout.detect(mountinfo: combinedMountinfo) ?? .v2(mountPoint: "/unexpected")
    }

    static let unifiedLayout = CgroupLayout.v2(mountPoint: "/sys/fs/cgroup")

    /// Decodes spec JSON, for the types whose memberwise initializers are not public.
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }
}
