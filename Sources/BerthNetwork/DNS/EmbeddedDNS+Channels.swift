import NIOCore
import NIOPosix

// The SwiftNIO side of the embedded DNS: the handlers on a container's sockets and the
// exchanges with upstream servers.

extension EmbeddedDNS {
    /// Tries `servers` in order. A SERVFAIL or REFUSED answer moves on to the next server but is
    /// kept as the result should no later server answer.
    func forward(_ packet: [UInt8], to servers: ArraySlice<SocketAddress>, transport: Transport,
                 fallback: [UInt8]?, on loop: any EventLoop) -> EventLoopFuture<[UInt8]?> {
        guard let server = servers.first else { return loop.makeSucceededFuture(fallback) }
        // A fresh ID (and a fresh socket, so a fresh source port) for each try: an answer must
        // match both before it is believed.
        let id = UInt16.random(in: 0...UInt16.max)
        var query = packet
        query[0] = UInt8(id >> 8)
        query[1] = UInt8(id & 0xFF)
        let exchange = transport == .udp
            ? exchangeUDP(query, id: id, with: server, on: loop)
            : exchangeTCP(query, id: id, with: server, on: loop)
        return exchange.flatMap { answer in
            guard let answer else {
                return self.forward(packet, to: servers.dropFirst(), transport: transport, fallback: fallback, on: loop)
            }
            let code = DNSResponseCode(rawValue: answer[3])
            if code == .serverFailure || code == .refused {
                return self.forward(packet, to: servers.dropFirst(), transport: transport, fallback: answer, on: loop)
            }
            return loop.makeSucceededFuture(answer)
        }
    }

    /// One query to one server over a connected UDP socket; nil on timeout or error (an ICMP
    /// port unreachable ends it at once).
    private func exchangeUDP(_ query: [UInt8], id: UInt16, with server: SocketAddress,
                             on loop: any EventLoop) -> EventLoopFuture<[UInt8]?> {
        let promise = loop.makePromise(of: [UInt8]?.self)
        let timer = loop.scheduleTask(in: timeout) { promise.succeed(nil) }
        DatagramBootstrap(group: loop)
            // The whole datagram whatever its size, so an answer over the client's limit is seen
            // as such rather than cut short by the kernel.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamUDPHandler(id: id, promise: promise))
                }
            }
            .connect(to: server)
            .whenComplete { result in
                switch result {
                case .failure:
                    promise.succeed(nil)
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    channel.writeAndFlush(ByteBuffer(bytes: query)).whenFailure { _ in promise.succeed(nil) }
                }
            }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// One query to one server over a new TCP connection; nil on timeout, error or close.
    private func exchangeTCP(_ query: [UInt8], id: UInt16, with server: SocketAddress,
                             on loop: any EventLoop) -> EventLoopFuture<[UInt8]?> {
        let promise = loop.makePromise(of: [UInt8]?.self)
        let timer = loop.scheduleTask(in: timeout) { promise.succeed(nil) }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(UpstreamTCPHandler(id: id, promise: promise))
                }
            }
            .connect(to: server)
            .whenComplete { result in
                switch result {
                case .failure:
                    promise.succeed(nil)
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    channel.writeAndFlush(DNSFrameDecoder.frame(query, allocator: channel.allocator))
                        .whenFailure { _ in promise.succeed(nil) }
                }
            }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// Whether `bytes` can be the answer to the query sent with `id`.
    static func isAnswer(_ bytes: [UInt8], id: UInt16) -> Bool {
        bytes.count >= 12 && UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id && bytes[2] & 0x80 != 0
    }
}

/// Queries arriving on a container's UDP socket.
final class DNSUDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let dns: EmbeddedDNS
    private let resolver: ContainerResolver

    init(dns: EmbeddedDNS, resolver: ContainerResolver) { self.dns = dns; self.resolver = resolver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        let channel = context.channel
        let client = envelope.remoteAddress
        dns.reply(to: Array(envelope.data.readableBytesView), from: resolver, over: .udp, on: context.eventLoop)
            .whenSuccess { reply in
                guard let reply else { return }
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ByteBuffer(bytes: reply)), promise: nil)
            }
    }

    /// A failed read or write concerns one datagram; the socket keeps serving.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

/// Length-prefixed queries on one TCP connection from a container. Queries may be pipelined and
/// are answered as they complete (RFC 7766 §6.2.1.1); a malformed one closes the connection.
final class DNSTCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let dns: EmbeddedDNS
    private let resolver: ContainerResolver

    init(dns: EmbeddedDNS, resolver: ContainerResolver) { self.dns = dns; self.resolver = resolver }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = Array(Self.unwrapInboundIn(data).readableBytesView)
        let channel = context.channel
        dns.reply(to: query, from: resolver, over: .tcp, on: context.eventLoop).whenSuccess { reply in
            guard let reply else {
                channel.close(promise: nil)
                return
            }
            channel.writeAndFlush(DNSFrameDecoder.frame(reply, allocator: channel.allocator), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Answers on the socket of one UDP exchange with an upstream server.
final class UpstreamUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let id: UInt16
    private let promise: EventLoopPromise<[UInt8]?>

    init(id: UInt16, promise: EventLoopPromise<[UInt8]?>) { self.id = id; self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(Self.unwrapInboundIn(data).data.readableBytesView)
        // Anything else (a late answer to an earlier ID cannot arrive on this fresh socket, but a
        // forged one can) is ignored while the timer runs.
        if EmbeddedDNS.isAnswer(bytes, id: id) { promise.succeed(bytes) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.succeed(nil) }
    func channelInactive(context: ChannelHandlerContext) { promise.succeed(nil) }
}

/// The answer on the connection of one TCP exchange with an upstream server.
final class UpstreamTCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let id: UInt16
    private let promise: EventLoopPromise<[UInt8]?>

    init(id: UInt16, promise: EventLoopPromise<[UInt8]?>) { self.id = id; self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(Self.unwrapInboundIn(data).readableBytesView)
        promise.succeed(EmbeddedDNS.isAnswer(bytes, id: id) ? bytes : nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { promise.succeed(nil) }
    func channelInactive(context: ChannelHandlerContext) { promise.succeed(nil) }
}

/// DNS over TCP framing: a two-byte length, then the message (RFC 1035 §4.2.2).
struct DNSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct ShortMessage: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        // Not even a header: no point waiting for the rest.
        guard length >= 12 else { throw ShortMessage() }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        guard let message = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }

    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2 + message.count)
        buffer.writeInteger(UInt16(clamping: message.count))
        buffer.writeBytes(message.prefix(Int(UInt16.max)))
        return buffer
    }
}
