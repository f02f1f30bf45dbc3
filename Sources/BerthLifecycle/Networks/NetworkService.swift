import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import BerthNetwork
import BerthOS
import BerthWire

/// How berth-lifecycled networks containers (dockerd's bridge flags, plus the names a test daemon
/// changes so it never touches another daemon's bridges or rules).
public struct NetworkServiceOptions: Sendable {
    /// Run root: `netns/<id>` pins each container's namespace, `cni/` holds host-local's leases.
    public var runRoot: String
    /// The default bridge network's Linux bridge and address (dockerd's `--bridge`, `--bip`).
    public var defaultBridge: String
    public var defaultBridgeIP: String
    /// Where user-defined networks get their subnets (dockerd's `--default-address-pool`).
    public var pools: [AddressPool]
    /// User-defined networks' bridges are `<prefix><ID…>`, 15 characters at most.
    public var bridgePrefix: String
    /// Prefix of the iptables chains.
    public var chainPrefix: String
    public var cniPath: [String]
    /// Where the embedded DNS forwards names it doesn't know (the host's resolvers).
    public var upstreamDNS: [String]

    public init(runRoot: String, defaultBridge: String = "berth0", defaultBridgeIP: String = "10.87.0.1/16",
                pools: [AddressPool]? = nil, bridgePrefix: String = "br-", chainPrefix: String = "BERTH",
                cniPath: [String] = ["/usr/lib/cni", "/opt/cni/bin"], upstreamDNS: [String]? = nil) {
        self.runRoot = runRoot; self.defaultBridge = defaultBridge; self.defaultBridgeIP = defaultBridgeIP
        self.pools = pools ?? [AddressPool(parsing: "base=10.88.0.0/13,size=20")].compactMap { $0 }
        self.bridgePrefix = bridgePrefix; self.chainPrefix = chainPrefix; self.cniPath = cniPath
        self.upstreamDNS = upstreamDNS ?? Self.hostResolvers()
    }

    /// The nameservers of the host's /etc/resolv.conf (loopback ones too: the embedded DNS
    /// forwards from the host's namespace, where they work).
    public static func hostResolvers(_ text: String? = nil) -> [String] {
        let t = text ?? ((try? FS.readString("/etc/resolv.conf")) ?? "")
        return t.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return f.count > 1 && f[0] == "nameserver" ? String(f[1]) : nil
        }
    }
}

/// A container on a network, as the network service needs to know it.
public struct NetworkUser: Sendable {
    public var containerID: String
    public var name: String
    public var running: Bool
    public var endpoint: EndpointState
}

/// Networks: Docker's three built-ins and user-defined bridges (records in the metadata
/// database), and what a container's network namespace gets on each (CNI bridge + host-local,
/// portmap, the embedded DNS). The container service calls in at start, exit and connect.
public final class NetworkService: Sendable {
    let options: NetworkServiceOptions
    let meta: MetadataStore
    let events: EventBus
    let cni: CNIPlugins
    let firewall: Firewall
    let ports = PortReservations()
    let dns: EmbeddedDNS
    let records = NIOLockedValueBox<[String: NetworkRecord]>([:])
    /// Networks whose bridge rules were applied by this daemon run (rules survive a daemon
    /// restart but not a reboot, so each network is applied again once per run, on first use).
    let applied = NIOLockedValueBox<Set<String>>([])
    /// Networks the embedded DNS has been told about in this run.
    let dnsKnown = NIOLockedValueBox<Set<String>>([])
    /// Containers on a network (late-bound to the container service).
    let usersHook = NIOLockedValueBox<(@Sendable (String) -> [NetworkUser])?>(nil)
    /// Serialises create/remove so two creates can't take one subnet.
    let changeLock = NIOLock()
    /// Serialises applying a network's iptables rules.
    let prepareLock = NIOLock()

