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

/// Docker's detach keys in a client's input, across chunk boundaries.
struct DetachScanner {
    let keys: [UInt8]
    /// The prefix of `keys` seen at the end of the input so far, not yet forwarded.
    private(set) var held: [UInt8] = []

    init(keys: [UInt8]) { self.keys = keys }

    /// What of `chunk` to forward, and whether the sequence is complete (the rest is dropped).
    mutating func feed<C: Collection>(_ chunk: C) -> (forward: [UInt8], detached: Bool) where C.Element == UInt8 {
        guard !keys.isEmpty else { return (Array(chunk), false) }
        var out: [UInt8] = []
        for b in chunk {
            if b == keys[held.count] {
                held.append(b)
                if held.count == keys.count { held = []; return (out, true) }
            } else {
                // The match broke: what was held is ordinary input; this byte may start a new one.
                out += held
                held = []
                if b == keys[0] {
                    held = [b]
                    if keys.count == 1 { held = []; return (out, true) }
                } else {
                    out.append(b)
                }
            }
        }
        return (out, false)
    }

    static let defaultKeys: [UInt8] = [16, 17]

    /// Docker's `ctrl-p,ctrl-q` syntax (term.ToBytes): single characters or ctrl-<a-z @ [ \\ ] ^ _>;
    /// an empty string is the default.
    static func parse(_ s: String?) throws(EngineError) -> [UInt8] {
        guard let s, !s.isEmpty else { return defaultKeys }
        var out: [UInt8] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let k = part.lowercased().trimmingCharacters(in: .whitespaces)
            if k.count == 1, let a = k.unicodeScalars.first, a.isASCII {
                out.append(UInt8(a.value))
            } else if k.hasPrefix("ctrl-"), k.count == 6, let c = k.unicodeScalars.last {
                switch c {
                case "a"..."z": out.append(UInt8(c.value) - 96)
                case "@", "[", "\\", "]", "^", "_": out.append(UInt8(c.value) - 64)
                default: throw EngineError.badRequest("Invalid detach keys (\(s)) provided")
                }
            } else {
                throw EngineError.badRequest("Invalid detach keys (\(s)) provided")
            }
        }
        return out
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
