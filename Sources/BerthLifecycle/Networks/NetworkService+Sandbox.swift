import Foundation
import Glibc
import BerthNetwork
import BerthOS
import BerthWire

/// What a container's network namespace holds while it runs (persisted in its record, so a
/// restarted daemon can release it).
public struct SandboxState: Codable, Sendable, Equatable {
    /// Docker's SandboxID (new at every start).
    public var id: String
    /// The pinned namespace.
    public var key: String
    /// Network ID → the interface inside (`eth0`, `eth1`, …).
    public var interfaces: [String: String]
    /// Published ports, and the network whose bridge publishes them.
    public var ports: [PortMapping]
    public var portNetwork: String?
    /// The servers the embedded DNS forwards this container's other names to (`--dns`), if set.
    public var dnsServers: [String]?
}

/// One network a container joins at start.
public struct SandboxEndpoint: Sendable {
    public var network: NetworkRecord
    public var settings: EndpointState
    public init(network: NetworkRecord, settings: EndpointState) { self.network = network; self.settings = settings }
}

extension NetworkService {
    /// The bridge plugin's config for a network (host-local leases under the run root).
    func bridgeConfig(_ n: NetworkRecord, staticIP: String?, defaultRoute: Bool) -> Data {
        var range: [String: Any] = ["subnet": n.subnet, "gateway": n.gateway]
        if let r = n.ipRange.flatMap({ IPv4Subnet($0) }), let s = IPv4Subnet(n.subnet) {
            range["rangeStart"] = (r.first == s.first ? IPv4Address(r.first.value + 1) : r.first).description
            range["rangeEnd"] = (r.last == s.last ? IPv4Address(r.last.value - 1) : r.last).description
        }
        var ipam: [String: Any] = ["type": "host-local", "ranges": [[range]], "dataDir": ipamDir]
        if defaultRoute && !n.internal { ipam["routes"] = [["dst": "0.0.0.0/0"]] }
        var conf: [String: Any] = ["cniVersion": "1.0.0", "name": n.id, "type": "bridge", "bridge": n.bridge,
                                   "isGateway": true, "ipMasq": false, "hairpinMode": true, "ipam": ipam]
        if let ip = staticIP, let prefix = IPv4Subnet(n.subnet)?.prefix {
            conf["runtimeConfig"] = ["ips": ["\(ip)/\(prefix)"]]
        }
        return cniConfig(conf)
    }

    func portmapConfig(_ n: NetworkRecord, ports: [PortMapping], prevResult: Data?) -> Data {
        let mappings: [[String: Any]] = ports.map { p in
            var m: [String: Any] = ["hostPort": p.hostPort, "containerPort": p.containerPort, "protocol": p.proto]
            if !p.hostIP.isEmpty { m["hostIP"] = p.hostIP }
            return m
        }
        var conf: [String: Any] = ["cniVersion": "1.0.0", "name": n.id, "type": "portmap", "snat": true,
                                   "runtimeConfig": ["portMappings": mappings]]
        if let prevResult, let obj = try? JSONSerialization.jsonObject(with: prevResult) { conf["prevResult"] = obj }
        return cniConfig(conf)
    }

    /// The first use of a bridge network in this daemon run: its address space is checked against
    /// the host's routes and its iptables rules applied.
    func prepare(_ n: NetworkRecord) throws {
        guard n.driver == "bridge", !applied.withLockedValue({ $0.contains(n.id) }) else { return }
        // Containers starting together: one applies the rules, the others wait for it.
        try prepareLock.withLock { () throws in try prepareLocked(n) }
    }

    private func prepareLocked(_ n: NetworkRecord) throws {
        guard !applied.withLockedValue({ $0.contains(n.id) }) else { return }
        guard let subnet = IPv4Subnet(n.subnet) else { throw LifecycleError.internalError("network \(n.name) has no subnet") }
        if let r = HostRoutes.conflict(subnet, routes: HostRoutes.current(), ignoring: [n.bridge]) {
            throw LifecycleError.forbidden("network \(n.name) (\(subnet)) overlaps the host's route \(r.subnet) on \(r.interface)")
        }
        do { try firewall.apply(.init(bridge: n.bridge, subnet: subnet, internal: n.internal)) } catch {
            throw LifecycleError.internalError("network \(n.name): \(error)")
        }
        _ = applied.withLockedValue { $0.insert(n.id) }
    }

    /// Creates the container's namespace and joins it to its networks: a veth on each bridge with
    /// an address, published ports, and the embedded DNS for user-defined networks. All or nothing.
    /// The container's namespace, pinned where its config.json says (a leftover is replaced).
    public func createNamespace(containerID: String) throws {
        let key = netnsPath(containerID)
        if NetNS.exists(at: key) || FS.exists(key) { try? NetNS.remove(at: key) }
        do { try NetNS.create(at: key) } catch { throw LifecycleError.internalError("create network namespace: \(error)") }
    }

