import Foundation
import Testing
import BerthTestSupport
@testable import BerthLifecycle
import BerthWire

/// The container tier's pure parts: time and log parsing, Docker's status texts, names, options.
struct ContainerServiceHelpersTests {
    @Test func rfc3339() {
        #expect(LogReader.parseRFC3339("1970-01-01T00:00:00Z") == 0)
        #expect(LogReader.parseRFC3339("2026-11-24T09:00:00.5Z") == 1795510800.5)
        #expect(LogReader.parseRFC3339("2026-11-24T10:00:00+01:00") == 1795510800)
        #expect(LogReader.parseRFC3339("2026-11-24T08:30:00-00:30") == 1795510800)
        let nanos = LogReader.parseRFC3339("2026-11-24T09:00:00.123456789Z") ?? 0
        #expect(abs(nanos - 1795510800.123456789) < 1e-6)
        for bad in ["", "yesterday", "2026-11-24", "2026-11-24T09:00:00Zjunk", "2026-11-24T09:00:00+1"] {
            #expect(LogReader.parseRFC3339(bad) == nil, "\(bad)")
        }
        #expect(throws: LifecycleError.self) { try EventBus.parseTime("soon") }
        #expect((try? EventBus.parseTime("12.5")) == 12.5)
    }

    @Test func jsonFileLines() {
        var buf = Array("""
            {"log":"a\\n","stream":"stdout","time":"2026-11-24T09:00:00Z"}
            {"log":"b","stream":"stderr","time":"2026-11-24T09:00:01Z"}
            not json
            {"log":"partial
            """.utf8)
        let entries = LogReader.parse(&buf, final: false)
        #expect(entries == [LogEntry(stream: "stdout", log: "a\n", time: "2026-11-24T09:00:00Z"),
                            LogEntry(stream: "stderr", log: "b", time: "2026-11-24T09:00:01Z")])
        #expect(String(decoding: buf, as: UTF8.self) == "{\"log\":\"partial")
        buf += Array("\",\"stream\":\"stdout\",\"time\":\"2026-11-24T09:00:02Z\"}".utf8)
        #expect(LogReader.parse(&buf, final: true).map(\.log) == ["partial"])
        #expect(buf.isEmpty)
    }

    @Test func rotatedLogFilesAreReadOldestFirst() async throws {
        try await withTempDir { dir in
            let path = dir + "/c-json.log"
            func line(_ s: String) -> String { "{\"log\":\"\(s)\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-24T09:00:00Z\"}\n" }
            try (line("1") + line("2")).write(toFile: path + ".2", atomically: true, encoding: .utf8)
            try line("3").write(toFile: path + ".1", atomically: true, encoding: .utf8)
            try line("4").write(toFile: path, atomically: true, encoding: .utf8)
            var r = LogReader(path: path)
            defer { r.close() }
            #expect(r.readAll().map(\.log) == ["1\n", "2\n", "3\n", "4\n"])
            #expect(r.readNew().isEmpty)
            // A rotation while following: the rest of the old file, then the new one.
            let h = try #require(FileHandle(forWritingAtPath: path))
            h.seekToEndOfFile(); h.write(Data(line("5").utf8)); h.closeFile()
            try FileManager.default.moveItem(atPath: path, toPath: path + ".x")
            try line("6").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(r.readNew().map(\.log) == ["5\n", "6\n"])
        }
    }

    @Test func statusTexts() {
        let now = Date(timeIntervalSince1970: 1795510800)
        var s = ContainerState(status: "created")
        #expect(ContainerService.statusText(s, now: now) == "Created")
        s.status = "running"; s.running = true; s.startedAt = "2026-11-24T08:57:00Z"
        #expect(ContainerService.statusText(s, now: now) == "Up 3 minutes")
        s.paused = true
        #expect(ContainerService.statusText(s, now: now) == "Up 3 minutes (Paused)")
        s.paused = false; s.health = .init(status: "starting")
        #expect(ContainerService.statusText(s, now: now) == "Up 3 minutes (health: starting)")
        s = ContainerState(status: "exited"); s.startedAt = "2026-11-24T08:00:00Z"; s.finishedAt = "2026-11-24T08:59:58Z"; s.exitCode = 3
        #expect(ContainerService.statusText(s, now: now) == "Exited (3) 2 seconds ago")
        #expect(ContainerService.humanDuration(0.5) == "Less than a second")
        #expect(ContainerService.humanDuration(90) == "About a minute")
        #expect(ContainerService.humanDuration(3600) == "About an hour")
        #expect(ContainerService.humanDuration(3 * 86400) == "3 days")
    }

    @Test func namesAndOptions() {
        for ok in ["web", "a1", "my_app.v2-x", "/web"] { #expect(ContainerService.isValidName(ok), "\(ok)") }
        for bad in ["", "a", "-web", "we b", "web/1", "ünï", "_x"] { #expect(!ContainerService.isValidName(bad), "\(bad)") }
        #expect(ContainerService.parseSize("10m") == 10 << 20)
        #expect(ContainerService.parseSize("512k") == 512 << 10)
        #expect(ContainerService.parseSize("1g") == 1 << 30)
        #expect(ContainerService.parseSize("4096") == 4096)
        #expect(ContainerService.parseSize("lots") == nil && ContainerService.parseSize("-1m") == nil && ContainerService.parseSize("0") == nil)
        #expect(ContainerService.startFailureCode("exec: \"x\": executable file not found in $PATH") == (127, true))
        #expect(ContainerService.startFailureCode("open /x: permission denied") == (126, true))
        #expect(ContainerService.startFailureCode("cgroup trouble") == (128, false))
    }

    @Test func hostConfigValidation() {
        func rejects(_ hc: HostConfig, _ fragment: String) {
            do { try ContainerService.validate(hc); Issue.record("accepted: \(fragment)") } catch {
                #expect("\(error)".contains(fragment), "\(error)")
            }
        }
        rejects(HostConfig(restartPolicy: RestartPolicy(name: "sometimes")), "invalid restart policy")
        rejects(HostConfig(restartPolicy: RestartPolicy(name: "always", maximumRetryCount: 2)), "maximum retry count")
        rejects(HostConfig(restartPolicy: RestartPolicy(name: "on-failure", maximumRetryCount: -1)), "positive integer")
        rejects(HostConfig(restartPolicy: RestartPolicy(name: "unless-stopped"), autoRemove: true), "AutoRemove")
        rejects(HostConfig(logConfig: LogConfig(type: "syslog")), "logging driver")
        rejects(HostConfig(logConfig: LogConfig(type: "json-file", config: ["max-size": "big"])), "max-size")
        rejects(HostConfig(logConfig: LogConfig(type: "json-file", config: ["max-file": "0"])), "max-file")
        rejects(HostConfig(logConfig: LogConfig(type: "json-file", config: ["colour": "red"])), "unknown log opt")
        #expect(throws: Never.self) {
            try ContainerService.validate(HostConfig(restartPolicy: RestartPolicy(name: "on-failure", maximumRetryCount: 3),
                                                     logConfig: LogConfig(type: "json-file", config: ["max-size": "1m", "max-file": "2"])))
        }
    }

    @Test func resolvConfAsDockerWritesIt() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"
        #expect(ContainerService.resolvConf(host: host, dns: [], search: [], options: [], keepLoopback: false)
                == "search corp.example\nnameserver 10.0.0.2\noptions edns0\n")
        #expect(ContainerService.resolvConf(host: "nameserver 127.0.0.1\n", dns: [], search: [], options: [], keepLoopback: false)
                == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
        #expect(ContainerService.resolvConf(host: host, dns: ["1.1.1.1"], search: ["a.b"], options: ["ndots:2"], keepLoopback: false)
                == "search a.b\nnameserver 1.1.1.1\noptions ndots:2\n")
        #expect(ContainerService.resolvConf(host: host, dns: [], search: [], options: [], keepLoopback: true).contains("127.0.0.53"))
    }

    @Test func psOutputKeepsTheCommandWhole() throws {
        let top = try ContainerService.parsePS("UID PID PPID C STIME TTY TIME CMD\nroot 11 9 0 13:09 ? 00:00:00 sleep 60\nroot 12 9 0 13:09 ? 00:00:00 sh -c echo  hi\n")
        #expect(top.titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
        #expect(top.processes == [["root", "11", "9", "0", "13:09", "?", "00:00:00", "sleep 60"],
                                  ["root", "12", "9", "0", "13:09", "?", "00:00:00", "sh -c echo  hi"]])
        #expect(throws: LifecycleError.self) { try ContainerService.parsePS("USER COMMAND\nroot sh\n") }
    }

    @Test func eventFilters() {
        let e = Event(type: "container", action: "health_status: healthy",
                      actor: .init(id: "abc123", attributes: ["name": "web", "image": "busybox", "tier": "front"]), timeNano: 1)
        #expect(EventBus.matches(e, [:]))
        #expect(EventBus.matches(e, ["type": ["container"], "event": ["health_status"]]))
        #expect(EventBus.matches(e, ["container": ["web"]]) && EventBus.matches(e, ["container": ["abc"]]))
        #expect(EventBus.matches(e, ["image": ["busybox"]]))
        #expect(EventBus.matches(e, ["label": ["tier=front"]]) && !EventBus.matches(e, ["label": ["tier=back"]]))
        #expect(!EventBus.matches(e, ["type": ["image"]]) && !EventBus.matches(e, ["container": ["db"]]))
        #expect(e.status == "health_status: healthy" && e.id == "abc123" && e.from == "busybox")
    }

    @Test func eventStreamReplaysAndFollows() async throws {
        let bus = EventBus()
        bus.publish(type: "volume", action: "create", id: "v1")
        let got = NIOLockedBox()
        let t = Task { try await bus.stream(EventsParams(since: "0", filters: ["type": ["volume"]])) { got.add($0.actor.id) } }
        try await Task.sleep(for: .milliseconds(100))
        bus.publish(type: "container", action: "start", id: "c1")
        bus.publish(type: "volume", action: "destroy", id: "v2")
        try await Task.sleep(for: .milliseconds(100))
        t.cancel()
        _ = try? await t.value
        #expect(got.items == ["v1", "v2"])
        await #expect(throws: LifecycleError.self) { try await bus.stream(EventsParams(filters: ["colour": ["x"]])) { _ in } }
    }
}

final class NIOLockedBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
