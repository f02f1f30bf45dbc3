import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, config-linux "Seccomp".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct SeccompTests {
    static func profile(_ syscalls: [Syscall]) -> Seccomp {
        Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: syscalls)
    }

    @Test func errnoRuleMakesMkdirFailWithEPERM() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("grep '^Seccomp:' /proc/self/status; mkdir /tmp/x; echo rc=$?; test -d /tmp/x || echo NO_DIR; touch /tmp/file && echo TOUCH_OK") { spec in
            spec.linux?.seccomp = Self.profile([Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])
        }
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["Seccomp:\t2", "rc=1", "NO_DIR", "TOUCH_OK"], "\(r)")
        #expect(r.stderr.contains("Operation not permitted"), "\(r)")
    }

    @Test func errnoRetIsReturnedAsGiven() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("mkdir /tmp/x") { spec in
            spec.linux?.seccomp = Self.profile([Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28)])
        }
        #expect(r.status != 0)
        #expect(r.stderr.contains("No space left on device"), "\(r)")
    }

    @Test func argumentRules() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("""
            touch /tmp/f
            chmod 755 /tmp/f && echo CHMOD_755_OK
            chmod 777 /tmp/f 2>/dev/null || echo CHMOD_777_DENIED
            mkdir /tmp/d && rmdir /tmp/d 2>/dev/null || echo RMDIR_DENIED
            rm /tmp/f && echo UNLINK_OK
            """) { spec in
            spec.linux?.seccomp = Self.profile([
                // mode == 0777 (chmod: arg 1; fchmodat: arg 2)
                Syscall(names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [SeccompArg(index: 1, value: 0o777, op: "SCMP_CMP_EQ")]),
                Syscall(names: ["fchmodat"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [SeccompArg(index: 2, value: 0o777, op: "SCMP_CMP_EQ")]),
                // unlinkat with AT_REMOVEDIR (0x200) set, and rmdir itself
                Syscall(names: ["unlinkat"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
                        args: [SeccompArg(index: 2, value: 0x200, valueTwo: 0x200, op: "SCMP_CMP_MASKED_EQ")]),
                Syscall(names: ["rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
            ])
        }
        #expect(lines(r.stdout) == ["CHMOD_755_OK", "CHMOD_777_DENIED", "RMDIR_DENIED", "UNLINK_OK"], "\(r)")
    }

    @Test func killActionKillsWithSIGSYS() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        for (args, status) in [(["uname"], 128 + SIGSYS), (["true"], 0)] {
            let bundle = try h.makeBundle("b-\(args[0])", args: args) { spec in
                spec.linux?.seccomp = Self.profile([Syscall(names: ["uname"], action: "SCMP_ACT_KILL")])
            }
            let r = try h.runContainer(bundle)
            #expect(r.status == status, "\(args): \(r)")
        }
    }

    @Test func noSeccompMeansMode0() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.shOK("grep '^Seccomp:' /proc/self/status") == "Seccomp:\t0\n")
    }

    @Test func unknownSyscallNamesAreIgnoredAndLogActionAllows() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("mkdir /tmp/a && echo MKDIR_OK; rmdir /tmp/a 2>/dev/null || echo RMDIR_DENIED") { spec in
            spec.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                                          syscalls: [
                Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG"),
                Syscall(names: ["rmdir", "berth_no_such_syscall"], action: "SCMP_ACT_ERRNO", errnoRet: 1),
            ])
        }
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["MKDIR_OK", "RMDIR_DENIED"], "\(r)")
    }

    @Test func filterFlags() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("mkdir /tmp/a 2>/dev/null || echo MKDIR_DENIED; grep '^Seccomp:' /proc/self/status") { spec in
            spec.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                                          syscalls: [Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])
        }
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["MKDIR_DENIED", "Seccomp:\t2"], "\(r)")
    }

    @Test func defaultErrnoRet() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        var profile = try DockerSeccompProfile.hostDefault()
        profile.defaultErrnoRet = 38   // ENOSYS for everything not allowed
        let caps = Spec.defaultCapabilities + ["CAP_SYS_ADMIN"]
        let r = try h.sh("unshare -n true") { spec in
            spec.process?.capabilities = Capabilities(bounding: caps, effective: caps, permitted: caps)
            spec.linux?.seccomp = profile
        }
        #expect(r.status != 0)
        #expect(r.stderr.contains("Function not implemented"), "\(r)")
    }

    // MARK: Docker's default profile

    @Test func dockerDefaultProfileRunsOrdinaryCommands() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let profile = try DockerSeccompProfile.hostDefault()
        let r = try h.sh("true && echo TRUE_OK; grep '^Seccomp:' /proc/self/status; sleep 0 & wait; echo FORK_OK; mkdir /tmp/d && echo MKDIR_OK") { spec in
            spec.process?.capabilities = Capabilities(bounding: Spec.defaultCapabilities, effective: Spec.defaultCapabilities,
                                                      permitted: Spec.defaultCapabilities)
            spec.linux?.seccomp = profile
        }
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["TRUE_OK", "Seccomp:\t2", "FORK_OK", "MKDIR_OK"], "\(r)")
    }

    @Test func dockerDefaultProfileRunsTrue() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let profile = try DockerSeccompProfile.hostDefault()
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.linux?.seccomp = profile
        }
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
    }

    /// The profile resolved for Docker's default capabilities leaves out unshare. The container is
    /// given CAP_SYS_ADMIN so that only seccomp can be what stops it (the control run proves it).
    @Test func dockerDefaultProfileBlocksUnshare() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let profile = try DockerSeccompProfile.hostDefault()
        let caps = Spec.defaultCapabilities + ["CAP_SYS_ADMIN"]
        func withCaps(_ spec: inout Spec) {
            spec.process?.capabilities = Capabilities(bounding: caps, effective: caps, permitted: caps)
        }
        let blocked = try h.sh("unshare -n true") { spec in
            withCaps(&spec)
            spec.linux?.seccomp = profile
        }
        #expect(blocked.status != 0)
        #expect(blocked.stderr.contains("Operation not permitted"), "\(blocked)")
        let control = try h.sh("unshare -n true && echo UNSHARE_OK") { withCaps(&$0) }
        #expect(control.stdout == "UNSHARE_OK\n", "without seccomp unshare works with these caps: \(control)")
    }
}
