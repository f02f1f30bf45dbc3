import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import BerthOS
@testable import BerthNetwork

// Clients, fake upstream servers and fixtures for the embedded DNS tests. Everything listens on
// 127.0.0.1 with ports the kernel picks, so suites can run side by side.

let dnsTestGroup = MultiThreadedEventLoopGroup.singleton

struct DNSTestTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Messages received by a test socket, waited for by polling.
final class Mailbox: Sendable {
    private let state = NIOLockedValueBox<(items: [[UInt8]], stream: [UInt8], closed: Bool)>(([], [], false))

    func put(_ bytes: [UInt8]) { state.withLockedValue { $0.items.append(bytes) } }
    func append(_ bytes: [UInt8]) { state.withLockedValue { $0.stream += bytes } }
    func close() { state.withLockedValue { $0.closed = true } }

    var isClosed: Bool { state.withLockedValue { $0.closed } }
    var count: Int { state.withLockedValue { $0.items.count } }

    /// The next datagram, or nil when none came within `timeout`.
    func take(timeout: Duration = .seconds(5)) async -> [UInt8]? {
        await poll(timeout) { s in s.items.isEmpty ? nil : s.items.removeFirst() }
    }

    /// The next length-prefixed message of the stream.
    func takeFrame(timeout: Duration = .seconds(5)) async -> [UInt8]? {
        await poll(timeout) { s in
            guard s.stream.count >= 2 else { return nil }
            let length = Int(s.stream[0]) << 8 | Int(s.stream[1])
            guard s.stream.count >= 2 + length else { return nil }
            defer { s.stream.removeFirst(2 + length) }
            return Array(s.stream[2..<(2 + length)])
        }
    }

    func waitClosed(timeout: Duration = .seconds(5)) async -> Bool {
        await poll(timeout) { s in s.closed ? true : nil } ?? false
    }

    private func poll<T>(_ timeout: Duration, _ body: (inout (items: [[UInt8]], stream: [UInt8], closed: Bool)) -> T?) async -> T? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let v = state.withLockedValue({ body(&$0) }) { return v }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

final class DatagramCollector: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let mailbox: Mailbox
    init(_ mailbox: Mailbox) { self.mailbox = mailbox }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        mailbox.put(Array(Self.unwrapInboundIn(data).data.readableBytesView))
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

final class StreamCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let mailbox: Mailbox
    init(_ mailbox: Mailbox) { self.mailbox = mailbox }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        mailbox.append(Array(Self.unwrapInboundIn(data).readableBytesView))
    }
    func channelInactive(context: ChannelHandlerContext) { mailbox.close() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// A UDP socket that sends to the resolver and collects what comes back.
struct UDPClient {
    let channel: any Channel
    let mailbox: Mailbox

    /// On 127.0.0.1 in this namespace, or on `fd` (a bound socket, maybe in another namespace).
    static func make(fd: Int32? = nil) async throws -> UDPClient {
        let mailbox = Mailbox()
        let bootstrap = DatagramBootstrap(group: dnsTestGroup).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramCollector(mailbox)) }
        }
        let channel = try await (fd.map { bootstrap.withBoundSocket($0) } ?? bootstrap.bind(host: "127.0.0.1", port: 0)).get()
        return UDPClient(channel: channel, mailbox: mailbox)
    }

    func send(_ bytes: [UInt8], to address: SocketAddress) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes))).get()
    }

    func send(_ bytes: [UInt8], port: Int, host: String = "127.0.0.1") async throws {
        try await send(bytes, to: try SocketAddress(ipAddress: host, port: port))
    }

    func close() async { try? await channel.close().get() }
}

/// A TCP connection to the resolver.
struct TCPClient {
    let channel: any Channel
    let mailbox: Mailbox

    static func connect(port: Int) async throws -> TCPClient {
        let mailbox = Mailbox()
        let channel = try await ClientBootstrap(group: dnsTestGroup).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(StreamCollector(mailbox)) }
        }.connect(host: "127.0.0.1", port: port).get()
        return TCPClient(channel: channel, mailbox: mailbox)
    }

    func send(raw bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    func send(frame message: [UInt8]) async throws { try await send(raw: framed(message)) }

    func close() async { try? await channel.close().get() }
}

