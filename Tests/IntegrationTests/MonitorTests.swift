import Testing
import Glibc
import FoundationEssentials
import BerthOCI
import BerthTestSupport

/// berth-monitor (Specs/monitor.md) driving the berth-runtime of this build: json-file logs,
/// exit.json, rotation, detaching (live restore), RSS, terminals and stdin over the control socket,
/// exec mode (`--exec-process`: docker exec under a monitor) and OOM kills in exit.json.
@Suite("Monitor", .serialized, .enabled(if: MonitorFixture.available))
struct MonitorTests {
    @Test func logsBothStreamsAndRecordsTheExitCode() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sh", "-c", "echo out1; echo err1 >&2; echo '<q\"\\>'; printf tail; exit 3"])
        let m = try f.start("exit3", bundle: bundle)
        let exit = try m.waitForExit()
        #expect(exit.exitCode == 3 && exit.signal == nil && exit.oomKilled == false)
        #expect(MonitorFixture.isRFC3339Nano(exit.finishedAt), "\(exit.finishedAt)")
        let entries = try m.entries()
        let out = entries.filter { $0.stream == "stdout" }.map(\.log)
        let err = entries.filter { $0.stream == "stderr" }.map(\.log)
        #expect(out == ["out1\n", "<q\"\\>\n", "tail"], "\(entries)")
        #expect(err == ["err1\n"], "\(entries)")
        for e in entries { #expect(MonitorFixture.isRFC3339Nano(e.time) && MonitorFixture.isRecent(e.time), "\(e.time)") }
        // Docker's escaping: HTML-safe.
        #expect(try Fixtures.read(m.logPath).contains(#""log":"\u003cq\"\\\u003e\n""#))
        #expect(m.waitForMonitorGone(), "monitor \(m.monitorPid) still running after the exit")
        #expect(access(m.stateDir + "/monitor.sock", F_OK) != 0)
    }

