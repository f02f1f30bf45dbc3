import Foundation
import Glibc
import Testing
import BerthImage
import BerthTestSupport
import BerthWire

/// What the berth-lifecycled suites share: a daemon with busybox:latest, and the container calls.
protocol LifecycleDriving {}

extension LifecycleDriving {
    /// A daemon with busybox:latest loaded, torn down (containers, monitors, mounts, cgroups) after.
    func withDaemon(_ body: (LifecycleHarness, WireClient) async throws -> Void) async throws {
        let lc = try LifecycleHarness()
        do {
            try await lc.start()
            let c = try await lc.client()
            let image = try TestImages.busybox(in: lc.dir + "/layout")
            let tar = lc.dir + "/busybox.tar"
            let t = try Command.run("/bin/tar", ["-C", image.layoutPath, "-cf", tar, "."])
            try #require(t.status == 0, "\(t)")
            let loaded = try await c.call("image.load", ImageLoadParams(path: tar), returning: ImageLoadResult.self)
            _ = try await c.call("image.tag", ImageTagParams(source: loaded.loaded[0], target: "busybox:latest"), returning: Empty.self)
            try await body(lc, c)
        } catch {
            Issue.record("berth-lifecycled log:\n\(lc.log.suffix(6000))")
            await lc.cleanup()
            throw error
        }
        await lc.cleanup()
    }

    func create(_ c: WireClient, _ cmd: [String], name: String? = nil, configure: (inout ContainerCreateParams) -> Void = { _ in }) async throws -> String {
        var p = ContainerCreateParams(image: "busybox", cmd: cmd)
        configure(&p)
        return try await c.call("container.create", ContainerCreateRequest(name: name, config: p), returning: ContainerCreateResult.self).id
    }

    func start(_ c: WireClient, _ id: String) async throws {
        _ = try await c.call("container.start", ContainerRefParams(id: id), returning: ContainerChangeResult.self)
    }

    func run(_ c: WireClient, _ cmd: [String], configure: (inout ContainerCreateParams) -> Void = { _ in }) async throws -> (id: String, code: Int) {
        let id = try await create(c, cmd, configure: configure)
        try await start(c, id)
        let r = try await c.call("container.wait", ContainerWaitParams(id: id), returning: ContainerWaitResult.self)
        return (id, r.statusCode)
    }

    func inspect(_ c: WireClient, _ id: String) async throws -> ContainerInspect {
        try await c.call("container.inspect", ContainerRefParams(id: id), returning: ContainerInspect.self)
    }

    func logs(_ c: WireClient, _ p: ContainerLogsParams) async throws -> [LogEntry] {
        let box = Collected<LogEntry>()
        _ = try await c.call("container.logs", p, returning: Empty.self, progress: LogBatch.self) { box.add($0.entries) }
        return box.entries
    }

    func expectError(_ code: Int, _ fragment: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected error \(code) containing \"\(fragment)\"")
        } catch let e as WireError {
            #expect(e.code == code, "\(e.message)")
            #expect(e.message.contains(fragment), "\(e.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Runs a command in a running container: its exit code and output.
    func exec(_ c: WireClient, _ id: String, _ cmd: [String]) async throws -> (code: Int?, output: String) {
        let e = try await c.call("exec.create", ExecCreateParams(id: id, config: ExecConfig(cmd: cmd)), returning: ContainerCreateResult.self)
        let box = Collected<LogEntry>()
        let r = try await c.call("exec.start", ExecStartParams(execId: e.id), returning: ExecStartResult.self, progress: LogBatch.self) { box.add($0.entries) }
        return (r.exitCode, box.entries.map(\.log).joined())
    }

    /// The container's whole output, once it has exited.
    func output(_ c: WireClient, _ id: String) async throws -> String {
        try await logs(c, ContainerLogsParams(id: id, stdout: true, stderr: true)).map(\.log).joined()
    }
}
