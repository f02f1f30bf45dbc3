import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config-linux "Devices", "Default Devices", "Device allowlist".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct DevicesTests {
    @Test func defaultDevicesHaveTheRightNumbers() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let names = ["null", "zero", "full", "random", "urandom", "tty"]
        let out = try h.shOK("for d in \(names.joined(separator: " ")); do stat -c '%n %F %t %T %a' /dev/$d; done")
        let want: [String: (String, String)] = [
            "null": ("1", "3"), "zero": ("1", "5"), "full": ("1", "7"),
            "random": ("1", "8"), "urandom": ("1", "9"), "tty": ("5", "0"),
        ]
        let got = lines(out)
        try #require(got.count == names.count, "\(out)")
        for l in got {
            // "/dev/null character special file 1 3 666"
            let f = l.split(separator: " ").map(String.init)
            let name = String(f[0].dropFirst(5))
            let (major, minor) = try #require(want[name])
            #expect(l.contains("character special file"), "\(l)")
            #expect(f[f.count - 3] == major && f[f.count - 2] == minor, "\(l)")
            #expect(f[f.count - 1] == "666", "\(l)")
        }
    }

    @Test func defaultDevicesWork() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("""
            echo discard > /dev/null && echo NULL_OK
            head -c 4 /dev/zero | od -An -tx1
            head -c 16 /dev/urandom | wc -c
            echo x > /dev/full 2>/dev/null || echo FULL_ENOSPC
            """)
        #expect(lines(out).map(trimmed) == ["NULL_OK", "00 00 00 00", "16", "FULL_ENOSPC"])
    }

    @Test func devSymlinksAndMounts() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("""
            for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done
            echo ---
            cat /proc/self/mountinfo
            """)
        let parts = out.split(separator: "---\n").map(String.init)
        try #require(parts.count == 2, "\(out)")
        #expect(lines(parts[0]) == [
            "fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1",
            "stderr /proc/self/fd/2", "ptmx pts/ptmx",
        ])
        let mounts = MountInfo.parse(parts[1])
        func type(_ p: String) -> String? { mounts.last { $0.mountPoint == p }?.fsType }
        #expect(type("/dev") == "tmpfs")
        #expect(type("/dev/pts") == "devpts")
        #expect(type("/dev/shm") == "tmpfs")
        #expect(type("/dev/mqueue") == "mqueue")
        let pts = try #require(mounts.last { $0.mountPoint == "/dev/pts" })
        #expect(pts.superOptions.contains("ptmxmode=666") && pts.superOptions.contains("mode=620"), "\(pts.superOptions)")
        let shm = try #require(mounts.last { $0.mountPoint == "/dev/shm" })
        #expect(shm.options.contains("nodev") && shm.options.contains("noexec"), "\(shm.options)")
    }

    @Test func configuredDeviceIsCreatedWithModeAndOwner() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("stat -c '%F %t %T %a %u %g' /dev/berthnull; echo data > /dev/berthnull && echo WRITE_OK") { spec in
            spec.linux?.devices = [Device(type: "c", path: "/dev/berthnull", major: 1, minor: 3, fileMode: 0o600, uid: 1, gid: 2)]
            spec.process?.user = User(uid: 1, gid: 1)   // the owner can use it
        }
        #expect(lines(out) == ["character special file 1 3 600 1 2", "WRITE_OK"])
    }

    @Test func configuredFifoAndNestedDevice() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("stat -c '%F %a' /dev/berthfifo; stat -c '%F %t %T' /dev/sub/dir/zero") { spec in
            spec.linux?.devices = [
                Device(type: "p", path: "/dev/berthfifo", fileMode: 0o640),
                Device(type: "c", path: "/dev/sub/dir/zero", major: 1, minor: 5, fileMode: 0o666),
            ]
        }
        #expect(lines(out) == ["fifo 640", "character special file 1 5"])
    }

    /// /dev/kmsg (1:11) is not among the default devices; reading it needs CAP_SYSLOG, and making
    /// the node needs CAP_MKNOD.
    static func kmsgScript(_ spec: inout Spec) {
        for cap in ["CAP_MKNOD", "CAP_SYSLOG"] {
            spec.process?.capabilities?.bounding?.append(cap)
            spec.process?.capabilities?.effective?.append(cap)
            spec.process?.capabilities?.permitted?.append(cap)
        }
    }
    static let kmsgRead = "mknod /tmp/kmsg c 1 11 && echo MKNOD_OK; dd if=/tmp/kmsg bs=8192 count=1 2>/tmp/err | head -c 1 | wc -c; cat /tmp/err | grep -o 'Operation not permitted'"

    @Test func deviceCgroupDeniesUnlistedDevices() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // The default spec denies all devices: mknod is allowed ("m"), using the node is not.
        let r = try h.sh(Self.kmsgRead) { Self.kmsgScript(&$0) }
        #expect(lines(r.stdout) == ["MKNOD_OK", "0", "Operation not permitted"], "\(r)")
    }

    @Test func deviceCgroupAllowRule() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh(Self.kmsgRead) { spec in
            Self.kmsgScript(&spec)
            spec.linux?.resources?.devices?.append(DeviceCgroup(allow: true, type: "c", major: 1, minor: 11, access: "r"))
        }
        #expect(lines(r.stdout) == ["MKNOD_OK", "1"], "\(r)")
    }

    /// A device path through a symlink in the rootfs that points at the host must resolve inside the rootfs.
    @Test func devicePathThroughSymlinkStaysInTheRootfs() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let outside = h.dir + "/outside-dev"
        try Fixtures.mkdirAll(outside)
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.linux?.devices = [Device(type: "c", path: "/evildev/null2", major: 1, minor: 3)]
        }
        try #require(symlink(outside, bundle + "/rootfs/evildev") == 0)
        let r = try h.runContainer(bundle)
        #expect(dirEntries(outside).isEmpty, "a device node was created on the host: \(r)")
    }
}
