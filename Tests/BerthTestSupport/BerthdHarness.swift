import Foundation
import Glibc
import BerthWire

/// A berthd of its own for one test, which starts its own berth-lifecycled: temp data and exec
/// roots, its own API socket and cgroup parent. The teardown is LifecycleHarness's (containers,
/// monitors, mounts, cgroups, temp dir), after berthd (and with it berth-lifecycled) has stopped.
public final class BerthdHarness: @unchecked Sendable {
    public let lc: LifecycleHarness
    public var dir: String { lc.dir }
    public var socket: String { lc.dir + "/berth.sock" }
    public var host: String { "unix://" + socket }
    /// The wire socket of the berth-lifecycled berthd started.
    public var lifecycleSocket: String { lc.socket }
    public private(set) var process: BackgroundProcess?

    public static var berthdBinary: String {
        if let env = getenv("BERTHD") { return String(cString: env) }
        return LifecycleHarness.siblingBinary("berthd")
    }

    public static var dockerCLI: String { "/usr/bin/docker" }

    public static var available: Bool {
        LifecycleHarness.available && access(berthdBinary, X_OK) == 0 && access(dockerCLI, X_OK) == 0
    }

    public let extraArgs: [String]

    public init(extraArgs: [String] = []) throws { lc = try LifecycleHarness(); self.extraArgs = extraArgs }

    /// Starts berthd and waits until `/_ping` answers.
    public func start() async throws {
        let args = ["-H", host, "--data-root", lc.root, "--exec-root", lc.run, "--cgroup-parent", lc.cgroupParent,
                    "--lifecycled", LifecycleHarness.lifecycledBinary, "--pidfile", dir + "/berthd.pid"] + lc.networkArgs + extraArgs
        let proc = try BackgroundProcess(Self.berthdBinary, args, log: dir + "/berthd.log")
        process = proc
        for _ in 0..<300 {
            if let r = try? http("GET", "/_ping"), r.status == 200 { return }
            if kill(proc.pid, 0) != 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("berthd did not come up: \(log)")
    }

    public var log: String { (try? Fixtures.read(dir + "/berthd.log")) ?? "" }

    /// SIGTERM berthd (which stops its berth-lifecycled) and wait; containers keep running.
    public func stop() {
        process?.stop()
        process = nil
    }

    /// Loads the test busybox as busybox:latest through berthd's berth-lifecycled.
    public func loadBusybox() async throws {
        let image = try TestImages.busybox(in: dir + "/layout")
        let tar = dir + "/busybox.tar"
        let t = try Command.run("/bin/tar", ["-C", image.layoutPath, "-cf", tar, "."])
        guard t.status == 0 else { throw HarnessError("tar: \(t)") }
        let c = try await WireClient.connect(path: lifecycleSocket)
        do {
            let loaded = try await c.call("image.load", ImageLoadParams(path: tar), returning: ImageLoadResult.self)
            guard let first = loaded.loaded.first else { throw HarnessError("image.load loaded nothing") }
            _ = try await c.call("image.tag", ImageTagParams(source: first, target: "busybox:latest"), returning: Empty.self)
        } catch {
            await c.close()
            throw error
        }
        await c.close()
    }

    /// The real docker CLI against this berthd, with a config dir of its own.
    public func docker(_ args: [String], stdin: String? = nil, timeout: Int = 60) throws -> Command.Result {
        try Command.run(Self.dockerCLI, ["-H", host] + args, stdin: stdin,
                        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DOCKER_CONFIG=\(dir)/docker-config"],
                        timeout: timeout)
    }

    /// The berth CLI under test (beside the tests, or $BERTH).
    public static var berthCLI: String {
        if let env = getenv("BERTH") { return String(cString: env) }
        return LifecycleHarness.siblingBinary("berth")
    }

    /// The berth CLI against this berthd, with a config dir (`BERTH_CONFIG`) of its own.
    public func berth(_ args: [String], stdin: String? = nil, timeout: Int = 60) throws -> Command.Result {
        try Command.run(Self.berthCLI, ["-H", host] + args, stdin: stdin,
                        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "BERTH_CONFIG=\(dir)/berth-config",
                              "HOME=\(dir)", "TZ=UTC"],
                        timeout: timeout)
    }