    @Test func hundredThousandLinesNothingLost() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["seq", "100000"])
        let m = try f.start("seq", bundle: bundle)
        let exit = try m.waitForExit(seconds: 60)
        #expect(exit.exitCode == 0)
        let lines = try Fixtures.read(m.logPath).split(separator: "\n")
        #expect(lines.count == 100_000)
        var bad = 0
        for (i, line) in lines.enumerated() where !line.hasPrefix("{\"log\":\"\(i + 1)\\n\",\"stream\":\"stdout\",\"time\":\"") {
            if bad < 3 { Issue.record("line \(i + 1): \(line)") }
            bad += 1
        }
        #expect(bad == 0)
        #expect(access(m.logPath + ".1", F_OK) != 0, "no rotation without --log-max-size")
    }

    @Test func rotatesBySizeKeepingMaxFiles() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["seq", "20000"])
        let maxSize = 50_000
        let m = try f.start("rotate", bundle: bundle, extra: ["--log-max-size", "\(maxSize)", "--log-max-files", "3"])
        #expect(try m.waitForExit(seconds: 30).exitCode == 0)
        let files = [m.logPath + ".2", m.logPath + ".1", m.logPath]
        for file in files {
            var st = stat()
            #expect(stat(file, &st) == 0, "\(file) exists")
            // Docker rotates before a write once the file reached max-size: at most one entry over.
            #expect(Int(st.st_size) <= maxSize + 100, "\(file): \(st.st_size) bytes")
        }
        #expect(access(m.logPath + ".3", F_OK) != 0, "only 3 files are kept")
        // The three files hold one contiguous run of the sequence, newest in FILE, ending at 20000.
        var numbers: [Int] = []
        for file in files {
            for e in try MonitorFixture.parse(try Fixtures.read(file)) { numbers.append(Int(e.log.dropLast()) ?? -1) }
        }
        #expect(numbers.last == 20000)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 + 1 }, "contiguous across rotated files")
        #expect(try MonitorFixture.parse(try Fixtures.read(m.logPath)).last?.log == "20000\n")
    }

    @Test func killedBySignalIs137() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sleep", "100"])
        let m = try f.start("kill", bundle: bundle)
        #expect(try f.h.state(m.id).status == "running")
        // SIGTERM/SIGINT to the monitor are ignored.
        kill(m.monitorPid, SIGTERM); kill(m.monitorPid, SIGINT)
        usleep(100_000)
        #expect(kill(m.monitorPid, 0) == 0, "the monitor ignores SIGTERM and SIGINT")
        #expect(try f.h.run(["kill", m.id, "KILL"]).status == 0)
        let exit = try m.waitForExit()
        #expect(exit.exitCode == 137 && exit.signal == 9 && exit.oomKilled == false)
        #expect(m.waitForMonitorGone())
    }

    @Test func survivesTheProcessThatStartedIt() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done"])
        let id = f.h.newID("restore")
        let stateDir = f.h.dir + "/mon-restore"
        // The caller is a shell that runs the monitor, then stays (as `sleep`) until we kill -9 it.
        let caller = try BackgroundProcess("/bin/sh", ["-c", "\"$0\" \"$@\" && echo STARTED; exec sleep 1000", f.monitor]
            + f.monitorArgs(id: id, bundle: bundle, stateDir: stateDir), log: f.h.dir + "/caller.log")
        defer { caller.crash() }
        var started = false
        for _ in 0..<200 where !started {
            started = ((try? Fixtures.read(caller.log)) ?? "").contains("STARTED")
            if !started { usleep(50_000) }
        }
        #expect(started, "monitor start: \((try? Fixtures.read(caller.log)) ?? "")")
        let m = try MonitorFixture.Started(id: id, stateDir: stateDir)
        f.track(m)
        let stat = try MonitorFixture.procStat(m.monitorPid)
        #expect(stat.ppid != caller.pid, "the monitor is not the caller's child")
        #expect(stat.sid == m.monitorPid, "the monitor is a session leader (setsid)")
        caller.crash()   // kill -9 the process that started it
        let before = try m.entries().count
        usleep(600_000)
        #expect(kill(m.monitorPid, 0) == 0, "monitor alive after its caller was killed")
        #expect(try f.h.state(id).status == "running")
        let after = try m.entries().count
        #expect(after > before + 3, "still logging: \(before) → \(after)")
        #expect(try f.h.run(["kill", id, "KILL"]).status == 0)
        #expect(try m.waitForExit().exitCode == 137)
        #expect(m.waitForMonitorGone())
    }

    @Test func residentSetSizeIsSmall() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sleep", "30"])
        var monitors: [MonitorFixture.Started] = []
        for i in 0..<10 { monitors.append(try f.start("rss\(i)", bundle: bundle)) }
        var rss: [Int] = []
        for m in monitors {
            let status = try Fixtures.read("/proc/\(m.monitorPid)/status")
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
            rss.append(kb)
        }
        let mean = Double(rss.reduce(0, +)) / Double(rss.count)
        print("berth-monitor VmRSS over \(rss.count) monitors: mean \(mean) kB, max \(rss.max() ?? 0) kB (\(rss))")
        for kb in rss { #expect(kb > 0 && kb < 3 * 1024, "VmRSS \(kb) kB") }
        for m in monitors { #expect(try f.h.run(["kill", m.id, "KILL"]).status == 0) }
        for m in monitors { #expect(try m.waitForExit().exitCode == 137) }
    }

    @Test func terminalAndResize() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sh", "-c", "tty; echo hi; sleep 1; stty size"]) { $0.process?.terminal = true }
        let m = try f.start("tty", bundle: bundle, extra: ["--terminal"])
        let reply = try MonitorFixture.control(m.stateDir + "/monitor.sock", "resize 33 101\n")
        #expect(reply == "ok\n")
        #expect(try m.waitForExit().exitCode == 0)
        let entries = try m.entries()
        #expect(entries.allSatisfy { $0.stream == "stdout" })
        let text = entries.map(\.log).joined()
        #expect(text.contains("/dev/pts/"), "\(text)")
        #expect(text.contains("hi\r\n"), "\(text)")
        #expect(text.contains("33 101"), "\(text)")
    }

    @Test func stdinThroughTheControlSocket() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["cat"])
        let m = try f.start("stdin", bundle: bundle, extra: ["--stdin"])
        #expect(try f.h.state(m.id).status == "running")
        let reply = try MonitorFixture.control(m.stateDir + "/monitor.sock", "stdin\n", then: "hello\n")
        #expect(reply == "ok\n")
        let exit = try m.waitForExit()
        #expect(exit.exitCode == 0, "cat exits 0 once stdin is closed")
        #expect(try m.entries().map(\.log) == ["hello\n"])
    }

    @Test func failedCreateIsReportedSynchronously() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let id = f.h.newID("fail")
        let r = try Command.run(f.monitor, f.monitorArgs(id: id, bundle: f.h.dir + "/no-such-bundle", stateDir: f.h.dir + "/mon-fail"))
        #expect(r.status != 0)
        #expect(r.stderr.hasPrefix("berth-monitor: create container \(id): "), "\(r)")
        #expect(r.stderr.contains("config.json"), "\(r)")
        #expect(access(f.h.dir + "/mon-fail/monitor.pid", F_OK) != 0)
    }

    @Test func noHostFdReachesTheContainer() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sh", "-c", "ls /proc/self/fd"])
        // An fd without O_CLOEXEC in the caller must not reach the container (or stay in the monitor).
        let leak = open("/etc/hostname", O_RDONLY)
        defer { close(leak) }
        let m = try f.start("fds", bundle: bundle)
        #expect(try m.waitForExit().exitCode == 0)
        let fds = try m.entries().map { e in e.log.filter { !$0.isWhitespace } }
        // 0, 1, 2 and the fd ls opened to read the directory.
        #expect(fds == ["0", "1", "2", "3"], "\(fds)")
    }

    // MARK: exec mode (--exec-process)

    @Test func execLogsBothStreamsAndRecordsTheExitCode() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-a", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        let e = try f.exec("a", in: c, MonitorFixture.process(["sh", "-c", "echo out; echo err >&2; exit 3"]))
        let exit = try e.waitForExit()
        #expect(exit.exitCode == 3 && exit.signal == nil && exit.oomKilled == false, "\(exit)")
        #expect(MonitorFixture.isRFC3339Nano(exit.finishedAt), "\(exit.finishedAt)")
        let entries = try e.entries()
        #expect(entries.filter { $0.stream == "stdout" }.map(\.log) == ["out\n"], "\(entries)")
        #expect(entries.filter { $0.stream == "stderr" }.map(\.log) == ["err\n"], "\(entries)")
        #expect(e.waitForMonitorGone(), "exec monitor \(e.monitorPid) still running after the exit")
        #expect(access(e.stateDir + "/monitor.sock", F_OK) != 0)
        // The exec's output is in the exec's log only; the container is untouched.
        #expect(try c.entries().isEmpty)
        #expect(try f.h.state(c.id).status == "running")
        #expect(access(c.stateDir + "/exit.json", F_OK) != 0)
    }

    @Test func execHonoursEnvCwdAndUser() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-b", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        let e = try f.exec("b", in: c, MonitorFixture.process(
            ["sh", "-c", "echo \"$GREETING\"; pwd; id -u; id -g"],
            env: ["PATH=/bin", "GREETING=hello from exec"], cwd: "/tmp", uid: 1000, gid: 1001))
        #expect(try e.waitForExit().exitCode == 0)
        #expect(try e.entries().map(\.log) == ["hello from exec\n", "/tmp\n", "1000\n", "1001\n"])
        // No fd of the monitor (or of its caller) reaches the exec'd process either.
        let leak = open("/etc/hostname", O_RDONLY)
        defer { close(leak) }
        let fds = try f.exec("b-fds", in: c, MonitorFixture.process(["sh", "-c", "ls /proc/self/fd"]))
        #expect(try fds.waitForExit().exitCode == 0)
        #expect(try fds.entries().map { $0.log.filter { !$0.isWhitespace } } == ["0", "1", "2", "3"])
    }

    @Test func execWithTerminal() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-c", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        let e = try f.exec("c", in: c, MonitorFixture.process(["sh", "-c", "tty; echo hi; sleep 1; stty size; exit 5"], terminal: true),
                           extra: ["--terminal"])
        #expect(access(e.stateDir + "/console.sock", F_OK) != 0, "console.sock is removed once the pty arrived")
        #expect(try MonitorFixture.control(e.stateDir + "/monitor.sock", "resize 33 101\n") == "ok\n")
        #expect(try e.waitForExit().exitCode == 5)
        let entries = try e.entries()
        #expect(entries.allSatisfy { $0.stream == "stdout" })
        let text = entries.map(\.log).joined()
        #expect(text.contains("/dev/pts/"), "\(text)")
        #expect(text.contains("hi\r\n"), "\(text)")
        #expect(text.contains("33 101"), "\(text)")
        #expect(try f.h.state(c.id).status == "running")
    }

    @Test func execStdinThroughTheControlSocket() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-in", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        let e = try f.exec("in", in: c, MonitorFixture.process(["cat"]), extra: ["--stdin"])
        #expect(try MonitorFixture.control(e.stateDir + "/monitor.sock", "stdin\n", then: "hello\n") == "ok\n")
        #expect(try e.waitForExit().exitCode == 0, "cat exits 0 once stdin is closed")
        #expect(try e.entries().map(\.log) == ["hello\n"])
    }

    @Test func execInAMissingContainerFailsSynchronously() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let id = f.h.newID("nosuch")
        try Fixtures.write(f.h.dir + "/nosuch.json", MonitorFixture.process(["true"]))
        for (stateDir, extra) in [(f.h.dir + "/exec-nosuch", [String]()), (f.h.dir + "/exec-nosuch-tty", ["--terminal"])] {
            let r = try Command.run(f.monitor, f.execArgs(id: id, process: f.h.dir + "/nosuch.json", stateDir: stateDir, extra: extra))
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.hasPrefix("berth-monitor: exec in container \(id): "), "\(r)")
            #expect(r.stderr.contains("does not exist"), "\(r)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r)")
            for file in ["monitor.pid", "init.pid", "monitor.sock", "console.sock", "exit.json"] {
                #expect(access(stateDir + "/" + file, F_OK) != 0, "\(stateDir)/\(file) left behind")
            }
        }
        #expect(access(f.h.root + "/" + id, F_OK) != 0, "no runtime state for \(id)")
    }

    @Test func failedExecLeavesTheContainerRunning() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-bad", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        try Fixtures.write(f.h.dir + "/bad.json", MonitorFixture.process(["/no/such/program"]))
        let stateDir = f.h.dir + "/exec-bad"
        let r = try Command.run(f.monitor, f.execArgs(id: c.id, process: f.h.dir + "/bad.json", stateDir: stateDir))
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.hasPrefix("berth-monitor: exec in container \(c.id): ") && r.stderr.contains("/no/such/program"), "\(r)")
        #expect(access(stateDir + "/monitor.pid", F_OK) != 0)
        // A failed exec must never delete the container (no `runtime delete` in exec mode).
        #expect(try f.h.state(c.id).status == "running")
        #expect(kill(c.monitorPid, 0) == 0, "the container's monitor is still running")
        #expect(access(c.stateDir + "/exit.json", F_OK) != 0)
    }

    @Test func containerOutlivesTheExecMonitor() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let c = try f.start("exec-e", bundle: try f.h.makeBundle(args: ["sleep", "30"]))
        let e = try f.exec("e", in: c, MonitorFixture.process(["sleep", "30"]))
        let pid = pid_t(try Fixtures.read(e.stateDir + "/init.pid").filter { !$0.isWhitespace }) ?? -1
        // `exec --detach` leaves the process to the monitor (a child subreaper): it is reaped, not polled.
        #expect(try MonitorFixture.procStat(pid).ppid == e.monitorPid, "the exec'd process is the monitor's child")
        let rss = try MonitorFixture.vmRSS(e.monitorPid)
        print("berth-monitor (exec mode) VmRSS: \(rss) kB")
        #expect(rss > 0 && rss < 3 * 1024, "VmRSS \(rss) kB")
        kill(pid, SIGKILL)
        let exit = try e.waitForExit()
        #expect(exit.exitCode == 137 && exit.signal == 9 && exit.oomKilled == false, "\(exit)")
        #expect(e.waitForMonitorGone())
        #expect((try? Fixtures.read(e.stateDir + "/monitor.log")) == nil, "no notes: \((try? Fixtures.read(e.stateDir + "/monitor.log")) ?? "")")
        // The container and its own monitor carry on, and can take another exec.
        #expect(try f.h.state(c.id).status == "running")
        #expect(kill(c.monitorPid, 0) == 0)
        #expect(access(c.stateDir + "/exit.json", F_OK) != 0)
        let again = try f.exec("e2", in: c, MonitorFixture.process(["echo", "again"]))
        #expect(try again.waitForExit().exitCode == 0)
        #expect(try again.entries().map(\.log) == ["again\n"])
        #expect(try f.h.run(["kill", c.id, "KILL"]).status == 0)
        #expect(try c.waitForExit().exitCode == 137)
    }

    @Test func oomKillIsReported() throws {
        let f = try MonitorFixture(); defer { f.cleanup() }
        let bundle = try f.h.makeBundle(args: ["sleep", "30"]) { spec in
            spec.linux?.resources?.memory = Memory(limit: 16 << 20, swap: 16 << 20)
        }
        let c = try f.start("oom", bundle: bundle)
        // An exec'd process that eats memory is the OOM killer's victim; the init survives.
        let e = try f.exec("oom", in: c, MonitorFixture.process(["tail", "/dev/zero"]))
        let exit = try e.waitForExit(seconds: 30)
        #expect(exit.exitCode == 137 && exit.signal == 9 && exit.oomKilled == true, "\(exit)")
        #expect(try f.h.state(c.id).status == "running")
        // An init that is OOM-killed.
        let bundle2 = try f.h.makeBundle("bundle-oom", args: ["tail", "/dev/zero"]) { spec in
            spec.linux?.resources?.memory = Memory(limit: 16 << 20, swap: 16 << 20)
        }
        let m = try f.start("oom-init", bundle: bundle2)
        let exit2 = try m.waitForExit(seconds: 30)
        #expect(exit2.exitCode == 137 && exit2.oomKilled == true, "\(exit2)")
    }
}

