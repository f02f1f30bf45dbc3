import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A connection to a wire server. Calls may run concurrently on one client.
public final class WireClient: Sendable {
    private let channel: Channel
    private let state: ClientState

    /// Connects to the unix socket at `path`.
    public static func connect(path: String, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> WireClient {
        let state = ClientState()
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: Wire.maxLineBytes)))
                        try ch.pipeline.syncOperations.addHandler(ClientHandler(state: state))
                    }
                }
                .connect(unixDomainSocketPath: path)
                .get()
        } catch {
            throw WireError(code: 503, message: "cannot connect to berth-lifecycled at \(path): \(error)")
        }
        return WireClient(channel: channel, state: state)
    }

    init(channel: Channel, state: ClientState) { self.channel = channel; self.state = state }

    /// Calls `method` and returns its result; `onProgress` gets each progress event first.
    public func call<P: Encodable & Sendable, R: Decodable, E: Decodable & SendableMetatype>(
        _ method: String, _ params: P, returning: R.Type = R.self,
        progress: E.Type, onProgress: @escaping @Sendable (E) -> Void
    ) async throws -> R {
        let id = state.nextID()
        let bytes = try WireCoding.encoder().encode(Request(id: id, method: method, params: params))
        let line: Data = try await withCheckedThrowingContinuation { cont in
            state.register(id, Pending(continuation: cont, onEvent: { data in
                if let e = try? WireCoding.decoder().decode(EventBody<E>.self, from: data) { onProgress(e.params.event) }
            }))
            var buf = channel.allocator.buffer(capacity: bytes.count + 1)
            buf.writeBytes(bytes)
            buf.writeInteger(UInt8(ascii: "\n"))
            channel.writeAndFlush(buf).whenFailure { [state] err in
                state.fail(id, WireError(code: 503, message: "lost connection to berth-lifecycled: \(err)"))
            }
        }
        do {
            return try WireCoding.decoder().decode(ResultBody<R>.self, from: line).result
        } catch {
            throw WireError.internalError("malformed result for \(method): \(WireRouter.describe(error))")
        }
    }

    /// Calls `method` with no progress events expected.
    public func call<P: Encodable & Sendable, R: Decodable>(_ method: String, _ params: P, returning: R.Type = R.self) async throws -> R {
        try await call(method, params, returning: R.self, progress: Empty.self, onProgress: { _ in })
    }

    public func close() async {
        try? await channel.close()
    }
}

struct Pending: Sendable {
    let continuation: CheckedContinuation<Data, Error>
    let onEvent: @Sendable (Data) -> Void
}

final class ClientState: Sendable {
    private let box = NIOLockedValueBox<(next: Int64, pending: [Int64: Pending], closed: Bool)>((1, [:], false))

    func nextID() -> Int64 { box.withLockedValue { s in defer { s.next += 1 }; return s.next } }

    func register(_ id: Int64, _ p: Pending) {
        let closed = box.withLockedValue { s -> Bool in
            if s.closed { return true }
            s.pending[id] = p
            return false
        }
        if closed { p.continuation.resume(throwing: WireError(code: 503, message: "connection to berth-lifecycled is closed")) }
    }

    func take(_ id: Int64) -> Pending? { box.withLockedValue { $0.pending.removeValue(forKey: id) } }
    func peek(_ id: Int64) -> Pending? { box.withLockedValue { $0.pending[id] } }

    func fail(_ id: Int64, _ e: Error) { take(id)?.continuation.resume(throwing: e) }

    func failAll(_ e: Error) {
        let all = box.withLockedValue { s -> [Pending] in
            s.closed = true
            defer { s.pending.removeAll() }
            return Array(s.pending.values)
        }
        for p in all { p.continuation.resume(throwing: e) }
    }
}

final class ClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let state: ClientState

    init(state: ClientState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Data(unwrapInboundIn(data).readableBytesView)
        guard let head = try? WireCoding.decoder().decode(IncomingHead.self, from: line) else { return }
        if head.method == Wire.progressMethod, let id = head.params?.id {
            state.peek(id)?.onEvent(line)
            return
        }
        guard let id = head.id, let p = state.take(id) else { return }
        if let e = head.error { p.continuation.resume(throwing: e) } else { p.continuation.resume(returning: line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.failAll(WireError(code: 503, message: "berth-lifecycled closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.failAll(WireError(code: 503, message: "connection to berth-lifecycled failed: \(error)"))
        context.close(promise: nil)
    }
}
