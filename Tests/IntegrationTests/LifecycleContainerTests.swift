import Foundation
import Glibc
import Testing
import BerthImage
import BerthTestSupport
import BerthWire

/// The container tier of berth-lifecycled, driven over its socket with the real berth-monitor and
/// berth-runtime, each test in its own temp roots and cgroup parent.
@Suite(.serialized, .enabled(if: LifecycleHarness.available), .timeLimit(.minutes(3)))
struct LifecycleContainerTests: LifecycleDriving {
    // MARK: tests

    @Test func createStartWaitInspectLogsRemove() async throws {
        try await withDaemon { lc, c in
            let id = try await create(c, ["sh", "-c", "echo out; echo err >&2; exit 3"], name: "berth-test-first") { p in
                p.labels = ["tier": "containers"]
            }
            var info = try await inspect(c, "berth-test-first")
            #expect(info.id == id && info.state.status == "created" && info.name == "/berth-test-first")
            #expect(info.config.labels?["tier"] == "containers")
            #expect(info.path == "sh" && info.args == ["-c", "echo out; echo err >&2; exit 3"])
            try await start(c, String(id.prefix(12)))
            let w = try await c.call("container.wait", ContainerWaitParams(id: id), returning: ContainerWaitResult.self)
            #expect(w.statusCode == 3)
            info = try await inspect(c, id)
            #expect(info.state.status == "exited" && info.state.exitCode == 3 && !info.state.running)
            #expect(info.state.finishedAt != ContainerState.zeroTime)

            let out = try await logs(c, ContainerLogsParams(id: id, stdout: true))
            #expect(out.map(\.log) == ["out\n"] && out.first?.stream == "stdout")
            let err = try await logs(c, ContainerLogsParams(id: id, stderr: true))
            #expect(err.map(\.log) == ["err\n"] && err.first?.stream == "stderr")

            let listed = try await c.call("container.list", ContainerListParams(all: true), returning: [ContainerSummary].self)
            #expect(listed.map(\.id) == [id])
            #expect(listed.first?.status.hasPrefix("Exited (3)") == true)
            let running = try await c.call("container.list", ContainerListParams(), returning: [ContainerSummary].self)
            #expect(running.isEmpty)

            await expectError(409, "already in use") { _ = try await create(c, ["true"], name: "berth-test-first") }
            await expectError(404, "No such container: nope") { _ = try await inspect(c, "nope") }
            await expectError(404, "No such image") { _ = try await c.call("container.create", ContainerCreateRequest(config: ContainerCreateParams(image: "nosuch:image", cmd: ["true"])), returning: ContainerCreateResult.self) }
            await expectError(400, "Invalid container name") { _ = try await create(c, ["true"], name: "bad name!") }
            await expectError(400, "stat /no/such/binary: no such file or directory") {
                let bad = try await create(c, ["/no/such/binary"])
                try await start(c, bad)
            }

            _ = try await c.call("container.remove", ContainerRemoveParams(id: id), returning: Empty.self)
            await expectError(404, "No such container") { _ = try await inspect(c, id) }
            #expect(!FileManager.default.fileExists(atPath: "\(lc.root)/containers/\(id)"))
        }
    }

    @Test func hundredThousandLinesOfLogsNothingLost() async throws {
        try await withDaemon { _, c in
            let (id, code) = try await run(c, ["seq", "1", "100000"])
            #expect(code == 0)
            let all = try await logs(c, ContainerLogsParams(id: id, stdout: true, stderr: true))
            #expect(all.count == 100_000)
            #expect(all.first?.log == "1\n" && all.last?.log == "100000\n")
            #expect(zip(all, 1...).allSatisfy { $0.log == "\($1)\n" })
            let tail = try await logs(c, ContainerLogsParams(id: id, stdout: true, tail: "3"))
            #expect(tail.map(\.log) == ["99998\n", "99999\n", "100000\n"])

            // Rotation: max-size and max-file bound the files; the newest lines survive.
            let (rid, _) = try await run(c, ["seq", "1", "20000"]) { p in
                p.hostConfig = HostConfig(logConfig: LogConfig(type: "json-file", config: ["max-size": "64k", "max-file": "3"]))
            }
            let rotated = try await logs(c, ContainerLogsParams(id: rid, stdout: true))
            #expect(rotated.last?.log == "20000\n")
            #expect(rotated.count < 20000 && rotated.count > 1000)
            let info = try await inspect(c, rid)
            #expect(!FileManager.default.fileExists(atPath: info.logPath + ".3"))
            #expect(FileManager.default.fileExists(atPath: info.logPath + ".2"))
        }
    }

