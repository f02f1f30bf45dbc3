import Foundation
import BerthNetwork
import BerthOS
import BerthWire

/// A container's network mode, from HostConfig.NetworkMode.
enum NetworkMode: Equatable {
    case host, none
    case container(String)
    /// A bridge network (the default `bridge` or a user-defined one), by name or ID.
    case network(String)

    init(_ raw: String?) {
        let m = raw ?? ""
        switch m {
        case "", "default", "bridge": self = .network("bridge")
        case "host": self = .host
        case "none": self = .none
        default: self = m.hasPrefix("container:") ? .container(String(m.dropFirst("container:".count))) : .network(m)
        }
    }
}

extension ContainerService {
    // MARK: create

    /// The networks a new container will join, with the `--ip` and `--network-alias` of its
    /// create request, checked as Docker checks them.
    func planNetworks(_ c: ContainerCreateParams, networking: NetworkingConfig?) throws -> [String: EndpointState] {
        let hc = c.hostConfig ?? HostConfig()
        let mode = NetworkMode(hc.networkMode)
        let configs = networking?.endpointsConfig ?? [:]
        if configs.count > 1 {
            throw LifecycleError.invalidArgument("Container cannot be connected to network endpoints: \(configs.keys.sorted().joined(separator: ", "))")
        }
        switch mode {
        case .container(let ref):
            let other = try resolve(ref)
            if !(hc.portBindings ?? [:]).isEmpty || hc.publishAllPorts == true {
                throw LifecycleError.invalidArgument("conflicting options: port publishing and the container type network mode")
            }
            if !(hc.dns ?? []).isEmpty || !(hc.extraHosts ?? []).isEmpty {
                throw LifecycleError.invalidArgument("conflicting options: dns and the network mode")
            }
            _ = other
            return [:]
        case .host, .none:
            let n = try networks.resolve(mode == .host ? "host" : "none")
            return [n.name: EndpointState(networkID: n.id)]
        case .network(let ref):
            // As dockerd: a network that doesn't exist (yet) fails the start, not the create (the
            // docker CLI would take a 404 from create for a missing image and try to pull it).
            guard let n = try? networks.resolve(ref) else { return [ref: EndpointState(networkID: "")] }
            if n.driver == "host" || n.driver == "null" { return [n.name: EndpointState(networkID: n.id)] }
            let cfg = configs[ref] ?? configs[n.name] ?? configs[n.id] ?? configs.values.first
            return [n.name: try endpointSettings(n, cfg)]
        }
    }

    /// `--ip` and `--alias` for one network, refused where Docker refuses them.
    func endpointSettings(_ n: NetworkRecord, _ cfg: EndpointSettings?) throws -> EndpointState {
        var e = EndpointState(networkID: n.id)
        if let aliases = cfg?.aliases, !aliases.isEmpty {
            guard n.hasDNS else { throw LifecycleError.invalidArgument("network-scoped alias is supported only for containers in user defined networks") }
            e.aliases = aliases
        }
        if let ip = cfg?.ipamConfig?.ipv4Address, !ip.isEmpty {
            guard n.hasDNS else { throw LifecycleError.invalidArgument("user specified IP address is supported on user defined networks only") }
            guard n.userSubnet else {
                throw LifecycleError.invalidArgument("user specified IP address is supported only when connecting to networks with user configured subnets")
            }
            guard let a = IPv4Address(ip), let s = IPv4Subnet(n.subnet), s.contains(a), a != s.first, a != s.last,
                  a.description != n.gateway else {
                throw LifecycleError.invalidArgument("invalid IPv4 address \(ip): it must be a free host address in \(n.subnet)")
            }
            e.ipamConfig = EndpointSettings.IPAMConfig(ipv4Address: ip)
        }
        return e
    }

    // MARK: start and exit

    /// Before the monitor starts the container: its namespace, interfaces, ports and DNS (or
    /// nothing, for `host`; the other container's namespace for `container:`).
    /// A namespace a previous run left (a crash between exit and teardown) is released first.
    func releaseStaleSandbox(_ id: String) async throws {
        guard let stale = record(id)?.sandbox else { return }
        await networks.tearDown(containerID: id, sandbox: stale)
        _ = try update(id) { $0.sandbox = nil }
    }

