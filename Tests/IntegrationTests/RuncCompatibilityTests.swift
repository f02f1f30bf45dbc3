import Testing
import Glibc
import FoundationEssentials
import BerthOCI
import BerthTestSupport

/// Behaviour runc's own integration tests read literally: help and version layout, JSON key order,
/// exit codes, --keep, oom events. (The full bats suite is run by hand; see Documentation/runtime.md.)
@Suite("RuncCompatibility", .serialized, .enabled(if: RuntimeHarness.canRunContainers))
struct RuncCompatibilityTests {
    func lines(_ s: String) -> [String] { s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    @Test func helpAndVersionHaveRuncsLayout() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let root = try h.run(["--help"])
        #expect(root.status == 0)
        #expect(lines(root.stdout).prefix(2) == ["NAME:", "   berth-runtime - Open Container Initiative runtime"])
        let kill = try h.run(["kill", "-h"])
        #expect(lines(kill.stdout)[1].hasPrefix("   berth-runtime kill - "), "\(kill)")
        let foo = try h.run(["foo", "-h"])
        #expect(foo.status != 0 && foo.stderr.contains("No help topic for 'foo'"))
        let v = lines(try h.run(["-v"]).stdout)
        #expect(v[0].hasPrefix("berth-runtime version ") && v[1].hasPrefix("commit:") && v[2] == "spec: \(Spec.version)")
    }

    @Test func listJSONKeepsRuncsKeyOrder() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "30"])
        let id = h.newID("order")
        #expect(try h.run(["run", "-d", "--bundle", bundle, id]).status == 0)
        let out = try h.run(["list", "--format", "json"]).stdout
        #expect(out.hasPrefix("[{\"ociVersion\":\"\(Spec.version)\",\"id\":\"\(id)\",\"pid\":"), "\(out)")
        let ev = try h.run(["events", "--stats", id]).stdout
        #expect(ev.hasPrefix("{\"type\":\"stats\",\"id\":\"\(id)\",\"data\":{"), "\(ev)")
    }

    @Test func killAllOfAStoppedContainerAndSignalZero() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "30"])
        let id = h.newID("kill0")
        #expect(try h.run(["run", "-d", "--bundle", bundle, id]).status == 0)
        #expect(try h.run(["kill", id, "0"]).status == 0)
        #expect(try h.run(["kill", id, "KILL"]).status == 0)
        for _ in 0..<100 where try h.state(id).status != "stopped" { usleep(20_000) }
        #expect(try h.run(["kill", "-a", id, "0"]).status == 0)
        #expect(try h.run(["kill", id, "TERM"]).status != 0)   // "container not running"
    }

    @Test func runKeepLeavesAStoppedContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["true"])
        let id = h.newID("keep")
        #expect(try h.run(["run", "--keep", "--bundle", bundle, id]).status == 0)
        #expect(try h.state(id).status == "stopped")
        #expect(try h.run(["delete", id]).status == 0)
    }

    @Test func execFailuresExit255() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.run(["exec", "no-such-container", "true"]).status == 255)
        let bundle = try h.makeBundle(args: ["sleep", "30"])
        let id = h.newID("x255")
        #expect(try h.run(["run", "-d", "--bundle", bundle, id]).status == 0)
        let r = try h.run(["exec", id, "no-such-binary"])
        #expect(r.status == 255 && r.stderr.contains("executable file not found"), "\(r)")
        #expect(try h.run(["exec", id, "sh", "-c", "exit 3"]).status == 3)
    }

    /// With --no-pivot the host's own /proc would stay mounted (outside the chroot) and let a user
    /// namespace inside the container mount a fresh, unmasked procfs; it must be hidden first.
    @Test func noPivotDoesNotExposeBareProc() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo MOUNTED"]) { spec in
            spec.process?.capabilities?.bounding?.append("CAP_SETFCAP")
            spec.process?.capabilities?.permitted?.append("CAP_SETFCAP")
        }
        let r = try h.run(["run", "--no-pivot", "--bundle", bundle, h.newID("nopivot")])
        #expect(r.status != 0, "\(r)")
        #expect(!r.stdout.contains("MOUNTED") && r.stderr.contains("permission denied"), "\(r)")
    }

    /// `events` reports an OOM kill in the container's memory cgroup as it happens.
    @Test func eventsReportOOM() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "sleep 1; tail /dev/zero"]) { spec in
            spec.linux?.resources?.memory = Memory(limit: 16 << 20, swap: 16 << 20)
        }
        let id = h.newID("oom")
        #expect(try h.run(["run", "-d", "--bundle", bundle, id]).status == 0)
        // events returns once the container has stopped (the OOM kill stops its init).
        let ev = try h.run(["events", "--interval", "100ms", id], timeout: 30)
        #expect(ev.stdout.contains("{\"type\":\"oom\",\"id\":\"\(id)\"}"), "\(ev)")
    }
}
