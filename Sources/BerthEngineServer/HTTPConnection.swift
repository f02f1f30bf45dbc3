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

    /// `POST …/images/load`, `POST …/images/create?fromSrc=-` (import) and `PUT …/containers/{id}/archive`
    /// carry tars of any size.
    static func isUpload(_ h: HTTPRequestHead) -> Bool {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let isImport = path.hasSuffix("/images/create") && h.uri.contains("fromSrc=")
        return (h.method == .POST && (path.hasSuffix("/images/load") || path.hasSuffix("/build") || isImport)) || (h.method == .PUT && path.hasSuffix("/archive"))
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

/// The client's bytes once a connection is hijacked (attach, exec start). Reading pauses
/// (`autoRead` off) while more than `limit` bytes wait for the stdin copier, and resumes as it
/// catches up, so a container that does not read its stdin does not make berthd buffer without end.
final class HijackedInput: Sendable {
    static let limit = 1 << 20
    let stream: AsyncStream<ByteBuffer>
    let continuation: AsyncStream<ByteBuffer>.Continuation
    let channel: Channel
    /// Bytes yielded and not yet consumed, and whether reading is paused.
    private let state = NIOLockedValueBox<(buffered: Int, paused: Bool)>((0, false))

    init(channel: Channel) {
        self.channel = channel
        (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
    }

    /// Called on the event loop for each read.
    func received(_ b: ByteBuffer) {
        let pause = state.withLockedValue { s -> Bool in
            s.buffered += b.readableBytes
            if s.buffered > Self.limit && !s.paused { s.paused = true; return true }
            return false
        }
        continuation.yield(b)
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
    }

    /// The copier took `n` bytes.
    func consumed(_ n: Int) {
        let resume = state.withLockedValue { s -> Bool in
            s.buffered -= n
            if s.paused && s.buffered < Self.limit / 2 { s.paused = false; return true }
            return false
        }
        if resume {
            channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { [channel] _ in channel.read() }
        }
    }
}

/// Feeds a hijacked connection's bytes to `HijackedInput`; the end of input (half-close or
/// disconnect) finishes its stream.
final class HijackedInputHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let input: HijackedInput

    init(input: HijackedInput) { self.input = input }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        input.received(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { input.continuation.finish(); return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        input.continuation.finish()
        context.fireChannelInactive()
    }
}