    public func setUp(containerID: String, name: String, endpoints: [SandboxEndpoint], ports: [PortRequest],
                      dnsServers: [String]?, namespaceReady: Bool = false) async throws -> (endpoints: [String: EndpointState], sandbox: SandboxState) {
        let key = netnsPath(containerID)
        var sandbox = SandboxState(id: ContainerService.randomID(), key: key, interfaces: [:], ports: [], portNetwork: nil,
                                   dnsServers: dnsServers.flatMap { $0.isEmpty ? nil : $0 })
        var out: [String: EndpointState] = [:]
        if !namespaceReady { try createNamespace(containerID: containerID) }
        do {
            var index = 0
            for e in endpoints where e.network.driver == "bridge" {
                let ifName = "eth\(index)"
                let state = try await join(containerID: containerID, name: name, sandbox: &sandbox, network: e.network,
                                           settings: e.settings, ifName: ifName, primary: index == 0, ports: index == 0 ? ports : [])
                out[e.network.name] = state
                index += 1
            }
            for e in endpoints where e.network.driver != "bridge" { out[e.network.name] = e.settings }
            return (out, sandbox)
        } catch {
            await tearDown(containerID: containerID, sandbox: sandbox)
            throw error
        }
    }

    /// Adds one interface (and with it, ports and DNS) to a running container's namespace.
    func join(containerID: String, name: String, sandbox: inout SandboxState, network n: NetworkRecord,
              settings: EndpointState, ifName: String, primary: Bool, ports: [PortRequest]) async throws -> EndpointState {
        try prepare(n)
        let conf = bridgeConfig(n, staticIP: settings.ipamConfig?.ipv4Address.flatMap { $0.isEmpty ? nil : $0 }, defaultRoute: primary)
        let cni = self.cni, key = sandbox.key
        let added: (result: CNIResult, raw: Data)?
        do {
            added = try await Blocking.run { try cni.run("ADD", config: conf, containerID: containerID, netns: key, ifName: ifName) }
        } catch let e as CNIError {
            throw LifecycleError.internalError("failed to set up container networking on network \(n.name): \(e.message)")
        }
        sandbox.interfaces[n.id] = ifName
        guard let added, let v4 = added.result.ipv4 else {
            throw LifecycleError.internalError("network \(n.name): the bridge plugin assigned no IPv4 address")
        }
        var state = settings
        state.networkID = n.id
        state.endpointID = ContainerService.randomID()
        state.ipAddress = v4.address
        state.ipPrefixLen = v4.prefix
        state.gateway = n.internal ? "" : v4.gateway
        state.macAddress = added.result.sandboxMAC
        if n.hasDNS {
            var aliases = state.aliases ?? []
            let short = String(containerID.prefix(12))
            if !aliases.contains(short) { aliases.append(short) }
            state.aliases = aliases
        }
        if !ports.isEmpty {
            let mapped: [PortMapping]
            do { mapped = try self.ports.reserve(containerID: containerID, ports) } catch {
                throw LifecycleError.internalError("driver failed programming external connectivity on endpoint \(name) (\(state.endpointID)): \(error.message)")
            }
            sandbox.ports = mapped
            sandbox.portNetwork = n.id
            let pm = portmapConfig(n, ports: mapped, prevResult: added.raw)
            do {
                _ = try await Blocking.run { try cni.run("ADD", config: pm, containerID: containerID, netns: key, ifName: ifName) }
            } catch let e as CNIError {
                throw LifecycleError.internalError("driver failed programming external connectivity on endpoint \(name) (\(state.endpointID)): \(e.message)")
            }
        }
        if n.hasDNS { try await addDNS(containerID: containerID, name: name, sandbox: sandbox, network: n, endpoint: state) }
        return state
    }

    /// Releases everything a container's namespace held; each step goes on after another fails.
    public func tearDown(containerID: String, sandbox: SandboxState) async {
        await dns.stop(containerID: containerID)
        for (networkID, ifName) in sandbox.interfaces {
            guard let n = record(networkID) else {
                dns.removeEndpoint(network: networkID, containerID: containerID)
                continue
            }
            await release(containerID: containerID, sandbox: sandbox, network: n, ifName: ifName)
        }
        ports.release(containerID: containerID)
        do { try NetNS.remove(at: sandbox.key) } catch { Log.error("remove network namespace \(sandbox.key): \(error)") }
    }

    /// Takes one network out of a running container's namespace.
    func leave(containerID: String, sandbox: inout SandboxState, network n: NetworkRecord) async {
        guard let ifName = sandbox.interfaces[n.id] else { return }
        await release(containerID: containerID, sandbox: sandbox, network: n, ifName: ifName)
        if sandbox.portNetwork == n.id && !sandbox.ports.isEmpty {
            ports.release(containerID: containerID)
            sandbox.ports = []; sandbox.portNetwork = nil
        }
        sandbox.interfaces[n.id] = nil
        let dnsLeft = sandbox.interfaces.keys.contains { record($0)?.hasDNS == true }
        if !dnsLeft { await dns.stop(containerID: containerID) } else { dns.setNetworks(containerID: containerID, networks: dnsNetworks(sandbox)) }
    }