    @Test func fiftyContainersStartedAtOnce() async throws {
        try await withDaemon { lc, c in
            let ids = try await withThrowingTaskGroup(of: String.self) { g in
                for i in 0..<50 {
                    g.addTask {
                        let conn = try await WireClient.connect(path: lc.socket)
                        defer { Task { await conn.close() } }
                        let id = try await create(conn, ["sleep", "60"], name: "berth-test-many-\(i)")
                        try await start(conn, id)
                        return id
                    }
                }
                var out: [String] = []
                for try await id in g { out.append(id) }
                return out
            }
            #expect(Set(ids).count == 50)
            let running = try await c.call("container.list", ContainerListParams(), returning: [ContainerSummary].self)
            #expect(running.count == 50 && running.allSatisfy { $0.state == "running" })
            for id in ids {
                let i = try await inspect(c, id)
                #expect(i.state.pid > 0 && kill(Int32(i.state.pid), 0) == 0)
            }
            try await withThrowingTaskGroup(of: Void.self) { g in
                for id in ids {
                    g.addTask {
                        let conn = try await WireClient.connect(path: lc.socket)
                        _ = try await conn.call("container.remove", ContainerRemoveParams(id: id, force: true), returning: Empty.self)
                        await conn.close()
                    }
                }
                try await g.waitForAll()
            }
            let left = try await c.call("container.list", ContainerListParams(all: true), returning: [ContainerSummary].self)
            #expect(left.isEmpty)
        }
    }

    @Test func liveRestoreAfterKillDashNine() async throws {
        try await withDaemon { lc, c in
            let printer = try await create(c, ["sh", "-c", "i=1; while [ $i -le 40 ]; do echo line $i; i=$((i+1)); sleep 0.05; done"])
            let sleeper = try await create(c, ["sh", "-c", "trap 'exit 9' USR1; while true; do sleep 0.1; done"])
            let quitter = try await create(c, ["sh", "-c", "sleep 0.3; exit 7"])
            for id in [printer, sleeper, quitter] { try await start(c, id) }
            // Stopped by the user: `always` brings it back when the daemon starts, `unless-stopped` not.
            var stopped: [String: String] = [:]
            for policy in ["always", "unless-stopped"] {
                let id = try await create(c, ["sleep", "60"]) { p in p.hostConfig = HostConfig(restartPolicy: RestartPolicy(name: policy)) }
                try await start(c, id)
                _ = try await c.call("container.stop", ContainerStopParams(id: id, timeout: 0), returning: ContainerChangeResult.self)
                stopped[policy] = id
            }
            let sleeperPid = try await inspect(c, sleeper).state.pid

            await lc.crash()
            try await Task.sleep(for: .milliseconds(800))  // the quitter exits while the daemon is down
            try await lc.start()
            let c2 = try await lc.client()

            let s = try await inspect(c2, sleeper)
            #expect(s.state.running && s.state.pid == sleeperPid)
            let q = try await inspect(c2, quitter)
            #expect(q.state.status == "exited" && q.state.exitCode == 7)
            #expect(try await inspect(c2, stopped["always"] ?? "").state.running)
            #expect(try await !inspect(c2, stopped["unless-stopped"] ?? "").state.running)
            let w = try await c2.call("container.wait", ContainerWaitParams(id: printer), returning: ContainerWaitResult.self)
            #expect(w.statusCode == 0)
            let lines = try await logs(c2, ContainerLogsParams(id: printer, stdout: true))
            #expect(lines.map(\.log) == (1...40).map { "line \($0)\n" })

            // The restored container is supervised again: stop works and records its exit.
            _ = try await c2.call("container.stop", ContainerStopParams(id: sleeper, timeout: 1), returning: ContainerChangeResult.self)
            let after = try await inspect(c2, sleeper)
            // `sleep` as PID 1 ignores SIGTERM (no default action for init), so the timeout's SIGKILL ends it.
            #expect(!after.state.running && after.state.exitCode == 137)
        }
    }

