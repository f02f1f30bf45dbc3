import BerthWire
import Foundation
import NIOCore
import NIOPosix

extension Router {
    /// Copies a hijacked client's bytes to the container's (or exec's) stdin through the monitor's
    /// control socket: `stdin\n`, `ok`, then the bytes; the client's half-close closes stdin.
    /// The control socket exists only once the process runs, and `docker run -i` attaches before it
    /// starts, so it is polled for. Each write waits until the socket took it: the monitor stops
    /// reading while the container does not read its stdin, and that back-pressure reaches the
    /// client without blocking a thread.
    func forwardStdin(_ input: HijackedInput, ioMethod: String, params: [String: String]) async {
        var socketPath: String?
        while socketPath == nil, !Task.isCancelled {
            guard let io = try? await lifecycle.call(ioMethod, params, returning: ContainerIOResult.self) else { return }
            guard io.openStdin else { return }
            socketPath = io.controlSocket
            if socketPath == nil { try? await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let socketPath else { return }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let reply = loop.makePromise(of: String.self)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(ReplyLineHandler(reply: reply)) }
                }
                .connect(unixDomainSocketPath: socketPath).get()
        } catch {
            reply.fail(error)
            return
        }
        defer { channel.close(promise: nil) }
        do {
            var hello = channel.allocator.buffer(capacity: 6)
            hello.writeString("stdin\n")
            try await channel.writeAndFlush(hello).get()
            guard try await reply.futureResult.get() == "ok" else { return }
            for await chunk in input.stream {
                let n = chunk.readableBytes
                try await channel.writeAndFlush(chunk).get()
                input.consumed(n)
            }
            // End of input: the monitor sees EOF and closes the container's stdin.
            try await channel.close(mode: .output).get()
        } catch {
            return
        }
    }
}

/// Completes `reply` with the monitor's first line (`ok` or `error …`); later bytes are ignored.
final class ReplyLineHandler: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: touched on its channel's event loop only.
    typealias InboundIn = ByteBuffer
    private let reply: EventLoopPromise<String>
    private var pending = ""
    private var done = false

    init(reply: EventLoopPromise<String>) { self.reply = reply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        pending += String(buffer: unwrapInboundIn(data))
        if let nl = pending.firstIndex(of: "\n") {
            done = true
            reply.succeed(String(pending[..<nl]).trimmingCharacters(in: .whitespaces))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { done = true; reply.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done { done = true; reply.fail(error) }
        context.close(promise: nil)
    }
}
