import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import BerthOS

/// One container's entry on a network, as the embedded DNS resolves it.
public struct DNSEndpoint: Sendable, Equatable {
    public var containerID: String
    /// The container name first (reverse lookups answer `<names[0]>.<network name>`), then its
    /// aliases and short ID. Case and one trailing dot do not matter.
    public var names: [String]
    public var ipv4: String?
    public var ipv6: String?

    public init(containerID: String, names: [String], ipv4: String?, ipv6: String? = nil) {
        self.containerID = containerID; self.names = names; self.ipv4 = ipv4; self.ipv6 = ipv6
    }
}

/// Serving a container could not start; `cause` is the SwiftNIO error.
public struct EmbeddedDNSError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var containerID: String
    public var cause: any Error

    public var description: String { "\(operation) for container \(containerID): \(cause)" }
}

/// The resolver containers on user-defined networks reach at 127.0.0.11, as in Docker.
///
/// A query is answered from the networks the asking container is attached to: A and AAAA for
/// endpoint names, `name.<network name>` and PTR for endpoint addresses, with TTL 600. A known
/// name without an address of the asked family gets NOERROR and no answers. Everything else is
/// relayed to the upstream servers from the daemon's own network namespace, one server after
/// another, each given `timeout`, the per-container list (`--dns`) in place of the default one.
/// The relayed query goes out with a fresh random ID from a fresh socket and the answer comes back
/// with the client's ID. UDP queries go upstream over UDP and TCP queries over TCP, so a client
/// that retries over TCP after a truncated answer gets the whole answer. No upstream, every
/// upstream silent or failing, or more than `maxForwardsPerContainer` queries in flight: SERVFAIL.
///
/// Malformed packets are dropped (UDP) or end the connection (TCP). Nothing is logged per query.
public final class EmbeddedDNS: Sendable {
    public static let ttl: UInt32 = 600
    public static let maxForwardsPerContainer = 100
    public static let maxTCPConnectionsPerContainer = 16
    /// The UDP payload size this resolver advertises in the OPT record of its own answers.
    static let ednsPayloadSize: UInt16 = 1232
    static let queryBufferSize = 4096

    let group: any EventLoopGroup
    let upstream: [SocketAddress]
    let timeout: TimeAmount
    let log: (@Sendable (String) -> Void)?
    let tcpIdleTimeout: TimeAmount
    private let networks = NIOLockedValueBox<[String: NetworkRecords]>([:])
    private let containers = NIOLockedValueBox<[String: ContainerResolver]>([:])

    /// `upstream` holds "ip" or "ip:port" ("[v6]:port") entries; invalid ones are logged and left out.
    public convenience init(group: any EventLoopGroup, upstream: [String], timeout: TimeAmount = .seconds(2),
                            log: (@Sendable (String) -> Void)? = nil) {
        self.init(group: group, upstream: upstream, timeout: timeout, log: log, tcpIdleTimeout: .seconds(10))
    }

    /// `tcpIdleTimeout` (shortened by tests): how long a TCP connection may stay silent, on top
    /// of the time the slowest forward could take.
    init(group: any EventLoopGroup, upstream: [String], timeout: TimeAmount, log: (@Sendable (String) -> Void)?,
         tcpIdleTimeout: TimeAmount) {
        self.group = group
        self.timeout = timeout
        self.log = log
        self.tcpIdleTimeout = tcpIdleTimeout
        self.upstream = Self.parseUpstream(upstream, log: log)
    }

    // MARK: Records

    /// Replace everything a network resolves (and its name for `name.network` lookups).
    public func setNetwork(id: String, name: String, endpoints: [DNSEndpoint]) {
        let records = NetworkRecords(name: name, endpoints: endpoints, log: log)
        networks.withLockedValue { $0[id] = records }
    }