/// The ports a container's resolver sockets got on 127.0.0.1.
struct ServedPorts {
    var udp: Int
    var tcp: Int
}

extension EmbeddedDNS {
    /// Serves a "container" on sockets bound on 127.0.0.1 in this namespace.
    func serveOnLoopback(_ containerID: String, networks: [String], upstream: [String]? = nil) async throws -> ServedPorts {
        let udp = try NetNS.boundSocket(namespace: nil, kind: .udp, address: "127.0.0.1", port: 0)
        let tcp: Int32
        do { tcp = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: 0) } catch {
            FD.close(udp)
            throw error
        }
        let ports = ServedPorts(udp: NetNS.port(of: udp), tcp: NetNS.port(of: tcp))
        try await serve(containerID: containerID, udpFD: udp, tcpFD: tcp, networks: networks, upstream: upstream)
        return ports
    }
}

/// Runs `body` with a resolver that is shut down afterwards, also when `body` throws.
func withDNS<T>(upstream: [String] = [], timeout: TimeAmount = .seconds(2), tcpIdleTimeout: TimeAmount = .seconds(10),
                _ body: (EmbeddedDNS) async throws -> T) async throws -> T {
    let dns = EmbeddedDNS(group: dnsTestGroup, upstream: upstream, timeout: timeout, log: nil, tcpIdleTimeout: tcpIdleTimeout)
    do {
        let result = try await body(dns)
        await dns.shutdown()
        return result
    } catch {
        await dns.shutdown()
        throw error
    }
}

/// Runs `body` with fake upstream servers that are stopped afterwards, also when `body` throws.
func withUpstreams<T>(_ modes: [FakeUpstream.Mode], _ body: ([FakeUpstream]) async throws -> T) async throws -> T {
    var servers: [FakeUpstream] = []
    do {
        for mode in modes { servers.append(try await FakeUpstream.start(mode)) }
        let result = try await body(servers)
        for s in servers { await s.stop() }
        return result
    } catch {
        for s in servers { await s.stop() }
        throw error
    }
}

func withUpstream<T>(_ mode: FakeUpstream.Mode, _ body: (FakeUpstream) async throws -> T) async throws -> T {
    try await withUpstreams([mode]) { try await body($0[0]) }
}

