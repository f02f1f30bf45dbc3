import BerthEngineAPI
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Writes one response on a connection: whole (with Content-Length), streamed (chunked), or
/// hijacked (a 101 / 200 head, then raw bytes both ways). Responses are serialised by hand, not
/// through HTTPResponseEncoder, so a hijack only has to remove the request decoder.
final class ResponseWriter: Sendable {
    enum Phase { case idle, streaming, hijacked, done }

    let channel: Channel
    let keepAlive: Bool
    let isHead: Bool
    private let phase = NIOLockedValueBox(Phase.idle)

    init(channel: Channel, keepAlive: Bool, isHead: Bool) {
        self.channel = channel; self.keepAlive = keepAlive; self.isHead = isHead
    }

    /// Whether a status can still be sent (nothing has been written yet).
    var canRespond: Bool { phase.withLockedValue { $0 == .idle } }

    private func head(_ status: HTTPResponseStatus, _ headers: [(String, String)]) -> String {
        var s = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        s += "Api-Version: \(APIVersion.current)\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
        s += "Server: Berth/\(EngineIdentity.version) (linux)\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        return s
    }

    private func write(_ bytes: some Sequence<UInt8>, flush: Bool = true) {
        var buf = channel.allocator.buffer(capacity: 64)
        buf.writeBytes(bytes)
        if flush { channel.writeAndFlush(buf, promise: nil) } else { channel.write(buf, promise: nil) }
    }

    /// A complete response.
    func send(_ status: HTTPResponseStatus, contentType: String? = nil, body: Data = Data(), extraHeaders: [(String, String)] = []) {
        guard phase.withLockedValue({ p -> Bool in guard p == .idle else { return false }; p = .done; return true }) else { return }
        var headers = extraHeaders
        if let contentType { headers.append(("Content-Type", contentType)) }
        // 204 and 304 carry neither a body nor a length.
        let bodyless = status == .noContent || status == .notModified
        if !bodyless { headers.append(("Content-Length", String(body.count))) }
        if !keepAlive { headers.append(("Connection", "close")) }
        var out = Array(head(status, headers).utf8) + Array("\r\n".utf8)
        if !bodyless && !isHead { out += body }
        write(out)
        if !keepAlive { closeAfterFlush() }
    }

    func json(_ status: HTTPResponseStatus = .ok, _ text: String) {
        send(status, contentType: "application/json", body: Data((text + "\n").utf8))
    }

    func json(_ status: HTTPResponseStatus = .ok, encoding value: some Encodable) {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? e.encode(value) else { error(.internalError("cannot encode the response")); return }
        json(status, String(decoding: data, as: UTF8.self))
    }

    /// `{"message": …}` with the error's status; once streaming has begun, the error goes into the
    /// stream (as dockerd does) and the stream ends.
    func error(_ e: EngineError) {
        let body = (try? JSONEncoder().encode(ErrorResponse(message: e.message))) ?? Data("{}".utf8)
        switch phase.withLockedValue({ $0 }) {
        case .idle: json(e.status, String(decoding: body, as: UTF8.self))
        case .streaming:
            chunk(Data(String(decoding: (try? JSONEncoder().encode(JSONMessage(error: e.message))) ?? Data(), as: UTF8.self).utf8) + Data("\n".utf8))
            endStream()
        case .hijacked: closeHijacked()
        case .done: break
        }
    }

    /// Starts a chunked response; the headers are flushed at once so a client blocked on them
    /// (the docker CLI's wait before start) can go on.
    func startStream(_ status: HTTPResponseStatus = .ok, contentType: String, extraHeaders: [(String, String)] = []) {
        guard phase.withLockedValue({ p -> Bool in guard p == .idle else { return false }; p = .streaming; return true }) else { return }
        write(Array((head(status, extraHeaders + [("Content-Type", contentType), ("Transfer-Encoding", "chunked")]) + "\r\n").utf8))
    }

    /// A chunk, returning once it has been written to the socket: flow control for file streams,
    /// so a slow client does not make berthd buffer a whole tar.
    func chunkWritten(_ data: Data) async throws {
        guard !data.isEmpty, phase.withLockedValue({ $0 == .streaming }) else { return }
        var buf = channel.allocator.buffer(capacity: data.count + 16)
        buf.writeString(String(data.count, radix: 16) + "\r\n")
        buf.writeBytes(data)
        buf.writeString("\r\n")
        try await channel.writeAndFlush(buf).get()
    }

    func chunk(_ data: Data) {
        guard !data.isEmpty, phase.withLockedValue({ $0 == .streaming }) else { return }
        write(Array((String(data.count, radix: 16) + "\r\n").utf8) + data + Array("\r\n".utf8))
    }

    func endStream() {
        guard phase.withLockedValue({ p -> Bool in guard p == .streaming else { return false }; p = .done; return true }) else { return }
        write(Array("0\r\n\r\n".utf8))
        if !keepAlive { closeAfterFlush() }
    }

    /// Takes the connection over: answers `101 UPGRADED` (or 200 when the client did not ask to
    /// upgrade, as dockerd does), removes the HTTP decoder and returns the client's further bytes.
    func hijack(upgrade: Bool, contentType: String) async throws -> HijackedInput {
        guard phase.withLockedValue({ p -> Bool in guard p == .idle else { return false }; p = .hijacked; return true }) else {
            throw EngineError.internalError("response already started")
        }
        let input = HijackedInput(channel: channel)
        let status: HTTPResponseStatus = upgrade ? .switchingProtocols : .ok
        var headers = [("Content-Type", contentType)]
        if upgrade { headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")] }
        let text = head(status, headers).replacingOccurrences(of: "101 Switching Protocols", with: "101 UPGRADED") + "\r\n"
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            var buf = channel.allocator.buffer(capacity: text.utf8.count)
            buf.writeString(text)
            channel.writeAndFlush(buf, promise: nil)
            let sync = channel.pipeline.syncOperations
            do {
                let ctx = try sync.context(name: EngineServer.decoderName)
                try sync.addHandler(HijackedInputHandler(input: input), position: .after(ctx.handler))
                return sync.removeHandler(context: ctx)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
        return input
    }

    /// Closes once what was written has gone out (a bare close could drop queued writes).
    private func closeAfterFlush() {
        let channel = self.channel
        channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Raw bytes on a hijacked connection.
    func raw(_ data: Data) {
        guard !data.isEmpty, phase.withLockedValue({ $0 == .hijacked }) else { return }
        write(data)
    }

    /// Ends a hijacked stream: the client reads EOF (the docker CLI then asks for the exit code).
    func closeHijacked() {
        guard phase.withLockedValue({ p -> Bool in guard p == .hijacked else { return false }; p = .done; return true }) else { return }
        closeAfterFlush()
    }
}
