import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config-linux "Masked Paths" and "Readonly Paths".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct MaskedPathsTests {
    @Test func defaultMaskedPathsAreEmpty() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // Files and directories of the default list that exist on this kernel (the host has them non-empty).
        #expect(try Fixtures.read("/proc/keys") != "" && !dirEntries("/sys/firmware").isEmpty)
        let out = try h.shOK("""
            echo keys $(wc -c < /proc/keys)
            echo timer_list $(cat /proc/timer_list | wc -c)
            echo firmware $(ls -A /sys/firmware | wc -l)
            echo acpi $(ls -A /proc/acpi | wc -l)
            test -e /proc/kcore && echo kcore $(wc -c < /proc/kcore)
            echo done
            """)
        #expect(lines(out).filter { !$0.hasPrefix("kcore") } == ["keys 0", "timer_list 0", "firmware 0", "acpi 0", "done"])
        #expect(lines(out).allSatisfy { !$0.hasPrefix("kcore") || $0 == "kcore 0" })
    }

    @Test func configuredMaskedFileAndDirectory() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", """
            echo file=$(cat /etc/secret)
            echo dir=$(ls -A /etc/secretdir | wc -l)
            echo x > /etc/secretdir/new 2>/dev/null && echo DIR_WRITABLE
            echo done
            """]) { spec in
            spec.linux?.maskedPaths = ["/etc/secret", "/etc/secretdir", "/does/not/exist"]
        }
        try Fixtures.write(bundle + "/rootfs/etc/secret", "top-secret\n")
        try Fixtures.mkdirAll(bundle + "/rootfs/etc/secretdir")
        try Fixtures.write(bundle + "/rootfs/etc/secretdir/a", "a\n")
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["file=", "dir=0", "done"], "\(r)")
        #expect(try Fixtures.read(bundle + "/rootfs/etc/secret") == "top-secret\n")
    }

    @Test func defaultReadonlyPaths() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // Harmless targets: both are namespaced (uts, net) in this container.
        let r = try h.sh("{ echo 1 > /proc/sys/kernel/domainname; } 2>&1; { echo 1 > /proc/sys/net/ipv4/ip_forward; } 2>&1; cat /proc/sys/kernel/ostype")
        #expect(r.status == 0, "\(r)")
        let l = lines(r.stdout)
        #expect(l.filter { $0.contains("Read-only file system") }.count == 2, "\(r)")
        #expect(l.last == "Linux", "read-only paths stay readable")
    }

    @Test func configuredReadonlyPath() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle("ro", args: ["sh", "-c", "cat /etc/ro/keep; touch /etc/ro/new 2>&1; touch /etc/rw-new && echo ROOT_WRITABLE; grep ' /etc/ro ' /proc/self/mountinfo"]) { spec in
            spec.linux?.readonlyPaths = ["/etc/ro", "/does/not/exist"]
        }
        try Fixtures.mkdirAll(bundle + "/rootfs/etc/ro")
        try Fixtures.write(bundle + "/rootfs/etc/ro/keep", "kept\n")
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        let l = lines(r.stdout)
        #expect(l.first == "kept")
        #expect(l.contains { $0.contains("Read-only file system") }, "\(r)")
        #expect(l.contains("ROOT_WRITABLE"), "only the listed path is read-only")
        #expect(MountInfo.parse(r.stdout).first?.options.contains("ro") == true, "\(r)")
        #expect(!exists(bundle + "/rootfs/etc/ro/new"))
    }
}
