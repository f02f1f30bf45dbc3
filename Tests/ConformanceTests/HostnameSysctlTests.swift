import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config "Hostname", "Domainname", config-linux "Sysctl".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct HostnameSysctlTests {
    @Test func hostnameAndDomainname() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let hostBefore = try Fixtures.read("/proc/sys/kernel/hostname")
        let out = try h.shOK("hostname; cat /proc/sys/kernel/domainname; uname -n") { spec in
            spec.hostname = "berth-conformance"
            spec.domainname = "example.test"
        }
        #expect(lines(out) == ["berth-conformance", "example.test", "berth-conformance"])
        #expect(try Fixtures.read("/proc/sys/kernel/hostname") == hostBefore, "the host's hostname is untouched")
    }

    @Test func networkSysctlsInANewNetworkNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let hostForward = try Fixtures.read("/proc/sys/net/ipv4/ip_forward")
        let hostPort = try Fixtures.read("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        let out = try h.shOK("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_unprivileged_port_start") { spec in
            spec.linux?.sysctl = ["net.ipv4.ip_forward": "1", "net.ipv4.ip_unprivileged_port_start": "99"]
        }
        #expect(lines(out) == ["1", "99"])
        #expect(try Fixtures.read("/proc/sys/net/ipv4/ip_forward") == hostForward)
        #expect(try Fixtures.read("/proc/sys/net/ipv4/ip_unprivileged_port_start") == hostPort)
    }

    @Test func ipcSysctlsInANewIPCNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let hostShmmax = try Fixtures.read("/proc/sys/kernel/shmmax")
        let hostMsgmax = try Fixtures.read("/proc/sys/kernel/msgmax")
        let out = try h.shOK("cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax") { spec in
            spec.linux?.sysctl = ["kernel.shmmax": "12345678", "kernel.msgmax": "4096"]
        }
        #expect(lines(out) == ["12345678", "4096"])
        #expect(try Fixtures.read("/proc/sys/kernel/shmmax") == hostShmmax)
        #expect(try Fixtures.read("/proc/sys/kernel/msgmax") == hostMsgmax)
    }

    /// A namespaced sysctl without its namespace would change the host: it must be refused.
    @Test func networkSysctlWithoutANetworkNamespaceNeverReachesTheHost() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let path = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
        let before = try Fixtures.read(path)
        defer { try? Fixtures.write(path, before) }
        let r = try h.sh("cat \(path)") { spec in
            spec.linux?.namespaces?.removeAll { $0.type == "network" }
            spec.linux?.sysctl = ["net.ipv4.ip_unprivileged_port_start": "77"]
        }
        #expect(try Fixtures.read(path) == before, "the host's sysctl changed: \(r)")
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains("net.ipv4.ip_unprivileged_port_start"), "\(r)")
    }
}
