import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, runtime "State", "Lifecycle" and "Operations".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct LifecycleTests {
    /// The `state` output as the spec's State type decodes it.
    func fullState(_ h: RuntimeHarness, _ id: String) throws -> State {
        let r = try h.run(["state", id])
        try #require(r.status == 0, "\(r)")
        return try JSONDecoder().decode(State.self, from: Data(r.stdout.utf8))
    }

    @Test func createStartExitDelete() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "read line < /tmp/go 2>/dev/null; exit 0"]) { spec in
            spec.annotations = ["com.example.key": "value", "other": "x"]
        }
        // The process blocks on a fifo in the rootfs until the test lets it finish.
        try #require(mkfifo(bundle + "/rootfs/tmp/go", 0o666) == 0)
        let id = h.newID("life")
        let c = try h.run(["create", "--bundle", bundle, id])
        try #require(c.status == 0, "\(c)")

        let created = try fullState(h, id)
        #expect(created.status == .created)
        #expect(created.id == id)
        #expect(created.bundle == bundle)
        #expect(created.ociVersion.hasPrefix("1."))
        #expect(created.annotations == ["com.example.key": "value", "other": "x"])
        let pid = try #require(created.pid)
        #expect(pid > 0 && kill(pid, 0) == 0, "the init exists while created")
        // Before start the user process has not run: the init is not yet `sh`.
        #expect(!(try Fixtures.read("/proc/\(pid)/cmdline")).hasPrefix("sh\0-c"))

        #expect(try h.run(["start", id]).status == 0)
        #expect(try fullState(h, id).status == .running)
        #expect(try fullState(h, id).pid == pid, "the pid stays the init's")
        let again = try h.run(["start", id])
        #expect(again.status != 0, "start twice must fail: \(again)")
        #expect(!again.stderr.isEmpty)

        // Let the process exit.
        let fd = open(bundle + "/rootfs/tmp/go", O_WRONLY)
        try #require(fd >= 0)
        _ = write(fd, "go\n", 3); close(fd)
        #expect(h.waitForStatus(id, "stopped"), "the container must reach stopped when its process exits")
        #expect(try fullState(h, id).annotations?["com.example.key"] == "value")

        let k = try h.run(["kill", id, "KILL"])
        #expect(k.status != 0, "kill of a stopped container must fail: \(k)")
        #expect(try h.run(["start", id]).status != 0, "start of a stopped container must fail")

        #expect(try h.run(["delete", id]).status == 0)
        #expect(try h.run(["state", id]).status != 0, "state after delete must fail")
        #expect(h.stateRootEntries().isEmpty)
        #expect(existingCgroupDirs("berth/\(id)").isEmpty)
    }

    @Test func deleteOfARunningContainerNeedsForce() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let pid = try h.state(id).pid
        let d = try h.run(["delete", id])
        #expect(d.status != 0, "delete of a running container without --force must fail")
        #expect(try h.state(id).status == "running", "and must not affect it")
        let f = try h.run(["delete", "--force", id])
        #expect(f.status == 0, "\(f)")
        #expect(try h.run(["state", id]).status != 0)
        #expect(waitGone(pid), "the init was left running")
    }

    @Test func killDeliversTheSignal() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // A shell that traps TERM (pid 1 ignores unhandled signals) and reports it.
        let (id, bundle) = try h.startSleeper(args: ["sh", "-c", "trap 'echo TERM > /tmp/got; exit 0' TERM; while :; do sleep 0.1; done"])
        #expect(try h.run(["kill", id, "TERM"]).status == 0)
        #expect(h.waitForStatus(id, "stopped"))
        #expect(try Fixtures.read(bundle + "/rootfs/tmp/got") == "TERM\n")
    }

    @Test func killWithNumberAndAll() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper(args: ["sh", "-c", "sleep 1000 & sleep 1000"])
        #expect(try h.run(["kill", "--all", id, "9"]).status == 0)
        #expect(h.waitForStatus(id, "stopped"))
    }

    @Test func stateOfAMissingContainerFails() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.run(["state", "berth-test-does-not-exist"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("berth-test-does-not-exist"), "\(r)")
        #expect(try h.run(["kill", "berth-test-does-not-exist", "KILL"]).status != 0)
        #expect(try h.run(["start", "berth-test-does-not-exist"]).status != 0)
        #expect(try h.run(["delete", "berth-test-does-not-exist"]).status != 0)
    }

    @Test func createWithAnExistingIDFails() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, bundle) = try h.startSleeper()
        let r = try h.run(["create", "--bundle", bundle, id])
        #expect(r.status != 0)
        #expect(try h.state(id).status == "running", "the existing container is untouched")
    }

    @Test func pidFileIsWritten() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "1000"])
        let id = h.newID("pidfile")
        let pidFile = h.dir + "/init.pid"
        #expect(try h.run(["create", "--bundle", bundle, "--pid-file", pidFile, id]).status == 0)
        let pid = try h.state(id).pid
        #expect(trimmed(try Fixtures.read(pidFile)) == "\(pid)")
    }

    @Test func listShowsContainersAsJSON() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        struct Entry: Decodable { var id: String; var status: String; var pid: Int32?; var bundle: String? }
        let (a, bundle) = try h.startSleeper()
        let b = h.newID("created")
        #expect(try h.run(["create", "--bundle", bundle, b]).status == 0)
        let r = try h.run(["list", "--format", "json"])
        #expect(r.status == 0, "\(r)")
        let entries = try JSONDecoder().decode([Entry].self, from: Data(r.stdout.utf8))
        #expect(Set(entries.map(\.id)) == [a, b])
        #expect(entries.first { $0.id == a }?.status == "running")
        #expect(entries.first { $0.id == b }?.status == "created")
        #expect(Set(try h.listedIDs()) == [a, b])
        let table = try h.run(["list"])
        #expect(table.stdout.contains(a) && table.stdout.contains(b))
    }

    @Test func psListsTheContainersProcesses() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let pid = try h.state(id).pid
        let r = try h.run(["ps", "--format", "json", id])
        #expect(r.status == 0, "\(r)")
        let pids = try JSONDecoder().decode([Int32].self, from: Data(r.stdout.utf8))
        #expect(pids.contains(pid))
    }

    @Test func runInTheForegroundDeletesTheContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "echo out; echo err >&2; exit 5"])
        let id = h.newID("fg")
        let r = try h.runContainer(bundle, id: id)
        #expect(r.status == 5)
        #expect(r.stdout == "out\n" && r.stderr == "err\n")
        #expect(try h.run(["state", id]).status != 0)
        #expect(try h.listedIDs().isEmpty)
    }

    @Test func killAndDeleteOfACreatedContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "1000"])
        let a = h.newID("created-kill")
        #expect(try h.run(["create", "--bundle", bundle, a]).status == 0)
        let pidA = try h.state(a).pid
        #expect(try h.run(["kill", a, "KILL"]).status == 0)
        #expect(h.waitForStatus(a, "stopped"))
        #expect(try h.run(["delete", a]).status == 0)
        #expect(waitGone(pidA))

        let b = h.newID("created-delete")
        #expect(try h.run(["create", "--bundle", bundle, b]).status == 0)
        let pidB = try h.state(b).pid
        #expect(try h.run(["delete", "--force", b]).status == 0)
        #expect(try h.run(["state", b]).status != 0)
        #expect(waitGone(pidB), "the waiting init was left behind")
        #expect(existingCgroupDirs("berth/\(b)").isEmpty)
    }

    @Test func featuresDocument() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        struct Doc: Decodable {
            var ociVersionMin: String
            var ociVersionMax: String
            var hooks: [String]?
            var mountOptions: [String]?
            struct L: Decodable { var namespaces: [String]?; var capabilities: [String]? }
            var linux: L?
        }
        let r = try h.run(["features"])
        #expect(r.status == 0)
        let d = try JSONDecoder().decode(Doc.self, from: Data(r.stdout.utf8))
        #expect(d.ociVersionMax == Spec.version)
        #expect(Set(d.hooks ?? []).isSuperset(of: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]))
        #expect(Set(d.mountOptions ?? []).isSuperset(of: ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rshared", "rslave", "rprivate"]))
        let namespaces = Set(d.linux?.namespaces ?? [])
        let caps = Set(d.linux?.capabilities ?? [])
        #expect(namespaces.isSuperset(of: ["pid", "network", "ipc", "uts", "mount", "cgroup", "user"]))
        #expect(caps == Set(Cap.numbers.keys))
    }

    /// Without a pid namespace the init's children outlive it; delete must still clean them up.
    @Test func deleteKillsProcessesThatOutliveTheInit() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let id = h.newID("nopidns")
        let (path, _) = CgroupsTests.uniqueCgroupsPath(h, id: id)
        h.reapCgroupOnCleanup(String(path.dropFirst()))
        let bundle = try h.makeBundle(args: ["sh", "-c", "sleep 1000 & echo started"]) { spec in
            spec.linux?.namespaces?.removeAll { $0.type == "pid" }
            spec.linux?.cgroupsPath = path
        }
        #expect(try h.run(["create", "--bundle", bundle, id]).status == 0)
        #expect(try h.run(["start", id]).status == 0)
        #expect(h.waitForStatus(id, "stopped"))
        let procs = "/sys/fs/cgroup/pids\(path)/cgroup.procs"
        let left = lines((try? Fixtures.read(procs)) ?? "").compactMap { Int32($0) }
        #expect(left.count == 1, "the background sleep is still in the cgroup")
        let d = try h.run(["delete", id])
        #expect(d.status == 0, "\(d)")
        for p in left { #expect(waitGone(p), "process \(p) survived delete") }
        #expect(existingCgroupDirs(String(path.dropFirst())).isEmpty)
    }

    @Test func initKilledFromOutsideIsStopped() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let pid = try h.state(id).pid
        #expect(kill(pid, SIGKILL) == 0)
        #expect(h.waitForStatus(id, "stopped"))
        #expect(try h.run(["update", "--memory", "64m", id]).status != 0, "update of a stopped container must fail")
        #expect(try h.run(["pause", id]).status != 0, "pause of a stopped container must fail")
        #expect(try h.run(["delete", id]).status == 0)
    }

    @Test func specWritesARunnableDefaultConfig() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = h.dir + "/specbundle"
        try Fixtures.makeBusyboxRootfs(at: bundle + "/rootfs")
        let r = try h.run(["spec", "--bundle", bundle])
        #expect(r.status == 0, "\(r)")
        var spec = try JSONDecoder().decode(Spec.self, from: Data(try Fixtures.read(bundle + "/config.json").utf8))
        #expect(spec == Spec.defaultSpec())
        #expect(try h.run(["spec", "--bundle", bundle]).status != 0, "spec must not overwrite config.json")
        spec.process?.terminal = false
        spec.process?.args = ["sh", "-c", "hostname; touch / 2>/dev/null || echo RO_ROOT"]
        try h.writeSpec(spec, bundle: bundle)
        let run = try h.runContainer(bundle)
        #expect(run.status == 0, "\(run)")
        #expect(lines(run.stdout) == ["runc", "RO_ROOT"], "\(run)")
    }
}
