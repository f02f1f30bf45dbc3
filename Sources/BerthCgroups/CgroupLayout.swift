/// One cgroup v1 hierarchy: a `cgroup` mount and the subsystems bound to it.
public struct V1Hierarchy: Sendable, Equatable {
    /// Where the hierarchy's root is mounted, e.g. `/sys/fs/cgroup/memory`.
    public var mountPoint: String
    /// The subsystems of the mount, e.g. `["cpu", "cpuacct"]` or `["name=systemd"]`.
    public var subsystems: [String]

    public init(mountPoint: String, subsystems: [String]) {
        self.mountPoint = mountPoint; self.subsystems = subsystems
    }

    /// The pseudo-subsystem naming a hybrid host's cgroup2 tree (no controllers) among the v1 ones.
    public static let unified = "unified"
}

/// Which cgroup version the host runs and where its hierarchies are mounted.
public enum CgroupLayout: Sendable, Equatable {
    /// Legacy or hybrid hosts. Hybrid (v1 controllers plus an empty cgroup2 mount at
    /// `/sys/fs/cgroup/unified`) counts as v1, because every controller lives in v1.
    case v1(hierarchies: [V1Hierarchy])
    /// Unified hosts: one cgroup2 mount holds every controller.
    case v2(mountPoint: String)

    /// The v1 subsystems this module knows; other super options of a `cgroup` mount
    /// (`rw`, `xattr`, `release_agent=…`) are mount flags, not subsystems.
    static let knownV1Subsystems: Set<String> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio",
        "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc",
    ]

    /// The layout described by `/proc/self/mountinfo` text, or nil when no cgroup
    /// filesystem is mounted.
    ///
    /// Like runc, the host is unified only when cgroup2 is mounted at `/sys/fs/cgroup`
    /// itself; otherwise any v1 hierarchy with a real controller makes it v1.
    public static func detect(mountinfo: String) -> CgroupLayout? {
        var hierarchies: [V1Hierarchy] = []
        var hierarchyRoots: [String] = []
        var unifiedMounts: [String] = []

        for line in mountinfo.split(whereSeparator: \.isNewline) {
            guard let mount = MountInfoLine(line) else { continue }
            switch mount.fsType {
            case "cgroup2":
                unifiedMounts.append(mount.mountPoint)
            case "cgroup":
                let subsystems = mount.superOptions.filter {
                    knownV1Subsystems.contains($0) || $0.hasPrefix("name=")
                }
                if subsystems.isEmpty { continue }
                // The same hierarchy can be mounted twice (bind mounts into containers);
                // keep the mount of its real root.
                if let index = hierarchies.firstIndex(where: { Set($0.subsystems) == Set(subsystems) }) {
                    if hierarchyRoots[index] != "/" && mount.root == "/" {
                        hierarchies[index] = V1Hierarchy(mountPoint: mount.mountPoint, subsystems: subsystems)
                        hierarchyRoots[index] = mount.root
                    }
                    continue
                }
                hierarchies.append(V1Hierarchy(mountPoint: mount.mountPoint, subsystems: subsystems))
                hierarchyRoots.append(mount.root)
            default:
                continue
            }
        }

        if unifiedMounts.contains("/sys/fs/cgroup") { return .v2(mountPoint: "/sys/fs/cgroup") }
        if hierarchies.contains(where: { $0.subsystems.contains(where: knownV1Subsystems.contains) }) {
            // Hybrid: like runc, containers also get a cgroup in the controller-less v2 tree, so
            // their /proc/self/cgroup "0::" line names the container's path too.
            if let unified = unifiedMounts.first {
                hierarchies.append(V1Hierarchy(mountPoint: unified, subsystems: [V1Hierarchy.unified]))
            }
            return .v1(hierarchies: hierarchies)
        }
        if let first = unifiedMounts.first { return .v2(mountPoint: first) }
        return nil
    }

    /// The layout of the host this process runs on, from `/proc/self/mountinfo`.
    public static func host() throws(CgroupError) -> CgroupLayout {
        let path = "/proc/self/mountinfo"
        let text = try HostCgroupFS().read(path)
        guard let layout = detect(mountinfo: text) else {
            throw CgroupError(operation: "detect cgroup layout from", path: path, reason: "no cgroup filesystem is mounted")
        }
        return layout
    }

    /// The cgroups of a process from `/proc/<pid>/cgroup` text: subsystem → path inside its
    /// hierarchy (`"memory": "/user.slice"`), with `""` for the cgroup v2 entry (`0::/path`).
    /// Subsystems sharing a hierarchy (`cpu,cpuacct`) each get the path.
    public static func processCgroups(_ procCgroup: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in procCgroup.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[1].isEmpty {
                result[""] = path
            } else {
                for subsystem in fields[1].split(separator: ",") { result[String(subsystem)] = path }
            }
        }
        return result
    }
}

/// The fields of one `/proc/self/mountinfo` line that cgroup detection needs.
struct MountInfoLine {
    var root: String
    var mountPoint: String
    var fsType: String
    var superOptions: [String]

    /// Parses `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
    /// a variable number of optional fields ends at the lone `-`.
    init?(_ line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count >= 10, let separator = fields[6...].firstIndex(of: "-"),
              separator + 3 < fields.count else { return nil }
        root = MountInfoLine.unescape(fields[3])
        mountPoint = MountInfoLine.unescape(fields[4])
        fsType = String(fields[separator + 1])
        superOptions = fields[separator + 3].split(separator: ",").map(String.init)
    }

    /// The kernel writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
               let value = octal(utf8[(index + 1)..<(index + 4)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value: UInt16 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + UInt16(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
