import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Per-request context a handler gets: its id and a way to stream progress notifications to the
/// caller before it returns its result.
public struct WireContext: Sendable {
    public let id: Int64
    let channel: Channel

    /// Sends one `progress` notification carrying this request's id.
    public func progress<E: Encodable>(_ event: E) {
        guard let bytes = try? WireCoding.encoder().encode(NotificationEnvelope(method: Wire.progressMethod, params: ProgressParams(id: id, event: event))) else { return }
        WireConnection.send(bytes, on: channel)
    }
}

/// Method name → handler. Built once before the server starts.
public struct WireRouter: Sendable {
    typealias Handler = @Sendable (Data, WireContext) async throws -> Data
    private var handlers: [String: Handler] = [:]

    public init() {}

    /// Registers `method`; its `params` decode as `P`, its result encodes as `R`.
    public mutating func register<P: Decodable & Sendable, R: Encodable & SendableMetatype>(
        _ method: String, _ params: P.Type = P.self,
        _ body: @escaping @Sendable (P, WireContext) async throws -> R
    ) {
        handlers[method] = { line, ctx in
            let p: P
            do {
                p = try WireCoding.decoder().decode(RequestParams<P>.self, from: line).params
            } catch {
                throw WireError.invalidParams("invalid parameters for \(method): \(WireRouter.describe(error))")
            }
            let r = try await body(p, ctx)
            return try WireCoding.encoder().encode(ResultEnvelope(id: ctx.id, result: r))
        }
    }

    public var methods: [String] { handlers.keys.sorted() }

    func handler(_ method: String) -> Handler? { handlers[method] }

    /// A decoding error as a user reads it: which key, what was wrong.
    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.filter { $0.stringValue != "params" }.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .keyNotFound(let k, let c): return "missing \((path(c).isEmpty ? "" : path(c) + ".") + k.stringValue)"
        case .typeMismatch(let t, let c): return "\(path(c).isEmpty ? "value" : path(c)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c).isEmpty ? "value" : path(c)): expected \(t), got null"
        case .dataCorrupted(let c): return (path(c).isEmpty ? "" : path(c) + ": ") + c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

/// A listening wire server on a unix socket.
public final class WireServer: Sendable {
    let channel: Channel
    public let path: String

    /// Binds `path` (mode 0600: the socket is the daemon's whole authority) and serves `router`.
    public static func start(path: String, router: WireRouter, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> WireServer {
        unlink(path)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maxLength: Wire.maxLineBytes)))
                    try ch.pipeline.syncOperations.addHandler(WireConnection(router: router))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        chmod(path, 0o600)
        return WireServer(channel: channel, path: path)
    }

    init(channel: Channel, path: String) { self.channel = channel; self.path = path }

    public func close() async {
        try? await channel.close()
        unlink(path)
    }
}

/// One client connection: decodes each line, runs its handler in a task, writes the response.
/// Requests on one connection run concurrently; responses carry their ids.
final class WireConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let router: WireRouter
    // Only touched on the channel's event loop.
    private var tasks: [Int64: Task<Void, Never>] = [:]

    init(router: WireRouter) { self.router = router }

    static func send(_ bytes: Data, on channel: Channel) {
        var buf = channel.allocator.buffer(capacity: bytes.count + 1)
        buf.writeBytes(bytes)
        buf.writeInteger(UInt8(ascii: "\n"))
        channel.writeAndFlush(buf, promise: nil)
    }

    static func sendError(_ error: WireError, id: Int64?, on channel: Channel) {
        if let bytes = try? WireCoding.encoder().encode(ErrorEnvelope(id: id, error: error)) { send(bytes, on: channel) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        let line = Data(buf.readableBytesView)
        let channel = context.channel
        if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
        let head: RequestHead
        do { head = try WireCoding.decoder().decode(RequestHead.self, from: line) } catch {
            WireConnection.sendError(.parse("not a JSON-RPC request: \(WireRouter.describe(error))"), id: nil, on: channel)
            return
        }
        guard let id = head.id else {
            WireConnection.sendError(.parse("request without an id"), id: nil, on: channel)
            return
        }
        guard let handler = router.handler(head.method) else {
            WireConnection.sendError(.methodNotFound(head.method), id: id, on: channel)
            return
        }
        let ctx = WireContext(id: id, channel: channel)
        let loop = context.eventLoop
        let task = Task {
            do {
                let bytes = try await handler(line, ctx)
                WireConnection.send(bytes, on: channel)
            } catch let e as WireError {
                WireConnection.sendError(e, id: id, on: channel)
            } catch let e as WireConvertibleError {
                WireConnection.sendError(e.wireError, id: id, on: channel)
            } catch is CancellationError {
                WireConnection.sendError(.internalError("request cancelled"), id: id, on: channel)
            } catch {
                WireConnection.sendError(.internalError("\(error)"), id: id, on: channel)
            }
            loop.execute { self.tasks[id] = nil }
        }
        tasks[id] = task
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The caller has gone: stop its work (a pull whose client hung up is abandoned, as in dockerd).
        for t in tasks.values { t.cancel() }
        tasks.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is LineFrameDecoder.LineTooLong {
            WireConnection.sendError(.parse("request line longer than \(Wire.maxLineBytes) bytes"), id: nil, on: context.channel)
        }
        context.close(promise: nil)
    }
}
