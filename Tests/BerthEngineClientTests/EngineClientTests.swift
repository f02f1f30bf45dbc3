import BerthEngineClient
import Foundation
import Glibc
import Testing

/// A one-shot HTTP server on a unix socket: answers each connection with the next canned response
/// and records the requests it read (up to the blank line, plus a Content-Length body).
final class CannedServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var _requests: [String] = []
    var requests: [String] { lock.withLock { _requests } }

    init(_ responses: [String]) throws {
        path = "/tmp/berth-client-test-\(UInt32.random(in: 0...UInt32.max)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        let listener = fd
        Thread.detachNewThread { [self] in
            for response in responses {
                let c = accept(listener, nil, nil)
                if c < 0 { return }
                var got = [UInt8]()
                var buf = [UInt8](repeating: 0, count: 4096)
                while true {
                    let text = String(decoding: got, as: UTF8.self)
                    if let end = text.range(of: "\r\n\r\n") {
                        let head = text[..<end.lowerBound].lowercased()
                        let len = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                        if got.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound.samePosition(in: text.utf8)!) >= len { break }
                    }
                    let n = read(c, &buf, buf.count)
                    if n <= 0 { break }
                    got += buf[0..<n]
                }
                lock.withLock { _requests.append(String(decoding: got, as: UTF8.self)) }
                _ = response.withCString { write(c, $0, strlen($0)) }
                close(c)
            }
        }
    }

    deinit { close(fd); unlink(path) }
}

@Suite struct EngineClientTests {
    @Test func hostsParseAsDockerWritesThem() throws {
        #expect(try EngineHost(parsing: "unix:///run/berth/berth.sock") == .unix("/run/berth/berth.sock"))
        #expect(try EngineHost(parsing: "tcp://127.0.0.1:2375") == .tcp(host: "127.0.0.1", port: 2375))
        #expect(try EngineHost(parsing: "tcp://localhost") == .tcp(host: "localhost", port: 2375))
        #expect(try EngineHost(parsing: "/tmp/x.sock") == .unix("/tmp/x.sock"))
        for bad in ["ssh://host", "tcp://:80", "tcp://h:99999", "unix://", "x"] {
            #expect(throws: EngineClientError.self, "\(bad)") { try EngineHost(parsing: bad) }
        }
        // -H beats BERTH_HOST beats DOCKER_HOST beats the default.
        let env = ["BERTH_HOST": "unix:///b.sock", "DOCKER_HOST": "unix:///d.sock"]
        #expect(try EngineHost.resolve(flag: "unix:///h.sock", environment: env) == .unix("/h.sock"))
        #expect(try EngineHost.resolve(flag: nil, environment: env) == .unix("/b.sock"))
        #expect(try EngineHost.resolve(flag: nil, environment: ["DOCKER_HOST": "unix:///d.sock"]) == .unix("/d.sock"))
        #expect(try EngineHost.resolve(flag: nil, environment: [:]) == .unix(EngineHost.defaultSocket))
    }

    @Test func negotiatesDownToTheDaemonsVersionAndReadsChunkedBodies() throws {
        let server = try CannedServer([
            "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                + "5\r\n[{\"a\"\r\n" + "6;ext=1\r\n:1},2]\r\n" + "0\r\n\r\n",
        ])
        let client = EngineClient(host: .unix(server.path))
        let v = try client.json("GET", "/containers/json", query: [("all", "1"), ("filters", "{\"name\":[\"a b\"]}")])
        #expect((v as? [Any])?.count == 2)
        #expect(try client.apiVersion() == "1.41")
        let reqs = server.requests
        #expect(reqs.count == 2)
        #expect(reqs[1].hasPrefix("GET /v1.41/containers/json?all=1&filters=%7B%22name%22%3A%5B%22a%20b%22%5D%7D HTTP/1.1\r\n"), "\(reqs[1])")
    }

    @Test func daemonErrorsCarryStatusAndMessage() throws {
        let server = try CannedServer([
            "HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{\"message\":\"No such container: nosuch\"}",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
        ])
        let client = EngineClient(host: .unix(server.path))
        #expect(throws: EngineClientError.daemon(status: 404, message: "No such container: nosuch")) {
            try client.call("POST", "/containers/nosuch/start")
        }
        #expect(throws: EngineClientError.daemon(status: 500, message: "oops")) { try client.call("GET", "/info") }
        // A newer daemon: the client stays at its own maximum.
        #expect(try client.apiVersion() == EngineClient.maxVersion)
        #expect(server.requests[1].contains("Content-Length: 0\r\n"))
    }

    @Test func jsonLinesStreamLineByLine() throws {
        let server = try CannedServer([
            "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "4\r\n{\"a\"\r\n" + "4\r\n:1}\n\r\n" + "9\r\n{\"b\":2}\n{\r\n" + "4\r\n\"c\"}\r\n" + "0\r\n\r\n",
        ])
        let client = EngineClient(host: .unix(server.path))
        let r = try client.open("POST", "/images/create", query: [("fromImage", "busybox")])
        var lines: [String] = []
        while let l = try r.nextLine() { lines.append(l) }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\"}"])
    }

    @Test func nothingListeningIsCannotConnect() {
        let client = EngineClient(host: .unix("/tmp/berth-client-test-nobody-\(getpid()).sock"))
        do {
            _ = try client.call("GET", "/_ping")
            Issue.record("connected to nothing")
        } catch {
            guard case .cannotConnect(let host, _) = error else { Issue.record("\(error)"); return }
            #expect(host.hasPrefix("unix:///tmp/berth-client-test-nobody-"))
            #expect(error.description.contains("Is the berth daemon running?"))
        }
    }
}