    @Test func restartPoliciesWithBackoff() async throws {
        try await withDaemon { _, c in
            let id = try await create(c, ["sh", "-c", "echo run; exit 3"]) { p in
                p.hostConfig = HostConfig(restartPolicy: RestartPolicy(name: "on-failure", maximumRetryCount: 2))
            }
            try await start(c, id)
            var info = try await inspect(c, id)
            for _ in 0..<100 where info.restartCount < 2 || info.state.running || info.state.restarting {
                try await Task.sleep(for: .milliseconds(100))
                info = try await inspect(c, id)
            }
            #expect(info.restartCount == 2 && info.state.status == "exited" && info.state.exitCode == 3)
            let runs = try await logs(c, ContainerLogsParams(id: id, stdout: true))
            #expect(runs.map(\.log) == ["run\n", "run\n", "run\n"])

            // `always` brings a crashed container back; `stop` keeps it down.
            let always = try await create(c, ["sh", "-c", "sleep 0.2; exit 1"]) { p in
                p.hostConfig = HostConfig(restartPolicy: RestartPolicy(name: "always"))
            }
            try await start(c, always)
            var a = try await inspect(c, always)
            for _ in 0..<100 where a.restartCount < 1 {
                try await Task.sleep(for: .milliseconds(50))
                a = try await inspect(c, always)
            }
            #expect(a.restartCount >= 1)
            _ = try await c.call("container.stop", ContainerStopParams(id: always, timeout: 1), returning: ContainerChangeResult.self)
            let count = try await inspect(c, always).restartCount
            try await Task.sleep(for: .milliseconds(700))
            a = try await inspect(c, always)
            #expect(!a.state.running && !a.state.restarting && a.restartCount == count)

            await expectError(400, "restart policy") {
                _ = try await create(c, ["true"]) { p in
                    p.hostConfig = HostConfig(restartPolicy: RestartPolicy(name: "always"), autoRemove: true)
                }
            }
        }
    }

