import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config-linux "Namespaces".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct NamespacesTests {
    /// `readlink /proc/self/ns/<name>` for each name, inside the container.
    static let script = "for n in pid net ipc uts mnt cgroup user; do echo $n $(readlink /proc/self/ns/$n); done"

    static func parse(_ out: String) -> [String: String] {
        var d: [String: String] = [:]
        for l in lines(out) {
            let p = l.split(separator: " ", maxSplits: 1).map(String.init)
            if p.count == 2 { d[p[0]] = p[1] }
        }
        return d
    }

    @Test func requestedNamespacesDifferFromTheHost() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let inside = Self.parse(try h.shOK(Self.script) { $0.linux?.namespaces?.append(Namespace(type: "cgroup")) })
        for name in ["pid", "net", "ipc", "uts", "mnt", "cgroup"] {
            let hostNS = try #require(readlinkHost("/proc/self/ns/\(name)"))
            let ns = try #require(inside[name], "no \(name) namespace link inside")
            #expect(ns.hasPrefix("\(name):["))
            #expect(ns != hostNS, "\(name) namespace must be new")
        }
        // Not asked for: the user namespace is the host's.
        #expect(inside["user"] == readlinkHost("/proc/self/ns/user"))
    }

    @Test func omittedNamespacesAreShared() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let inside = Self.parse(try h.shOK(Self.script) { spec in
            spec.linux?.namespaces = [Namespace(type: "mount"), Namespace(type: "pid")]
            spec.hostname = nil   // a hostname needs a uts namespace
        })
        for name in ["net", "ipc", "uts", "cgroup", "user"] {
            #expect(inside[name] == readlinkHost("/proc/self/ns/\(name)"), "\(name) namespace must be the host's")
        }
        #expect(inside["pid"] != readlinkHost("/proc/self/ns/pid"))
        #expect(inside["mnt"] != readlinkHost("/proc/self/ns/mnt"))
    }

    @Test func pidNamespaceMakesTheProcessPID1() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("echo $$; ps -o pid,comm | wc -l")
        let l = lines(out)
        #expect(l.first == "1")
        // Only the shell and ps (plus the header) are visible.
        #expect(Int(trimmed(l.last ?? "")) ?? 99 <= 4)
    }

    @Test func joinsANetworkNamespaceByPath() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let name = "berth-test-\(randomSuffix())"
        try #require(try host("ip netns add \(name)").status == 0)
        defer { _ = try? host("ip netns delete \(name)") }
        let path = "/var/run/netns/\(name)"
        let inode = trimmed(try host("stat -L -c %i \(path)").stdout)
        try #require(!inode.isEmpty)
        // Mark the namespace (a fresh one has lo down) so the container can prove it is in it.
        try #require(try host("ip netns exec \(name) ip link set lo up").status == 0)

        let out = try h.shOK("readlink /proc/self/ns/net; ip link show lo | grep -q UP && echo LO_UP") { spec in
            let ns = spec.linux?.namespaces ?? []
            spec.linux?.namespaces = ns.map { $0.type == "network" ? Namespace(type: "network", path: path) : $0 }
        }
        let l = lines(out)
        #expect(l.first == "net:[\(inode)]")
        #expect(l.contains("LO_UP"))
    }

    @Test func joinsThePIDAndUTSNamespacesOfAnotherContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let first = try h.startSleeper { spec in spec.hostname = "first-box" }
        let pid = try h.state(first.id).pid
        let out = try h.shOK("hostname; ps -o pid,args") { spec in
            spec.hostname = nil
            let ns = spec.linux?.namespaces ?? []
            spec.linux?.namespaces = ns.map {
                switch $0.type {
                case "pid": return Namespace(type: "pid", path: "/proc/\(pid)/ns/pid")
                case "uts": return Namespace(type: "uts", path: "/proc/\(pid)/ns/uts")
                default: return $0
                }
            }
        }
        #expect(lines(out).first == "first-box")
        // The first container's init is pid 1 of the joined pid namespace.
        #expect(lines(out).contains { $0.split(separator: " ").map(String.init) == ["1", "sleep", "1000"] }, "\(out)")
    }

    @Test func userNamespaceWithMappings() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        chmod(h.dir, 0o755)   // the mapped root (host uid 100000) must reach the bundle
        let out = try h.shOK("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user") { spec in
            spec.linux?.namespaces?.append(Namespace(type: "user"))
            spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
            spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 200000, size: 65536)]
        }
        let l = lines(out).map { $0.split(separator: " ").map(String.init) }
        try #require(l.count == 5, "\(out)")
        #expect(l[0] == ["0", "100000", "65536"])
        #expect(l[1] == ["0", "200000", "65536"])
        #expect(l[2] == ["0"])
        #expect(l[3] == ["0"])
        #expect(l[4] != [readlinkHost("/proc/self/ns/user") ?? ""])
    }

    @Test func userNamespaceProcessRunsAsTheMappedHostUser() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        chmod(h.dir, 0o755)
        let (id, _) = try h.startSleeper { spec in
            spec.linux?.namespaces?.append(Namespace(type: "user"))
            spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
            spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
            spec.process?.user = User(uid: 5, gid: 7)
        }
        let pid = try h.state(id).pid
        let status = statusFields(try Fixtures.read("/proc/\(pid)/status"))
        #expect(status["Uid"]?.split(separator: "\t").first == "100005")
        #expect(status["Gid"]?.split(separator: "\t").first == "100007")
    }

    @Test func userNamespaceWithSeveralMappingRangesAndDevices() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        chmod(h.dir, 0o755)
        let out = try h.shOK("cat /proc/self/uid_map /proc/self/gid_map; echo x > /dev/null && echo DEVNULL_OK; head -c 2 /dev/zero | wc -c; grep '^Groups:' /proc/self/status") { spec in
            spec.process?.user.additionalGids = [10, 1200]
            spec.linux?.namespaces?.append(Namespace(type: "user"))
            spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 1000),
                                       IDMapping(containerID: 1000, hostID: 300000, size: 500)]
            spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 1000),
                                       IDMapping(containerID: 1000, hostID: 300000, size: 500)]
        }
        let l = lines(out).map { $0.split(separator: " ").map(String.init) }
        try #require(l.count == 7, "\(out)")
        #expect(l[0] == ["0", "100000", "1000"] && l[1] == ["1000", "300000", "500"])
        #expect(l[2] == ["0", "100000", "1000"] && l[3] == ["1000", "300000", "500"])
        #expect(l[4] == ["DEVNULL_OK"] && l[5] == ["2"], "devices work in a user namespace")
        let groups = statusFields(lines(out)[6])["Groups"] ?? ""
        #expect(Set(groups.split(separator: " ").map(String.init)) == ["10", "1200"], "additionalGids in a user namespace: \(groups)")
    }
}
