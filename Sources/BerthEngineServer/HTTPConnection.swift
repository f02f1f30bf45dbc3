import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Largest JSON body accepted; Docker's own limit for request bodies it decodes.
let maxJSONBody = 16 << 20

/// One client connection: collects a request (head + bounded body), hands it to the router in a
/// task, and cancels that task when the client goes away (which ends a wait, a followed log or an
/// event stream, through the per-request lifecycle connection those use).
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    // @unchecked: every stored property is touched on the channel's event loop only.
    typealias InboundIn = HTTPServerRequestPart

    private let router: Router
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    /// Tar uploads (docker load, docker cp into a container) go to a file, not memory.
    private var spool: (fd: Int32, path: String)?
    private var spoolFailed = false
    private var task: Task<Void, Never>?
    /// Numbers requests so a finished one does not forget the task of the next (keep-alive).
    private var sequence = 0
    private var inputClosed = false

    init(router: Router) { self.router = router }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h; body.clear(); tooLarge = false; spoolFailed = false
            if Self.isUpload(h) { openSpool() }
        case .body(var b):
            if let spool {
                // Local disk: a short blocking write, as the event loop would wait for little.
                let ok = b.withUnsafeReadableBytes { raw -> Bool in
                    var off = 0
                    while off < raw.count {
                        let n = write(spool.fd, raw.baseAddress.map { $0 + off }, raw.count - off)
                        if n < 0 { if errno == EINTR { continue }; return false }
                        off += n
                    }
                    return true
                }
                if !ok { spoolFailed = true }
            } else if body.readableBytes + b.readableBytes > maxJSONBody { tooLarge = true; body.clear() }
            else if !tooLarge { body.writeBuffer(&b) }
        case .end:
            guard let h = head else { return }
            head = nil
            dispatch(context: context, head: h)
        }
    }

    /// `POST …/images/load` and `PUT …/containers/{id}/archive` carry tars of any size.
    static func isUpload(_ h: HTTPRequestHead) -> Bool {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        return (h.method == .POST && path.hasSuffix("/images/load")) || (h.method == .PUT && path.hasSuffix("/archive"))
    }

    private func openSpool() {
        let dir = router.options.dataRoot + "/tmp/berthd"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/upload-" + UUID().uuidString + ".tar"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { spool = (fd, path) } else { spoolFailed = true }
    }

    private func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let channel = context.channel
        let writer = ResponseWriter(channel: channel, keepAlive: head.isKeepAlive, isHead: head.method == .HEAD)
        let upload = spool
        spool = nil
        if let upload { close(upload.fd) }
        if spoolFailed {
            if let upload { unlink(upload.path) }
            writer.error(.internalError("cannot store the uploaded tar under \(router.options.dataRoot)/tmp/berthd"))
            return
        }
        if tooLarge {
            writer.error(EngineError(.payloadTooLarge, "request body is larger than \(maxJSONBody) bytes"))
            return
        }
        let bytes = Data(body.readableBytesView)
        let router = self.router
        let loop = context.eventLoop
        sequence += 1
        let number = sequence
        task = Task { [self] in
            await router.handle(head: head, body: bytes, bodyFile: upload?.path, writer: writer)
            if let upload { unlink(upload.path) }
            loop.execute { self.finished(number, channel: channel) }
        }
    }

    private func finished(_ number: Int, channel: Channel) {
        guard number == sequence else { return }
        task = nil
        // Closed once the response has gone out: a bare close could drop queued writes.
        if inputClosed {
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Half-close from a plain HTTP client: nothing more will come; close once idle.
        if let e = event as? ChannelEvent, e == .inputClosed {
            inputClosed = true
            if task == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let spool { close(spool.fd); unlink(spool.path); self.spool = nil }
        task?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A request the decoder cannot parse: answer 400 if nothing was sent yet, then close.
        if error is HTTPParserError {
            let w = ResponseWriter(channel: context.channel, keepAlive: false, isHead: false)
            w.error(.badRequest("malformed HTTP request: \(error)"))
            return
        }
        context.close(promise: nil)
    }
}

/// Receives the client's bytes once a connection is hijacked (attach, exec start) and passes them
/// to whoever forwards stdin; `nil` is the end of input (half-close or disconnect).
final class HijackedInputHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ByteBuffer>.Continuation

    init(continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { continuation.finish(); return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