    public func removeNetwork(id: String) {
        networks.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    /// Adds `e`, replacing the network's endpoint of the same container. A network not set yet
    /// is created without a name.
    public func addEndpoint(network: String, _ e: DNSEndpoint) {
        let log = self.log
        networks.withLockedValue { nets in
            var records = nets[network] ?? NetworkRecords(name: "", endpoints: [], log: log)
            records.set(e.containerID, to: e, log: log)
            nets[network] = records
        }
    }

    public func removeEndpoint(network: String, containerID: String) {
        networks.withLockedValue { nets in
            guard var records = nets[network] else { return }
            records.set(containerID, to: nil, log: nil)
            nets[network] = records
        }
    }

    // MARK: Serving

    /// Start answering a container's queries on sockets bound in its namespace; takes ownership of
    /// the fds (if this throws they are closed, as far as SwiftNIO closes a descriptor it failed
    /// to adopt). Serving the same container again replaces the
    /// earlier sockets. `upstream` nil or empty means the resolver's default servers.
    public func serve(containerID: String, udpFD: Int32, tcpFD: Int32, networks: [String], upstream: [String]?) async throws {
        let servers = Self.parseUpstream(upstream ?? [], log: log)
        let resolver = ContainerResolver(containerID: containerID, networks: networks, upstream: servers)
        let udp: any Channel
        do {
            udp = try await DatagramBootstrap(group: group)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.queryBufferSize))
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DNSUDPQueryHandler(dns: self, resolver: resolver))
                    }
                }
                .withBoundSocket(udpFD).get()
        } catch {
            FD.close(tcpFD)
            throw EmbeddedDNSError(operation: "serve DNS over UDP", containerID: containerID, cause: error)
        }
        // A connection stays open while it asks; an idle one goes once the slowest forward
        // (every server timing out) would have been answered.
        let idle = tcpIdleTimeout + timeout * max(servers.count, self.upstream.count)
        let tcp: any Channel
        do {
            tcp = try await ServerBootstrap(group: group)
                .childChannelInitializer { [self] channel in
                    guard resolver.addConnection(channel) else {
                        return channel.eventLoop.makeFailedFuture(ConnectionLimitReached())
                    }
                    channel.closeFuture.whenComplete { _ in resolver.removeConnection(channel) }
                    return channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(IdleStateHandler(readTimeout: idle))
                        try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                        try sync.addHandler(DNSTCPQueryHandler(dns: self, resolver: resolver))
                    }
                }
                .withBoundSocket(tcpFD).get()
        } catch {
            try? await udp.close().get()
            throw EmbeddedDNSError(operation: "serve DNS over TCP", containerID: containerID, cause: error)
        }
        resolver.adopt([udp, tcp])
        let earlier = containers.withLockedValue { c in
            defer { c[containerID] = resolver }
            return c[containerID]
        }
        await earlier?.close()
    }

    /// The networks whose names the container sees (after a connect or disconnect).
    public func setNetworks(containerID: String, networks: [String]) {
        containers.withLockedValue { $0[containerID] }?.setNetworks(networks)
    }

    /// Whether the container's queries are being answered (it has sockets being served).
    public func isServing(containerID: String) -> Bool {
        containers.withLockedValue { $0[containerID] != nil }
    }

    /// Stops answering the container: closes its sockets and open TCP connections.
    public func stop(containerID: String) async {
        await containers.withLockedValue { $0.removeValue(forKey: containerID) }?.close()
    }

    /// Stops answering every container. The event loop group stays the caller's.
    public func shutdown() async {
        let all = containers.withLockedValue { c in
            defer { c.removeAll() }
            return Array(c.values)
        }
        for resolver in all { await resolver.close() }
    }

    // MARK: Answers

    enum Transport { case udp, tcp }

    /// The reply to one query packet from a container; nil drops it.
    func reply(to packet: [UInt8], from resolver: ContainerResolver, over transport: Transport,
               on loop: any EventLoop) -> EventLoopFuture<[UInt8]?> {
        guard let query = try? DNSMessage.parse(packet), !query.header.isResponse else {
            return loop.makeSucceededFuture(nil)
        }
        let limit = transport == .tcp ? Int(UInt16.max) : max(query.ednsUDPSize ?? 512, 512)
        func done(_ code: DNSResponseCode, _ answers: [DNSRecord] = []) -> EventLoopFuture<[UInt8]?> {
            loop.makeSucceededFuture(Self.response(to: query, code: code, answers: answers).encode(maxSize: limit))
        }
        guard query.header.opcode == 0 else { return done(.notImplemented) }
        guard query.questions.count == 1 else { return done(.formatError) }
        if let answers = localAnswers(query.questions[0], networks: resolver.networks) {
            return done(.noError, answers)
        }
        let servers = resolver.upstream.isEmpty ? upstream : resolver.upstream
        guard !servers.isEmpty, resolver.beginForward() else { return done(.serverFailure) }
        return forward(packet, to: servers[...], transport: transport, fallback: nil, on: loop).map { answer in
            resolver.endForward()
            guard var answer else {
                return Self.response(to: query, code: .serverFailure).encode(maxSize: limit)
            }
            answer[0] = UInt8(query.header.id >> 8)
            answer[1] = UInt8(query.header.id & 0xFF)
            guard answer.count <= limit else {
                // Too big for the client's buffer: the header and question with TC, so it retries
                // over TCP.
                var header = DNSHeader(id: query.header.id, flags: UInt16(answer[2]) << 8 | UInt16(answer[3]))
                header.isTruncated = true
                return DNSMessage(header: header, questions: query.questions).encode()
            }
            return answer
        }
    }

    static func response(to query: DNSMessage, code: DNSResponseCode, answers: [DNSRecord] = []) -> DNSMessage {
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.opcode = query.header.opcode
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = true
        header.responseCode = code
        // More than one question is a FORMERR, sent back without them so it stays small.
        return DNSMessage(header: header, questions: query.questions.count == 1 ? query.questions : [], answers: answers,
                          additionals: query.ednsUDPSize == nil ? [] : [.opt(udpPayloadSize: ednsPayloadSize)])
    }

    /// The records for a question this resolver answers itself, or nil to forward it.
    func localAnswers(_ q: DNSQuestion, networks ids: [String]) -> [DNSRecord]? {
        guard q.recordClass == DNSClass.internet else { return nil }
        switch q.type {
        case .a, .aaaa:
            guard let key = q.name.lookupKey else { return nil }
            let v6 = q.type == .aaaa
            let found: [[UInt8]]? = networks.withLockedValue { nets in
                var known = false
                var addresses: [[UInt8]] = []
                for id in ids {
                    guard let net = nets[id], let indices = net.byName[key] else { continue }
                    known = true
                    for i in indices {
                        if let a = v6 ? net.entries[i].ipv6 : net.entries[i].ipv4, !addresses.contains(a) {
                            addresses.append(a)
                        }
                    }
                }
                return known ? addresses : nil
            }
            // Docker's round robin: every address, in a new order each time.
            return found?.shuffled().map { DNSRecord(name: q.name, type: q.type, ttl: Self.ttl, data: $0) }
        case .ptr:
            guard let (address, v6) = Self.reverseAddress(q.name) else { return nil }
            let target: String? = networks.withLockedValue { nets in
                for id in ids {
                    guard let net = nets[id], let i = (v6 ? net.byIPv6 : net.byIPv4)[address],
                          let name = net.entries[i].endpoint.names.first
                    else { continue }
                    return net.name.isEmpty ? name : name + "." + net.name
                }
                return nil
            }
            guard let target, let name = try? DNSName(target) else { return nil }
            return [.ptr(q.name, target: name, ttl: Self.ttl)]
        default:
            return nil
        }
    }

    /// The address in a `d.c.b.a.in-addr.arpa` or nibble `ip6.arpa` name.
    static func reverseAddress(_ name: DNSName) -> (address: [UInt8], v6: Bool)? {
        let labels = name.lowercasedLabels
        let arpa = Array("arpa".utf8)
        if labels.count == 6, labels[4] == Array("in-addr".utf8), labels[5] == arpa {
            var out: [UInt8] = []
            for label in labels[0..<4].reversed() {
                guard (1...3).contains(label.count), let v = IPText.decimal(label), v <= 255 else { return nil }
                out.append(UInt8(v))
            }
            return (out, false)
        }
        if labels.count == 34, labels[32] == Array("ip6".utf8), labels[33] == arpa {
            var nibbles: [UInt8] = []
            for label in labels[0..<32].reversed() {
                guard label.count == 1, let v = IPText.hex(label) else { return nil }
                nibbles.append(UInt8(v))
            }
            return ((0..<16).map { nibbles[2 * $0] << 4 | nibbles[2 * $0 + 1] }, true)
        }
        return nil
    }

    static func parseUpstream(_ entries: [String], log: (@Sendable (String) -> Void)?) -> [SocketAddress] {
        entries.compactMap { entry in
            var host = Substring(entry)
            var port = 53
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                host = entry[entry.index(after: entry.startIndex)..<close]
                let rest = entry[entry.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.first == ":", let p = Int(rest.dropFirst()) else { log?("dns: ignoring upstream server \(entry)"); return nil }
                    port = p
                }
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
                host = entry[..<colon]
                guard let p = Int(entry[entry.index(after: colon)...]) else { log?("dns: ignoring upstream server \(entry)"); return nil }
                port = p
            }
            guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: String(host), port: port) else {
                log?("dns: ignoring upstream server \(entry)")
                return nil
            }
            return address
        }
    }
}

