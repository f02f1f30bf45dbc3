import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, config "Process": args, env, cwd, user, umask, rlimits, oomScoreAdj, noNewPrivileges.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct ProcessTests {
    @Test func argsArePassedVerbatim() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sh", "-c", "for a in \"$0\" \"$@\"; do echo \"[$a]\"; done", "zero", "one", "two words", "", "$HOME *"])
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "[zero]\n[one]\n[two words]\n[]\n[$HOME *]\n")
    }

    @Test func exitStatusIsPropagated() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.sh("exit 3").status == 3)
        #expect(try h.sh("exit 0").status == 0)
    }

    @Test func envIsExactlyTheConfiguredList() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("env") { spec in
            spec.process?.env = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"]
        }
        let vars = Set(lines(out))
        #expect(vars.isSuperset(of: ["PATH=/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"]), "\(out)")
        // No leak from the runtime's own environment.
        #expect(!vars.contains { $0.hasPrefix("BERTH_RUNTIME=") })
        // Only what busybox sh itself adds (PWD, SHLVL, HOME from the runtime's lookup) besides the list.
        let extra = vars.subtracting(["PATH=/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"])
        #expect(extra.allSatisfy { $0.hasPrefix("PWD=") || $0.hasPrefix("SHLVL=") || $0.hasPrefix("HOME=") || $0.hasPrefix("OLDPWD=") }, "\(extra)")
    }

    @Test func cwd() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.shOK("pwd") { $0.process?.cwd = "/etc" } == "/etc\n")
    }

    @Test
    func cwdIsCreatedWhenMissing() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.shOK("pwd") { $0.process?.cwd = "/work/new/dir" } == "/work/new/dir\n")
    }

    @Test func userUIDGIDAndAdditionalGids() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status") { spec in
            spec.process?.user = User(uid: 1000, gid: 1001, additionalGids: [10, 20, 3000])
        }
        let l = lines(out)
        try #require(l.count == 6, "\(out)")
        #expect(l[0] == "1000")
        #expect(l[1] == "1001")
        #expect(Set(l[2].split(separator: " ").map(String.init)) == ["1001", "10", "20", "3000"])
        let st = statusFields(l[3...].joined(separator: "\n"))
        #expect(st["Uid"]?.split(separator: "\t").map(String.init) == ["1000", "1000", "1000", "1000"])
        #expect(st["Gid"]?.split(separator: "\t").map(String.init) == ["1001", "1001", "1001", "1001"])
        #expect(Set((st["Groups"] ?? "").split(separator: " ").map(String.init)) == ["10", "20", "3000"])
    }

    @Test func rootHasNoSupplementaryGroupsByDefault() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("grep '^Groups:' /proc/self/status")
        #expect(trimmed(String(out.dropFirst("Groups:".count))) == "")
    }

    @Test func umask() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d") { spec in
            spec.process?.user.umask = 0o027
        }
        #expect(lines(out) == ["0027", "640", "750"])
    }

    @Test func defaultUmaskIs022() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.shOK("umask") == "0022\n")
    }

    @Test func rlimitsNofileAndNproc() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu") { spec in
            spec.process?.rlimits = [
                Rlimit(type: "RLIMIT_NOFILE", soft: 512, hard: 1000),
                Rlimit(type: "RLIMIT_NPROC", soft: 300, hard: 400),
            ]
        }
        #expect(lines(out) == ["512", "1000", "300", "400"])
    }

    @Test func oomScoreAdj() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        #expect(try h.shOK("cat /proc/self/oom_score_adj") { $0.process?.oomScoreAdj = 523 } == "523\n")
    }

    @Test(arguments: [true, false])
    func noNewPrivileges(_ on: Bool) throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("grep NoNewPrivs /proc/self/status") { $0.process?.noNewPrivileges = on }
        #expect(statusFields(out)["NoNewPrivs"] == (on ? "1" : "0"))
    }

    @Test func nonRootUserCannotWriteRootOwnedFiles() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("echo x > /etc/passwd") { $0.process?.user = User(uid: 1000, gid: 1000) }
        #expect(r.status != 0)
        #expect(r.stderr.contains("Permission denied"), "\(r)")
    }

    @Test func personalityLinux32() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let personality = try JSONDecoder().decode(Personality.self, from: Data(#"{"domain": "LINUX32"}"#.utf8))
        let out = try h.shOK("uname -m") { $0.linux?.personality = personality }
        #expect(out == "i686\n")
        #expect(try h.shOK("uname -m") == "x86_64\n")
    }
}
