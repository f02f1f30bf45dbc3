import Testing
import Glibc
import FoundationEssentials
import BerthTestSupport

// berth-runtime as a drop-in runtime of Debian's dockerd: the suite starts a private dockerd and
// containerd (own data/exec roots, sockets, pid file and bridge) with `berth` registered as a runtime,
// imports a busybox image made offline from busybox-static, and drives it with the real docker CLI.
// Everything it starts is torn down after the suite, on failure too.

/// A private dockerd + containerd in a temp dir. Only processes this class spawned are ever signalled
/// (by pid); containerd shims are found by our unique containerd socket path in their argv.
final class DockerEnvironment: @unchecked Sendable {
    static let dockerdPath = "/usr/sbin/dockerd"
    static let containerdPath = "/usr/bin/containerd"
    static let dockerPath = "/usr/bin/docker"
    static let runc = "/usr/sbin/runc"
    static let ipTool = "/sbin/ip"
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Root, and everything the suite needs is installed.
    static var available: Bool {
        geteuid() == 0 && RuntimeHarness.canRunContainers
            && [dockerdPath, containerdPath, dockerPath, "/usr/bin/containerd-shim-runc-v2", runc, ipTool]
                .allSatisfy { (path: String) in access(path, X_OK) == 0 }
    }

    @TaskLocal static var current: DockerEnvironment?
    /// Why the environment could not be started (reported by every test of the suite).
    @TaskLocal static var startError: String?

    let dir: String
    let runtime: String
    let bridge: String
    let subnet: String          // "10.213.N" (the bridge is .1/24)
    var socket: String { dir + "/docker.sock" }
    var containerdSocket: String { dir + "/containerd/containerd.sock" }
    var dockerdLog: String { dir + "/dockerd.log" }
    var containerdLog: String { dir + "/containerd.log" }
    private var dockerdPID: pid_t = 0
    private var containerdPID: pid_t = 0
    private var bridgeCreated = false

