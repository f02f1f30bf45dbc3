import Foundation
import Glibc
import BerthOS
import BerthWire
import BerthTestSupport

/// Thread-safe append-only list, for callbacks that run on event loop threads.
final class Recorder<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ t: T) { lock.lock(); items.append(t); lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

// MARK: the test methods

struct EchoParams: Codable, Sendable, Equatable {
    var text: String
    var count: Int
    var ratio: Double
    var flags: [Bool]
    var nested: [String: [Int64]]?
}

struct CountParams: Codable, Sendable { var n: Int }
struct CountEvent: Codable, Sendable, Equatable { var seq: Int; var status: String }
struct CountResult: Codable, Sendable, Equatable { var done: Int }
struct SleepParams: Codable, Sendable { var ms: Int; var tag: String }
struct TagResult: Codable, Sendable, Equatable { var tag: String }

struct TeapotError: WireConvertibleError {
    var wireError: WireError { WireError(code: 418, message: "short and stout") }
}

struct OpaqueError: Error, CustomStringConvertible {
    var description: String { "opaque failure" }
}

/// Records whether the `wait` handler saw its task cancelled.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var started = false, cancelled = false
    func markStarted() { lock.lock(); started = true; lock.unlock() }
    func markCancelled() { lock.lock(); cancelled = true; lock.unlock() }
    var didStart: Bool { lock.lock(); defer { lock.unlock() }; return started }
    var wasCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }
}

func testRouter(cancelFlag: CancelFlag = CancelFlag()) -> WireRouter {
    var r = WireRouter()
    r.register("echo") { (p: EchoParams, _) in p }
    r.register("raw") { (p: RawJSON, _) in p }
    r.register("none") { (_: Empty, _) in Empty() }
    r.register("count") { (p: CountParams, ctx) in
        for i in 0..<p.n { ctx.progress(CountEvent(seq: i, status: "step \(i)")) }
        return CountResult(done: p.n)
    }
    r.register("conflict") { (_: Empty, _) -> Empty in throw WireError.conflict("name already in use: app") }
    r.register("teapot") { (_: Empty, _) -> Empty in throw TeapotError() }
    r.register("opaque") { (_: Empty, _) -> Empty in throw OpaqueError() }
    r.register("sleep") { (p: SleepParams, _) in
        try await Task.sleep(for: .milliseconds(p.ms))
        return TagResult(tag: p.tag)
    }
    r.register("wait") { (_: Empty, _) -> Empty in
        cancelFlag.markStarted()
        do {
            try await Task.sleep(for: .seconds(30))
        } catch {
            cancelFlag.markCancelled()
            throw error
        }
        return Empty()
    }
    return r
}

/// Starts a server with the test router on a socket in a temp dir, runs `body`, then stops it.
func withServer(cancelFlag: CancelFlag = CancelFlag(), _ body: (WireServer) async throws -> Void) async throws {
    try await withTempDir { dir in
        let server = try await WireServer.start(path: dir + "/wire.sock", router: testRouter(cancelFlag: cancelFlag))
        do {
            try await body(server)
        } catch {
            await server.close()
            throw error
        }
        await server.close()
    }
}

/// Connects a client to `server`, runs `body`, closes the client.
func withClient(_ server: WireServer, _ body: (WireClient) async throws -> Void) async throws {
    let client = try await WireClient.connect(path: server.path)
    do {
        try await body(client)
    } catch {
        await client.close()
        throw error
    }
    await client.close()
}

/// Waits until `cond` holds, polling, for at most `seconds`.
func eventually(_ seconds: Double = 5, _ cond: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if cond() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return cond()
}

// MARK: a plain unix socket, to write bytes no WireClient would

/// A non-blocking unix stream socket read and written by polling, so a test never blocks one of
/// the few cooperative threads the server's handlers need too.
final class RawSocket: @unchecked Sendable {
    let fd: Int32
    let timeout: Duration
    private var buffer: [UInt8] = []

    /// Takes ownership of `fd` and makes it non-blocking.
    init(fd: Int32, timeoutSeconds: Int = 10) {
        self.fd = fd
        timeout = .seconds(timeoutSeconds)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    static func connect(_ path: String, timeoutSeconds: Int = 10) throws -> RawSocket {
        let fd = try UnixSocket.connect(path)
        return RawSocket(fd: fd, timeoutSeconds: timeoutSeconds)
    }

    deinit { close(fd) }

    /// Writes everything, without SIGPIPE; returns false once the peer has gone or on timeout.
    @discardableResult
    func write(_ bytes: [UInt8]) async -> Bool {
        var off = 0
        let deadline = ContinuousClock.now + timeout
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                guard errno == EAGAIN, ContinuousClock.now < deadline else { return false }
                try? await Task.sleep(for: .milliseconds(1))
                continue
            }
            off += n
        }
        return true
    }

    @discardableResult
    func write(_ s: String) async -> Bool { await write(Array(s.utf8)) }

    enum ReadResult: Equatable {
        case line(String)
        case eof
        case error(Int32)
    }

    /// The next line (without its `\n`), or end of stream, or the errno that ended it
    /// (ETIMEDOUT when nothing came in time).
    func readLine() async -> ReadResult {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return .line(line)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                guard errno == EAGAIN else { return .error(errno) }
                guard ContinuousClock.now < deadline else { return .error(ETIMEDOUT) }
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            if n == 0 { return .eof }
            buffer += chunk[0..<n]
        }
    }

    /// The next line parsed as a JSON object.
    func readObject() async throws -> [String: Any] {
        let r = await readLine()
        guard case .line(let l) = r else { throw TestFailure("expected a line from the server, got \(r)") }
        guard let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] else { throw TestFailure("not an object: \(l)") }
        return o
    }
}

/// A listening plain unix socket standing in for a server that misbehaves.
final class RawListener {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = try UnixSocket.listen(path)
    }

    /// Accepts one connection (the caller has already connected, so it is pending).
    func accept() async throws -> RawSocket {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) == 1 {
                let c = Glibc.accept(fd, nil, nil)
                guard c >= 0 else { throw TestFailure("accept: \(String(cString: strerror(errno)))") }
                return RawSocket(fd: c)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestFailure("no connection to accept")
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// Reads the next request a fake server received and returns its id.
func requestID(_ conn: RawSocket) async throws -> Int {
    guard case .line(let l) = await conn.readLine(),
          let req = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any],
          let id = req["id"] as? Int else { throw TestFailure("no request arrived") }
    return id
}

/// A client connected to a fake server in `dir` with one `count` call sent: the fake server's
/// side of the connection, the pending call and its request id.
func callFakeServer(_ dir: String) async throws -> (WireClient, RawSocket, Task<CountResult, Error>, Int) {
    let listener = try RawListener(path: dir + "/fake.sock")
    let client = try await WireClient.connect(path: listener.path)
    let conn = try await listener.accept()
    let call = Task { try await client.call("count", CountParams(n: 1), returning: CountResult.self) }
    return (client, conn, call, try await requestID(conn))
}
