import Foundation
import Glibc
import Testing
import BerthImage
import BerthNetwork
import BerthOS
import BerthTestSupport
import BerthWire

/// Networking of berth-lifecycled with the real CNI plugins, iptables and namespaces. Each daemon
/// has its own bridges (`berth-test-*`), random subnets and iptables chains; only loopback and the
/// tests' own bridges and namespaces are contacted.
@Suite(.serialized, .enabled(if: LifecycleHarness.available && CNIPlugins().path(of: "bridge") != nil),
       .timeLimit(.minutes(3)))
struct LifecycleNetworkTests: LifecycleDriving {
    /// A web server container: serves `hello <hostname>` on port 80.
    static let web = ["sh", "-c", "mkdir -p /srv && echo hello $(hostname) > /srv/index.html && exec httpd -f -p 80 -h /srv"]

    func createNetwork(_ c: WireClient, _ p: NetworkCreateParams) async throws -> String {
        try await c.call("network.create", p, returning: NetworkCreateResult.self).id
    }

    func network(_ c: WireClient, _ id: String) async throws -> BerthWire.Network {
        try await c.call("network.inspect", NetworkRefParams(id: id), returning: BerthWire.Network.self)
    }

    /// An HTTP/1.0 GET of `http://127.0.0.1:<port><path>` from the host: 0 and the body on a 200.
    func hostGet(_ url: String) throws -> (status: Int32, body: String) {
        guard let u = URL(string: url), let port = u.port else { return (2, "bad url") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (3, "socket") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = in_port_t(UInt16(port).bigEndian)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { return (4, "connect: \(String(cString: strerror(errno)))") }
        let req = "GET \(u.path) HTTP/1.0\r\nHost: localhost\r\n\r\n"
        _ = req.withCString { send(fd, $0, strlen($0), 0) }
        var data = [UInt8](), buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.") && text.split(separator: " ").dropFirst().first == "200",
              let split = text.range(of: "\r\n\r\n") else { return (1, text) }
        return (0, String(text[split.upperBound...]))
    }

    /// A free TCP port on 127.0.0.1 right now.
    func freePort() throws -> Int {
        let fd = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: 0, backlog: -1, reuseAddress: false)
        defer { close(fd) }
        return NetNS.port(of: fd)
    }

    func runOutput(_ c: WireClient, _ cmd: [String], configure: (inout ContainerCreateParams) -> Void = { _ in }) async throws -> (Int, String) {
        let r = try await run(c, cmd, configure: configure)
        return (r.code, try await output(c, r.id))
    }

    /// Host interfaces enslaved to a bridge (the containers' veths).
    func ports(ofBridge br: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(br)/brif")) ?? []
    }

    // MARK: tests

    @Test func defaultBridgeAddressRouteAndEtcFiles() async throws {
        try await withDaemon { lc, c in
            let (code, out) = try await runOutput(c, ["sh", "-c", "ip addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf /etc/hostname; ping -c1 -W2 \(IPv4Address(lc.bridgeSubnet.network.value + 1))"]) { p in
                p.hostConfig = HostConfig(extraHosts: ["db.example:10.9.8.7"])
            }
            #expect(code == 0, "\(out)")
            let gw = IPv4Address(lc.bridgeSubnet.network.value + 1).description
            #expect(out.contains("default via \(gw) dev eth0"), "\(out)")
            #expect(out.contains("10.9.8.7\tdb.example"), "\(out)")
            // The container's own address and short ID are in /etc/hosts, its address in the bridge's subnet.
            let line = out.split(separator: "\n").first { $0.contains("inet ") && $0.contains("eth0") } ?? ""
            let addr = line.split(separator: " ").dropFirst().first.map { String($0.split(separator: "/")[0]) } ?? ""
            #expect(IPv4Address(addr).map { lc.bridgeSubnet.contains($0) } == true, "\(out)")
            #expect(out.contains("\(addr)\t"), "\(out)")
            // The default bridge has no embedded DNS: the host's resolvers, minus loopback ones.
            #expect(!out.contains("127.0.0.11"), "\(out)")

            // --dns, --dns-search and --hostname; `none` has only lo; `host` is the host's namespace.
            let (_, custom) = try await runOutput(c, ["sh", "-c", "cat /etc/resolv.conf; hostname"]) { p in
                p.hostname = "berth-test-host"
                p.hostConfig = HostConfig(dns: ["10.0.0.53"], dnsSearch: ["example.test"])
            }
            #expect(custom.contains("nameserver 10.0.0.53") && custom.contains("search example.test") && custom.contains("berth-test-host"), "\(custom)")
            let (_, none) = try await runOutput(c, ["cat", "/proc/net/dev"]) { p in p.hostConfig = HostConfig(networkMode: "none") }
            let ifaces = none.split(separator: "\n").dropFirst(2).map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
            #expect(ifaces == ["lo"], "\(none)")
            let hostNS = try readlink("/proc/self/ns/net")
            let (_, hostOut) = try await runOutput(c, ["readlink", "/proc/self/ns/net"]) { p in p.hostConfig = HostConfig(networkMode: "host") }
            #expect(hostOut.trimmingCharacters(in: .whitespacesAndNewlines) == hostNS, "\(hostOut)")
        }
    }

