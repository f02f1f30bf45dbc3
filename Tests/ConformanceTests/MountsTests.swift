import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config "Mounts" and "Root", config-linux "Rootfs Mount Propagation".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct MountsTests {
    @Test func tmpfsWithOptions() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("cat /proc/self/mountinfo; echo ---; stat -c %a /mnt/scratch") { spec in
            spec.mounts?.append(Mount(destination: "/mnt/scratch", type: "tmpfs", source: "tmpfs",
                                      options: ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]))
        }
        let parts = out.split(separator: "---\n").map(String.init)
        try #require(parts.count == 2, "\(out)")
        let m = try #require(MountInfo.parse(parts[0]).last { $0.mountPoint == "/mnt/scratch" }, "no /mnt/scratch in \(parts[0])")
        #expect(m.fsType == "tmpfs")
        #expect(m.options.contains("nosuid") && m.options.contains("nodev") && m.options.contains("noexec"), "\(m.options)")
        #expect(m.superOptions.contains("size=1024k"), "\(m.superOptions)")
        #expect(m.superOptions.contains("mode=1770"), "\(m.superOptions)")
        #expect(trimmed(parts[1]) == "1770")
    }

    @Test func bindMountsReadOnlyAndReadWrite() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let ro = h.dir + "/host-ro", rw = h.dir + "/host-rw"
        try Fixtures.mkdirAll(ro); try Fixtures.mkdirAll(rw)
        try Fixtures.write(ro + "/file", "from-ro\n")
        try Fixtures.write(rw + "/file", "from-rw\n")
        let r = try h.sh("""
            cat /data/ro/file /data/rw/file
            touch /data/ro/new 2>&1 && echo RO_WRITABLE
            echo written > /data/rw/new && echo RW_OK
            grep ' /data/ro ' /proc/self/mountinfo
            """) { spec in
            spec.mounts?.append(Mount(destination: "/data/ro", type: "bind", source: ro, options: ["rbind", "ro"]))
            spec.mounts?.append(Mount(destination: "/data/rw", type: "bind", source: rw, options: ["rbind", "rw"]))
        }
        #expect(r.status == 0, "\(r)")
        let l = lines(r.stdout)
        #expect(l.starts(with: ["from-ro", "from-rw"]), "\(r)")
        #expect(r.stdout.contains("Read-only file system"), "\(r)")
        #expect(!r.stdout.contains("RO_WRITABLE"))
        #expect(l.contains("RW_OK"))
        #expect(MountInfo.parse(r.stdout).first?.options.contains("ro") == true, "\(r.stdout)")
        #expect(try Fixtures.read(rw + "/new") == "written\n", "the rw bind writes through to the host")
        #expect(!exists(ro + "/new"))
    }

    @Test func bindMountWithoutTypeUsesBindOption() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let src = h.dir + "/host-src"
        try Fixtures.mkdirAll(src)
        try Fixtures.write(src + "/f", "typeless\n")
        let out = try h.shOK("cat /typeless/f") { spec in
            spec.mounts?.append(Mount(destination: "/typeless", source: src, options: ["bind"]))
        }
        #expect(out == "typeless\n")
    }

    @Test func bindMountOfASingleFile() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let file = h.dir + "/hostfile.txt"
        try Fixtures.write(file, "single-file\n")
        let out = try h.shOK("cat /etc/berth/file.txt; test -f /etc/berth/file.txt && echo IS_FILE; echo x >> /etc/berth/file.txt 2>/dev/null || echo RO") { spec in
            spec.mounts?.append(Mount(destination: "/etc/berth/file.txt", type: "bind", source: file, options: ["bind", "ro"]))
        }
        #expect(lines(out) == ["single-file", "IS_FILE", "RO"])
        #expect(try Fixtures.read(file) == "single-file\n")
    }

    @Test func bindMountSourceRelativeToBundle() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["cat", "/rel/hello"]) { spec in
            spec.mounts?.append(Mount(destination: "/rel", type: "bind", source: "reldir", options: ["bind"]))
        }
        try Fixtures.mkdirAll(bundle + "/reldir")
        try Fixtures.write(bundle + "/reldir/hello", "relative\n")
        let r = try h.runContainer(bundle)
        #expect(r.status == 0 && r.stdout == "relative\n", "a relative source is relative to the bundle: \(r)")
    }

    @Test func readonlyRoot() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("touch /newfile 2>&1; touch /tmp/x 2>&1; grep -c ' / / .*ro' /proc/self/mountinfo; echo ok > /dev/shm/w && echo SHM_OK") { spec in
            spec.root?.readonly = true
        }
        #expect(r.status == 0, "\(r)")
        let l = lines(r.stdout)
        #expect(l.filter { $0.contains("Read-only file system") }.count == 2, "\(r)")
        #expect(l.contains("SHM_OK"), "other mounts stay writable")
        #expect(!exists(h.dir + "/" + "x"))
    }

    @Test func mountPropagationFlags() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // A shared mount on the host so slave/private differ observably.
        let shared = h.dir + "/shared"
        try Fixtures.mkdirAll(shared)
        try #require(try host("mount --bind \(shared) \(shared) && mount --make-shared \(shared)").status == 0)
        defer { _ = try? host("umount -l \(shared)/sub 2>/dev/null; umount -l \(shared)") }

        let (id, _) = try h.startSleeper { spec in
            spec.mounts?.append(Mount(destination: "/slave", type: "bind", source: shared, options: ["rbind", "rslave"]))
            spec.mounts?.append(Mount(destination: "/private", type: "bind", source: shared, options: ["rbind", "rprivate"]))
            spec.mounts?.append(Mount(destination: "/shared", type: "tmpfs", source: "tmpfs", options: ["rshared"]))
        }
        let info = try h.exec(id, ["cat", "/proc/self/mountinfo"])
        try #require(info.status == 0, "\(info)")
        let mounts = MountInfo.parse(info.stdout)
        let slave = try #require(mounts.last { $0.mountPoint == "/slave" })
        let priv = try #require(mounts.last { $0.mountPoint == "/private" })
        let shr = try #require(mounts.last { $0.mountPoint == "/shared" })
        #expect(slave.optional.contains { $0.hasPrefix("master:") }, "\(slave.optional)")
        #expect(!slave.optional.contains { $0.hasPrefix("shared:") }, "\(slave.optional)")
        #expect(priv.optional.isEmpty, "\(priv.optional)")
        #expect(shr.optional.contains { $0.hasPrefix("shared:") }, "\(shr.optional)")

        // A host mount made after start propagates into the slave mount, not into the private one.
        try Fixtures.mkdirAll(shared + "/sub")
        try #require(try host("mount -t tmpfs -o size=1m berthprop \(shared)/sub && echo hi > \(shared)/sub/marker").status == 0)
        let seen = try h.exec(id, ["sh", "-c", "cat /slave/sub/marker; cat /private/sub/marker 2>/dev/null || echo NOT_IN_PRIVATE"])
        #expect(lines(seen.stdout) == ["hi", "NOT_IN_PRIVATE"], "\(seen)")
    }

    @Test(arguments: [("rprivate", ""), ("rshared", "shared:"), ("rslave", "")])
    func rootfsPropagation(_ propagation: String, _ wantedTag: String) throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("cat /proc/self/mountinfo") { spec in
            spec.linux?.rootfsPropagation = propagation
        }
        let root = try #require(MountInfo.parse(out).last { $0.mountPoint == "/" })
        if wantedTag.isEmpty {
            // This host's / is private, so neither private nor slave roots have a peer or master.
            #expect(!root.optional.contains { $0.hasPrefix("shared:") }, "\(propagation): \(root.optional)")
        } else {
            #expect(root.optional.contains { $0.hasPrefix(wantedTag) }, "\(propagation): \(root.optional)")
        }
    }

    /// CVE-2021-30465 class: a mount destination through a symlink in the rootfs that points
    /// outside it must resolve inside the rootfs, never on the host.
    @Test func mountThroughSymlinkDoesNotEscapeRootfs() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let outside = h.dir + "/outside"
        let outsideRel = h.dir + "/outside-rel"
        try Fixtures.mkdirAll(outside)
        try Fixtures.mkdirAll(outsideRel)
        let bundle = try h.makeBundle("evil", args: ["sh", "-c", "grep tmpfs /proc/self/mountinfo | grep -c outside"]) { spec in
            spec.mounts?.append(Mount(destination: "/evil/x", type: "tmpfs", source: "tmpfs", options: ["size=1m"]))
            spec.mounts?.append(Mount(destination: "/evilrel/y", type: "tmpfs", source: "tmpfs", options: ["size=1m"]))
        }
        // Absolute and climbing symlinks that point at host directories outside the rootfs.
        try #require(symlink(outside, bundle + "/rootfs/evil") == 0)
        try #require(symlink("../../../../../../../../../../" + outsideRel, bundle + "/rootfs/evilrel") == 0)
        let r = try h.runContainer(bundle)
        // Whether the runtime refuses or confines the mount, the host dirs stay empty and unmounted.
        #expect(dirEntries(outside).isEmpty && dirEntries(outsideRel).isEmpty,
                "a mount through a symlink created something on the host: \(r)")
        #expect(!(try Fixtures.read("/proc/self/mountinfo")).contains(outside), "host mount table changed")
        if r.status == 0 {
            // Confined: both tmpfs mounts landed inside the container's rootfs.
            #expect(lines(r.stdout).last == "2", "\(r)")
        }
    }

    @Test func bindMountFlags() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let src = h.dir + "/flags"
        try Fixtures.mkdirAll(src)
        try Fixtures.copyFile("/bin/busybox", to: src + "/bb", mode: 0o755)
        let r = try h.sh("grep ' /flags ' /proc/self/mountinfo; /flags/bb true && echo EXEC_OK") { spec in
            spec.mounts?.append(Mount(destination: "/flags", type: "bind", source: src, options: ["rbind", "nosuid", "nodev", "noexec", "ro"]))
        }
        let m = try #require(MountInfo.parse(r.stdout).first, "\(r)")
        for flag in ["nosuid", "nodev", "noexec", "ro"] {
            #expect(m.options.contains(flag), "\(flag) missing: \(m.options)")
        }
        #expect(!r.stdout.contains("EXEC_OK"), "noexec must stop execution: \(r)")
    }

    @Test func noPivot() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "ls /; test -e /bin/busybox && echo ROOTFS"])
        let r = try h.run(["run", "--no-pivot", "--bundle", bundle, h.newID("nopivot")])
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout).last == "ROOTFS")
        #expect(!r.stdout.contains("state"), "the host's / must not be visible")
    }

    @Test func mountsAreAppliedInOrder() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let file = h.dir + "/inner.txt"
        try Fixtures.write(file, "inner\n")
        let out = try h.shOK("cat /data/inner.txt; grep -E ' /data(/inner.txt)? ' /proc/self/mountinfo | wc -l") { spec in
            spec.mounts?.append(Mount(destination: "/data", type: "tmpfs", source: "tmpfs", options: ["size=1m"]))
            spec.mounts?.append(Mount(destination: "/data/inner.txt", type: "bind", source: file, options: ["bind"]))
        }
        #expect(lines(out).map(trimmed) == ["inner", "2"], "a later mount inside an earlier one: \(out)")
    }

    @Test func readonlyRootWithMountsOnNewMountPoints() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("echo ok > /newmnt/f && cat /newmnt/f; echo ok > /tmp/f && echo TMP_OK; touch /etc/x 2>/dev/null || echo ROOT_RO") { spec in
            spec.root?.readonly = true
            spec.mounts?.append(Mount(destination: "/newmnt", type: "tmpfs", source: "tmpfs", options: ["size=1m"]))
            spec.mounts?.append(Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["size=1m"]))
        }
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["ok", "TMP_OK", "ROOT_RO"], "\(r)")
    }
}
