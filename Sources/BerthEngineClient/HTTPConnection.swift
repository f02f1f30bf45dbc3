import Foundation
import Glibc

/// One blocking HTTP/1.1 connection to the daemon. The CLI makes a handful of calls per command,
/// so a plain socket (no event loop, no threads) keeps `berth` quick to start.
public final class HTTPConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    init(host: EngineHost) throws(EngineClientError) {
        switch host {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .cannotConnect(host: host.description, reason: String(cString: strerror(errno))) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw .invalidHost(host.description) }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if r != 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw .cannotConnect(host: host.description, reason: reason)
            }
            self.fd = fd
        case .tcp(let name, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var res: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(name, String(port), &hints, &res) == 0, let first = res else {
                throw .cannotConnect(host: host.description, reason: "cannot resolve \(name)")
            }
            defer { freeaddrinfo(res) }
            var cur: UnsafeMutablePointer<addrinfo>? = first
            var lastError = ECONNREFUSED
            while let ai = cur {
                let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                if fd >= 0 {
                    if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                        var one: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        self.fd = fd
                        return
                    }
                    lastError = errno
                    close(fd)
                }
                cur = ai.pointee.ai_next
            }
            throw .cannotConnect(host: host.description, reason: String(cString: strerror(lastError)))
        }
    }

    deinit { close(fd) }

    // MARK: writing

    func write(_ data: Data) throws(EngineClientError) {
        var failed = false
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n < 0 { if errno == EINTR { continue }; failed = true; return }
                off += n
            }
        }
        if failed { throw .protocolError("write to daemon: \(String(cString: strerror(errno)))") }
    }

    /// Shuts the write side (the container sees EOF on its stdin).
    public func closeWrite() { shutdown(fd, Int32(SHUT_WR)) }

    // MARK: reading

    /// Fills the buffer with at least one more byte; false at EOF.
    private func fill() throws(EngineClientError) -> Bool {
        if start > 65536 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
            if n == 0 { return false }
            if errno == EINTR { continue }
            throw .protocolError("read from daemon: \(String(cString: strerror(errno)))")
        }
    }

    var buffered: Int { buffer.count - start }

    /// One CRLF-terminated line without its terminator.
    func readLine() throws(EngineClientError) -> String {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = nl + 1
                return line
            }
            guard try fill() else { throw .protocolError("the daemon closed the connection") }
        }
    }

    /// Exactly n bytes.
    func read(exactly n: Int) throws(EngineClientError) -> [UInt8] {
        while buffered < n { guard try fill() else { throw .protocolError("the daemon closed the connection") } }
        let out = Array(buffer[start..<start + n])
        start += n
        return out
    }

    /// Between 1 and n bytes: what is buffered, or one read's worth.
    func read(upTo n: Int) throws(EngineClientError) -> [UInt8] {
        if buffered == 0 { guard try fill() else { throw .protocolError("the daemon closed the connection") } }
        let k = min(n, buffered)
        let out = Array(buffer[start..<start + k])
        start += k
        return out
    }

    /// Whatever is buffered, or one read's worth; nil at EOF.
    public func readSome() throws(EngineClientError) -> [UInt8]? {
        if buffered == 0 { guard try fill() else { return nil } }
        let out = Array(buffer[start...])
        buffer.removeAll(keepingCapacity: true); start = 0
        return out
    }
}

/// A response's status line and headers (names lower-cased).
public struct ResponseHead: Sendable {
    public var status: Int
    public var headers: [String: String]
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var isChunked: Bool { header("transfer-encoding")?.lowercased().contains("chunked") ?? false }
    public var contentLength: Int? { header("content-length").flatMap { Int($0) } }
}