    func readlink(_ path: String) throws -> String { try FileManager.default.destinationOfSymbolicLink(atPath: path) }

    @Test func userDefinedNetworksResolveNamesAndAreIsolated() async throws {
        try await withDaemon { lc, c in
            let a = try await createNetwork(c, NetworkCreateParams(name: "berth-test-a", labels: ["tier": "net"]))
            let b = try await createNetwork(c, NetworkCreateParams(name: "berth-test-b", ipam: IPAM(config: [IPAMPool(subnet: "\(IPv4Address(lc.pool.network.value + 200 << 8))/24")])))
            let netA = try await network(c, a)
            #expect(netA.driver == "bridge" && netA.ipam.config?.first?.subnet.flatMap { IPv4Subnet($0) }.map { lc.pool.contains($0.network) } == true)
            await expectError(409, "already exists") { _ = try await createNetwork(c, NetworkCreateParams(name: "berth-test-a")) }

            let web = try await create(c, Self.web, name: "berth-test-web") { p in
                p.hostConfig = HostConfig(networkMode: "berth-test-a")
                p.networkingConfig = NetworkingConfig(endpointsConfig: ["berth-test-a": EndpointSettings(aliases: ["www"])])
            }
            try await start(c, web)
            let info = try await inspect(c, web)
            let webIP = try #require(info.networkSettings.networks["berth-test-a"]?.ipAddress)
            #expect(info.networkSettings.networks["berth-test-a"]?.aliases?.contains("www") == true)
            #expect((try await network(c, a)).containers[web]?.ipv4Address.hasPrefix(webIP + "/") == true)

            // Same network: by name and alias, ping and HTTP.
            let (code, out) = try await runOutput(c, ["sh", "-c", "cat /etc/resolv.conf; ping -c1 -W2 berth-test-web && timeout 5 wget -q -O- http://www/index.html"]) { p in
                p.hostConfig = HostConfig(networkMode: "berth-test-a")
            }
            #expect(code == 0 && out.contains("nameserver 127.0.0.11") && out.contains("hello \(web.prefix(12))"), "\(out)")

            // A container that joins later is seen by one already running.
            let probe = try await create(c, ["sleep", "60"], name: "berth-test-probe") { p in p.hostConfig = HostConfig(networkMode: "berth-test-a") }
            try await start(c, probe)
            let late = try await create(c, ["sleep", "60"], name: "berth-test-late") { p in p.hostConfig = HostConfig(networkMode: "berth-test-a") }
            try await start(c, late)
            let seen = try await exec(c, probe, ["ping", "-c1", "-W2", "berth-test-late"])
            #expect(seen.code == 0, "\(seen.output)")
            // A rename is seen at once.
            _ = try await c.call("container.rename", ContainerRenameParams(id: late, name: "berth-test-later"), returning: Empty.self)
            #expect(try await exec(c, probe, ["nslookup", "berth-test-later", "127.0.0.11"]).code == 0)
            #expect(try await exec(c, probe, ["nslookup", "berth-test-late", "127.0.0.11"]).code != 0)

            // Another network: neither the name nor the address is reachable.
            let (isoCode, isoOut) = try await runOutput(c, ["sh", "-c", "nslookup berth-test-web 127.0.0.11 >/dev/null 2>&1 && echo RESOLVED; timeout 3 wget -q -O- http://\(webIP)/index.html && echo REACHED; exit 0"]) { p in
                p.hostConfig = HostConfig(networkMode: "berth-test-b")
            }
            #expect(isoCode == 0 && !isoOut.contains("RESOLVED") && !isoOut.contains("REACHED"), "\(isoOut)")

            // --ip on a network with a user subnet; refused on one without.
            let netB = try await network(c, b)
            let fixed = "\(IPv4Address(IPv4Subnet(netB.ipam.config?.first?.subnet ?? "")!.network.value + 77))"
            let (ipCode, ipOut) = try await runOutput(c, ["ip", "addr", "show", "eth0"]) { p in
                p.hostConfig = HostConfig(networkMode: "berth-test-b")
                p.networkingConfig = NetworkingConfig(endpointsConfig: ["berth-test-b": EndpointSettings(ipamConfig: .init(ipv4Address: fixed))])
            }
            #expect(ipCode == 0 && ipOut.contains("inet \(fixed)/24"), "\(ipOut)")
            await expectError(400, "user configured subnets") {
                _ = try await create(c, ["true"]) { p in
                    p.hostConfig = HostConfig(networkMode: "berth-test-a")
                    p.networkingConfig = NetworkingConfig(endpointsConfig: ["berth-test-a": EndpointSettings(ipamConfig: .init(ipv4Address: webIP))])
                }
            }
            // As dockerd: an unknown network fails the start, not the create.
            let lost = try await create(c, ["true"]) { p in p.hostConfig = HostConfig(networkMode: "berth-test-nope") }
            await expectError(404, "network berth-test-nope not found") { try await start(c, lost) }
            await expectError(400, "user defined networks only") {
                _ = try await create(c, ["true"]) { p in
                    p.networkingConfig = NetworkingConfig(endpointsConfig: ["bridge": EndpointSettings(ipamConfig: .init(ipv4Address: "10.1.1.1"))])
                }
            }
        }
    }