    func startNetworking(_ id: String, namespaceReady: Bool) async throws {
        guard let c = record(id) else { return }
        switch NetworkMode(c.hostConfig.networkMode) {
        case .host:
            return
        case .container(let ref):
            let other = try resolve(ref)
            guard other.state.running, NetNS.exists(at: networks.netnsPath(other.id)) else {
                throw LifecycleError.conflict("cannot join network of a non running container: \(other.id)")
            }
            return
        case .none, .network:
            break
        }
        let planned = c.endpoints ?? [:]
        var endpoints: [SandboxEndpoint] = []
        let primary = NetworkMode(c.hostConfig.networkMode)
        for (name, e) in planned {
            guard let n = try? networks.resolve(e.networkID.isEmpty ? name : e.networkID) else {
                throw LifecycleError.notFound("network \(name) not found")
            }
            endpoints.append(SandboxEndpoint(network: n, settings: e))
        }
        // The mode's network is eth0 and has the default route; the others follow by name.
        endpoints.sort { a, b in
            let ap = primary == .network(a.network.name) || primary == .network(a.network.id)
            let bp = primary == .network(b.network.name) || primary == .network(b.network.id)
            return ap != bp ? ap : a.network.name < b.network.name
        }
        let ports = try Self.portRequests(c.config)
        let result = try await networks.setUp(containerID: id, name: c.name, endpoints: endpoints, ports: ports,
                                              dnsServers: c.hostConfig.dns, namespaceReady: namespaceReady)
        do {
            let updated = try update(id) { r in
                r.sandbox = result.sandbox
                var all = r.endpoints ?? [:]
                for (k, v) in result.endpoints { all[k] = v }
                r.endpoints = all
            }
            try writeHosts(updated)
            for e in result.endpoints.values { networkEvent("connect", networkID: e.networkID, container: id) }
        } catch {
            await networks.tearDown(containerID: id, sandbox: result.sandbox)
            _ = try? update(id) { $0.sandbox = nil }
            throw error
        }
    }

    /// After the container's init is gone: everything its namespace held is released and its
    /// addresses cleared (the networks it is on stay, as in Docker).
    func stopNetworking(_ id: String) async {
        guard let c = record(id), let sandbox = c.sandbox else {
            // A start that failed before its network was recorded may have pinned the namespace.
            let own = networks.netnsPath(id)
            if NetNS.exists(at: own) { try? NetNS.remove(at: own) }
            return
        }
        await networks.tearDown(containerID: id, sandbox: sandbox)
        _ = try? update(id) { r in
            r.sandbox = nil
            r.endpoints = r.endpoints?.mapValues(Self.cleared)
        }
        for networkID in sandbox.interfaces.keys { networkEvent("disconnect", networkID: networkID, container: id) }
    }

    /// Docker's `network connect`/`disconnect` events (also at each start and stop).
    func networkEvent(_ action: String, networkID: String, container: String) {
        guard let n = networks.record(networkID) else { return }
        events.publish(type: "network", action: action, id: n.id, attributes: ["container": container, "name": n.name, "type": n.driver])
    }

    static func cleared(_ e: EndpointState) -> EndpointState {
        var x = EndpointState(ipamConfig: e.ipamConfig, aliases: e.aliases, networkID: e.networkID)
        x.links = e.links
        return x
    }

    /// HostConfig.PortBindings (`-p`) and, with PublishAllPorts (`-P`), every exposed port on a
    /// random host port.
    static func portRequests(_ c: ContainerCreateParams) throws -> [PortRequest] {
        let hc = c.hostConfig ?? HostConfig()
        var out: [PortRequest] = []
        var bound = Set<String>()
        for (key, bindings) in (hc.portBindings ?? [:]).sorted(by: { $0.key < $1.key }) {
            let (port, proto) = try parsePortKey(key)
            bound.insert("\(port)/\(proto)")
            let list = (bindings ?? []).isEmpty ? [PortBinding()] : (bindings ?? [])
            for b in list {
                let ip = b.hostIp ?? ""
                if !ip.isEmpty && ip != "0.0.0.0" && IPv4Address(ip) == nil {
                    if ip.contains(":") { continue } // IPv6 host addresses: Berth networks are IPv4 only.
                    throw LifecycleError.invalidArgument("invalid IP address \(ip) in port binding \(key)")
                }
                let (lo, hi) = try parseHostPort(b.hostPort ?? "")
                out.append(PortRequest(containerPort: port, proto: proto, hostIP: ip == "0.0.0.0" ? "" : ip, hostPortLow: lo, hostPortHigh: hi))
            }
        }
        if hc.publishAllPorts == true {
            for key in (c.exposedPorts ?? [:]).keys.sorted() {
                let (port, proto) = try parsePortKey(key)
                if !bound.contains("\(port)/\(proto)") { out.append(PortRequest(containerPort: port, proto: proto)) }
            }
        }
        return out
    }

