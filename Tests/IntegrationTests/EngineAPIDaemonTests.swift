import Foundation
import Glibc
import Testing
import BerthOS
import BerthTestSupport

/// berthd's dockerd-style daemon settings (daemon.json, TCP, socket group, default ulimits,
/// registry mirrors), `docker update`, and detach keys on hijacked attach and exec.
@Suite(.serialized, .enabled(if: BerthdHarness.available), .timeLimit(.minutes(4)))
struct EngineAPIDaemonTests {
    func expectOK(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    func report(_ s: String) { Issue.record(Comment(rawValue: s)) }

    @Test func configFileConflictsAndUnknownKeysStopBerthd() async throws {
        try await withTempDir(prefix: "berthd-config") { dir in
            try #"{"data-root": "/tmp/x", "debug": true}"#.write(toFile: dir + "/conflict.json", atomically: true, encoding: .utf8)
            let conflict = try Command.run(BerthdHarness.berthdBinary, ["--config-file", dir + "/conflict.json", "--data-root", dir + "/d",
                                                                         "-H", "unix://\(dir)/s.sock"], timeout: 20)
            #expect(conflict.status == 1 && conflict.stderr.contains(
                "the following directives are specified both as a flag and in the configuration file: data-root: (from flag: \(dir)/d, from file: \"/tmp/x\")"),
                    "\(conflict)")
            try #"{"storage-driver": "overlay2"}"#.write(toFile: dir + "/unknown.json", atomically: true, encoding: .utf8)
            let unknown = try Command.run(BerthdHarness.berthdBinary, ["--config-file", dir + "/unknown.json", "-H", "unix://\(dir)/s.sock"], timeout: 20)
            #expect(unknown.status == 1 && unknown.stderr.contains("the following directives don't match any configuration option: storage-driver"),
                    "\(unknown)")
            let missing = try Command.run(BerthdHarness.berthdBinary, ["--config-file", dir + "/none.json", "-H", "unix://\(dir)/s.sock"], timeout: 20)
            #expect(missing.status == 1 && missing.stderr.contains("none.json"), "\(missing)")
            let fd = try Command.run(BerthdHarness.berthdBinary, ["-H", "fd://"], timeout: 20)
            #expect(fd.status == 1 && fd.stderr.contains("fd:// (systemd socket activation) is not supported"), "\(fd)")
            let level = try Command.run(BerthdHarness.berthdBinary, ["--log-level", "loud", "-H", "unix://\(dir)/s.sock"], timeout: 20)
            #expect(level.status != 0 && level.stderr.contains("unable to parse logging level: loud"), "\(level)")
        }
    }

    /// daemon.json's keys reach berthd: a TCP listener next to the socket, default ulimits, log level.
    @Test func daemonJSONTCPListenerSocketModeAndDefaultUlimits() async throws {
        let port = try TestRegistry.freePort()
        let config = NSTemporaryDirectory() + "berthd-daemon-\(port).json"
        try #"{"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 2000, "Soft": 1000}}, "log-level": "info", "group": "berth-no-such-group"}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        defer { unlink(config) }
        try await BerthdHarness.with(extraArgs: ["-H", "tcp://127.0.0.1:\(port)", "--config-file", config], report: report) { h in
            var st = stat()
            #expect(stat(h.socket, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_uid == 0 && st.st_gid == 0)
            #expect(h.log.contains("group berth-no-such-group not found: the API socket \(h.socket) is for root only"), "\(h.log)")
            #expect(h.log.contains("Binding to IP address without --tlsverify is insecure"), "\(h.log)")
            let tcp = try Command.run(BerthdHarness.dockerCLI, ["-H", "tcp://127.0.0.1:\(port)", "version", "--format", "{{.Server.APIVersion}}"],
                                      env: ["PATH=/usr/bin:/bin", "DOCKER_CONFIG=\(h.dir)/docker-config"], timeout: 30)
            #expect(tcp.status == 0 && tcp.stdout == "1.43\n", "\(tcp)")
            let dflt = try h.docker(["run", "--rm", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"])
            #expect(dflt.status == 0 && dflt.stdout == "1000\n2000\n", "\(dflt)")
            let own = try h.docker(["run", "--rm", "--ulimit", "nofile=500:600", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"])
            #expect(own.status == 0 && own.stdout == "500\n600\n", "\(own)")
        }
    }

    /// `--registry-mirror`: docker.io references are pulled from the mirror (this machine has no
    /// docker.io; the tag exists only on the test registry).
    @Test(.enabled(if: TestRegistry.available)) func registryMirrorServesDockerHubPulls() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--registry-mirror", "http://\(registry.host)"],
                                     report: { report($0 + "\nregistry:\n" + registry.log.suffix(2000)) }) { h in
            let image = try TestImages.multiLayer(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "library/berthmirror", tag: "1")
            let pull = try h.docker(["pull", "berthmirror:1"], timeout: 120)
            expectOK(pull, "docker pull through the mirror")
            #expect(pull.stdout.contains("Status: Downloaded newer image for berthmirror:1"), "\(pull)")
            let ls = try h.docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "berthmirror"])
            #expect(ls.stdout == "berthmirror:1\n", "\(ls)")
        }
    }

    /// The container's cgroup directory for `controller` on this host (v1 or v2), from its pid.
    func cgroupDir(pid: String, controller: String) throws -> String {
        let lines = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n")
        if access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0, let l = lines.first(where: { $0.hasPrefix("0::") }) {
            return "/sys/fs/cgroup" + l.dropFirst(3)
        }
        for l in lines {
            let f = l.split(separator: ":", maxSplits: 2)
            if f.count == 3, f[1].split(separator: ",").contains(Substring(controller)) { return "/sys/fs/cgroup/\(f[1])\(f[2])" }
        }
        throw HarnessError("no \(controller) cgroup for pid \(pid)")
    }

    func read(_ path: String) -> String { ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    @Test func dockerUpdateChangesLimitsOfARunningContainer() async throws {
        try await BerthdHarness.with(report: report) { h in
            expectOK(try h.docker(["run", "-d", "--name", "upd", "busybox", "sleep", "300"]), "docker run -d")
            let up = try h.docker(["update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--pids-limit", "50",
                                   "--restart", "on-failure:2", "upd"])
            #expect(up.status == 0 && up.stdout == "upd\n", "\(up)")
            let hc = try h.docker(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "upd"])
            #expect(hc.stdout == "67108864 500000000 50 on-failure:2\n", "\(hc)")
            let pid = try h.docker(["inspect", "-f", "{{.State.Pid}}", "upd"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 {
                let dir = try cgroupDir(pid: pid, controller: "memory")
                #expect(read(dir + "/memory.max") == "67108864")
                #expect(read(dir + "/cpu.max") == "50000 100000")
                #expect(read(dir + "/pids.max") == "50")
            } else {
                #expect(read(try cgroupDir(pid: pid, controller: "memory") + "/memory.limit_in_bytes") == "67108864")
                let cpu = try cgroupDir(pid: pid, controller: "cpu")
                #expect(read(cpu + "/cpu.cfs_quota_us") == "50000" && read(cpu + "/cpu.cfs_period_us") == "100000")
                #expect(read(try cgroupDir(pid: pid, controller: "pids") + "/pids.max") == "50")
            }
            // A later start keeps the new limits (they are in the bundle too).
            expectOK(try h.docker(["restart", "-t", "0", "upd"]), "docker restart")
            let again = try h.docker(["exec", "upd", "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"])
            #expect(again.stdout == "67108864\n", "\(again)")
            // A created container: only its HostConfig changes. Bad values are Docker's 400s.
            expectOK(try h.docker(["create", "--name", "upd2", "busybox", "true"]), "docker create")
            #expect(try h.docker(["update", "--cpu-shares", "512", "upd2"]).status == 0)
            #expect(try h.docker(["inspect", "-f", "{{.HostConfig.CpuShares}}", "upd2"]).stdout == "512\n")
            let small = try h.docker(["update", "--memory", "1m", "upd"])
            #expect(small.status != 0 && small.stderr.contains("Minimum memory limit allowed is 6MB"), "\(small)")
            let api = try h.http("POST", "/v1.43/containers/upd/update", body: #"{"CpuShares": 256}"#)
            #expect(api.status == 200 && api.body == "{\"Warnings\":[]}\n", "\(api)")
            let missing = try h.http("POST", "/v1.43/containers/nosuch/update", body: "{}")
            #expect(missing.status == 404 && missing.body.contains("No such container: nosuch"), "\(missing)")
        }
    }

    /// A raw hijacked attach: writes `request`, reads the response head, then returns the socket.
    func hijack(_ socket: String, _ path: String, body: String = "") throws -> Int32 {
        let fd = try UnixSocket.connect(socket)
        var tv = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let req = "POST \(path) HTTP/1.1\r\nHost: berthd\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try send(fd, Array(req.utf8))
        var head: [UInt8] = []
        var b: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard Glibc.read(fd, &b, 1) == 1 else { close(fd); throw HarnessError("no response head on \(path): \(String(decoding: head, as: UTF8.self))") }
            head.append(b)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            close(fd)
            throw HarnessError("\(path): \(String(decoding: head, as: UTF8.self))")
        }
        return fd
    }

    func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw HarnessError("write: \(errno)") }
    }

    /// Reads until `want` appears in the output or the daemon closes the connection.
    func readUntil(_ fd: Int32, _ want: String?) -> (text: String, closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &buf, buf.count)
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: out, as: UTF8.self), false) }
            out += buf[0..<n]
            if let want, String(decoding: out, as: UTF8.self).contains(want) { return (String(decoding: out, as: UTF8.self), false) }
        }
    }

    /// `docker attach` on a pty (the CLI insists on one for a TTY container): runs a command in
    /// the container's shell, then ctrl-p ctrl-q; the CLI must exit by itself.
    static let ptyAttach = """
        import os, pty, sys, time, select
        docker, host, name = sys.argv[1:4]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(docker, [docker, "-H", host, "attach", name])
        def read_until(want, limit):
            out, end = b"", time.time() + limit
            while time.time() < end and want not in out:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try: chunk = os.read(fd, 4096)
                    except OSError: break
                    if not chunk: break
                    out += chunk
            return out
        time.sleep(1.5)
        os.write(fd, b"echo attached-$((40+2))\\n")
        out = read_until(b"attached-42", 15)
        os.write(fd, b"\\x10\\x11")
        end = time.time() + 15
        status = None
        while time.time() < end:
            read_until(b"\\xff", 0.3)
            p, st = os.waitpid(pid, os.WNOHANG)
            if p: status = os.waitstatus_to_exitcode(st); break
        if status is None:
            os.kill(pid, 9); print("docker attach did not exit:", out); sys.exit(2)
        print("attached-ok" if b"attached-42" in out else "no output: %r" % out, "exit", status)
        """

    @Test func detachKeysEndTheAttachAndTheContainerKeepsItsStdin() async throws {
        try await BerthdHarness.with(report: report) { h in
            // Without a TTY: cat echoes what it gets, so a second attach proves stdin stayed open.
            expectOK(try h.docker(["run", "-d", "-i", "--name", "cat", "busybox", "cat"]), "docker run -d -i")
            let fd = try hijack(h.socket, "/v1.43/containers/cat/attach?stream=1&stdin=1&stdout=1&stderr=1")
            try send(fd, Array("one\n".utf8))
            #expect(readUntil(fd, "one\n").text.contains("one\n"))
            // A broken match (ctrl-p x) is forwarded as input; then the sequence, split over two writes.
            try send(fd, [0x10, 0x78, 0x0a, 0x10])
            #expect(readUntil(fd, "\u{10}x\n").text.contains("\u{10}x\n"))
            try send(fd, [0x11])
            let end = readUntil(fd, nil)
            close(fd)
            #expect(end.closed, "the daemon should close the attach: \(end)")
            #expect(try h.docker(["inspect", "-f", "{{.State.Running}}", "cat"]).stdout == "true\n")
            let fd2 = try hijack(h.socket, "/v1.43/containers/cat/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-a,b")
            try send(fd2, Array("two\n".utf8))
            #expect(readUntil(fd2, "two\n").text.contains("two\n"))
            try send(fd2, [0x01, 0x62])
            let second = readUntil(fd2, nil)
            close(fd2)
            #expect(second.closed, "\(second)")
            #expect(try h.docker(["inspect", "-f", "{{.State.Running}}", "cat"]).stdout == "true\n")
            let bad = try h.http("POST", "/v1.43/containers/cat/attach?stream=1&stdin=1&detachKeys=ctrl-1")
            #expect(bad.status == 400 && bad.body.contains("Invalid detach keys (ctrl-1) provided"), "\(bad)")

            // The real docker CLI's attach on a TTY container: ctrl-p ctrl-q leaves it running.
            expectOK(try h.docker(["run", "-d", "-i", "-t", "--name", "tty", "busybox", "sh"]), "docker run -dit")
            let attach = try Command.run("/usr/bin/python3", ["-c", Self.ptyAttach, BerthdHarness.dockerCLI, h.host, "tty"],
                                         env: ["PATH=/usr/bin:/bin", "DOCKER_CONFIG=\(h.dir)/docker-config"], timeout: 60)
            #expect(attach.status == 0 && attach.stdout.contains("attached-ok"), "\(attach)")
            #expect(try h.docker(["inspect", "-f", "{{.State.Running}}", "tty"]).stdout == "true\n")

            // exec with its own DetachKeys: the exec's session ends, the exec'd cat and the container run on.
            let created = try h.http("POST", "/v1.43/containers/cat/exec",
                                     body: #"{"Cmd": ["cat"], "AttachStdin": true, "AttachStdout": true, "DetachKeys": "ctrl-x"}"#)
            #expect(created.status == 201, "\(created)")
            struct Created: Decodable { var Id: String }
            let exec = try JSONDecoder().decode(Created.self, from: Data(created.body.utf8)).Id
            let fd3 = try hijack(h.socket, "/v1.43/exec/\(exec)/start", body: #"{"Detach": false, "Tty": false}"#)
            try send(fd3, Array("three\n".utf8))
            #expect(readUntil(fd3, "three\n").text.contains("three\n"))
            try send(fd3, [0x18])
            let third = readUntil(fd3, nil)
            close(fd3)
            #expect(third.closed, "\(third)")
            #expect(try h.http("GET", "/v1.43/exec/\(exec)/json").body.contains("\"Running\":true"))
            let badExec = try h.http("POST", "/v1.43/containers/cat/exec", body: #"{"Cmd": ["true"], "DetachKeys": "ctrl-"}"#)
            #expect(badExec.status == 400 && badExec.body.contains("Invalid escape keys (ctrl-) provided"), "\(badExec)")
        }
    }
}