    @Test func publishedPortsAreReachableFromTheHost() async throws {
        try await withDaemon { lc, c in
            var port = try freePort()
            var web = ""
            for attempt in 0..<5 {
                do {
                    web = try await create(c, Self.web) { p in
                        p.exposedPorts = ["80/tcp": EmptyObject(), "9000/udp": EmptyObject()]
                        p.hostConfig = HostConfig(portBindings: ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: String(port))]])
                    }
                    try await start(c, web)
                    break
                } catch where attempt < 4 {
                    _ = try? await c.call("container.remove", ContainerRemoveParams(id: web, force: true), returning: Empty.self)
                    port = try freePort()
                }
            }
            let bindings = try await inspect(c, web).networkSettings.ports
            #expect(bindings["80/tcp"] == [PortBinding(hostIp: "127.0.0.1", hostPort: String(port))])
            #expect(bindings.keys.contains("9000/udp") && bindings["9000/udp"]! == nil)
            var got = (status: Int32(1), body: "")
            for _ in 0..<20 {
                got = try hostGet("http://127.0.0.1:\(port)/index.html")
                if got.status == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(got.status == 0 && got.body == "hello \(web.prefix(12))\n", "\(got)")
            // The port is held: neither another container nor another program can take it.
            await expectError(500, "port is already allocated") {
                let id = try await create(c, ["true"]) { p in p.hostConfig = HostConfig(portBindings: ["80/tcp": [PortBinding(hostPort: String(port))]]) }
                try await start(c, id)
            }
            #expect(throws: OSError.self) {
                _ = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: port, backlog: -1, reuseAddress: true)
            }
            let list = try await c.call("container.list", ContainerListParams(), returning: [ContainerSummary].self)
            #expect(list.first { $0.id == web }?.ports.contains(PortSummary(ip: "127.0.0.1", privatePort: 80, publicPort: port, type: "tcp")) == true)

            // -P: every exposed port on a random host port.
            let all = try await create(c, Self.web) { p in
                p.exposedPorts = ["80/tcp": EmptyObject()]
                p.hostConfig = HostConfig(publishAllPorts: true)
            }
            try await start(c, all)
            let random = try #require(try await inspect(c, all).networkSettings.ports["80/tcp"]??.first?.hostPort.flatMap { Int($0) })
            var r2 = (status: Int32(1), body: "")
            for _ in 0..<20 {
                r2 = try hostGet("http://127.0.0.1:\(random)/index.html")
                if r2.status == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(r2.status == 0 && r2.body.hasPrefix("hello"), "\(r2)")

            // Stopping releases the port and the portmap rules.
            _ = try await c.call("container.stop", ContainerStopParams(id: web, timeout: 1), returning: ContainerChangeResult.self)
            let fd = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: port, backlog: -1, reuseAddress: false)
            close(fd)
            #expect(try await inspect(c, web).networkSettings.ports.isEmpty)
            _ = lc
        }
    }

    @Test func connectDisconnectContainerModeRemoveAndPrune() async throws {
        try await withDaemon { lc, c in
            let a = try await createNetwork(c, NetworkCreateParams(name: "berth-test-a"))
            let b = try await createNetwork(c, NetworkCreateParams(name: "berth-test-b", labels: ["keep": "no"]))
            let id = try await create(c, ["sleep", "60"], name: "berth-test-multi") { p in p.hostConfig = HostConfig(networkMode: "berth-test-a") }
            try await start(c, id)
            _ = try await c.call("network.connect", NetworkConnectParams(network: "berth-test-b", container: id,
                                                                        endpointConfig: EndpointSettings(aliases: ["second"])), returning: Empty.self)
            let info = try await inspect(c, id)
            let ipB = try #require(info.networkSettings.networks["berth-test-b"]?.ipAddress)
            let eth1 = try await exec(c, id, ["ip", "addr", "show", "eth1"])
            #expect(eth1.code == 0 && eth1.output.contains("inet \(ipB)/"), "\(eth1.output)")
            let hosts = try await exec(c, id, ["cat", "/etc/hosts"])
            #expect(hosts.output.contains(ipB), "\(hosts.output)")
            await expectError(403, "already exists in network") {
                _ = try await c.call("network.connect", NetworkConnectParams(network: b, container: id), returning: Empty.self)
            }

            // container: mode shares the namespace (same addresses) and the hostname.
            let (shareCode, shared) = try await runOutput(c, ["sh", "-c", "ip addr; hostname"]) { p in p.hostConfig = HostConfig(networkMode: "container:berth-test-multi") }
            #expect(shareCode == 0 && shared.contains("inet \(ipB)/") && shared.contains(String(id.prefix(12))), "\(shared)")

            await expectError(403, "has active endpoints") { _ = try await c.call("network.remove", NetworkRefParams(id: b), returning: Empty.self) }
            await expectError(403, "pre-defined network") { _ = try await c.call("network.remove", NetworkRefParams(id: "bridge"), returning: Empty.self) }

            _ = try await c.call("network.disconnect", NetworkDisconnectParams(network: "berth-test-b", container: id), returning: Empty.self)
            let gone = try await exec(c, id, ["ip", "addr", "show", "eth1"])
            #expect(gone.code != 0, "\(gone.output)")
            #expect(try await inspect(c, id).networkSettings.networks["berth-test-b"] == nil)
            _ = try await c.call("network.remove", NetworkRefParams(id: b), returning: Empty.self)
            await expectError(404, "not found") { _ = try await network(c, b) }

            // Prune takes unused user networks only.
            _ = try await createNetwork(c, NetworkCreateParams(name: "berth-test-unused"))
            let pruned = try await c.call("network.prune", NetworkPruneParams(), returning: NetworkPruneResult.self)
            #expect(pruned.networksDeleted == ["berth-test-unused"])
            let names = try await c.call("network.list", NetworkListParams(), returning: [BerthWire.Network].self).map(\.name)
            #expect(Set(names) == ["bridge", "host", "none", "berth-test-a"])

            // Docker's network events, replayed: create, connect at start and by request, disconnect, destroy.
            let events = Collected<Event>()
            _ = try await c.call("system.events", EventsParams(since: "0", until: String(Date().timeIntervalSince1970 + 1),
                                                               filters: ["type": ["network"], "network": ["berth-test-b"]]),
                                 returning: Empty.self, progress: Event.self) { events.add([$0]) }
            let actions = events.entries.map(\.action)
            #expect(actions == ["create", "connect", "disconnect", "destroy"], "\(actions)")
            #expect(events.entries.dropFirst().first?.actor.attributes["container"] == id)
            _ = a; _ = lc
        }
    }

    @Test func releasedAtExitAndRestoredAfterADaemonCrash() async throws {
        try await withDaemon { lc, c in
            _ = try await createNetwork(c, NetworkCreateParams(name: "berth-test-a"))
            let port = try freePort()
            let web = try await create(c, Self.web, name: "berth-test-web") { p in
                p.hostConfig = HostConfig(networkMode: "berth-test-a", portBindings: ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: String(port))]])
            }
            try await start(c, web)
            let probe = try await create(c, ["sleep", "120"], name: "berth-test-probe") { p in p.hostConfig = HostConfig(networkMode: "berth-test-a") }
            try await start(c, probe)
            let bridge = try #require(try await bridgeOf(lc, c, "berth-test-a"))
            #expect(ports(ofBridge: bridge).count == 2)

            await lc.crash()
            try await lc.start()
            let c2 = try await lc.client()
            // Ports held and DNS answering again; the namespace and veths outlived the daemon.
            #expect(throws: OSError.self) {
                _ = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: port, backlog: -1, reuseAddress: true)
            }
            let ping = try await exec(c2, probe, ["timeout", "5", "wget", "-q", "-O-", "http://berth-test-web/index.html"])
            #expect(ping.code == 0 && ping.output.hasPrefix("hello"), "\(ping.output)")
            #expect(try hostGet("http://127.0.0.1:\(port)/index.html").status == 0)

            // Stop and remove: veths, namespaces, leases and portmap chains go.
            for id in [web, probe] {
                _ = try await c2.call("container.stop", ContainerStopParams(id: id, timeout: 1), returning: ContainerChangeResult.self)
            }
            #expect(ports(ofBridge: bridge).isEmpty)
            let netns = (try? FileManager.default.contentsOfDirectory(atPath: lc.run + "/netns")) ?? []
            #expect(netns.isEmpty, "\(netns)")
            let nat = try Command.run("/usr/sbin/iptables", ["-w", "-t", "nat", "-S"]).stdout
            #expect(!nat.contains(web) && !nat.contains("dport \(port) "), "\(nat)")
            let leases = try FileManager.default.subpathsOfDirectory(atPath: lc.run + "/cni/networks").filter {
                IPv4Address(($0 as NSString).lastPathComponent) != nil
            }
            #expect(leases.isEmpty, "\(leases)")
            // Removing the network removes its bridge and its rules.
            _ = try await c2.call("network.remove", NetworkRefParams(id: "berth-test-a"), returning: Empty.self)
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/" + bridge))
            let filter = try Command.run("/usr/sbin/iptables", ["-w", "-S"]).stdout
            #expect(!filter.contains(bridge), "\(filter)")
        }
    }

    /// A user network's bridge: the berth-test bridge holding its gateway address.
    func bridgeOf(_ lc: LifecycleHarness, _ c: WireClient, _ name: String) async throws -> String? {
        let n = try await network(c, name)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).first { br in
            guard br.hasPrefix("berth-test-"), br != lc.bridge else { return false }
            let out = (try? Command.run("/usr/sbin/ip", ["-o", "-4", "addr", "show", "dev", br]).stdout) ?? ""
            return out.contains(" \(n.ipam.config?.first?.gateway ?? "-")/")
        }
    }
}