extension HTTPConnection {
    /// Sends the request line, headers and body: `body` from memory, or the file at `bodyFile`
    /// read and sent a piece at a time (build contexts and archives of any size).
    func sendRequest(method: String, target: String, headers: [(String, String)], body: Data?, bodyFile: String? = nil) throws(EngineClientError) {
        var fileFD: Int32 = -1, fileSize: Int64 = 0
        if let bodyFile {
            fileFD = Glibc.open(bodyFile, O_RDONLY | O_CLOEXEC)
            var st = stat()
            guard fileFD >= 0, fstat(fileFD, &st) == 0 else {
                throw .protocolError("read \(bodyFile): \(String(cString: strerror(errno)))")
            }
            fileSize = Int64(st.st_size)
        }
        defer { if fileFD >= 0 { Glibc.close(fileFD) } }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if body != nil || fileFD >= 0 {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { head += "Content-Type: application/json\r\n" }
            head += "Content-Length: \(body.map { Int64($0.count) } ?? fileSize)\r\n"
        } else if method == "POST" || method == "PUT" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var data = Data(head.utf8)
        if let body { data.append(body) }
        try write(data)
        guard fileFD >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var left = fileSize
        while left > 0 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fileFD, $0.baseAddress, Int(min(Int64($0.count), left))) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .protocolError("read \(bodyFile ?? ""): \(n == 0 ? "file shrank while sending" : String(cString: strerror(errno)))") }
            try write(Data(buffer[0..<n]))
            left -= Int64(n)
        }
    }

    func readHead() throws(EngineClientError) -> ResponseHead {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .protocolError("malformed status line \"\(statusLine.prefix(80))\"")
        }
        var headers: [String: String] = [:]
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        // 1xx other than 101 precede the real response.
        if status == 100 { return try readHead() }
        return ResponseHead(status: status, headers: headers)
    }
}

/// A response body read piece by piece: chunked, sized, or until the connection closes.
public final class BodyReader {
    let conn: HTTPConnection
    public let head: ResponseHead
    private var remaining: Int?      // for Content-Length bodies
    private var chunkLeft = 0
    private var done = false
    private var pending: [UInt8] = []

    init(conn: HTTPConnection, head: ResponseHead, method: String) {
        self.conn = conn; self.head = head
        if method == "HEAD" || head.status == 204 || head.status == 304 { done = true }
        else if !head.isChunked { remaining = head.contentLength }
    }

    /// The next piece of the body; nil at its end.
    public func next() throws(EngineClientError) -> [UInt8]? {
        if !pending.isEmpty { defer { pending = [] }; return pending }
        if done { return nil }
        if head.isChunked {
            if chunkLeft == 0 {
                let sizeLine = try conn.readLine()
                guard let size = Int(sizeLine.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "", radix: 16) else {
                    throw .protocolError("malformed chunk size \"\(sizeLine.prefix(40))\"")
                }
                if size == 0 {
                    while try !conn.readLine().isEmpty {}   // trailers
                    done = true
                    return nil
                }
                chunkLeft = size
            }
            let bytes = try conn.read(upTo: chunkLeft)
            chunkLeft -= bytes.count
            if chunkLeft == 0 { _ = try conn.readLine() }
            return bytes
        }
        if let left = remaining {
            if left == 0 { done = true; return nil }
            guard var bytes = try conn.readSome() else { throw .protocolError("the daemon closed the connection mid-body") }
            if bytes.count > left { bytes = Array(bytes[0..<left]) }
            remaining = left - bytes.count
            return bytes
        }
        guard let bytes = try conn.readSome() else { done = true; return nil }
        return bytes
    }

    /// The rest of the body.
    public func readAll() throws(EngineClientError) -> Data {
        var out = Data()
        while let b = try next() { out.append(contentsOf: b) }
        return out
    }

    /// The next newline-terminated line of the body (JSON streams); nil at the end.
    public func nextLine() throws(EngineClientError) -> String? {
        var line: [UInt8] = []
        while true {
            guard let piece = try next() else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if let nl = piece.firstIndex(of: 0x0A) {
                line.append(contentsOf: piece[..<nl])
                pending = Array(piece[(nl + 1)...])
                return String(decoding: line, as: UTF8.self)
            }
            line.append(contentsOf: piece)
        }
    }
}

extension HTTPConnection {
    /// The bytes already read past the response head (a hijacked stream's start); no new read.
    public func readBufferedOnly() throws(EngineClientError) -> [UInt8] {
        guard buffered > 0 else { return [] }
        return try readSome() ?? []
    }
}