    /// A shell pipeline with `$BERTH` (the CLI with `-H`) and `$DOCKER` set, for byte streams.
    public func shell(_ script: String, timeout: Int = 120) throws -> Command.Result {
        try Command.run("/bin/sh", ["-c", script],
                        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "BERTH_CONFIG=\(dir)/berth-config",
                              "HOME=\(dir)", "BERTH=\(Self.berthCLI) -H \(host)", "DOCKER=\(Self.dockerCLI) -H \(host)",
                              "DOCKER_CONFIG=\(dir)/docker-config"],
                        timeout: timeout)
    }

    /// Imports Berth's built-in default images (busybox and hello-world from busybox-static) with
    /// scripts/default-image.sh, through this berthd's berth-lifecycled.
    public func importDefaultImages() throws {
        let pkg = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let r = try Command.run("/bin/bash", [pkg + "/scripts/default-image.sh", LifecycleHarness.lifecycledBinary, lc.root, lc.run], timeout: 120)
        guard r.status == 0 else { throw HarnessError("default-image.sh: \(r)") }
    }

    /// One HTTP request through curl: status, headers (lower-cased names) and body.
    public func http(_ method: String, _ path: String, body: String? = nil, headers: [String] = []) throws -> HTTPResult {
        var args = ["-s", "-S", "--max-time", "30", "--unix-socket", socket, "-X", method, "-D", "-", "-o", dir + "/curl.body"]
        if method == "HEAD" { args = ["-s", "-S", "--max-time", "30", "--unix-socket", socket, "-I", "-o", dir + "/curl.body"] }
        for h in headers { args += ["-H", h] }
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        let r = try Command.run("/usr/bin/curl", args + ["http://berthd" + path], stdin: body, timeout: 40)
        guard r.status == 0 else { throw HarnessError("curl \(method) \(path): \(r)") }
        let head = method == "HEAD" ? ((try? Fixtures.read(dir + "/curl.body")) ?? "") : r.stdout
        let lines = head.split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var hs: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let colon = l.firstIndex(of: ":") else { continue }
            hs[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let b = method == "HEAD" ? "" : ((try? Fixtures.read(dir + "/curl.body")) ?? "")
        return HTTPResult(status: status, headers: hs, body: b)
    }

    public struct HTTPResult: Sendable, CustomStringConvertible {
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var description: String { "\(status) \(body)" }
    }

    /// Removes every container through the lifecycle daemon, stops berthd (SIGTERM: it stops its
    /// berth-lifecycled), then LifecycleHarness's teardown.
    public func cleanup() async {
        if process != nil, let c = try? await WireClient.connect(path: lifecycleSocket) {
            struct IDOnly: Decodable { var Id: String }
            struct RemoveAll: Encodable { var id: String; var force = true; var volumes = true }
            if let all = try? await c.call("container.list", ["all": true], returning: [IDOnly].self) {
                for x in all { _ = try? await c.call("container.remove", RemoveAll(id: x.Id), returning: RawJSON.self) }
            }
            await c.close()
        }
        process?.stop()
        process = nil
        await lc.cleanup()
    }

    /// A berthd with busybox:latest for `body`, torn down afterwards, also on failure; `report`
    /// gets berthd's log (with berth-lifecycled's, which it inherits stderr to) when `body` throws.
    public static func with(extraArgs: [String] = [], report: (String) -> Void, _ body: (BerthdHarness) async throws -> Void) async throws {
        let h = try BerthdHarness(extraArgs: extraArgs)
        do {
            try await h.start()
            try await h.loadBusybox()
            try await body(h)
        } catch {
            report("berthd log:\n\(h.log.suffix(6000))")
            await h.cleanup()
            throw error
        }
        await h.cleanup()
    }
}