    init(runtime: String) throws {
        var template = Array("/tmp/berth-dropin-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp: errno \(errno)") }
        dir = String(cString: p)
        // dockerd needs an absolute path (BERTH_RUNTIME may be relative).
        if let abs = realpath(runtime, nil) { self.runtime = String(cString: abs); free(abs) } else { self.runtime = runtime }
        // IFNAMSIZ is 16: "berthtbr" + 6 hex digits.
        bridge = "berthtbr" + String(UInt32.random(in: 0...0xffffff), radix: 16).leftPadded(6)
        subnet = "10.213.\(UInt8.random(in: 20...250))"
    }

    // MARK: start

    func start() throws {
        guard access(runtime, X_OK) == 0 else {
            throw HarnessError("berth-runtime not built at \(runtime) (swift build, or set BERTH_RUNTIME)")
        }
        for d in ["containerd", "data", "exec", "home", "cli"] { try Fixtures.mkdirAll(dir + "/" + d) }

        // Our own bridge: dockerd started with --bridge=none in the host namespace would delete docker0.
        let addrs = try Command.run(DockerEnvironment.ipTool, ["-4", "-o", "addr"]).stdout
        guard !addrs.contains(" \(subnet).") else { throw HarnessError("subnet \(subnet).0/24 is in use") }
        try ip(["link", "add", bridge, "type", "bridge"])
        bridgeCreated = true
        try ip(["addr", "add", "\(subnet).1/24", "dev", bridge])
        try ip(["link", "set", bridge, "up"])

        try Fixtures.write(dir + "/containerd.toml", """
            version = 2
            root = "\(dir)/containerd/root"
            state = "\(dir)/containerd/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(containerdSocket)"
            [ttrpc]
              address = "\(containerdSocket).ttrpc"
            [debug]
              address = "\(dir)/containerd/debug.sock"
              level = "debug"

            """)
        containerdPID = try spawn(DockerEnvironment.containerdPath, ["--config", dir + "/containerd.toml"], log: containerdLog)
        try waitFor("containerd socket", seconds: 30, pid: containerdPID, log: containerdLog) { access(self.containerdSocket, F_OK) == 0 }

        try Fixtures.write(dir + "/daemon.json", #"{"runtimes": {"berth": {"path": "\#(runtime)"}}}"# + "\n")
        dockerdPID = try spawn(DockerEnvironment.dockerdPath, [
            "--config-file", dir + "/daemon.json",
            "--data-root", dir + "/data", "--exec-root", dir + "/exec", "--pidfile", dir + "/dockerd.pid",
            "-H", "unix://" + socket, "--containerd", containerdSocket,
            "--bridge", bridge, "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
            "--userland-proxy=false", "--debug", "--cgroup-parent", cgroupParent,
        ], log: dockerdLog)
        try waitFor("dockerd API", seconds: 60, pid: dockerdPID, log: dockerdLog) {
            access(self.socket, F_OK) == 0 && ((try? self.docker(["version"], timeout: 10).status) == 0)
        }

        // busybox:latest, offline: a busybox-static rootfs imported as one layer.
        let rootfs = dir + "/busybox-rootfs"
        try Fixtures.makeBusyboxRootfs(at: rootfs)
        let imp = try Command.run("/bin/sh", ["-c", "tar -C '\(rootfs)' -c . | \(DockerEnvironment.dockerPath) -H unix://\(socket) import - busybox:latest"],
                                  env: env, timeout: 120)
        guard imp.status == 0 else { throw HarnessError("docker import: \(imp)") }
    }

    var env: [String] { ["PATH=\(DockerEnvironment.path)", "HOME=\(dir)/home", "DOCKER_CONFIG=\(dir)/cli"] }

    /// Runs the docker CLI against our dockerd.
    @discardableResult
    func docker(_ args: [String], stdin: String? = nil, timeout: Int = 60) throws -> Command.Result {
        try Command.run(DockerEnvironment.dockerPath, ["-H", "unix://" + socket] + args, stdin: stdin, env: env, timeout: timeout)
    }

    func ip(_ args: [String]) throws {
        let r = try Command.run(DockerEnvironment.ipTool, args)
        guard r.status == 0 else { throw HarnessError("ip \(args.joined(separator: " ")): \(r)") }
    }

    private func spawn(_ path: String, _ args: [String], log: String) throws -> pid_t {
        try TestRegistry.spawnProcess(path, args, log: log, env: env)
    }

    private func waitFor(_ what: String, seconds: Int, pid: pid_t, log: String, _ ready: () -> Bool) throws {
        let deadline = time(nil) + seconds
        while !ready() {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                if pid == dockerdPID { dockerdPID = 0 } else if pid == containerdPID { containerdPID = 0 }
                throw HarnessError("\(what): the daemon exited (status \(status)):\n\(tail(log))")
            }
            if time(nil) > deadline { throw HarnessError("\(what) not ready after \(seconds)s:\n\(tail(log))") }
            usleep(100_000)
        }
    }

    // MARK: diagnostics

    func tail(_ path: String, lines: Int = 40) -> String {
        guard let text = try? Fixtures.read(path) else { return "(no \(path))" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// What to read when a check fails: the daemons' logs and any runtime --log of a live bundle.
    func diagnostics() -> String {
        var out = "--- dockerd.log (tail)\n\(tail(dockerdLog, lines: 25))\n--- containerd.log (tail)\n\(tail(containerdLog, lines: 25))\n"
        let bundles = dir + "/containerd/state/io.containerd.runtime.v2.task/moby"
        if let ids = try? Command.run("/bin/ls", [bundles]).stdout.split(separator: "\n") {
            for id in ids {
                out += "--- \(id)/log.json\n\(tail("\(bundles)/\(id)/log.json", lines: 10))\n"
            }
        }
        return out
    }

    /// The same docker command with runc instead of berth (for failure messages).
    func withRunc(_ args: [String]) -> String {
        var a: [String] = []
        var i = 0
        while i < args.count {
            if args[i] == "--name" { i += 2; continue }
            a.append(args[i] == "berth" && i > 0 && args[i - 1] == "--runtime" ? "runc" : args[i])
            i += 1
        }
        if a.first == "run" && !a.contains("--rm") && !a.contains("-d") { a.insert("--rm", at: 1) }
        guard let r = try? docker(a) else { return "(docker with runc failed to run)" }
        return "with --runtime runc: \(r)"
    }

    // MARK: teardown

    /// Stops and removes everything start() made, in the order that leaves nothing behind.
    func teardown() {
        if dockerdPID > 0 {
            if let ids = try? docker(["ps", "-aq"], timeout: 20), ids.status == 0 {
                let list = ids.stdout.split(separator: "\n").map(String.init)
                if !list.isEmpty { _ = try? docker(["rm", "-f"] + list, timeout: 60) }
            }
            stop(pid: dockerdPID, grace: 30)
            dockerdPID = 0
        }
        // Containers that outlived dockerd (it crashed, or rm failed): delete them by their runtime state.
        let exec = dir + "/exec"
        if let roots = try? Command.run("/bin/sh", ["-c", "ls -d '\(exec)'/runtime-*/moby 2>/dev/null"]).stdout {
            for root in roots.split(separator: "\n").map(String.init) {
                let ids = (try? Command.run("/bin/ls", [root]).stdout.split(separator: "\n").map(String.init)) ?? []
                for id in ids {
                    let r = try? Command.run(runtime, ["--root", root, "delete", "--force", id], timeout: 20)
                    if r?.status != 0 { _ = try? Command.run(DockerEnvironment.runc, ["--root", root, "delete", "--force", id], timeout: 20) }
                }
            }
        }
        if containerdPID > 0 {
            stop(pid: containerdPID, grace: 20)
            containerdPID = 0
        }
        // Shims of our containerd (not our children: they re-parent). Matched by our socket path only.
        for pid in DockerEnvironment.pids(withArgument: containerdSocket) { kill(pid, SIGKILL) }
        unmountAll(under: dir)
        if bridgeCreated { _ = try? Command.run(DockerEnvironment.ipTool, ["link", "del", bridge]); bridgeCreated = false }
        // dockerd's cgroup parent (its default /docker was left on the host after every run).
        for h in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            rmdir("/sys/fs/cgroup/\(h)\(cgroupParent)")
        }
        _ = try? Command.run("/bin/rm", ["-rf", "--one-file-system", dir], timeout: 120)
    }

    /// dockerd's `--cgroup-parent`: unique to this environment, removed at teardown.
    var cgroupParent: String { "/berth-test-docker-" + (dir.split(separator: "/").last.map(String.init) ?? "env") }

    /// SIGTERM, then SIGKILL after `grace` seconds, of a child we spawned; reaps it.
    private func stop(pid: pid_t, grace: Int) {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return }
        kill(pid, SIGTERM)
        let deadline = time(nil) + grace
        while time(nil) <= deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    static func pids(withArgument arg: String) -> [pid_t] {
        guard let d = opendir("/proc") else { return [] }
        defer { closedir(d) }
        var out: [pid_t] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), pid != getpid() else { continue }
            guard let cmdline = try? Fixtures.read("/proc/\(pid)/cmdline") else { continue }
            if cmdline.split(separator: "\0").contains(where: { $0 == arg }) { out.append(pid) }
        }
        return out
    }

    /// Lazily unmounts every mount at or below `root`, deepest first, until none is left.
    func unmountAll(under root: String) {
        for _ in 0..<5 {
            guard let info = try? Fixtures.read("/proc/self/mountinfo") else { return }
            let points = info.split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.count > 4 else { return nil }
                let p = DockerEnvironment.unescape(String(fields[4]))
                return p == root || p.hasPrefix(root + "/") ? p : nil
            }
            if points.isEmpty { return }
            for p in points.sorted(by: { $0.count > $1.count }) { umount2(p, Int32(MNT_DETACH)) }
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: String) -> String {
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}

