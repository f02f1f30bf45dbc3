import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// `exec`: a new process in a running container's namespaces, cgroups and security settings.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct ExecTests {
    @Test func execSeesTheContainersPIDNamespace() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let r = try h.exec(id, ["ps", "-o", "pid,args"])
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout).contains { $0.split(separator: " ").map(String.init) == ["1", "sleep", "1000"] }, "\(r)")
    }

    @Test func execJoinsEveryNamespaceOfTheInit() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper { spec in spec.hostname = "exec-box" }
        let r = try h.exec(id, ["sh", "-c", "hostname; for n in pid net ipc uts mnt cgroup; do [ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] && echo $n; done"])
        #expect(r.status == 0, "\(r)")
        #expect(lines(r.stdout) == ["exec-box", "pid", "net", "ipc", "uts", "mnt", "cgroup"], "\(r)")
    }

    @Test func execIsInTheContainersCgroup() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper { $0.linux?.namespaces?.append(Namespace(type: "cgroup")) }
        let pid = try h.state(id).pid
        let r = try h.exec(id, ["cat", "/proc/self/cgroup"])
        #expect(r.status == 0)
        // Inside the cgroup namespace both the init and the exec see their cgroup as "/".
        let hostView = try Fixtures.read("/proc/\(pid)/cgroup")
        let memoryLine = try #require(lines(r.stdout).first { $0.contains(":memory:") })
        #expect(memoryLine.hasSuffix(":/"), "\(memoryLine) (init on the host: \(hostView))")
    }

    @Test func exitCodePropagates() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        #expect(try h.exec(id, ["sh", "-c", "exit 7"]).status == 7)
        #expect(try h.exec(id, ["true"]).status == 0)
        let r = try h.exec(id, ["sh", "-c", "echo out; echo err >&2"])
        #expect(r.stdout == "out\n" && r.stderr == "err\n")
    }

    @Test func stdinIsPassed() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let r = try h.run(["exec", id, "cat"], stdin: "piped input\n")
        #expect(r.stdout == "piped input\n", "\(r)")
    }

    @Test func envCwdAndUserFlags() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let e = try h.exec(id, ["sh", "-c", "echo $FOO-$BAR"], flags: ["--env", "FOO=foo", "--env", "BAR=bar"])
        #expect(e.stdout == "foo-bar\n", "\(e)")
        let c = try h.exec(id, ["pwd"], flags: ["--cwd", "/etc"])
        #expect(c.stdout == "/etc\n", "\(c)")
        let u = try h.exec(id, ["sh", "-c", "id -u; id -g"], flags: ["--user", "1000:1001"])
        #expect(lines(u.stdout) == ["1000", "1001"], "\(u)")
        // Without overrides the config's process settings apply.
        let d = try h.exec(id, ["sh", "-c", "pwd; id -u; echo $TERM"])
        #expect(lines(d.stdout) == ["/", "0", "xterm"], "\(d)")
    }

    @Test func processFile() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        var p = Process(terminal: false, user: User(uid: 123, gid: 456, additionalGids: [789]),
                        args: ["sh", "-c", "echo $PROC_VAR; pwd; id -u; id -g; id -G; grep NoNewPrivs /proc/self/status"],
                        env: ["PATH=/bin", "PROC_VAR=from-file"], cwd: "/tmp")
        p.noNewPrivileges = true
        let file = h.dir + "/process.json"
        try Fixtures.write(file, String(decoding: try JSONEncoder().encode(p), as: UTF8.self))
        let r = try h.run(["exec", "--process", file, id])
        #expect(r.status == 0, "\(r)")
        let l = lines(r.stdout)
        try #require(l.count == 6, "\(r)")
        #expect(Array(l[0..<4]) == ["from-file", "/tmp", "123", "456"])
        #expect(Set(l[4].split(separator: " ").map(String.init)) == ["456", "789"])
        #expect(statusFields(l[5])["NoNewPrivs"] == "1")
    }

    @Test func execGetsTheContainersCapabilitiesAndSeccomp() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper { spec in
            spec.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                                          syscalls: [Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])
        }
        let r = try h.exec(id, ["sh", "-c", "grep -E '^(CapBnd|Seccomp):' /proc/self/status; mkdir /tmp/x 2>&1"])
        let s = statusFields(r.stdout)
        #expect(s["CapBnd"] == Cap.hex(Cap.mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])), "\(r)")
        #expect(s["Seccomp"] == "2", "\(r)")
        #expect(r.stdout.contains("Operation not permitted"), "\(r)")
    }

    @Test func execIntoAStoppedContainerFails() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper(args: ["true"])
        #expect(h.waitForStatus(id, "stopped"))
        let r = try h.exec(id, ["true"])
        #expect(r.status != 0)
        #expect(!r.stderr.isEmpty)
        #expect(try h.exec("berth-test-missing", ["true"]).status != 0)
    }

    @Test func execOfAMissingExecutableFails() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let r = try h.exec(id, ["nope"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("nope"), "\(r)")
        #expect(try h.state(id).status == "running", "a failed exec leaves the container alone")
    }

    @Test func detachedExecWritesAPidFile() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, bundle) = try h.startSleeper()
        let pidFile = h.dir + "/exec.pid"
        let r = try h.exec(id, ["sh", "-c", "echo $$ > /tmp/exec-pid; sleep 1000"], flags: ["--detach", "--pid-file", pidFile])
        #expect(r.status == 0, "\(r)")
        let hostPID = try #require(Int32(trimmed(try Fixtures.read(pidFile))))
        #expect(kill(hostPID, 0) == 0)
        var inside = ""
        for _ in 0..<50 where inside.isEmpty { inside = trimmed((try? Fixtures.read(bundle + "/rootfs/tmp/exec-pid")) ?? ""); usleep(20_000) }
        #expect(inside != "" && inside != "\(hostPID)", "the exec is in the container's pid namespace")
        let ps = try h.run(["ps", "--format", "json", id])
        #expect(try JSONDecoder().decode([Int32].self, from: Data(ps.stdout.utf8)).contains(hostPID))
    }

    @Test func capAdditionalGidsAndNoNewPrivsFlags() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper { $0.process?.noNewPrivileges = false }
        let r = try h.exec(id, ["sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Groups):' /proc/self/status"],
                           flags: ["--cap", "CAP_CHOWN", "--additional-gids", "44", "--no-new-privs"])
        #expect(r.status == 0, "\(r)")
        let s = statusFields(r.stdout)
        let want = Cap.hex(Cap.mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]))
        #expect(s["CapEff"] == want && s["CapBnd"] == want, "\(r)")
        #expect(s["NoNewPrivs"] == "1")
        #expect(s["Groups"] == "44")
        let plain = statusFields(try h.exec(id, ["grep", "NoNewPrivs", "/proc/self/status"]).stdout)
        #expect(plain["NoNewPrivs"] == "0", "the config's noNewPrivileges (false) applies without the flag")
    }

    @Test func execWithATerminalThroughConsoleSocket() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let (id, _) = try h.startSleeper()
        let sock = try TerminalTests.ConsoleSocket(path: h.dir + "/exec-console.sock")
        let r = try h.exec(id, ["sh", "-c", "tty; test -t 0 && echo STDIN_TTY"], flags: ["--tty", "--detach", "--console-socket", sock.path])
        try #require(r.status == 0, "\(r)")
        let master = try sock.receiveFD()
        defer { close(master) }
        let out = lines(TerminalTests.drain(master))
        #expect(out.first?.hasPrefix("/dev/pts/") == true, "\(out)")
        #expect(out.contains("STDIN_TTY"), "\(out)")
    }
}