/// One test's world: a RuntimeHarness for berth-runtime of this build, the berth-monitor binary,
/// and the monitors started, all torn down by `cleanup()` (containers deleted with --force,
/// monitors waited for and killed if need be, temp dir removed).
final class MonitorFixture: @unchecked Sendable {
    let h: RuntimeHarness
    let monitor = LifecycleHarness.siblingBinary("berth-monitor")
    private var started: [Started] = []

    static var available: Bool {
        RuntimeHarness.canRunContainers
            && access(LifecycleHarness.siblingBinary("berth-monitor"), X_OK) == 0
            && access(LifecycleHarness.siblingBinary("berth-runtime"), X_OK) == 0
    }

    init() throws { h = try RuntimeHarness(binary: LifecycleHarness.siblingBinary("berth-runtime")) }

    func monitorArgs(id: String, bundle: String, stateDir: String, extra: [String] = []) -> [String] {
        ["--id", id, "--bundle", bundle, "--runtime", h.binary, "--runtime-root", h.root,
         "--state-dir", stateDir, "--log-path", stateDir + "/container.log"] + extra
    }

    /// The arguments of an exec-mode monitor: `--exec-process FILE` instead of `--bundle`.
    func execArgs(id: String, process: String, stateDir: String, extra: [String] = []) -> [String] {
        ["--id", id, "--exec-process", process, "--runtime", h.binary, "--runtime-root", h.root,
         "--state-dir", stateDir, "--log-path", stateDir + "/container.log"] + extra
    }