/// Starts one DockerEnvironment around a whole suite and tears it down afterwards, even when a
/// test fails or throws. `runtime` is registered with dockerd as the `berth` runtime.
struct DockerEnvironmentScope: SuiteTrait, TestScoping {
    var runtime = RuntimeHarness.runtimeBinary
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let env: DockerEnvironment
        do {
            env = try DockerEnvironment(runtime: runtime)
        } catch {
            try await DockerEnvironment.$startError.withValue("\(error)") { try await function() }
            return
        }
        defer { env.teardown() }
        do {
            try env.start()
        } catch {
            let message = "\(error)\n\(env.diagnostics())"
            try await DockerEnvironment.$startError.withValue(message) { try await function() }
            return
        }
        try await DockerEnvironment.$current.withValue(env) { try await function() }
    }
}

extension DockerEnvironment {
    /// The suite's dockerd (see DockerEnvironmentScope), or why it did not start.
    static func required() throws -> DockerEnvironment {
        guard let env = current else {
            throw HarnessError("the test dockerd did not start: \(startError ?? "no environment")")
        }
        return env
    }
}

@Suite("DockerDropIn", .serialized, .enabled(if: DockerEnvironment.available), DockerEnvironmentScope())
struct DockerDropInTests {
    let env: DockerEnvironment

    init() throws {
        env = try DockerEnvironment.required()
    }

    /// Runs `docker args`; on failure the comment carries the same command under runc and the logs.
    func docker(_ args: [String], timeout: Int = 60) throws -> Command.Result {
        try env.docker(args, timeout: timeout)
    }

    func failure(_ r: Command.Result, _ args: [String]) -> Comment {
        "\(r)\n\(env.withRunc(args))\n\(env.diagnostics())"
    }