    /// One interface's share of a teardown: its DNS records, the ports published on it
    /// (portmap DEL), its veth and lease (bridge DEL). Failures are logged, not thrown.
    func release(containerID: String, sandbox: SandboxState, network n: NetworkRecord, ifName: String) async {
        dns.removeEndpoint(network: n.id, containerID: containerID)
        let cni = self.cni, key = sandbox.key
        if sandbox.portNetwork == n.id && !sandbox.ports.isEmpty {
            let pm = portmapConfig(n, ports: sandbox.ports, prevResult: nil)
            do { _ = try await Blocking.run { try cni.run("DEL", config: pm, containerID: containerID, netns: key, ifName: ifName) } } catch {
                Log.error("release ports of \(containerID.prefix(12)): \(error)")
            }
        }
        let conf = bridgeConfig(n, staticIP: nil, defaultRoute: false)
        do { _ = try await Blocking.run { try cni.run("DEL", config: conf, containerID: containerID, netns: key, ifName: ifName) } } catch {
            Log.error("release network \(n.name) of \(containerID.prefix(12)): \(error)")
        }
    }

    /// A renamed running container answers to its new name (Docker updates its DNS records too).
    func rename(containerID: String, name: String, endpoints: [String: EndpointState]) {
        for e in endpoints.values where record(e.networkID)?.hasDNS == true && !e.ipAddress.isEmpty {
            dns.removeEndpoint(network: e.networkID, containerID: containerID)
            dns.addEndpoint(network: e.networkID, DNSEndpoint(containerID: containerID, names: Self.dnsNames(name, e), ipv4: e.ipAddress, ipv6: nil))
        }
    }

    /// The container name first (PTR answers use it), then its aliases.
    static func dnsNames(_ name: String, _ e: EndpointState) -> [String] {
        var names = [name]
        for a in e.aliases ?? [] where !names.contains(a) { names.append(a) }
        return names
    }

    func dnsNetworks(_ s: SandboxState) -> [String] { s.interfaces.keys.filter { record($0)?.hasDNS == true }.sorted() }

    /// Registers the container's names on a network and, the first time, starts answering its
    /// queries on 127.0.0.11:53 inside its namespace.
    func addDNS(containerID: String, name: String, sandbox: SandboxState, network n: NetworkRecord, endpoint: EndpointState) async throws {
        ensureDNSNetwork(n, except: containerID)
        dns.addEndpoint(network: n.id, DNSEndpoint(containerID: containerID, names: Self.dnsNames(name, endpoint), ipv4: endpoint.ipAddress, ipv6: nil))
        if dns.isServing(containerID: containerID) {
            dns.setNetworks(containerID: containerID, networks: dnsNetworks(sandbox))
            return
        }
        let udp: Int32, tcp: Int32
        do {
            udp = try NetNS.boundSocket(namespace: sandbox.key, kind: .udp, address: "127.0.0.11", port: 53)
            do { tcp = try NetNS.boundSocket(namespace: sandbox.key, kind: .tcp, address: "127.0.0.11", port: 53) } catch {
                close(udp); throw error
            }
        } catch { throw LifecycleError.internalError("embedded DNS for \(containerID.prefix(12)): \(error)") }
        try await dns.serve(containerID: containerID, udpFD: udp, tcpFD: tcp, networks: dnsNetworks(sandbox), upstream: sandbox.dnsServers)
    }

    /// The DNS learns a network (its name, and the running containers already on it) once.
    func ensureDNSNetwork(_ n: NetworkRecord, except: String) {
        let known = dnsKnown.withLockedValue { k -> Bool in
            if k.contains(n.id) { return true }
            k.insert(n.id); return false
        }
        guard !known else { return }
        let endpoints = users(of: n.id).filter { $0.running && !$0.endpoint.ipAddress.isEmpty && $0.containerID != except }.map { u in
            DNSEndpoint(containerID: u.containerID, names: Self.dnsNames(u.name, u.endpoint), ipv4: u.endpoint.ipAddress, ipv6: nil)
        }
        dns.setNetwork(id: n.id, name: n.name, endpoints: endpoints)
    }

    /// After a daemon restart: a running container gets its ports held and its DNS answered again
    /// (its namespace, interfaces and iptables rules outlived the daemon).
    public func restore(containerID: String, name: String, sandbox: SandboxState, endpoints: [String: EndpointState]) async {
        if !sandbox.ports.isEmpty {
            let requests = sandbox.ports.map { PortRequest(containerPort: $0.containerPort, proto: $0.proto, hostIP: $0.hostIP,
                                                           hostPortLow: $0.hostPort, hostPortHigh: $0.hostPort) }
            do { _ = try ports.reserve(containerID: containerID, requests) } catch {
                Log.error("hold published ports of \(containerID.prefix(12)) again: \(error)")
            }
        }
        for (networkID, _) in sandbox.interfaces {
            guard let n = record(networkID) else { continue }
            do { try prepare(n) } catch { Log.error("restore network \(n.name): \(error)") }
            guard n.hasDNS, let e = endpoints[n.name] else { continue }
            do { try await addDNS(containerID: containerID, name: name, sandbox: sandbox, network: n, endpoint: e) } catch {
                Log.error("restore DNS of \(containerID.prefix(12)): \(error)")
            }
        }
    }
}