    /// Runs an exec-mode berth-monitor for `processJSON` in container `c` (returns once the process
    /// runs) and reads its state (its own state dir; `id` is the container's).
    func exec(_ hint: String, in c: Started, _ processJSON: String, extra: [String] = []) throws -> Started {
        let stateDir = h.dir + "/exec-" + hint
        let file = h.dir + "/process-" + hint + ".json"
        try Fixtures.write(file, processJSON)
        let r = try Command.run(monitor, execArgs(id: c.id, process: file, stateDir: stateDir, extra: extra), timeout: 30)
        guard r.status == 0 else { throw HarnessError("berth-monitor --exec-process in \(c.id): \(r)") }
        let m = try Started(id: c.id, stateDir: stateDir)
        track(m)
        return m
    }

    /// An OCI `process` object as docker exec's would be, for `--exec-process`.
    static func process(_ args: [String], env: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], cwd: String = "/",
                        uid: UInt32 = 0, gid: UInt32 = 0, terminal: Bool = false) -> String {
        struct U: Encodable { var uid: UInt32; var gid: UInt32 }
        struct P: Encodable { var args: [String]; var env: [String]; var cwd: String; var user: U; var terminal: Bool }
        let data = (try? JSONEncoder().encode(P(args: args, env: env, cwd: cwd, user: U(uid: uid, gid: gid), terminal: terminal))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// VmRSS of a process in kB (-1 if unknown).
    static func vmRSS(_ pid: pid_t) throws -> Int {
        let status = try Fixtures.read("/proc/\(pid)/status")
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    /// Runs berth-monitor (which returns once the container started) and reads its state.
    func start(_ hint: String, bundle: String, extra: [String] = []) throws -> Started {
        let id = h.newID(hint)
        let stateDir = h.dir + "/mon-" + hint
        let r = try Command.run(monitor, monitorArgs(id: id, bundle: bundle, stateDir: stateDir, extra: extra), timeout: 30)
        guard r.status == 0 else { throw HarnessError("berth-monitor \(id): \(r)") }
        let m = try Started(id: id, stateDir: stateDir)
        track(m)
        return m
    }

    func track(_ m: Started) { started.append(m) }

    func cleanup() {
        for m in started { _ = try? h.run(["delete", "--force", m.id]) }
        for m in started where !m.waitForMonitorGone(seconds: 3) { kill(m.monitorPid, SIGKILL) }
        h.cleanup()
    }

    struct Entry: Decodable, Sendable { var log: String; var stream: String; var time: String }
    struct Exit: Decodable, Sendable { var exitCode: Int; var signal: Int?; var finishedAt: String; var oomKilled: Bool }

    struct Started: Sendable {
        let id: String
        let stateDir: String
        let monitorPid: pid_t
        var logPath: String { stateDir + "/container.log" }

        init(id: String, stateDir: String) throws {
            self.id = id
            self.stateDir = stateDir
            let text = try Fixtures.read(stateDir + "/monitor.pid")
            guard let pid = pid_t(text.filter { !$0.isWhitespace }), pid > 0 else {
                throw HarnessError("monitor.pid: \(text)")
            }
            monitorPid = pid
            let initPid = try Fixtures.read(stateDir + "/init.pid")
            guard Int(initPid.filter { !$0.isWhitespace }) != nil else { throw HarnessError("init.pid: \(initPid)") }
        }

        func entries() throws -> [Entry] { try MonitorFixture.parse(try Fixtures.read(logPath)) }

        func waitForExit(seconds: Int = 20) throws -> Exit {
            let path = stateDir + "/exit.json"
            for _ in 0..<(seconds * 50) {
                if access(path, F_OK) == 0 {
                    return try JSONDecoder().decode(Exit.self, from: Data(try Fixtures.read(path).utf8))
                }
                usleep(20_000)
            }
            let notes = (try? Fixtures.read(stateDir + "/monitor.log")) ?? ""
            throw HarnessError("no exit.json in \(stateDir) after \(seconds)s; monitor.log: \(notes)")
        }

        /// Whether the monitor process is gone (or a zombie waiting for a reaper) within `seconds`.
        func waitForMonitorGone(seconds: Int = 5) -> Bool {
            for _ in 0..<(seconds * 50) {
                if kill(monitorPid, 0) != 0 && errno == ESRCH { return true }
                if let s = try? MonitorFixture.procStat(monitorPid), s.state == "Z" { return true }
                usleep(20_000)
            }
            return false
        }
    }

    static func parse(_ text: String) throws -> [Entry] {
        try text.split(separator: "\n").map { try JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    /// `2026-11-24T09:00:00.123456789Z`
    static func isRFC3339Nano(_ s: String) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:dd.dddddddddZ")
        let chars = Array(s)
        guard chars.count == pattern.count else { return false }
        for (c, p) in zip(chars, pattern) {
            if p == "d" { guard c.isASCII && c.isNumber else { return false } } else if c != p { return false }
        }
        return true
    }

    /// Within ten minutes of now.
    static func isRecent(_ s: String) -> Bool {
        let n = s.split(whereSeparator: { "-T:.Z".contains($0) }).compactMap { Int($0) }
        guard n.count >= 6 else { return false }
        var tm = tm()
        tm.tm_year = Int32(n[0] - 1900); tm.tm_mon = Int32(n[1] - 1); tm.tm_mday = Int32(n[2])
        tm.tm_hour = Int32(n[3]); tm.tm_min = Int32(n[4]); tm.tm_sec = Int32(n[5])
        return abs(Int(timegm(&tm)) - Int(time(nil))) < 600
    }

    /// Fields of /proc/<pid>/stat after the command name.
    static func procStat(_ pid: pid_t) throws -> (state: String, ppid: pid_t, sid: pid_t) {
        let text = try Fixtures.read("/proc/\(pid)/stat")
        guard let close = text.lastIndex(of: ")") else { throw HarnessError("stat: \(text)") }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 4, let ppid = pid_t(fields[1]), let sid = pid_t(fields[3]) else { throw HarnessError("stat: \(text)") }
        return (String(fields[0]), ppid, sid)
    }

    /// Connects to a monitor's control socket, sends `command`, reads the one-line reply, then
    /// sends `then` (if any) and closes the connection.
    static func control(_ path: String, _ command: String, then: String? = nil) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw HarnessError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw HarnessError("connect \(path): errno \(errno)") }
        func send(_ s: String) throws {
            let b = Array(s.utf8)
            var off = 0
            while off < b.count {
                let n = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { throw HarnessError("send: errno \(errno)") }
                off += n
            }
        }
        try send(command)
        var reply: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            reply.append(byte)
            if byte == UInt8(ascii: "\n") { break }
        }
        if let then { try send(then) }
        shutdown(fd, Int32(SHUT_WR))
        return String(decoding: reply, as: UTF8.self)
    }
}
