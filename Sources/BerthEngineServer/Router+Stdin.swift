import BerthEngineAPI
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
    ///
    /// With `detachKeys`, the input is scanned for that sequence (Docker's escape proxy): bytes of
    /// a partial match are held back and forwarded when the match breaks; the whole sequence is
    /// not forwarded, and it tells the monitor to keep the container's stdin open (`detach`)
    /// before this connection closes, then calls `onDetach`.
    func forwardStdin(_ input: HijackedInput, ioMethod: String, params: [String: String],
                      detachKeys: [UInt8] = [], onDetach: @escaping @Sendable () -> Void = {}) async {
        var scanner = DetachScanner(keys: detachKeys)
        var socketPath: String?
        while socketPath == nil, !Task.isCancelled {
            guard let io = try? await lifecycle.call(ioMethod, params, returning: ContainerIOResult.self) else { return }
            guard io.openStdin else { return }
            socketPath = io.controlSocket
            if socketPath == nil { try? await Task.sleep(nanoseconds: 50_000_000) }
        }
        guard let socketPath else { return }
        guard let (channel, reply) = try? await MonitorControl.connect(socketPath) else { return }
        defer { channel.close(promise: nil) }
        do {
            var hello = channel.allocator.buffer(capacity: 6)
            hello.writeString("stdin\n")
            try await channel.writeAndFlush(hello).get()
            guard try await reply.get() == "ok" else { return }
            for await chunk in input.stream {
                let n = chunk.readableBytes
                let (forward, detached) = scanner.feed(chunk.readableBytesView)
                if !forward.isEmpty { try await channel.writeAndFlush(channel.allocator.buffer(bytes: forward)).get() }
                input.consumed(n)
                if detached {
                    try? await MonitorControl.command(socketPath, "detach")
                    channel.close(promise: nil)
                    onDetach()
                    return
                }
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

extension DetachScanner {
    /// The request's detach keys (an empty string is the default); Docker's 400 when malformed.
    static func parse(_ s: String?) throws(EngineError) -> [UInt8] {
        do { return try keys(s) } catch { throw EngineError.badRequest(error.message) }
    }
}

/// One command on a monitor's control socket, for its one-line reply.
enum MonitorControl {
    /// A connection to the control socket, and its first reply line to come.
    static func connect(_ socketPath: String) async throws -> (Channel, EventLoopFuture<String>) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let reply = loop.makePromise(of: String.self)
        do {
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(ReplyLineHandler(reply: reply)) }
                }
                .connect(unixDomainSocketPath: socketPath).get()
            return (channel, reply.futureResult)
        } catch {
            reply.fail(error)
            throw error
        }
    }

    static func command(_ socketPath: String, _ line: String) async throws {
        let (channel, reply) = try await connect(socketPath)
        defer { channel.close(promise: nil) }
        try await channel.writeAndFlush(channel.allocator.buffer(string: line + "\n")).get()
        let answer = try await reply.get()
        guard answer == "ok" else { throw EngineError.internalError("monitor \(socketPath): \(line): \(answer)") }
    }
}
