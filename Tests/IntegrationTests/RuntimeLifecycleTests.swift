import Testing
import Glibc
import FoundationEssentials
import BerthOCI
import BerthTestSupport

@Suite("RuntimeLifecycle", .serialized, .enabled(if: RuntimeHarness.canRunContainers))
struct RuntimeLifecycleTests {
    @Test func runPrintsAndReturnsTheExitCode() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "echo out; echo err >&2; exit 42"])
        let r = try h.runContainer(bundle)
        #expect(r.status == 42)
        #expect(r.stdout == "out\n" && r.stderr == "err\n")
        // run deletes the container when it exits
        #expect(try h.run(["list", "--format", "json"]).stdout == "[]\n")
    }

    @Test func killedBySignalReports128PlusSignal() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // Without a pid namespace the shell is not an init, so it can be killed from inside.
        let bundle = try h.makeBundle(args: ["sh", "-c", "kill -9 $$"]) { $0.linux?.namespaces?.removeAll { $0.type == "pid" } }
        #expect(try h.runContainer(bundle).status == 137)
    }

    @Test func detachedRunThenKillAndDelete() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "60"])
        let id = h.newID("detach")
        let r = try h.run(["run", "--detach", "--bundle", bundle, id])
        #expect(r.status == 0, "\(r)")
        #expect(try h.state(id).status == "running")
        #expect(try h.run(["kill", id, "KILL"]).status == 0)
        for _ in 0..<100 where try h.state(id).status != "stopped" { usleep(20_000) }
        #expect(try h.state(id).status == "stopped")
        #expect(try h.run(["delete", id]).status == 0)
        #expect(try h.run(["state", id]).status != 0)
    }

    @Test func logFileGetsJSONErrorsForContainerd() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let log = h.dir + "/log.json"
        let r = try Command.run(h.binary, ["--root", h.root, "--log", log, "--log-format", "json", "start", "nope"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("container nope does not exist"))
        struct Line: Decodable { var level: String; var msg: String; var time: String }
        let line = try JSONDecoder().decode(Line.self, from: Data(try Fixtures.read(log).utf8))
        #expect(line.level == "error" && line.msg == "container nope does not exist")
    }

    @Test func manyContainersAtOnce() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "30"])
        let ids = (0..<20).map { h.newID("many\($0)") }
        for id in ids { #expect(try h.run(["run", "-d", "--bundle", bundle, id]).status == 0) }
        struct Entry: Decodable { var id: String; var status: String }
        let list = try JSONDecoder().decode([Entry].self, from: Data(try h.run(["list", "--format", "json"]).stdout.utf8))
        #expect(Set(list.filter { $0.status == "running" }.map(\.id)) == Set(ids))
        for id in ids { #expect(try h.run(["delete", "--force", id]).status == 0) }
        #expect(try h.run(["list", "-q"]).stdout.isEmpty)
        // Their cgroups are gone too.
        for id in ids { #expect(access("/sys/fs/cgroup/pids/berth/\(id)", F_OK) != 0) }
    }

    @Test func featuresAndSpecDocuments() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let f = try h.run(["features"])
        let features = try JSONDecoder().decode(Features.self, from: Data(f.stdout.utf8))
        #expect(features.ociVersionMax == Spec.version)
        #expect(features.linux?.namespaces?.contains("user") == true)
        #expect(features.linux?.seccomp?.enabled == true)
        try Fixtures.mkdirAll(h.dir + "/specdir")
        #expect(try h.run(["spec", "--bundle", h.dir + "/specdir"]).status == 0)
        let spec = try JSONDecoder().decode(Spec.self, from: Data(try Fixtures.read(h.dir + "/specdir/config.json").utf8))
        try spec.validate()
        #expect(try h.run(["spec", "--bundle", h.dir + "/specdir"]).status != 0)   // won't overwrite
    }
}