struct ConnectionLimitReached: Error {}

/// One network's names and addresses, indexed for lookups.
struct NetworkRecords {
    struct Entry {
        var endpoint: DNSEndpoint
        var ipv4: [UInt8]?
        var ipv6: [UInt8]?
    }

    var name: String
    private(set) var entries: [Entry] = []
    /// Lowercased name (and `name.network`) → indices into `entries`.
    private(set) var byName: [String: [Int]] = [:]
    private(set) var byIPv4: [[UInt8]: Int] = [:]
    private(set) var byIPv6: [[UInt8]: Int] = [:]

    init(name: String, endpoints: [DNSEndpoint], log: (@Sendable (String) -> Void)?) {
        self.name = name
        entries = endpoints.map { Self.entry($0, log: log) }
        index()
    }

    /// Replaces (or with nil removes) the container's endpoint.
    mutating func set(_ containerID: String, to endpoint: DNSEndpoint?, log: (@Sendable (String) -> Void)?) {
        entries.removeAll { $0.endpoint.containerID == containerID }
        if let endpoint { entries.append(Self.entry(endpoint, log: log)) }
        index()
    }

    private static func entry(_ e: DNSEndpoint, log: (@Sendable (String) -> Void)?) -> Entry {
        let v4 = e.ipv4.flatMap { IPText.v4($0) }
        let v6 = e.ipv6.flatMap { IPText.v6($0) }
        if v4 == nil, let a = e.ipv4 { log?("dns: container \(e.containerID): ignoring IPv4 address \(a)") }
        if v6 == nil, let a = e.ipv6 { log?("dns: container \(e.containerID): ignoring IPv6 address \(a)") }
        return Entry(endpoint: e, ipv4: v4, ipv6: v6)
    }

