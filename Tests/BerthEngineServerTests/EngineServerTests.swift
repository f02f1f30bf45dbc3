import Foundation
import Glibc
import Testing
import BerthEngineAPI
@testable import BerthEngineServer
import BerthOS
import BerthTestSupport
import BerthWire

/// berthd's HTTP layer in process, against a fake berth-lifecycled (a WireServer with canned
/// methods): routing, version prefixes, error mapping, streaming and hijacking. No root needed.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct EngineServerTests {
    struct Ref: Codable, Sendable { var id: String }
    struct AnyParams: Codable, Sendable {}

    static func fakeLifecycle() -> WireRouter {
        var r = WireRouter()
        r.register("system.ping", AnyParams.self) { _, _ in ["version": "fake"] }
        r.register("container.inspect", Ref.self) { p, _ -> RawJSON in
            guard p.id != "nosuch" else { throw WireError.notFound("No such container: nosuch") }
            let tty = p.id == "tty"
            return RawJSON(#"{"Id":"\#(p.id)","State":{"Status":"running","Running":true},"Config":{"Tty":\#(tty)}}"#)
        }
        r.register("container.start", Ref.self) { p, _ in ContainerChangeResult(notModified: p.id == "running") }
        r.register("container.pause", Ref.self) { p, _ -> Empty in throw WireError.conflict("Container \(p.id) is not running") }
        r.register("container.create", RawJSON.self) { _, _ -> Empty in throw WireError.invalidParams("invalid parameters for container.create: Cmd") }
        r.register("container.wait", Ref.self) { _, _ in ContainerWaitResult(statusCode: 7) }
        r.register("container.logs", Ref.self) { _, ctx -> Empty in
            ctx.progress(LogBatch(entries: [LogEntry(stream: "stdout", log: "out\n", time: "2026-01-02T03:04:05.000000006Z"),
                                            LogEntry(stream: "stderr", log: "err\n", time: "2026-01-02T03:04:05.000000007Z")]))
            return Empty()
        }
        r.register("container.attach", Ref.self) { _, ctx -> Empty in
            ctx.progress(LogBatch(entries: [LogEntry(stream: "stdout", log: "attached\n", time: "2026-01-02T03:04:05Z")]))
            return Empty()
        }
        return r
    }

    /// A fake lifecycle daemon and an EngineServer on sockets in a temp dir.
    func withServer(router: WireRouter = EngineServerTests.fakeLifecycle(), _ body: (String) async throws -> Void) async throws {
        try await withTempDir(prefix: "berth-engine-test") { dir in
            let wire = try await WireServer.start(path: dir + "/wire.sock", router: router)
            let api = try await EngineServer.start(path: dir + "/api.sock", lifecycleSocket: dir + "/wire.sock",
                                                   options: EngineServerOptions(dataRoot: dir, debug: false))
            do { try await body(dir + "/api.sock") } catch {
                await api.close(); await wire.close()
                throw error
            }
            await api.close()
            await wire.close()
        }
    }

    /// Sends `request` (with `Connection: close`) and reads until the server closes.
    func exchange(_ socket: String, _ request: String) throws -> [UInt8] {
        let fd = try UnixSocket.connect(socket)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    func get(_ socket: String, _ method: String, _ path: String, headers: String = "", body: String = "") throws -> (status: Int, head: String, body: [UInt8]) {
        let req = "\(method) \(path) HTTP/1.1\r\nHost: berthd\r\nConnection: close\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let raw = try exchange(socket, req)
        let sep = Array("\r\n\r\n".utf8)
        let split = (0..<max(0, raw.count - 3)).first { Array(raw[$0..<($0 + 4)]) == sep } ?? raw.count
        let head = String(decoding: raw[0..<split], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, head, Array(raw[min(raw.count, split + 4)...]))
    }

    func code(_ socket: String, _ method: String, _ path: String, body: String = "") throws -> Int {
        try get(socket, method, path, body: body).status
    }

    func expectCode(_ got: Int, _ want: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got == want, sourceLocation: sourceLocation)
    }

    @Test func versionPrefixesAndUnknownPaths() async throws {
        try await withServer { s in
            let ping = try get(s, "GET", "/v1.24/_ping")
            #expect(ping.status == 200 && String(decoding: ping.body, as: UTF8.self) == "OK")
            #expect(ping.head.contains("Api-Version: 1.43") && ping.head.contains("Builder-Version: 1"))
            let tooNew = try get(s, "GET", "/v1.44/_ping")
            #expect(tooNew.status == 400)
            #expect(String(decoding: tooNew.body, as: UTF8.self) == #"{"message":"client version 1.44 is too new. Maximum supported API version is 1.43"}"# + "\n")
            let nope = try get(s, "GET", "/v1.43/nope/nope")
            #expect(nope.status == 404 && String(decoding: nope.body, as: UTF8.self).contains("page not found"))
        }
    }

    @Test func wireErrorsBecomeDockerStatuses() async throws {
        try await withServer { s in
            expectCode(try code(s, "GET", "/containers/nosuch/json"), 404)
            expectCode(try code(s, "POST", "/containers/x/pause"), 409)
            expectCode(try code(s, "POST", "/containers/create", body: #"{"Cmd":1}"#), 400)   // -32602
            expectCode(try code(s, "POST", "/containers/create", body: "{"), 400)             // not JSON
            expectCode(try code(s, "POST", "/containers/x/start"), 204)
            expectCode(try code(s, "POST", "/containers/running/start"), 304)
            expectCode(try code(s, "GET", "/containers/x/logs"), 400)                        // no stream chosen
        }
    }

    @Test func logsAreMultiplexedUnlessTTY() async throws {
        try await withServer { s in
            let plain = try get(s, "GET", "/v1.41/containers/x/logs?stdout=1&stderr=1")
            #expect(plain.head.contains("Transfer-Encoding: chunked"))
            let frames = StreamFraming.frame(stream: 1, Data("out\n".utf8)) + StreamFraming.frame(stream: 2, Data("err\n".utf8))
            #expect(dechunk(plain.body) == Array(frames))
            let tty = try get(s, "GET", "/containers/tty/logs?stdout=1&stderr=1&timestamps=1")
            #expect(String(decoding: dechunk(tty.body), as: UTF8.self)
                    == "2026-01-02T03:04:05.000000006Z out\n2026-01-02T03:04:05.000000007Z err\n")
        }
    }

    @Test func waitAnswersWithDockersShape() async throws {
        try await withServer { s in
            let w = try get(s, "POST", "/containers/x/wait?condition=next-exit")
            #expect(w.status == 200)
            #expect(String(decoding: dechunk(w.body), as: UTF8.self) == #"{"StatusCode":7,"Error":null}"# + "\n")
            expectCode(try code(s, "POST", "/containers/x/wait?condition=later"), 400)
            expectCode(try code(s, "POST", "/containers/nosuch/wait"), 404)
        }
    }

    @Test func attachHijacksTheConnection() async throws {
        try await withServer { s in
            let a = try get(s, "POST", "/v1.41/containers/x/attach?stream=1&stdout=1", headers: "Upgrade: tcp\r\nConnection: Upgrade\r\n")
            #expect(a.status == 101 && a.head.hasPrefix("HTTP/1.1 101 UPGRADED"), "\(a.head)")
            #expect(a.head.contains("Content-Type: application/vnd.docker.multiplexed-stream"))
            #expect(a.body == Array(StreamFraming.frame(stream: 1, Data("attached\n".utf8))))
            let tty = try get(s, "POST", "/containers/tty/attach?stream=1&stdout=1", headers: "Upgrade: tcp\r\nConnection: Upgrade\r\n")
            #expect(tty.head.contains("application/vnd.docker.raw-stream") && tty.body == Array("attached\n".utf8))
        }
    }

    @Test func filtersQueryAndVersions() throws {
        #expect(try FilterArgs.parse(#"{"status":{"running":true,"exited":false}}"#) == ["status": ["running"]])
        #expect(try FilterArgs.parse(#"{"label":["a=b","c"]}"#) == ["label": ["a=b", "c"]])
        #expect(try FilterArgs.parse(nil) == nil)
        #expect(throws: FilterArgs.Malformed.self) { try FilterArgs.parse("{nope") }
        #expect(parseQuery("a=1&b=x%20y&c=a+b&a=2") == ["a": "1", "b": "x y", "c": "a b"])
        let r = HTTPRequest(method: .GET, path: "/images/get", query: [:], headers: [:], body: Data(), version: .current,
                            bodyFile: nil, rawQuery: "names=busybox&x=1&names=a%2Fb%3A1")
        #expect(r.all("names") == ["busybox", "a/b:1"])
        #expect(APIVersion("1.9").map { $0 < APIVersion(1, 24) } == true)
        #expect(APIVersion("1.x") == nil && APIVersion("1") == nil)
        #expect(EngineError.from(WireError(code: -32602, message: "m")).status == .badRequest)
        #expect(EngineError.from(WireError(code: 409, message: "m")).status == .conflict)
    }

    /// The body of a chunked response.
    func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while i < b.count {
            guard let eol = (i..<(b.count - 1)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }),
                  let n = Int(String(decoding: b[i..<eol], as: UTF8.self), radix: 16), n > 0 else { break }
            out += b[(eol + 2)..<min(b.count, eol + 2 + n)]
            i = eol + 2 + n + 2
        }
        return out
    }
}
