import Testing
import Foundation
import Glibc
import NIOCore
import BerthOS
@testable import BerthNetwork

@Suite("Embedded DNS")
struct EmbeddedDNSTests {
    @Test func answersNamesAliasesAndNetworkQualifiedNames() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-db", networks: ["n1"])
            for name in ["web", "webalias", "abc123def456", "web.frontend", "WEB.Frontend", "WebAlias.FRONTEND.", "web."] {
                let reply = try #require(try await ask(ports.udp, name, id: 0x4242), "\(name)")
                #expect(reply.header.id == 0x4242)
                #expect(reply.header.isResponse)
                #expect(reply.header.recursionAvailable)
                #expect(reply.header.responseCode == .noError, "\(name)")
                #expect(reply.answers.map(\.ipv4) == ["10.1.0.2"], "\(name)")
                #expect(reply.answers.first?.ttl == 600)
                // The question and the answer's owner come back in the case they were asked in.
                #expect(reply.questions.first?.name == (try DNSName(name)))
                #expect(reply.answers.first?.name == (try DNSName(name)))
            }
        }
    }

    @Test func sharedAliasReturnsEveryAddress() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            let reply = try #require(try await ask(ports.udp, "pool"))
            #expect(Set(reply.answers.compactMap(\.ipv4)) == ["10.1.0.4", "10.1.0.5"])
            #expect(reply.answers.count == 2)
            let qualified = try #require(try await ask(ports.udp, "pool.frontend"))
            #expect(Set(qualified.answers.compactMap(\.ipv4)) == ["10.1.0.4", "10.1.0.5"])
        }
    }

    @Test func aaaaAndEmptyNoError() async throws {
        try await withDNS(upstream: []) { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            let web = try #require(try await ask(ports.udp, "web", .aaaa))
            #expect(web.header.responseCode == .noError)
            #expect(web.answers.map(\.ipv6) == ["fd00::2"])
            #expect(web.answers.first?.type == .aaaa)
            // db has no IPv6 address: known name, no records, and not forwarded (there is no
            // upstream, which would make it SERVFAIL).
            let db = try #require(try await ask(ports.udp, "db", .aaaa))
            #expect(db.header.responseCode == .noError)
            #expect(db.answers.isEmpty)
        }
    }

    @Test func reverseLookups() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-db", networks: ["n1"])
            let v4 = try #require(try await ask(ports.udp, "2.0.1.10.in-addr.arpa", .ptr))
            #expect(v4.header.responseCode == .noError)
            #expect(v4.answers.map(\.type) == [.ptr])
            #expect(v4.answers.first?.target?.description == "web.frontend")
            #expect(v4.answers.first?.ttl == 600)
            let nibbles = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
            let v6 = try #require(try await ask(ports.udp, nibbles, .ptr))
            #expect(v6.answers.first?.target?.description == "web.frontend")
            // An address nobody has is not ours: forwarded, and with no upstream, SERVFAIL.
            let other = try #require(try await ask(ports.udp, "9.0.1.10.in-addr.arpa", .ptr))
            #expect(other.header.responseCode == .serverFailure)
            #expect(other.answers.isEmpty)
        }
    }

    @Test func containersOnlySeeTheirNetworks() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let front = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            let back = try await dns.serveOnLoopback("c-secret", networks: ["n2"])
            let hidden = try #require(try await ask(front.udp, "secret"))
            #expect(hidden.header.responseCode == .serverFailure)
            #expect(hidden.answers.isEmpty)
            #expect(try await ask(front.udp, "secret.backend")?.answers.isEmpty == true)
            #expect(try await ask(front.udp, "2.0.2.10.in-addr.arpa", .ptr)?.answers.isEmpty == true)
            #expect(try await ask(back.udp, "secret")?.answers.map(\.ipv4) == ["10.2.0.2"])
            #expect(try await ask(back.udp, "web")?.answers.isEmpty == true)
            // The network's name works only for that network.
            #expect(try await ask(back.udp, "secret.frontend")?.answers.isEmpty == true)
        }
    }

    @Test func connectAndDisconnectTakeEffect() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-x", networks: ["n1"])
            #expect(try await ask(ports.udp, "secret")?.answers.isEmpty == true)
            dns.setNetworks(containerID: "c-x", networks: ["n1", "n2"])
            #expect(try await ask(ports.udp, "secret")?.answers.map(\.ipv4) == ["10.2.0.2"])
            #expect(try await ask(ports.udp, "web")?.answers.map(\.ipv4) == ["10.1.0.2"])
            dns.setNetworks(containerID: "c-x", networks: ["n2"])
            #expect(try await ask(ports.udp, "web")?.answers.isEmpty == true)
            #expect(try await ask(ports.udp, "secret")?.answers.map(\.ipv4) == ["10.2.0.2"])
        }
    }

    @Test func endpointAndNetworkChangesTakeEffect() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-x", networks: ["n1"])
            dns.removeEndpoint(network: "n1", containerID: "c-w1")
            #expect(try await ask(ports.udp, "pool")?.answers.map(\.ipv4) == ["10.1.0.5"])
            #expect(try await ask(ports.udp, "worker1")?.header.responseCode == .serverFailure)
            dns.addEndpoint(network: "n1", DNSEndpoint(containerID: "c-new", names: ["newcomer"], ipv4: "10.1.0.9"))
            #expect(try await ask(ports.udp, "newcomer.frontend")?.answers.map(\.ipv4) == ["10.1.0.9"])
            // Adding the same container again replaces its entry.
            dns.addEndpoint(network: "n1", DNSEndpoint(containerID: "c-new", names: ["renamed"], ipv4: "10.1.0.10"))
            #expect(try await ask(ports.udp, "renamed")?.answers.map(\.ipv4) == ["10.1.0.10"])
            #expect(try await ask(ports.udp, "newcomer")?.answers.isEmpty == true)
            // Replacing the network drops what is not in the new list, and renames it.
            dns.setNetwork(id: "n1", name: "edge", endpoints: [DNSEndpoint(containerID: "c-web", names: ["web"], ipv4: "10.1.0.2")])
            #expect(try await ask(ports.udp, "web.edge")?.answers.map(\.ipv4) == ["10.1.0.2"])
            #expect(try await ask(ports.udp, "web.frontend")?.answers.isEmpty == true)
            #expect(try await ask(ports.udp, "db")?.answers.isEmpty == true)
            dns.removeNetwork(id: "n1")
            #expect(try await ask(ports.udp, "web")?.header.responseCode == .serverFailure)
        }
    }

    @Test func forwardsUnknownNamesAndOtherTypes() async throws {
        try await withUpstream(.answer("192.0.2.7")) { upstream in
            try await withDNS(upstream: [upstream.address]) { dns in
                loadFixture(dns)
                let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
                let reply = try #require(try await ask(ports.udp, "Example.ORG", id: 0x1234))
                #expect(reply.header.id == 0x1234)
                #expect(reply.header.responseCode == .noError)
                #expect(reply.answers.map(\.ipv4) == ["192.0.2.7"])
                #expect(reply.answers.first?.ttl == 42)
                #expect(reply.questions.first?.name == (try DNSName("Example.ORG")))
                // A type the resolver does not serve, for a name it knows, goes upstream too.
                let mx = try #require(try await ask(ports.udp, "web", .mx))
                #expect(mx.answers.map(\.ipv4) == ["192.0.2.7"])
                let seen = upstream.received
                #expect(seen.map { $0.questions.first?.name.lookupKey } == ["example.org", "web"])
                #expect(seen.map { $0.questions.first?.type } == [.a, .mx])
                // Local names are not forwarded.
                _ = try await ask(ports.udp, "web")
                #expect(upstream.received.count == 2)
            }
        }
    }

    @Test func perContainerUpstreamWinsAndServersAreTriedInOrder() async throws {
        try await withUpstreams([.silent, .serverFailure, .answer("192.0.2.8")]) { servers in
            let (silent, failing, good) = (servers[0], servers[1], servers[2])
            try await withDNS(upstream: [silent.address], timeout: .milliseconds(300)) { dns in
                let own = try await dns.serveOnLoopback("c-own", networks: [], upstream: [good.address])
                #expect(try await ask(own.udp, "example.org")?.answers.map(\.ipv4) == ["192.0.2.8"])
                #expect(silent.received.isEmpty)

                // A silent server is given up on after the timeout; SERVFAIL moves on too.
                let chain = try await dns.serveOnLoopback("c-chain", networks: [],
                                                           upstream: [silent.address, failing.address, good.address])
                let start = ContinuousClock.now
                #expect(try await ask(chain.udp, "example.net")?.answers.map(\.ipv4) == ["192.0.2.8"])
                #expect(ContinuousClock.now - start >= .milliseconds(300))
                #expect(silent.received.count == 1)
                #expect(failing.received.count == 1)

                // When the only answers are SERVFAIL, the client gets that SERVFAIL.
                let onlyFailing = try await dns.serveOnLoopback("c-fail", networks: [], upstream: [failing.address])
                let reply = try #require(try await ask(onlyFailing.udp, "example.com", id: 77))
                #expect(reply.header.responseCode == .serverFailure)
                #expect(reply.header.id == 77)
                #expect(failing.received.count == 2)

                // An empty per-container list means the default servers.
                let defaulted = try await dns.serveOnLoopback("c-default", networks: [], upstream: [])
                #expect(try await ask(defaulted.udp, "example.com")?.header.responseCode == .serverFailure)
                #expect(silent.received.count == 2)
            }
        }
    }

    @Test func serverFailureWithoutUpstreamOrAnswer() async throws {
        // No upstream at all.
        try await withDNS { dns in
            let ports = try await dns.serveOnLoopback("c", networks: [])
            let reply = try #require(try await ask(ports.udp, "example.org", id: 5, edns: 1400))
            #expect(reply.header.responseCode == .serverFailure)
            #expect(reply.header.id == 5)
            #expect(reply.ednsUDPSize == 1232)
        }
        // A silent server: SERVFAIL after the timeout, not before.
        try await withUpstream(.silent) { silent in
            try await withDNS(upstream: [silent.address], timeout: .milliseconds(250)) { dns in
                let ports = try await dns.serveOnLoopback("c", networks: [])
                let start = ContinuousClock.now
                let reply = try #require(try await ask(ports.udp, "example.org", id: 6))
                let elapsed = ContinuousClock.now - start
                #expect(reply.header.responseCode == .serverFailure)
                #expect(reply.header.id == 6)
                #expect(elapsed >= .milliseconds(250))
                #expect(elapsed < .seconds(3))
            }
        }
        // A port nobody listens on: refused at once, no need to wait for the timeout.
        let closed = try NetNS.boundSocket(namespace: nil, kind: .udp, address: "127.0.0.1", port: 0)
        let closedPort = NetNS.port(of: closed)
        FD.close(closed)
        try await withDNS(upstream: ["127.0.0.1:\(closedPort)"], timeout: .seconds(20)) { dns in
            let ports = try await dns.serveOnLoopback("c", networks: [])
            let reply = try await ask(ports.udp, "example.org", timeout: .seconds(10))
            #expect(reply?.header.responseCode == .serverFailure)
        }
    }

    @Test func tcpQueries() async throws {
        try await withUpstream(.big(count: 60)) { upstream in
            try await withDNS(upstream: [upstream.address]) { dns in
                loadFixture(dns)
                let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
                let local = try await askTCP(ports.tcp, "db", id: 0x0102)
                #expect(local.header.id == 0x0102)
                #expect(local.answers.map(\.ipv4) == ["10.1.0.3"])
                // Forwarded over TCP: 60 records do not fit 512 octets, and over TCP they need not.
                let forwarded = try await askTCP(ports.tcp, "example.org", id: 0x0304)
                #expect(forwarded.header.id == 0x0304)
                #expect(!forwarded.header.isTruncated)
                #expect(forwarded.answers.count == 60)

                // Several queries on one connection, pipelined.
                let client = try await TCPClient.connect(port: ports.tcp)
                try await client.send(frame: DNSMessage.query(id: 1, name: try DNSName("web"), type: .a).encode())
                try await client.send(raw: framed(DNSMessage.query(id: 2, name: try DNSName("secret"), type: .a).encode())
                                      + framed(DNSMessage.query(id: 3, name: try DNSName("pool"), type: .a).encode()))
                var byID: [UInt16: DNSMessage] = [:]
                for _ in 0..<3 {
                    let frame = try #require(await client.mailbox.takeFrame())
                    let m = try DNSMessage.parse(frame)
                    byID[m.header.id] = m
                }
                await client.close()
                #expect(byID[1]?.answers.map(\.ipv4) == ["10.1.0.2"])
                #expect(byID[2]?.answers.count == 60)  // not visible on n1: forwarded
                #expect(byID[3]?.answers.count == 2)
            }
        }
    }

    @Test func truncatesUDPAnswersToTheClientsBuffer() async throws {
        try await withUpstream(.big(count: 60)) { upstream in
            try await withDNS(upstream: [upstream.address]) { dns in
                dns.setNetwork(id: "big", name: "big", endpoints: (0..<40).map {
                    DNSEndpoint(containerID: "c\($0)", names: ["c\($0)", "many"], ipv4: "10.9.0.\($0 + 1)")
                })
                let ports = try await dns.serveOnLoopback("c0", networks: ["big"])
                // 40 × 16 octets do not fit in 512.
                let plain = try #require(try await ask(ports.udp, "many"))
                #expect(plain.header.isTruncated)
                #expect(plain.answers.count < 40 && !plain.answers.isEmpty)
                #expect(plain.encode().count <= 512)
                let edns = try #require(try await ask(ports.udp, "many", edns: 4096))
                #expect(!edns.header.isTruncated)
                #expect(edns.answers.count == 40)
                #expect(edns.ednsUDPSize == 1232)
                #expect(try await askTCP(ports.tcp, "many").answers.count == 40)

                // A forwarded answer over the limit (this upstream ignores the client's buffer):
                // header and question with TC, so the client asks again over TCP.
                let big = try #require(try await ask(ports.udp, "example.org", id: 0x0BAD))
                #expect(big.header.isTruncated)
                #expect(big.header.id == 0x0BAD)
                #expect(big.answers.isEmpty)
                #expect(big.questions.first?.name == (try DNSName("example.org")))
                #expect(try await ask(ports.udp, "example.org", edns: 4096)?.answers.count == 60)
            }
        }
    }

    @Test func malformedInputIsDroppedAndServingGoesOn() async throws {
        try await withUpstream(.answer("192.0.2.9")) { upstream in
            try await withDNS(upstream: [upstream.address]) { dns in
                loadFixture(dns)
                let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
                let client = try await UDPClient.make()
                let query = DNSMessage.query(id: 9, name: try DNSName("web"), type: .a).encode()
                var answerAsQuery = DNSMessage.query(id: 10, name: try DNSName("web"), type: .a)
                answerAsQuery.header.isResponse = true
                let garbage: [[UInt8]] = [
                    [], [0x00], Array(query.prefix(11)), Array(query.prefix(query.count - 1)),
                    [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1],  // pointer loop
                    [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1],
                    [0, 1, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                    answerAsQuery.encode(),  // a response sent to the resolver is not answered
                    (0..<600).map { _ in UInt8.random(in: 0...255) },
                ]
                for packet in garbage { try await client.send(packet, port: ports.udp) }
                try await client.send(query, port: ports.udp)
                let reply = try DNSMessage.parse(try #require(await client.mailbox.take()))
                #expect(reply.header.id == 9)
                #expect(reply.answers.map(\.ipv4) == ["10.1.0.2"])
                try await Task.sleep(for: .milliseconds(200))
                #expect(client.mailbox.count == 0)
                #expect(upstream.received.isEmpty)

                // Well-formed but not a plain query: NOTIMP for another opcode, FORMERR for two questions.
                var notify = DNSMessage.query(id: 11, name: try DNSName("web"), type: .a)
                notify.header.opcode = 4
                try await client.send(notify.encode(), port: ports.udp)
                let notImp = try DNSMessage.parse(try #require(await client.mailbox.take()))
                #expect(notImp.header.responseCode == .notImplemented)
                #expect(notImp.header.id == 11)
                var two = DNSMessage.query(id: 12, name: try DNSName("web"), type: .a)
                two.questions.append(DNSQuestion(name: try DNSName("db"), type: .a))
                try await client.send(two.encode(), port: ports.udp)
                let formErr = try DNSMessage.parse(try #require(await client.mailbox.take()))
                #expect(formErr.header.responseCode == .formatError)
                #expect(formErr.header.id == 12)
                await client.close()

                // TCP: a frame too short for a header, or a malformed message, closes the connection.
                for bad in [[0, 3, 1, 2, 3], [0, 18, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]] as [[UInt8]] {
                    let tcp = try await TCPClient.connect(port: ports.tcp)
                    try await tcp.send(raw: bad)
                    #expect(await tcp.mailbox.waitClosed())
                    await tcp.close()
                }
                #expect(try await askTCP(ports.tcp, "web").answers.map(\.ipv4) == ["10.1.0.2"])
            }
        }
    }

    @Test func limitsConcurrentForwards() async throws {
        try await withUpstream(.silent) { silent in
            try await withDNS(upstream: [silent.address], timeout: .seconds(4)) { dns in
                let ports = try await dns.serveOnLoopback("c", networks: [])
                let client = try await UDPClient.make()
                let total = EmbeddedDNS.maxForwardsPerContainer + 20
                for i in 0..<total {
                    try await client.send(DNSMessage.query(id: UInt16(i), name: try DNSName("q\(i).example"), type: .a).encode(), port: ports.udp)
                }
                // The 20 over the limit get SERVFAIL at once; the rest wait for the upstream.
                var early = 0
                while let bytes = await client.mailbox.take(timeout: .milliseconds(1500)) {
                    #expect(try DNSMessage.parse(bytes).header.responseCode == .serverFailure)
                    early += 1
                    if early == total { break }
                }
                #expect(early == 20)
                #expect(silent.received.count == EmbeddedDNS.maxForwardsPerContainer)
                await client.close()
            }
        }
    }

    @Test func stopClosesTheSocketsAndServeReplaces() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let first = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            let open = try await TCPClient.connect(port: first.tcp)
            #expect(try await ask(first.udp, "db")?.answers.map(\.ipv4) == ["10.1.0.3"])
            // Serving the same container again closes the earlier sockets and connections.
            let second = try await dns.serveOnLoopback("c-web", networks: ["n2"])
            #expect(await open.mailbox.waitClosed())
            #expect(try await ask(first.udp, "db", timeout: .milliseconds(300)) == nil)
            #expect(try await ask(second.udp, "secret")?.answers.map(\.ipv4) == ["10.2.0.2"])
            await dns.stop(containerID: "c-web")
            #expect(try await ask(second.udp, "secret", timeout: .milliseconds(300)) == nil)
            await #expect(throws: (any Error).self) { _ = try await TCPClient.connect(port: second.tcp) }
            // Stopping an unknown container is harmless.
            await dns.stop(containerID: "nobody")
        }
    }

    @Test func tooManyTCPConnectionsAreRefused() async throws {
        try await withDNS { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            var clients: [TCPClient] = []
            for _ in 0..<EmbeddedDNS.maxTCPConnectionsPerContainer {
                let c = try await TCPClient.connect(port: ports.tcp)
                try await c.send(frame: DNSMessage.query(id: 1, name: try DNSName("web"), type: .a).encode())
                #expect(await c.mailbox.takeFrame() != nil)
                clients.append(c)
            }
            let extra = try await TCPClient.connect(port: ports.tcp)
            #expect(await extra.mailbox.waitClosed())
            await extra.close()
            await clients.removeFirst().close()
            // Once one goes, a new one is served (the close reaches the resolver asynchronously).
            var served = false
            for _ in 0..<50 where !served {
                let c = try await TCPClient.connect(port: ports.tcp)
                try? await c.send(frame: DNSMessage.query(id: 2, name: try DNSName("web"), type: .a).encode())
                served = await c.mailbox.takeFrame(timeout: .milliseconds(200)) != nil
                await c.close()
            }
            #expect(served)
            for c in clients { await c.close() }
        }
    }

    @Test func idleTCPConnectionsAreClosed() async throws {
        // Long enough that a loaded machine still connects and asks within it.
        try await withDNS(tcpIdleTimeout: .seconds(2)) { dns in
            loadFixture(dns)
            let ports = try await dns.serveOnLoopback("c-web", networks: ["n1"])
            let client = try await TCPClient.connect(port: ports.tcp)
            let start = ContinuousClock.now
            try await client.send(frame: DNSMessage.query(id: 1, name: try DNSName("web"), type: .a).encode())
            #expect(await client.mailbox.takeFrame() != nil)
            #expect(await client.mailbox.waitClosed(timeout: .seconds(15)))
            #expect(ContinuousClock.now - start >= .seconds(2))
            await client.close()
        }
    }

    @Test(.enabled(if: getuid() == 0, "needs root for a network namespace"))
    func servesInsideANetworkNamespace() async throws {
        let dir = NSTemporaryDirectory() + "berth-test-dns-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FS.mkdirAll(dir, mode: 0o700)
        defer { try? FS.removeAll(dir) }
        let ns = dir + "/ns"
        try NetNS.create(at: ns)
        defer { try? NetNS.remove(at: ns) }
        try await withUpstream(.answer("192.0.2.10")) { upstream in
            try await withDNS(upstream: [upstream.address]) { dns in
                loadFixture(dns)
                let udp = try NetNS.boundSocket(namespace: ns, kind: .udp, address: "127.0.0.11", port: 53)
                let tcp: Int32
                do { tcp = try NetNS.boundSocket(namespace: ns, kind: .tcp, address: "127.0.0.11", port: 53) } catch {
                    FD.close(udp)
                    throw error
                }
                try await dns.serve(containerID: "c-db", udpFD: udp, tcpFD: tcp, networks: ["n1"], upstream: nil)

                // The client's socket is bound inside the namespace too: 127.0.0.11 exists only there.
                let client = try await UDPClient.make(fd: try NetNS.boundSocket(namespace: ns, kind: .udp, address: "127.0.0.1", port: 0))
                let resolver = try SocketAddress(ipAddress: "127.0.0.11", port: 53)
                try await client.send(DNSMessage.query(id: 21, name: try DNSName("web.frontend"), type: .a).encode(), to: resolver)
                let local = try DNSMessage.parse(try #require(await client.mailbox.take()))
                #expect(local.header.id == 21)
                #expect(local.answers.map(\.ipv4) == ["10.1.0.2"])
                // Forwarding leaves from the daemon's namespace: the upstream on the host's 127.0.0.1
                // is unreachable from inside, yet the answer comes.
                try await client.send(DNSMessage.query(id: 22, name: try DNSName("example.org"), type: .a).encode(), to: resolver)
                let forwarded = try DNSMessage.parse(try #require(await client.mailbox.take()))
                #expect(forwarded.header.id == 22)
                #expect(forwarded.answers.map(\.ipv4) == ["192.0.2.10"])
                #expect(upstream.received.count == 1)
                await client.close()
            }
        }
    }
}
