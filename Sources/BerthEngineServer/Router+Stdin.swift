import BerthOS
import BerthWire
import Foundation
import Glibc
import NIOCore

extension Router {
    /// Copies a hijacked client's bytes to the container's (or exec's) stdin through the monitor's
    /// control socket: `stdin\n`, `ok`, then the bytes; the client's half-close closes stdin.
    /// The control socket exists only once the process runs, and `docker run -i` attaches before it
    /// starts, so it is polled for.
    func forwardStdin(_ input: AsyncStream<ByteBuffer>, ioMethod: String, params: [String: String]) async {
        var socketPath: String?
        while socketPath == nil, !Task.isCancelled {
            guard let io = try? await lifecycle.call(ioMethod, params, returning: ContainerIOResult.self) else { return }
            guard io.openStdin else { return }
            socketPath = io.controlSocket
            if socketPath == nil { try? await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let socketPath, let fd = try? UnixSocket.connect(socketPath) else { return }
        defer { close(fd) }
        guard writeAll(fd, Array("stdin\n".utf8)), readLine(fd) == "ok" else { return }
        for await var chunk in input {
            guard let bytes = chunk.readBytes(length: chunk.readableBytes), writeAll(fd, bytes) else { return }
        }
        // End of input: the monitor sees EOF and closes the container's stdin.
        shutdown(fd, Int32(SHUT_WR))
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

    private func readLine(_ fd: Int32) -> String? {
        var line = [UInt8]()
        var b: UInt8 = 0
        while line.count < 256 {
            let n = read(fd, &b, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            if b == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(b)
        }
        return nil
    }
}