    var netnsDir: String { options.runRoot + "/netns" }
    var ipamDir: String { options.runRoot + "/cni/networks" }
    public func netnsPath(_ containerID: String) -> String { "\(netnsDir)/\(containerID.prefix(32))" }

    public init(options: NetworkServiceOptions, meta: MetadataStore, events: EventBus, group: any EventLoopGroup) throws {
        self.options = options; self.meta = meta; self.events = events
        // Interface names are at most 15 bytes; a user network's bridge is the prefix and at
        // least 4 characters of its ID.
        guard options.bridgePrefix.utf8.count <= 11 else {
            throw LifecycleError.invalidArgument("bridge prefix \(options.bridgePrefix) is too long: at most 11 bytes")
        }
        guard !options.defaultBridge.isEmpty, options.defaultBridge.utf8.count <= 15 else {
            throw LifecycleError.invalidArgument("bridge name \(options.defaultBridge) must have 1 to 15 bytes")
        }
        cni = CNIPlugins(searchPath: options.cniPath)
        firewall = Firewall(prefix: options.chainPrefix)
        dns = EmbeddedDNS(group: group, upstream: options.upstreamDNS, log: { Log.error("dns: \($0)") })
        do {
            try FS.mkdirAll(netnsDir, mode: 0o700)
            try FS.mkdirAll(ipamDir, mode: 0o700)
        } catch { throw LifecycleError.internalError("create network dirs: \(error)") }
        var all = try meta.networks()
        for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] where !all.contains(where: { $0.name == name }) {
            var r = NetworkRecord(id: ContainerService.randomID(), name: name, created: ImageService.timestamp(),
                                  createdAt: Date().timeIntervalSince1970, driver: driver, bridge: "", subnet: "", gateway: "",
                                  ipRange: nil, internal: false, attachable: false, options: [:], labels: [:],
                                  builtin: true, userSubnet: false)
            if name == "bridge" { try Self.configureDefault(&r, options) }
            try meta.putNetwork(r)
            all.append(r)
        }
        // The default bridge follows the daemon's flags (`--bridge`, `--bip`) at every start.
        if var def = all.first(where: { $0.name == "bridge" && $0.builtin }) {
            let before = def
            try Self.configureDefault(&def, options)
            if def != before { try meta.putNetwork(def); all = all.map { $0.id == def.id ? def : $0 } }
        }
        let loaded = all
        records.withLockedValue { r in for n in loaded { r[n.id] = n } }
    }

    static func configureDefault(_ r: inout NetworkRecord, _ o: NetworkServiceOptions) throws {
        guard let bip = IPv4Subnet(o.defaultBridgeIP), let gw = IPv4Address(String(o.defaultBridgeIP.split(separator: "/")[0])) else {
            throw LifecycleError.invalidArgument("invalid bridge address \(o.defaultBridgeIP): want an address with its prefix, like 10.87.0.1/16")
        }
        r.bridge = o.defaultBridge
        r.subnet = bip.description
        r.gateway = gw.description
        r.options = ["com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.name": o.defaultBridge,
                     "com.docker.network.bridge.enable_ip_masquerade": "true", "com.docker.network.bridge.enable_icc": "true"]
    }

    func setUsers(_ f: @escaping @Sendable (String) -> [NetworkUser]) { usersHook.withLockedValue { $0 = f } }
    func users(of networkID: String) -> [NetworkUser] { usersHook.withLockedValue { $0 }?(networkID) ?? [] }

    // MARK: lookup

    /// A network by full ID, name, or unique ID prefix (Docker's order).
    public func resolve(_ ref: String) throws -> NetworkRecord {
        let all = records.withLockedValue { $0 }
        if let n = all[ref] { return n }
        if let n = all.values.first(where: { $0.name == ref }) { return n }
        let matches = ref.isEmpty ? [] : all.values.filter { $0.id.hasPrefix(ref) }
        if matches.count == 1, let n = matches.first { return n }
        if matches.count > 1 { throw LifecycleError.invalidArgument("network \(ref) is ambiguous (\(matches.count) matches found based on ID prefix)") }
        throw LifecycleError.notFound("network \(ref) not found")
    }

    func record(_ id: String) -> NetworkRecord? { records.withLockedValue { $0[id] } }

    // MARK: create

    /// `POST /networks/create`: a user-defined bridge network.
    public func create(_ p: NetworkCreateParams) throws -> NetworkCreateResult {
        let name = p.name
        guard !name.isEmpty, ContainerService.isValidName(name) || name.count == 1 && name.first?.isLetter == true else {
            throw LifecycleError.invalidArgument("invalid network name \"\(name)\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        }
        let driver = p.driver ?? "bridge"
        if ["bridge", "host", "none"].contains(name) && driver != "bridge" || name == "host" || name == "none" || name == "bridge" {
            throw LifecycleError.forbidden("\(name) is a pre-defined network and cannot be created")
        }
        guard driver == "bridge" else {
            if driver == "host" || driver == "null" {
                throw LifecycleError.forbidden("only one instance of \"\(driver)\" network is allowed")
            }
            throw LifecycleError.notFound("plugin \"\(driver)\" not found")
        }
        if p.enableIPv6 == true { throw LifecycleError.invalidArgument("IPv6 networks are not supported by Berth yet") }
        if let ipamDriver = p.ipam?.driver, !["", "default"].contains(ipamDriver) {
            throw LifecycleError.notFound("plugin \"\(ipamDriver)\" not found")
        }
        let pools = p.ipam?.config ?? []
        if pools.count > 1 { throw LifecycleError.invalidArgument("only one IPv4 address pool per network is supported") }
        return try changeLock.withLock { () throws -> NetworkCreateResult in
            if records.withLockedValue({ $0.values.contains { $0.name == name } }) {
                throw LifecycleError.conflict("network with name \(name) already exists")
            }
            let id = ContainerService.randomID()
            let existing = records.withLockedValue { $0.values.compactMap { IPv4Subnet($0.subnet) } }
            let routes = HostRoutes.current()
            var subnet: IPv4Subnet, gateway: IPv4Address, ipRange: String?
            let userSubnet = pools.first?.subnet != nil
            if let pool = pools.first, let s = pool.subnet {
                guard let parsed = IPv4Subnet(s, strict: true), parsed.prefix <= 30 else {
                    throw LifecycleError.invalidArgument("invalid subnet \(s): want a network address and prefix of at most 30, like 10.10.0.0/16")
                }
                subnet = parsed
                if let other = records.withLockedValue({ $0.values.first { IPv4Subnet($0.subnet)?.overlaps(parsed) == true } }) {
                    throw LifecycleError.forbidden("Pool overlaps with other one on this address space (network \(other.name) has \(other.subnet))")
                }
                if let r = HostRoutes.conflict(parsed, routes: routes) {
                    throw LifecycleError.forbidden("subnet \(parsed) overlaps the host's route \(r.subnet) on \(r.interface)")
                }
                if let g = pool.gateway {
                    guard let ga = IPv4Address(g), parsed.contains(ga), ga != parsed.first, ga != parsed.last else {
                        throw LifecycleError.invalidArgument("invalid gateway \(g): it must be an address inside \(parsed)")
                    }
                    gateway = ga
                } else { gateway = parsed.firstHost }
                if let r = pool.ipRange {
                    guard let rr = IPv4Subnet(r, strict: true), parsed.contains(rr.first), parsed.contains(rr.last) else {
                        throw LifecycleError.invalidArgument("invalid ip range \(r): it must be a subnet inside \(parsed)")
                    }
                    ipRange = rr.description
                }
            } else {
                if pools.first?.gateway != nil || pools.first?.ipRange != nil {
                    throw LifecycleError.invalidArgument("a gateway or ip range needs a subnet")
                }
                let taken = existing + routes.filter { $0.subnet.prefix > 0 }.map(\.subnet)
                guard let s = options.pools.lazy.compactMap({ $0.next(avoiding: taken) }).first else {
                    throw LifecycleError.forbidden("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
                }
                subnet = s; gateway = s.firstHost
            }
            let bridge = try bridgeName(id: id, requested: p.options?["com.docker.network.bridge.name"])
            let now = Date()
            let rec = NetworkRecord(id: id, name: name, created: ImageService.timestamp(), createdAt: now.timeIntervalSince1970,
                                    driver: "bridge", bridge: bridge, subnet: subnet.description, gateway: gateway.description,
                                    ipRange: ipRange, internal: p.internal ?? false, attachable: p.attachable ?? false,
                                    options: p.options ?? [:], labels: p.labels ?? [:], builtin: false, userSubnet: userSubnet)
            try meta.putNetwork(rec)
            records.withLockedValue { $0[id] = rec }
            events.publish(type: "network", action: "create", id: id, attributes: ["name": name, "type": "bridge"])
            return NetworkCreateResult(id: id)
        }
    }

    /// `com.docker.network.bridge.name`, or the prefix and as much of the ID as fits in 15 bytes.
    func bridgeName(id: String, requested: String?) throws -> String {
        let taken = Set(records.withLockedValue { $0.values.map(\.bridge) })
        if let r = requested, !r.isEmpty {
            guard r.utf8.count <= 15, r.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw LifecycleError.invalidArgument("invalid bridge name \(r): at most 15 letters, digits, '-', '_' or '.'")
            }
            if taken.contains(r) { throw LifecycleError.conflict("bridge name \(r) is used by another network") }
            return r
        }
        let room = 15 - options.bridgePrefix.utf8.count
        let hex = Array(id)
        for start in stride(from: 0, to: hex.count - room, by: room) {
            let candidate = options.bridgePrefix + String(hex[start..<(start + room)])
            if !taken.contains(candidate) && !FS.exists("/sys/class/net/" + candidate) { return candidate }
        }
        throw LifecycleError.internalError("no free bridge name with prefix \(options.bridgePrefix)")
    }

    // MARK: list, inspect

    public func inspect(_ ref: String) throws -> Network {
        let n = try resolve(ref)
        return view(n, containers: true)
    }

    func view(_ n: NetworkRecord, containers: Bool) -> Network {
        var members: [String: NetworkContainer] = [:]
        if containers {
            for u in users(of: n.id) where u.running && !u.endpoint.ipAddress.isEmpty {
                members[u.containerID] = NetworkContainer(name: u.name, endpointID: u.endpoint.endpointID, macAddress: u.endpoint.macAddress,
                                                          ipv4Address: "\(u.endpoint.ipAddress)/\(u.endpoint.ipPrefixLen)")
            }
        }
        var pool: [IPAMPool] = []
        if !n.subnet.isEmpty { pool = [IPAMPool(subnet: n.subnet, ipRange: n.ipRange, gateway: n.gateway)] }
        return Network(name: n.name, id: n.id, created: n.created, driver: n.driver,
                       ipam: IPAM(driver: "default", config: pool, options: nil), internal: n.internal,
                       attachable: n.attachable, containers: members, options: n.options, labels: n.labels)
    }

    /// `GET /networks` with Docker's filters.
    public func list(filters: [String: [String]]) throws -> [Network] {
        let known = ["driver", "id", "label", "name", "scope", "type", "dangling"]
        for k in filters.keys where !known.contains(k) { throw LifecycleError.invalidArgument("invalid filter '\(k)'") }
        for t in filters["type"] ?? [] where !["custom", "builtin"].contains(t) {
            throw LifecycleError.invalidArgument("invalid filter: 'type'='\(t)'")
        }
        let all = records.withLockedValue { Array($0.values) }.sorted { $0.createdAt < $1.createdAt }
        return all.filter { n in
            if let v = filters["driver"], !v.contains(n.driver) { return false }
            if let v = filters["id"], !v.contains(where: { n.id.hasPrefix($0) }) { return false }
            if let v = filters["name"], !v.contains(where: { n.name.contains($0) }) { return false }
            if let v = filters["label"], !v.allSatisfy({ ImageService.labelMatches($0, n.labels) }) { return false }
            if let v = filters["scope"], !v.contains("local") { return false }
            if let v = filters["type"], !v.contains(n.builtin ? "builtin" : "custom") { return false }
            if let v = filters["dangling"]?.first {
                let dangling = !n.builtin && !users(of: n.id).contains(where: \.running)
                if (v == "true" || v == "1") != dangling { return false }
            }
            return true
        }.map { view($0, containers: false) }
    }

    // MARK: remove, prune

    /// `DELETE /networks/{id}`: refused while a running container is on it (403, as Docker).
    public func remove(_ ref: String) throws {
        let n = try resolve(ref)
        if n.builtin { throw LifecycleError.forbidden("\(n.name) is a pre-defined network and cannot be removed") }
        try changeLock.withLock { () throws in
            let active = users(of: n.id).filter(\.running)
            if !active.isEmpty {
                throw LifecycleError.forbidden("error while removing network: network \(n.name) id \(n.id) has active endpoints")
            }
            try meta.deleteNetwork(n.id)
            records.withLockedValue { $0[n.id] = nil }
            _ = applied.withLockedValue { $0.remove(n.id) }
            _ = dnsKnown.withLockedValue { $0.remove(n.id) }
            release(n)
            events.publish(type: "network", action: "destroy", id: n.id, attributes: ["name": n.name, "type": n.driver])
        }
    }

    /// The bridge, its rules, leases and DNS records of a removed network.
    func release(_ n: NetworkRecord) {
        dns.removeNetwork(id: n.id)
        if let s = IPv4Subnet(n.subnet), n.driver == "bridge" {
            firewall.remove(.init(bridge: n.bridge, subnet: s, internal: n.internal))
        }
        if !n.bridge.isEmpty && FS.exists("/sys/class/net/" + n.bridge) {
            let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"
            if let r = try? Subprocess.run(path: ip, args: [ip, "link", "delete", n.bridge, "type", "bridge"], env: [],
                                           captureStderr: true), r.status != 0 {
                Log.error("delete bridge \(n.bridge): \(String(decoding: r.output, as: UTF8.self))")
            }
        }
        try? FS.removeAll(ipamDir + "/" + n.id)
    }

    /// `90s`, `10m`, `24h`.
    static func duration(_ s: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        guard let u = s.last, let mult = units[u], let n = Double(s.dropLast()) else { return nil }
        return n * mult
    }

    /// `POST /networks/prune`: user-defined networks no container uses (`until`, `label` filters).
    public func prune(filters: [String: [String]]) throws -> NetworkPruneResult {
        for k in filters.keys where !["until", "label", "label!"].contains(k) {
            throw LifecycleError.invalidArgument("invalid filter '\(k)'")
        }
        // Docker also takes durations (`24h`) relative to now.
        let until = try filters["until"]?.first.map { v -> Double in
            if let d = Self.duration(v) { return Date().timeIntervalSince1970 - d }
            return try EventBus.parseTime(v)
        }
        var deleted: [String] = []
        // As dockerd: a network without active endpoints (running containers) goes, even if
        // stopped containers still name it.
        for n in records.withLockedValue({ Array($0.values) }) where !n.builtin && !users(of: n.id).contains(where: \.running) {
            if let until, n.createdAt >= until { continue }
            if let v = filters["label"], !v.allSatisfy({ ImageService.labelMatches($0, n.labels) }) { continue }
            if let v = filters["label!"], v.contains(where: { ImageService.labelMatches($0, n.labels) }) { continue }
            do { try remove(n.id); deleted.append(n.name) } catch { Log.error("prune network \(n.name): \(error)") }
        }
        return NetworkPruneResult(networksDeleted: deleted)
    }
}