    private mutating func index() {
        byName = [:]
        byIPv4 = [:]
        byIPv6 = [:]
        let network = (try? DNSName(name))?.lookupKey ?? ""
        for (i, entry) in entries.enumerated() {
            for name in entry.endpoint.names {
                guard let key = (try? DNSName(name))?.lookupKey, !key.isEmpty else { continue }
                var keys = [key]
                if !network.isEmpty { keys.append(key + "." + network) }
                for k in keys where byName[k]?.contains(i) != true { byName[k, default: []].append(i) }
            }
            if let a = entry.ipv4, byIPv4[a] == nil { byIPv4[a] = i }
            if let a = entry.ipv6, byIPv6[a] == nil { byIPv6[a] = i }
        }
    }
}

/// A served container: what it sees, where it forwards, its sockets and its counters.
final class ContainerResolver: Sendable {
    private struct State {
        var networks: [String]
        var forwards = 0
        var channels: [any Channel] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    let containerID: String
    let upstream: [SocketAddress]
    private let state: NIOLockedValueBox<State>

    init(containerID: String, networks: [String], upstream: [SocketAddress]) {
        self.containerID = containerID
        self.upstream = upstream
        state = NIOLockedValueBox(State(networks: networks))
    }

    var networks: [String] { state.withLockedValue { $0.networks } }

    func setNetworks(_ networks: [String]) { state.withLockedValue { $0.networks = networks } }

    func beginForward() -> Bool {
        state.withLockedValue { s in
            guard s.forwards < EmbeddedDNS.maxForwardsPerContainer else { return false }
            s.forwards += 1
            return true
        }
    }

    func endForward() { state.withLockedValue { $0.forwards -= 1 } }

    func addConnection(_ channel: any Channel) -> Bool {
        state.withLockedValue { s in
            guard !s.closed, s.connections.count < EmbeddedDNS.maxTCPConnectionsPerContainer else { return false }
            s.connections[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func removeConnection(_ channel: any Channel) {
        state.withLockedValue { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func adopt(_ channels: [any Channel]) { state.withLockedValue { $0.channels += channels } }

    func close() async {
        let all = state.withLockedValue { s in
            s.closed = true
            defer { s.channels = []; s.connections = [:] }
            return s.channels + Array(s.connections.values)
        }
        for channel in all { try? await channel.close().get() }
    }
}
