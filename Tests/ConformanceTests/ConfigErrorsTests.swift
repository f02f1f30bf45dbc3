import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// Invalid bundles: the runtime must refuse them with one clear line naming the problem, and leave
/// no container, state directory or cgroup behind.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct ConfigErrorsTests {
    /// Creates `bundle` as `id` and checks the failure and that nothing is left behind.
    func expectRefused(_ h: RuntimeHarness, bundle: String, mentioning needles: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let id = h.newID("bad")
        h.reapCgroupOnCleanup("berth/\(id)")
        let r = try h.run(["create", "--bundle", bundle, id])
        #expect(r.status != 0, "create must fail: \(r)", sourceLocation: sourceLocation)
        let errLines = lines(r.stderr)
        #expect(errLines.count == 1, "one line of error, got: \(r.stderr)", sourceLocation: sourceLocation)
        for n in needles {
            #expect(r.stderr.contains(n), "the error must mention \(n): \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(try h.listedIDs().isEmpty, "list must be empty", sourceLocation: sourceLocation)
        #expect(h.stateRootEntries().isEmpty, "state dir left: \(h.stateRootEntries())", sourceLocation: sourceLocation)
        #expect(try h.run(["state", id]).status != 0, sourceLocation: sourceLocation)
        #expect(existingCgroupDirs("berth/\(id)").isEmpty, "cgroup left behind", sourceLocation: sourceLocation)
    }

    /// A bundle without cgroupsPath, so its cgroup would be the default /berth/<id>.
    func bundle(_ h: RuntimeHarness, _ configure: (inout Spec) -> Void) throws -> String {
        try h.makeBundle("bad\(randomSuffix())", args: ["true"], configure: configure)
    }

    @Test func missingConfigJSON() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let b = try bundle(h) { _ in }
        unlink(b + "/config.json")
        try expectRefused(h, bundle: b, mentioning: ["config.json"])
    }

    @Test func invalidJSON() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let b = try bundle(h) { _ in }
        try Fixtures.write(b + "/config.json", "{\"ociVersion\": \"1.2.0\", \"process\": {")
        try expectRefused(h, bundle: b, mentioning: ["config.json"])
    }

    @Test func wrongOCIVersion() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.ociVersion = "2.0.0" }, mentioning: ["ociVersion", "2.0.0"])
    }

    @Test func missingRoot() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.root = nil }, mentioning: ["root"])
    }

    @Test func missingRootDirectory() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.root?.path = "no-such-rootfs" }, mentioning: ["root.path", "no-such-rootfs"])
    }

    @Test func emptyArgs() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.args = [] }, mentioning: ["process.args"])
    }

    @Test func unknownNamespaceType() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.linux?.namespaces?.append(Namespace(type: "bogus")) },
                          mentioning: ["linux.namespaces", "bogus"])
    }

    @Test func relativeMountDestination() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.mounts?.append(Mount(destination: "relative/dir", type: "tmpfs", source: "tmpfs"))
        }, mentioning: ["mounts[7]", "relative/dir"])
    }

    @Test func unknownRlimit() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.rlimits = [Rlimit(type: "RLIMIT_BOGUS", soft: 1, hard: 1)] },
                          mentioning: ["process.rlimits", "RLIMIT_BOGUS"])
    }

    /// Like runc, an unknown capability is warned about and skipped, not refused: a config
    /// written for a newer kernel still runs, without that capability.
    @Test func unknownCapabilityIsWarnedAboutAndSkipped() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let b = try bundle(h) {
            $0.process?.capabilities?.bounding?.append("CAP_BOGUS")
            $0.process?.args = ["sh", "-c", "grep CapBnd /proc/self/status"]
        }
        let r = try h.runContainer(b)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("CAP_BOGUS"), "\(r)")
        #expect(r.stdout.hasPrefix("CapBnd:"), "\(r)")
    }

    @Test func nonexistentExecutable() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.args = ["nope"] },
                          mentioning: [#"exec: "nope": executable file not found in $PATH"#])
    }

    @Test func terminalWithoutConsoleSocket() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.terminal = true }, mentioning: ["console"])
    }

    @Test func relativeProcessCwd() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.cwd = "relative" }, mentioning: ["process.cwd"])
    }

    @Test func uidMappingsWithoutUserNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 1)]
        }, mentioning: ["linux.uidMappings"])
    }

    // Failures found later, inside the container's init or while applying cgroups: the cleanup
    // must still leave nothing behind.

    @Test func unknownSysctl() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.linux?.sysctl = ["net.ipv4.berth_bogus": "1"] },
                          mentioning: ["berth_bogus"])
    }

    @Test func missingBindMountSource() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.mounts?.append(Mount(destination: "/data", type: "bind", source: "/nonexistent/berth-src", options: ["rbind"]))
        }, mentioning: ["/nonexistent/berth-src"])
    }

    @Test func impossibleCpuset() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.linux?.resources?.cpu = CPU(cpus: "99") }, mentioning: ["cpus"])
    }

    @Test func hostnameWithoutUTSNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.linux?.namespaces?.removeAll { $0.type == "uts" }
            $0.hostname = "nope"
        }, mentioning: ["hostname"])
    }

    @Test func unknownDeviceType() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.linux?.devices = [Device(type: "x", path: "/dev/bogus", major: 1, minor: 3)]
        }, mentioning: ["linux.devices[0]"])
    }

    @Test func unknownSeccompAction() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) {
            $0.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_BOGUS")
        }, mentioning: ["linux.seccomp", "SCMP_ACT_BOGUS"])
    }

    @Test func executableWithoutExecutePermission() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.process?.args = ["/etc/passwd"] }, mentioning: ["/etc/passwd"])
    }

    @Test func duplicateNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.linux?.namespaces?.append(Namespace(type: "pid")) },
                          mentioning: ["linux.namespaces", "pid"])
    }

    @Test
    func namespacePathOfTheWrongType() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let utsPath = "/proc/\(getpid())/ns/uts"
        try expectRefused(h, bundle: try bundle(h) { spec in
            let ns = spec.linux?.namespaces ?? []
            spec.linux?.namespaces = ns.map { $0.type == "network" ? Namespace(type: "network", path: utsPath) : $0 }
        }, mentioning: ["net"])
    }

    @Test func relativeHookPath() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        try expectRefused(h, bundle: try bundle(h) { $0.hooks = Hooks(prestart: [Hook(path: "true")]) },
                          mentioning: ["hooks.prestart[0].path"])
    }

    /// A sysctl that is not namespaced would change the host: it must be refused.
    @Test func nonNamespacedSysctl() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let path = "/proc/sys/vm/swappiness"
        let before = try Fixtures.read(path)
        defer { try? Fixtures.write(path, before) }
        let value = trimmed(before) == "59" ? "58" : "59"
        try expectRefused(h, bundle: try bundle(h) { $0.linux?.sysctl = ["vm.swappiness": value] }, mentioning: ["vm.swappiness"])
        #expect(try Fixtures.read(path) == before, "the host's vm.swappiness changed")
    }

    @Test func invalidBundleLeavesExistingContainersAlone() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let b = try bundle(h) { $0.ociVersion = "2.0.0" }
        #expect(try h.run(["create", "--bundle", b, h.newID("bad")]).status != 0)
        #expect(try h.listedIDs() == [id])
        #expect(try h.state(id).status == "running")
    }
}