    /// `80/tcp`, `53/udp`, `8080` (tcp).
    static func parsePortKey(_ key: String) throws -> (Int, String) {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard let p = parts.first.flatMap({ Int($0) }), (1...65535).contains(p), ["tcp", "udp", "sctp"].contains(proto) else {
            throw LifecycleError.invalidArgument("invalid port specification: \"\(key)\"")
        }
        if proto == "sctp" { throw LifecycleError.invalidArgument("sctp ports are not supported: \"\(key)\"") }
        return (p, proto)
    }

    /// `""` (any), `8080`, `8000-8010`.
    static func parseHostPort(_ s: String) throws -> (Int, Int) {
        if s.isEmpty || s == "0" { return (0, 0) }
        let parts = s.split(separator: "-", maxSplits: 1).map(String.init)
        guard let lo = Int(parts[0]), (1...65535).contains(lo) else { throw LifecycleError.invalidArgument("invalid hostPort: \(s)") }
        let hi = parts.count > 1 ? Int(parts[1]) ?? -1 : lo
        guard (lo...65535).contains(hi) else { throw LifecycleError.invalidArgument("invalid hostPort: \(s)") }
        return (lo, hi)
    }

    // MARK: /etc files

    /// /etc/hosts as Docker writes it: localhost lines, `--add-host` entries, then the container's
    /// own addresses with its hostname. Written in place: it is bind-mounted into the container.
    func writeHosts(_ c: ContainerRecord) throws {
        if case .container = NetworkMode(c.hostConfig.networkMode) { return }
        if NetworkMode(c.hostConfig.networkMode) == .host { return }
        var text = Self.baseHosts + (try Self.extraHostLines(c.hostConfig.extraHosts ?? []))
        let hostname = (c.config.hostname ?? "").isEmpty ? String(c.id.prefix(12)) : c.config.hostname ?? ""
        let domain = c.config.domainname.map { $0.isEmpty ? "" : " \(hostname).\($0)" } ?? ""
        for e in (c.endpoints ?? [:]).values.sorted(by: { $0.networkID < $1.networkID }) where !e.ipAddress.isEmpty {
            text += "\(e.ipAddress)\t\(hostname)\(domain)\n"
        }
        do { try FS.write(bundle(c.id) + "/hosts", text, mode: 0o644) } catch {
            throw LifecycleError.internalError("write /etc/hosts of \(c.id.prefix(12)): \(error)")
        }
    }

