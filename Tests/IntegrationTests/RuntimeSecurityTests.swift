import Testing
import Glibc
import BerthOCI
import BerthTestSupport

/// The protections berth-runtime promises when it runs other people's configs and images.
@Suite("RuntimeSecurity", .serialized, .enabled(if: RuntimeHarness.canRunContainers))
struct RuntimeSecurityTests {
    /// CVE-2024-21626 class: an fd the runtime's caller had open must not reach the container.
    @Test func hostFileDescriptorsDoNotLeak() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"])
        let id = h.newID("fd")
        // fds 5 and 7 are open in the shell that runs the runtime (not CLOEXEC).
        let r = try Command.run("/bin/sh", ["-c", "exec 5</etc/hostname 7>/dev/null; exec \(h.binary) --root \(h.root) run --bundle \(bundle) \(id)"])
        #expect(r.status == 0, "\(r)")
        // 0 1 2 and the directory ls itself opened (3).
        #expect(r.stdout.split(separator: " ").sorted() == ["0", "1", "2", "3"], "\(r)")
    }

    @Test func preserveFdsPassesExactlyThoseFds() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "cat <&3; for f in /proc/self/fd/*; do readlink $f; done; true"])
        let id = h.newID("pfd")
        try Fixtures.write(h.dir + "/passed", "passed-through\n")
        let r = try Command.run("/bin/sh", ["-c", "exec 3<\(h.dir)/passed 4</etc/hostname; exec \(h.binary) --root \(h.root) run --preserve-fds 1 --bundle \(bundle) \(id)"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.hasPrefix("passed-through\n"), "\(r)")
        #expect(!r.stdout.contains("hostname"), "fd 4 was not asked for: \(r)")
    }

    /// CVE-2019-5736 class: while the init waits in `created`, its /proc/<pid>/exe is the host's
    /// berth-runtime; it is non-dumpable so nothing in the container can open it.
    @Test func runtimeBinaryIsNotReachableFromTheContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "30"])
        let id = h.newID("exe")
        let c = try h.run(["create", "--bundle", bundle, id])
        #expect(c.status == 0, "\(c)")
        let e = try h.run(["exec", id, "sh", "-c", "cat /proc/1/exe > /dev/null && echo OPENED; echo x >> /proc/1/exe && echo WROTE; true"])
        #expect(e.status == 0, "\(e)")
        #expect(!e.stdout.contains("OPENED") && !e.stdout.contains("WROTE"), "\(e)")
    }

    /// After start the init has exec'd through the sealed trampoline: a container program that
    /// names /proc/self/exe as its interpreter gets the trampoline, never the runtime binary.
    @Test func selfExeInterpreterNeverRunsTheRuntime() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["/evil"])
        // A script whose interpreter is /proc/self/exe: run via the trampoline, it re-executes
        // itself (argv[0] = /evil has no interpreter left) and fails with 127, it never reaches the host binary.
        try Fixtures.write(bundle + "/rootfs/evil", "#!/proc/self/exe\n", mode: 0o755)
        let before = try Fixtures.read("/proc/self/stat").count   // sanity: we can read files
        #expect(before > 0)
        let binBefore = try Command.run("/usr/bin/sha256sum", [h.binary]).stdout
        let r = try h.runContainer(bundle, timeout: 20)
        #expect(r.status != 0)
        #expect(!r.stderr.contains("berth-runtime version"), "\(r)")
        #expect(try Command.run("/usr/bin/sha256sum", [h.binary]).stdout == binBefore)
    }

    /// CVE-2021-30465 class: a mount destination that goes through a symlink pointing out of the
    /// rootfs is resolved inside the rootfs.
    @Test func mountThroughSymlinkStaysInsideRootfs() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let outside = h.dir + "/outside"
        try Fixtures.mkdirAll(outside)
        let bundle = try h.makeBundle(args: ["sh", "-c", "test -d /escape/target && echo INSIDE"]) { spec in
            spec.mounts?.append(Mount(destination: "/escape/target", type: "tmpfs", source: "tmpfs"))
        }
        symlink(outside, bundle + "/rootfs/escape")   // absolute: means <rootfs>/<outside> from inside
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("INSIDE"))
        #expect(access(outside + "/target", F_OK) != 0, "the mount point was created outside the rootfs")
        #expect(access(bundle + "/rootfs" + outside + "/target", F_OK) == 0)
    }

    @Test func dotDotInMountDestinationCannotClimbOut() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.mounts?.append(Mount(destination: "/../../../../tmp/berth-escape-dotdot", type: "tmpfs", source: "tmpfs"))
        }
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        #expect(access("/tmp/berth-escape-dotdot", F_OK) != 0)
    }
}