    @Test func runEchoPrintsHi() throws {
        let args = ["run", "--rm", "--runtime", "berth", "busybox", "echo", "hi"]
        let r = try docker(args)
        #expect(r.status == 0 && r.stdout == "hi\n", failure(r, args))
        // --rm removed it.
        #expect(try docker(["ps", "-aq"]).stdout.isEmpty)
    }

    /// dockerd 20.10 configures the network from a prestart hook (`/proc/<dockerd>/exe libnetwork-setkey`)
    /// that the runtime must run from the host: eth0 only has the bridge's subnet if it ran.
    /// The berth CLI speaks only the Engine API, so it drives the real dockerd too (its default
    /// runtime, runc, and berth-runtime).
    @Test func berthCLIAgainstDockerd() throws {
        func berth(_ args: [String]) throws -> Command.Result {
            try Command.run(BerthdHarness.berthCLI, ["-H", "unix://" + env.socket] + args, env: env.env, timeout: 60)
        }
        let hi = try berth(["run", "--rm", "busybox", "echo", "hi"])
        #expect(hi.status == 0 && hi.stdout == "hi\n", "\(hi)")
        let viaBerthRuntime = try berth(["run", "--rm", "--runtime", "berth", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4"])
        #expect(viaBerthRuntime.status == 4 && viaBerthRuntime.stdout == "out\n" && viaBerthRuntime.stderr == "err\n", "\(viaBerthRuntime)")
        let d = try berth(["run", "-d", "--name", "berth-test-cli", "busybox", "sh", "-c", "echo started; sleep 60"])
        #expect(d.status == 0 && d.stdout.count == 65, "\(d)")
        defer { _ = try? berth(["rm", "-f", "berth-test-cli"]) }
        let ps = try berth(["ps", "--format", "{{.Names}} {{.Image}}"])
        #expect(ps.stdout.contains("berth-test-cli busybox"), "\(ps)")
        // (sh execs its last command: PID 1 is `sleep 60` by now, or still the shell.)
        let exec = try berth(["exec", "berth-test-cli", "cat", "/proc/1/cmdline"])
        #expect(exec.status == 0 && (exec.stdout.hasPrefix("sleep") || exec.stdout.hasPrefix("sh")), "\(exec)")
        let logs = try berth(["logs", "berth-test-cli"])
        #expect(logs.stdout == "started\n", "\(logs)")
        let version = try berth(["version", "--format", "{{.Server.Version}}"])
        #expect(version.status == 0 && !version.stdout.isEmpty, "\(version)")
        let images = try berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(images.stdout.contains("busybox:latest"), "\(images)")
        #expect(try berth(["stop", "-t", "1", "berth-test-cli"]).status == 0)
        let rm = try berth(["rm", "berth-test-cli"])
        #expect(rm.status == 0 && rm.stdout == "berth-test-cli\n", "\(rm)")
        let missing = try berth(["rm", "berth-test-cli"])
        #expect(missing.status == 1 && missing.stderr.contains("No such container: berth-test-cli"), "\(missing)")
    }

    @Test func libnetworkPrestartHookGivesTheBridgeNetwork() throws {
        let args = ["run", "--rm", "--runtime", "berth", "busybox", "ip", "-o", "-4", "addr", "show", "eth0"]
        let r = try docker(args)
        #expect(r.status == 0 && r.stdout.contains("inet \(env.subnet)."), failure(r, args))
    }

    @Test func detachedContainerExecStopAndRm() throws {
        let name = "berth-test-d"
        let runArgs = ["run", "-d", "--runtime", "berth", "--name", name, "busybox", "sleep", "60"]
        let run = try docker(runArgs)
        try #require(run.status == 0, failure(run, runArgs))
        let id = run.stdout.trimmingSuffix("\n")
        #expect(try docker(["inspect", "-f", "{{.HostConfig.Runtime}} {{.State.Status}}", name]).stdout == "berth running\n")
        // It really is berth-runtime's container: its state is in berth's format under the shim's --root.
        let state = try Command.run("/bin/sh", ["-c", "for r in '\(env.dir)'/exec/runtime-*/moby; do '\(env.runtime)' --root \"$r\" state \(id) 2>/dev/null && exit 0; done; exit 1"])
        struct OCIState: Decodable { var id: String; var status: String }
        let decoded = try? JSONDecoder().decode(OCIState.self, from: Data(state.stdout.utf8))
        #expect(state.status == 0 && decoded?.id == id && decoded?.status == "running", "\(state)")

        let e1 = try docker(["exec", name, "echo", "from-exec"])
        #expect(e1.status == 0 && e1.stdout == "from-exec\n", "\(e1)\n\(env.diagnostics())")
        let e7 = try docker(["exec", name, "sh", "-c", "exit 7"])
        #expect(e7.status == 7, "\(e7)\n\(env.diagnostics())")

        let stop = try docker(["stop", "-t", "2", name])
        #expect(stop.status == 0, "\(stop)\n\(env.diagnostics())")
        // sleep as pid 1 ignores SIGTERM: stopped by SIGKILL after the timeout.
        let st = try docker(["inspect", "-f", "{{.State.Running}} {{.State.Status}} {{.State.ExitCode}}", name])
        #expect(st.stdout == "false exited 137\n", "\(st)")

        let rm = try docker(["rm", name])
        #expect(rm.status == 0, "\(rm)")
        #expect(try docker(["ps", "-aq"]).stdout.isEmpty)
    }

    /// `docker stop` sends SIGTERM first (runtime `kill`): a trapping init exits with its own code.
    @Test func stopDeliversSIGTERM() throws {
        let name = "berth-test-term"
        let args = ["run", "-d", "--runtime", "berth", "--name", name, "busybox", "sh", "-c",
                    "trap 'exit 3' TERM; while :; do sleep 0.1; done"]
        let run = try docker(args)
        try #require(run.status == 0, failure(run, args))
        defer { _ = try? docker(["rm", "-f", name]) }
        #expect(try docker(["stop", "-t", "20", name]).status == 0)
        #expect(try docker(["inspect", "-f", "{{.State.ExitCode}}", name]).stdout == "3\n")
    }

    @Test func execWithTTYAndStdin() throws {
        let name = "berth-test-exec"
        let run = try docker(["run", "-d", "--runtime", "berth", "--name", name, "busybox", "sleep", "60"])
        try #require(run.status == 0, "\(run)\n\(env.diagnostics())")
        defer { _ = try? docker(["rm", "-f", name]) }
        let t = try docker(["exec", "-t", name, "tty"])
        #expect(t.status == 0 && t.stdout.hasPrefix("/dev/pts/"), "\(t)")
        let i = try env.docker(["exec", "-i", name, "cat"], stdin: "through-stdin\n")
        #expect(i.status == 0 && i.stdout == "through-stdin\n", "\(i)")
        let top = try docker(["top", name])     // runtime `ps --format json`
        #expect(top.status == 0 && top.stdout.contains("sleep 60"), "\(top)")
        #expect(try docker(["pause", name]).status == 0)
        #expect(try docker(["inspect", "-f", "{{.State.Status}}", name]).stdout == "paused\n")
        #expect(try docker(["unpause", name]).status == 0)
        #expect(try docker(["inspect", "-f", "{{.State.Status}}", name]).stdout == "running\n")
    }

    /// `docker run -t` (console socket). Only checked if runc manages it on this machine.
    @Test func runWithTTY() throws {
        let reference = try docker(["run", "--rm", "--runtime", "runc", "-t", "busybox", "tty"])
        guard reference.status == 0 && reference.stdout.hasPrefix("/dev/pts/") else {
            print("DockerDropIn.runWithTTY: not checked, runc cannot do it here either: \(reference)")
            return
        }
        let args = ["run", "--rm", "--runtime", "berth", "-t", "busybox", "tty"]
        let r = try docker(args)
        #expect(r.status == 0 && r.stdout.hasPrefix("/dev/pts/"), failure(r, args))
    }

    /// A non-root user must still be able to reach `start` (the exec fifo is reopened after setuid).
    @Test func nonRootUserAndRestrictedContainer() throws {
        let args = ["run", "--rm", "--runtime", "berth", "--user", "65534:65534", "--read-only", "--cap-drop", "ALL",
                    "--memory", "32m", "--pids-limit", "50", "--network", "none", "busybox",
                    "sh", "-c", "id -u; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"]
        let r = try docker(args)
        #expect(r.status == 0 && r.stdout == "65534\n50\n", failure(r, args))
    }

    /// Docker maps runtime errors to exit codes by their text (runc's wording): 127 and 126.
    @Test func missingOrNonExecutableCommandExitCodes() throws {
        for (cmd, code) in [("/nonexistent", Int32(127)), ("nonexistent", 127), ("/etc/passwd", 126)] {
            let args = ["run", "--rm", "--runtime", "berth", "busybox", cmd]
            let r = try docker(args)
            #expect(r.status == code, failure(r, args))
        }
    }
}

private extension String {
    func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