    /// `--add-host name:ip` entries as /etc/hosts lines.
    static func extraHostLines(_ entries: [String]) throws -> String {
        try entries.map { extra in
            let parts = extra.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw LifecycleError.invalidArgument("invalid argument \"\(extra)\" for \"--add-host\" flag") }
            return "\(parts[1])\t\(parts[0])\n"
        }.joined()
    }

    static let baseHosts = """
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        fe00::0\tip6-localnet
        ff00::0\tip6-mcastprefix
        ff02::1\tip6-allnodes
        ff02::2\tip6-allrouters

        """

    // MARK: connect, disconnect

    /// `POST /networks/{id}/connect`: a running container gets a new interface at once; a stopped
    /// one joins at its next start.
    public func connect(_ p: NetworkConnectParams) async throws {
        let ref = try resolve(p.container)
        let n = try networks.resolve(p.network)
        try await slot(ref.id).lock.withExclusive { [self] in
            guard let c = record(ref.id) else { throw LifecycleError.notFound("No such container: \(p.container)") }
            switch NetworkMode(c.hostConfig.networkMode) {
            case .host, .container:
                throw LifecycleError.forbidden("container sharing network namespace with another container or host cannot be connected to any other network")
            case .none:
                throw LifecycleError.forbidden("container cannot be connected to multiple networks with one of the networks in private (none) mode")
            case .network: break
            }
            if n.driver != "bridge" { throw LifecycleError.forbidden("container cannot be disconnected from host network or connected to host network") }
            if c.endpoints?[n.name] != nil {
                throw LifecycleError.forbidden("endpoint with name \(c.name) already exists in network \(n.name)")
            }
            var settings = try endpointSettings(n, p.endpointConfig)
            if c.state.running, var sandbox = c.sandbox {
                let used = Set(sandbox.interfaces.values)
                let ifName = (0..<64).map { "eth\($0)" }.first { !used.contains($0) } ?? "eth64"
                do {
                    settings = try await networks.join(containerID: c.id, name: c.name, sandbox: &sandbox, network: n, settings: settings,
                                                       ifName: ifName, primary: false, ports: [])
                } catch {
                    // Whatever the join did before it failed (interface, lease, DNS) is undone.
                    await networks.leave(containerID: c.id, sandbox: &sandbox, network: n)
                    throw error
                }
                let s = sandbox
                let updated = try update(c.id) { r in
                    r.sandbox = s
                    var all = r.endpoints ?? [:]; all[n.name] = settings; r.endpoints = all
                }
                try writeHosts(updated)
            } else {
                _ = try update(c.id) { r in var all = r.endpoints ?? [:]; all[n.name] = settings; r.endpoints = all }
            }
            networkEvent("connect", networkID: n.id, container: c.id)
        }
    }

    /// `POST /networks/{id}/disconnect`.
    public func disconnect(_ p: NetworkDisconnectParams) async throws {
        let ref = try resolve(p.container)
        let n = try networks.resolve(p.network)
        try await slot(ref.id).lock.withExclusive { [self] in
            guard let c = record(ref.id) else { throw LifecycleError.notFound("No such container: \(p.container)") }
            guard c.endpoints?[n.name] != nil else {
                throw LifecycleError.forbidden("container \(c.id) is not connected to network \(n.name)")
            }
            if n.driver != "bridge" { throw LifecycleError.forbidden("container cannot be disconnected from host network or connected to host network") }
            if c.state.running, var sandbox = c.sandbox {
                await networks.leave(containerID: c.id, sandbox: &sandbox, network: n)
                let s = sandbox
                let updated = try update(c.id) { r in r.sandbox = s; r.endpoints?[n.name] = nil }
                try writeHosts(updated)
            } else {
                _ = try update(c.id) { $0.endpoints?[n.name] = nil }
            }
            networkEvent("disconnect", networkID: n.id, container: c.id)
        }
    }

    /// The containers on a network, for the network service.
    func networkUsers(_ networkID: String) -> [NetworkUser] {
        records.withLockedValue { Array($0.values) }.compactMap { c in
            guard let e = c.endpoints?.values.first(where: { $0.networkID == networkID }) else { return nil }
            return NetworkUser(containerID: c.id, name: c.name, running: c.state.running && c.sandbox != nil, endpoint: e)
        }
    }

    // MARK: inspect and list

    func networkSettings(_ c: ContainerRecord) -> NetworkSettings {
        var ports: [String: [PortBinding]?] = [:]
        if c.state.running {
            for key in (c.config.exposedPorts ?? [:]).keys { ports[key] = .some(nil) }
            for m in c.sandbox?.ports ?? [] {
                let key = "\(m.containerPort)/\(m.proto)"
                let b = PortBinding(hostIp: m.hostIP.isEmpty ? "0.0.0.0" : m.hostIP, hostPort: String(m.hostPort))
                ports[key] = .some(((ports[key] ?? nil) ?? []) + [b])
            }
        }
        return NetworkSettings(sandboxID: c.sandbox?.id ?? "", ports: ports, sandboxKey: c.sandbox?.key ?? "",
                               networks: c.endpoints ?? [:])
    }

    func portSummaries(_ c: ContainerRecord) -> [PortSummary] {
        guard c.state.running else { return [] }
        var out: [PortSummary] = []
        var published = Set<String>()
        for m in c.sandbox?.ports ?? [] {
            out.append(PortSummary(ip: m.hostIP.isEmpty ? "0.0.0.0" : m.hostIP, privatePort: m.containerPort, publicPort: m.hostPort, type: m.proto))
            published.insert("\(m.containerPort)/\(m.proto)")
        }
        for key in (c.config.exposedPorts ?? [:]).keys where !published.contains(key.contains("/") ? key : key + "/tcp") {
            if let (p, proto) = try? Self.parsePortKey(key) { out.append(PortSummary(privatePort: p, type: proto)) }
        }
        return out.sorted { ($0.privatePort, $0.publicPort ?? 0) < ($1.privatePort, $1.publicPort ?? 0) }
    }
}
