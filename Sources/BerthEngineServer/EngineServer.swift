import BerthWire
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the handlers need to know about the daemon.
public struct EngineServerOptions: Sendable {
    public var dataRoot: String
    public var debug: Bool
    /// Failures answered with a 5xx are logged unless the log level is above `error`.
    public var logErrors = true
    /// dockerd's `--default-ulimit`: added to created containers that do not set that ulimit.
    public var defaultUlimits: [Ulimit] = []
    public init(dataRoot: String, debug: Bool) { self.dataRoot = dataRoot; self.debug = debug }
}

/// The Engine API server: HTTP/1.1 on a unix socket, each request routed to berth-lifecycled.
public final class EngineServer: Sendable {
    static let decoderName = "http-request-decoder"
    let channel: Channel
    public let path: String

    /// Listens on `path` (an existing socket file is replaced) with `mode` (0660 as dockerd).
    public static func start(path: String, mode: mode_t = 0o660, lifecycleSocket: String, options: EngineServerOptions,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> EngineServer {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let channel = try await bootstrap(lifecycleSocket: lifecycleSocket, options: options, group: group)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        chmod(path, mode)
        return EngineServer(channel: channel, path: path)
    }

    /// Listens on TCP, plain HTTP: only when the operator asked for it (`-H tcp://…`).
    public static func start(host: String, port: Int, lifecycleSocket: String, options: EngineServerOptions,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> EngineServer {
        let channel = try await bootstrap(lifecycleSocket: lifecycleSocket, options: options, group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port)
            .get()
        return EngineServer(channel: channel, path: "")
    }

    private static func bootstrap(lifecycleSocket: String, options: EngineServerOptions, group: EventLoopGroup) -> ServerBootstrap {
        let router = Router(lifecycle: LifecycleLink(socket: lifecycleSocket), options: options)
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 128)
            // Hijacked streams need the client's half-close (end of stdin) without losing the output side.
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: decoderName)
                    try ch.pipeline.syncOperations.addHandler(HTTPConnectionHandler(router: router))
                }
            }
    }

    /// The port a TCP listener got (for `tcp://127.0.0.1:0`).
    public var port: Int? { channel.localAddress?.port }

    init(channel: Channel, path: String) { self.channel = channel; self.path = path }

    /// Stops accepting connections and removes the socket file.
    public func close() async {
        try? await channel.close()
        if !path.isEmpty { unlink(path) }
    }
}