/// A message with its two-octet length in front, as DNS over TCP sends it.
func framed(_ message: [UInt8]) -> [UInt8] { [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message }

/// One query over UDP; nil when nothing came back within `timeout`.
func ask(_ port: Int, _ name: String, _ type: DNSRecordType = .a, id: UInt16 = .random(in: 0...UInt16.max),
         edns: UInt16? = nil, timeout: Duration = .seconds(5)) async throws -> DNSMessage? {
    let client = try await UDPClient.make()
    try await client.send(DNSMessage.query(id: id, name: try DNSName(name), type: type, ednsUDPSize: edns).encode(), port: port)
    let reply = await client.mailbox.take(timeout: timeout)
    await client.close()
    return try reply.map { try DNSMessage.parse($0) }
}

/// One query over a new TCP connection.
func askTCP(_ port: Int, _ name: String, _ type: DNSRecordType = .a, id: UInt16 = .random(in: 0...UInt16.max)) async throws -> DNSMessage {
    let client = try await TCPClient.connect(port: port)
    try await client.send(frame: DNSMessage.query(id: id, name: try DNSName(name), type: type).encode())
    let reply = await client.mailbox.takeFrame()
    await client.close()
    guard let reply else { throw DNSTestTimeout(what: "TCP answer for \(name)") }
    return try DNSMessage.parse(reply)
}

/// A stand-in upstream server on 127.0.0.1, UDP and TCP on the same port.
final class FakeUpstream: Sendable {
    enum Mode: Sendable {
        /// An A record with this address for any name, TTL 42.
        case answer(String)
        /// `count` A records 192.0.2.x whatever the client's buffer size.
        case big(count: Int)
        case serverFailure
        /// Reads and never answers.
        case silent
    }

    let mode: Mode
    let port: Int
    private let channels: [any Channel]
    private let queries = NIOLockedValueBox<[DNSMessage]>([])

    var address: String { "127.0.0.1:\(port)" }
    var received: [DNSMessage] { queries.withLockedValue { $0 } }

    private init(mode: Mode, port: Int, channels: [any Channel]) {
        self.mode = mode; self.port = port; self.channels = channels
    }

    static func start(_ mode: Mode) async throws -> FakeUpstream {
        let box = NIOLockedValueBox<FakeUpstream?>(nil)
        // The UDP port is taken first; the TCP port of the same number is then very likely free,
        // and a few tries make up for the rare clash.
        for _ in 0..<20 {
            let udp = try await DatagramBootstrap(group: dnsTestGroup).channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeUpstreamUDPHandler(upstream: box))
                }
            }.bind(host: "127.0.0.1", port: 0).get()
            let port = udp.localAddress?.port ?? 0
            do {
                let tcp = try await ServerBootstrap(group: dnsTestGroup).childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(FakeUpstreamTCPHandler(upstream: box))
                    }
                }.bind(host: "127.0.0.1", port: port).get()
                let upstream = FakeUpstream(mode: mode, port: port, channels: [udp, tcp])
                box.withLockedValue { $0 = upstream }
                return upstream
            } catch {
                try? await udp.close().get()
            }
        }
        throw DNSTestTimeout(what: "a port free for both UDP and TCP")
    }

    func stop() async {
        for channel in channels { try? await channel.close().get() }
    }

    /// What this server answers to `packet`, nil for nothing.
    func answer(_ packet: [UInt8]) -> [UInt8]? {
        guard let query = try? DNSMessage.parse(packet), let question = query.questions.first else { return nil }
        queries.withLockedValue { $0.append(query) }
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = true
        var reply = DNSMessage(header: header, questions: query.questions)
        switch mode {
        case .answer(let address):
            reply.answers = [(try? DNSRecord.a(question.name, address, ttl: 42))].compactMap { $0 }
        case .big(let count):
            reply.answers = (0..<count).compactMap { try? DNSRecord.a(question.name, "192.0.2.\($0 % 250)", ttl: 42) }
        case .serverFailure:
            reply.header.responseCode = .serverFailure
        case .silent:
            return nil
        }
        return reply.encode()
    }
}

final class FakeUpstreamUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let upstream: NIOLockedValueBox<FakeUpstream?>
    init(upstream: NIOLockedValueBox<FakeUpstream?>) { self.upstream = upstream }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard let reply = upstream.withLockedValue({ $0 })?.answer(Array(envelope.data.readableBytesView)) else { return }
        context.writeAndFlush(NIOAny(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))), promise: nil)
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

final class FakeUpstreamTCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let upstream: NIOLockedValueBox<FakeUpstream?>
    init(upstream: NIOLockedValueBox<FakeUpstream?>) { self.upstream = upstream }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reply = upstream.withLockedValue({ $0 })?.answer(Array(Self.unwrapInboundIn(data).readableBytesView)) else { return }
        context.writeAndFlush(NIOAny(DNSFrameDecoder.frame(reply, allocator: context.channel.allocator)), promise: nil)
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// Two networks: "frontend" (n1) with web, db and a shared alias, "backend" (n2) with secret.
func loadFixture(_ dns: EmbeddedDNS) {
    dns.setNetwork(id: "n1", name: "frontend", endpoints: [
        DNSEndpoint(containerID: "c-web", names: ["web", "WebAlias", "abc123def456"], ipv4: "10.1.0.2", ipv6: "fd00::2"),
        DNSEndpoint(containerID: "c-db", names: ["db"], ipv4: "10.1.0.3"),
        DNSEndpoint(containerID: "c-w1", names: ["worker1", "pool"], ipv4: "10.1.0.4"),
        DNSEndpoint(containerID: "c-w2", names: ["worker2", "pool."], ipv4: "10.1.0.5"),
    ])
    dns.setNetwork(id: "n2", name: "backend", endpoints: [
        DNSEndpoint(containerID: "c-secret", names: ["secret"], ipv4: "10.2.0.2"),
    ])
}