    @Test func stopKillPauseAutoRemoveAndWaitConditions() async throws {
        try await withDaemon { _, c in
            // A process that ignores SIGTERM is killed after the timeout.
            let stubborn = try await create(c, ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
            try await start(c, stubborn)
            let t0 = Date()
            _ = try await c.call("container.stop", ContainerStopParams(id: stubborn, timeout: 1), returning: ContainerChangeResult.self)
            #expect(Date().timeIntervalSince(t0) < 5)
            #expect(try await inspect(c, stubborn).state.exitCode == 137)
            let again = try await c.call("container.stop", ContainerStopParams(id: stubborn), returning: ContainerChangeResult.self)
            #expect(again.notModified)

            let sleeper = try await create(c, ["sh", "-c", "trap 'exit 9' USR1; while true; do sleep 0.1; done"])
            try await start(c, sleeper)
            _ = try await c.call("container.pause", ContainerRefParams(id: sleeper), returning: Empty.self)
            #expect(try await inspect(c, sleeper).state.status == "paused")
            await expectError(409, "already paused") { _ = try await c.call("container.pause", ContainerRefParams(id: sleeper), returning: Empty.self) }
            await expectError(409, "cannot remove a paused container") { _ = try await c.call("container.remove", ContainerRemoveParams(id: sleeper), returning: Empty.self) }
            _ = try await c.call("container.unpause", ContainerRefParams(id: sleeper), returning: Empty.self)
            await expectError(409, "cannot remove a running container") { _ = try await c.call("container.remove", ContainerRemoveParams(id: sleeper), returning: Empty.self) }
            _ = try await c.call("container.kill", ContainerKillParams(id: sleeper, signal: "USR1"), returning: Empty.self)
            let w = try await c.call("container.wait", ContainerWaitParams(id: sleeper), returning: ContainerWaitResult.self)
            #expect(w.statusCode == 9)
            await expectError(409, "is not running") { _ = try await c.call("container.kill", ContainerKillParams(id: sleeper), returning: Empty.self) }

            // --rm: the container is gone once it exited; `removed` waits for that.
            let auto = try await create(c, ["sh", "-c", "exit 4"]) { p in p.hostConfig = HostConfig(autoRemove: true) }
            async let removed = c.call("container.wait", ContainerWaitParams(id: auto, condition: "removed"), returning: ContainerWaitResult.self)
            try await Task.sleep(for: .milliseconds(100))
            try await start(c, auto)
            #expect(try await removed.statusCode == 4)
            await expectError(404, "No such container") { _ = try await inspect(c, auto) }
        }
    }

    @Test func execExitCodesEnvUserWorkdir() async throws {
        try await withDaemon { _, c in
            let id = try await create(c, ["sleep", "60"]) { p in p.env = ["FROM_CONTAINER=1"] }
            try await start(c, id)
            func exec(_ cfg: ExecConfig) async throws -> (Int?, String) {
                let e = try await c.call("exec.create", ExecCreateParams(id: id, config: cfg), returning: ContainerCreateResult.self)
                let box = Collected<LogEntry>()
                let r = try await c.call("exec.start", ExecStartParams(execId: e.id), returning: ExecStartResult.self, progress: LogBatch.self) { box.add($0.entries) }
                let inspected = try await c.call("exec.inspect", ExecRefParams(execId: e.id), returning: ExecInspect.self)
                #expect(inspected.exitCode == r.exitCode && !inspected.running)
                return (r.exitCode, box.entries.map(\.log).joined())
            }
            #expect(try await exec(ExecConfig(cmd: ["sh", "-c", "exit 5"])).0 == 5)
            #expect(try await exec(ExecConfig(cmd: ["true"])).0 == 0)
            let (code, out) = try await exec(ExecConfig(cmd: ["sh", "-c", "echo $FROM_CONTAINER $EXTRA $(id -u) $(pwd)"], env: ["EXTRA=x"],
                                                        user: "1000", workingDir: "/tmp"))
            #expect(code == 0 && out == "1 x 1000 /tmp\n")
            let (ttyCode, ttyOut) = try await exec(ExecConfig(cmd: ["sh", "-c", "test -t 1 && echo tty"], tty: true))
            #expect(ttyCode == 0 && ttyOut.hasPrefix("tty"))
            await expectError(400, "stat /nope: no such file or directory") { _ = try await exec(ExecConfig(cmd: ["/nope"])) }
            _ = try await c.call("container.kill", ContainerKillParams(id: id), returning: Empty.self)
            _ = try await c.call("container.wait", ContainerWaitParams(id: id), returning: ContainerWaitResult.self)
            await expectError(409, "is not running") {
                _ = try await c.call("exec.create", ExecCreateParams(id: id, config: ExecConfig(cmd: ["true"])), returning: ContainerCreateResult.self)
            }
        }
    }

    @Test func volumeOutlivesItsContainer() async throws {
        try await withDaemon { lc, c in
            let (writer, code) = try await run(c, ["sh", "-c", "echo kept > /data/file; echo gone > /anon/file"]) { p in
                p.volumes = ["/anon": EmptyObject()]
                p.hostConfig = HostConfig(binds: ["berth-test-vol:/data"])
            }
            #expect(code == 0)
            let info = try await inspect(c, writer)
            let anon = try #require(info.mounts.first { $0.destination == "/anon" }?.name)
            #expect(info.mounts.contains { $0.name == "berth-test-vol" && $0.type == "volume" })
            await expectError(409, "in use") { _ = try await c.call("volume.remove", ["name": "berth-test-vol"], returning: Empty.self) }
            _ = try await c.call("container.remove", ContainerRemoveParams(id: writer, volumes: true), returning: Empty.self)
            #expect(!FileManager.default.fileExists(atPath: "\(lc.root)/volumes/\(anon)"))

            let (reader, rc) = try await run(c, ["cat", "/data/file"]) { p in p.hostConfig = HostConfig(binds: ["berth-test-vol:/data:ro"]) }
            #expect(rc == 0)
            #expect(try await logs(c, ContainerLogsParams(id: reader, stdout: true)).map(\.log) == ["kept\n"])
            let (_, roCode) = try await run(c, ["touch", "/data/x"]) { p in p.hostConfig = HostConfig(binds: ["berth-test-vol:/data:ro"]) }
            #expect(roCode != 0)

            // Bind mounts and tmpfs.
            let host = lc.dir + "/bind"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            let (_, bc) = try await run(c, ["sh", "-c", "echo hi > /host/f && grep -q ' /scratch tmpfs' /proc/mounts"]) { p in
                p.hostConfig = HostConfig(binds: ["\(host):/host"], tmpfs: ["/scratch": "size=1m"])
            }
            #expect(bc == 0)
            #expect((try? String(contentsOfFile: host + "/f", encoding: .utf8)) == "hi\n")
        }
    }

    @Test func changesCopyExportCommitTopStatsRenameAttach() async throws {
        struct Change: Decodable, Equatable { var Path: String; var Kind: Int }
        struct Stat: Decodable { var name: String; var size: Int64 }
        struct Stats: Decodable { struct P: Decodable { var current: UInt64 }; var pids_stats: P; var name: String }
        try await withDaemon { lc, c in
            let id = try await create(c, ["sh", "-c", "mkdir /work && echo data > /work/f && rm /bin/false && echo ready && sleep 60"], name: "berth-test-fs") { p in
                p.openStdin = true
            }
            // Attach before start, as `docker run` does: the output arrives as it is printed.
            let attached = Collected<LogEntry>()
            let attacher = try await WireClient.connect(path: lc.socket)
            let attach = Task { try await attacher.call("container.attach", ContainerAttachParams(id: id, stream: true), returning: Empty.self, progress: LogBatch.self) { attached.add($0.entries) } }
            try await Task.sleep(for: .milliseconds(200))
            try await start(c, id)
            for _ in 0..<50 where attached.entries.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            #expect(attached.entries.map(\.log) == ["ready\n"])

            let changes = try await c.call("container.changes", ContainerRefParams(id: id), returning: [Change].self)
            #expect(changes.contains(Change(Path: "/work", Kind: 1)) && changes.contains(Change(Path: "/work/f", Kind: 1)))
            #expect(changes.contains(Change(Path: "/bin/false", Kind: 2)) && changes.contains(Change(Path: "/bin", Kind: 0)))

            // docker cp out, then in; a path that escapes stays inside the container.
            let out = lc.dir + "/out.tar"
            let st = try await c.call("container.archive.get", ContainerTarParams(id: id, path: "/work", tarPath: out), returning: Stat.self)
            #expect(st.name == "work")
            let listing = try Command.run("/bin/tar", ["-tf", out])
            #expect(listing.stdout.split(separator: "\n").sorted() == ["work/", "work/f"])
            let src = lc.dir + "/in"
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            try "copied\n".write(toFile: src + "/new", atomically: true, encoding: .utf8)
            let inTar = lc.dir + "/in.tar"
            _ = try Command.run("/bin/tar", ["-C", src, "-cf", inTar, "new"])
            _ = try await c.call("container.archive.put", ContainerTarParams(id: id, path: "/../../tmp", tarPath: inTar), returning: Empty.self)
            let e = try await c.call("exec.create", ExecCreateParams(id: id, config: ExecConfig(cmd: ["cat", "/tmp/new"])), returning: ContainerCreateResult.self)
            let catOut = Collected<LogEntry>()
            _ = try await c.call("exec.start", ExecStartParams(execId: e.id), returning: ExecStartResult.self, progress: LogBatch.self) { catOut.add($0.entries) }
            #expect(catOut.entries.map(\.log) == ["copied\n"])
            await expectError(404, "Could not find the file /nope") {
                _ = try await c.call("container.archive.get", ContainerTarParams(id: id, path: "/nope", tarPath: out), returning: Stat.self)
            }

            let top = try await c.call("container.top", ContainerTopParams(id: id), returning: ContainerTopResult.self)
            #expect(top.titles.contains("PID") && top.processes.contains { $0.last?.contains("sleep 60") == true }, "\(top)")
            let stats = try await c.call("container.stats", ContainerRefParams(id: id), returning: Stats.self)
            #expect(stats.pids_stats.current >= 1 && stats.name == "/berth-test-fs")

            let committed = try await c.call("container.commit", ContainerCommitParams(id: id, reference: "berth-test/committed:v1", comment: "snap",
                                                                                    changes: ["CMD [\"cat\", \"/work/f\"]"]), returning: ImageIDResult.self)
            #expect(try await inspect(c, id).state.running)
            let (fromCommit, code) = try await run(c, []) { p in p.image = "berth-test/committed:v1" }
            #expect(code == 0)
            #expect(try await logs(c, ContainerLogsParams(id: fromCommit, stdout: true)).map(\.log) == ["data\n"])
            _ = committed

            let export = lc.dir + "/export.tar"
            _ = try await c.call("container.export", ContainerTarParams(id: id, tarPath: export), returning: Empty.self)
            let exported = try Command.run("/bin/tar", ["-tf", export])
            #expect(exported.stdout.contains("work/f") && !exported.stdout.contains("bin/false"))

            _ = try await c.call("container.rename", ContainerRenameParams(id: id, name: "berth-test-renamed"), returning: Empty.self)
            #expect(try await inspect(c, "berth-test-renamed").id == id)
            await expectError(404, "No such container") { _ = try await inspect(c, "berth-test-fs") }

            _ = try await c.call("container.kill", ContainerKillParams(id: id), returning: Empty.self)
            _ = try await attach.value
            await attacher.close()
            _ = try await c.call("container.wait", ContainerWaitParams(id: id), returning: ContainerWaitResult.self)
            await expectError(409, "cannot attach to a stopped container") {
                _ = try await c.call("container.attach", ContainerAttachParams(id: id, stream: true), returning: Empty.self, progress: LogBatch.self) { _ in }
            }
        }
    }

    @Test func healthcheckAndEvents() async throws {
        try await withDaemon { lc, c in
            let events = Collected<Event>()
            let listener = try await WireClient.connect(path: lc.socket)
            let stream = Task {
                _ = try? await listener.call("system.events", EventsParams(), returning: Empty.self, progress: Event.self) { events.add([$0]) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let id = try await create(c, ["sleep", "60"], name: "berth-test-health") { p in
                p.healthcheck = HealthConfig(test: ["CMD-SHELL", "test -f /tmp/ok"], interval: 200_000_000, timeout: 2_000_000_000, retries: 2)
            }
            try await start(c, id)
            var h = try await inspect(c, id).state.health
            #expect(h?.status == "starting")
            for _ in 0..<50 where h?.status != "unhealthy" {
                try await Task.sleep(for: .milliseconds(100)); h = try await inspect(c, id).state.health
            }
            #expect(h?.status == "unhealthy" && (h?.failingStreak ?? 0) >= 2)
            let e = try await c.call("exec.create", ExecCreateParams(id: id, config: ExecConfig(cmd: ["touch", "/tmp/ok"])), returning: ContainerCreateResult.self)
            _ = try await c.call("exec.start", ExecStartParams(execId: e.id), returning: ExecStartResult.self)
            for _ in 0..<50 where h?.status != "healthy" {
                try await Task.sleep(for: .milliseconds(100)); h = try await inspect(c, id).state.health
            }
            #expect(h?.status == "healthy" && h?.failingStreak == 0 && !(h?.log.isEmpty ?? true))
            _ = try await c.call("container.remove", ContainerRemoveParams(id: id, force: true), returning: Empty.self)
            _ = try await c.call("image.tag", ImageTagParams(source: "busybox", target: "berth-test/tagged:1"), returning: Empty.self)
            try await Task.sleep(for: .milliseconds(200))
            stream.cancel()
            await listener.close()
            let actions = events.entries.filter { $0.actor.id == id }.map(\.action)
            for a in ["create", "start", "health_status: unhealthy", "health_status: healthy", "die", "destroy"] {
                #expect(actions.contains(a), "\(actions)")
            }
            let tag = events.entries.first { $0.type == "image" && $0.action == "tag" }
            #expect(tag?.actor.attributes["name"] == "berth-test/tagged:1" && tag?.actor.id.hasPrefix("sha256:") == true)
            let create = events.entries.first { $0.action == "create" && $0.type == "container" }
            #expect(create?.actor.attributes["name"] == "berth-test-health" && create?.actor.attributes["image"] == "busybox")
        }
    }
}

final class Collected<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    init() {}
    func add(_ e: [T]) { lock.lock(); items += e; lock.unlock() }
    var entries: [T] { lock.lock(); defer { lock.unlock() }; return items }
}
