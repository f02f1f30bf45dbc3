// Messages of the `network.*` methods, and the network parts of a container's inspect and list
// answers. Networks, create bodies and list/prune answers use the Docker Engine API's JSON keys, so
// berthd passes them through untranslated; the small request wrappers use lowercase keys like the
// other methods. Specs/lifecycle-protocol.md lists them.

/// The body of `POST /networks/create`.
public struct NetworkCreateParams: Codable, Sendable, Equatable {
    public var name: String
    public var checkDuplicate: Bool?
    /// `bridge` (the default); `host`, `null` and overlay drivers can't be created.
    public var driver: String?
    /// No traffic to or from outside the network.
    public var `internal`: Bool?
    public var attachable: Bool?
    public var ingress: Bool?
    public var ipam: IPAM?
    public var enableIPv6: Bool?
    /// Driver options, e.g. `com.docker.network.bridge.name`.
    public var options: [String: String]?
    public var labels: [String: String]?

    enum CodingKeys: String, CodingKey {
        case name = "Name", checkDuplicate = "CheckDuplicate", driver = "Driver", `internal` = "Internal"
        case attachable = "Attachable", ingress = "Ingress", ipam = "IPAM", enableIPv6 = "EnableIPv6"
        case options = "Options", labels = "Labels"
    }

    public init(name: String, driver: String? = nil, internal: Bool? = nil, attachable: Bool? = nil, ipam: IPAM? = nil,
                enableIPv6: Bool? = nil, options: [String: String]? = nil, labels: [String: String]? = nil) {
        self.name = name; self.driver = driver; self.internal = `internal`; self.attachable = attachable
        self.ipam = ipam; self.enableIPv6 = enableIPv6; self.options = options; self.labels = labels
    }
}

/// Docker's IPAM section: `{"Driver": "default", "Config": [{"Subnet": …, "Gateway": …}]}`.
public struct IPAM: Codable, Sendable, Equatable {
    public var driver: String?
    public var config: [IPAMPool]?
    public var options: [String: String]?
    enum CodingKeys: String, CodingKey { case driver = "Driver", config = "Config", options = "Options" }
    public init(driver: String? = nil, config: [IPAMPool]? = nil, options: [String: String]? = nil) {
        self.driver = driver; self.config = config; self.options = options
    }
}

/// One address pool of a network: its subnet, the gateway (the bridge's address) and the range
/// containers get addresses from.
public struct IPAMPool: Codable, Sendable, Equatable {
    public var subnet: String?
    public var ipRange: String?
    public var gateway: String?
    public var auxiliaryAddresses: [String: String]?
    enum CodingKeys: String, CodingKey {
        case subnet = "Subnet", ipRange = "IPRange", gateway = "Gateway", auxiliaryAddresses = "AuxiliaryAddresses"
    }
    public init(subnet: String? = nil, ipRange: String? = nil, gateway: String? = nil, auxiliaryAddresses: [String: String]? = nil) {
        self.subnet = subnet; self.ipRange = ipRange; self.gateway = gateway; self.auxiliaryAddresses = auxiliaryAddresses
    }
}

/// `{"Id": …, "Warning": ""}`.
public struct NetworkCreateResult: Codable, Sendable, Equatable {
    public var id: String
    public var warning: String
    enum CodingKeys: String, CodingKey { case id = "Id", warning = "Warning" }
    public init(id: String, warning: String = "") { self.id = id; self.warning = warning }
}

/// Docker's Network object (`docker network inspect`).
public struct Network: Codable, Sendable, Equatable {
    public var name: String
    public var id: String
    /// RFC 3339 with nanoseconds.
    public var created: String
    public var scope: String
    public var driver: String
    public var enableIPv6: Bool
    public var ipam: IPAM
    public var `internal`: Bool
    public var attachable: Bool
    public var ingress: Bool
    public var configFrom: [String: String]
    public var configOnly: Bool
    /// Running containers attached, by container ID (only in inspect; empty in lists, as Docker).
    public var containers: [String: NetworkContainer]
    public var options: [String: String]
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case name = "Name", id = "Id", created = "Created", scope = "Scope", driver = "Driver", enableIPv6 = "EnableIPv6"
        case ipam = "IPAM", `internal` = "Internal", attachable = "Attachable", ingress = "Ingress"
        case configFrom = "ConfigFrom", configOnly = "ConfigOnly", containers = "Containers", options = "Options", labels = "Labels"
    }

    public init(name: String, id: String, created: String, driver: String, enableIPv6: Bool = false, ipam: IPAM,
                internal: Bool, attachable: Bool, containers: [String: NetworkContainer], options: [String: String],
                labels: [String: String]) {
        self.name = name; self.id = id; self.created = created; self.scope = "local"; self.driver = driver
        self.enableIPv6 = enableIPv6; self.ipam = ipam; self.internal = `internal`; self.attachable = attachable
        self.ingress = false; self.configFrom = ["Network": ""]; self.configOnly = false; self.containers = containers
        self.options = options; self.labels = labels
    }
}

/// A container attached to a network, as `docker network inspect` lists it.
public struct NetworkContainer: Codable, Sendable, Equatable {
    public var name: String
    public var endpointID: String
    public var macAddress: String
    /// With its prefix length: `172.18.0.2/16`.
    public var ipv4Address: String
    public var ipv6Address: String
    enum CodingKeys: String, CodingKey {
        case name = "Name", endpointID = "EndpointID", macAddress = "MacAddress", ipv4Address = "IPv4Address", ipv6Address = "IPv6Address"
    }
    public init(name: String, endpointID: String, macAddress: String, ipv4Address: String, ipv6Address: String = "") {
        self.name = name; self.endpointID = endpointID; self.macAddress = macAddress
        self.ipv4Address = ipv4Address; self.ipv6Address = ipv6Address
    }
}

/// `network.inspect` and `network.remove`: a network by name, ID or unique ID prefix.
public struct NetworkRefParams: Codable, Sendable, Equatable {
    public var id: String
    public init(id: String) { self.id = id }
}

/// `network.list` (`GET /networks`).
public struct NetworkListParams: Codable, Sendable, Equatable {
    /// Docker's filters: `driver`, `id`, `label`, `name`, `scope`, `type` (`custom`/`builtin`), `dangling`.
    public var filters: [String: [String]]?
    public init(filters: [String: [String]]? = nil) { self.filters = filters }
}

/// `network.connect` (`POST /networks/{id}/connect`).
public struct NetworkConnectParams: Codable, Sendable, Equatable {
    public var network: String
    public var container: String
    /// `--ip`, `--alias`.
    public var endpointConfig: EndpointSettings?
    public init(network: String, container: String, endpointConfig: EndpointSettings? = nil) {
        self.network = network; self.container = container; self.endpointConfig = endpointConfig
    }
}

/// `network.disconnect` (`POST /networks/{id}/disconnect`).
public struct NetworkDisconnectParams: Codable, Sendable, Equatable {
    public var network: String
    public var container: String
    public var force: Bool?
    public init(network: String, container: String, force: Bool? = nil) {
        self.network = network; self.container = container; self.force = force
    }
}

/// `network.prune`: filters `until` and `label`.
public struct NetworkPruneParams: Codable, Sendable, Equatable {
    public var filters: [String: [String]]?
    public init(filters: [String: [String]]? = nil) { self.filters = filters }
}

/// `{"NetworksDeleted": ["name", …]}`.
public struct NetworkPruneResult: Codable, Sendable, Equatable {
    public var networksDeleted: [String]
    enum CodingKeys: String, CodingKey { case networksDeleted = "NetworksDeleted" }
    public init(networksDeleted: [String]) { self.networksDeleted = networksDeleted }
}

/// A container's place on one network (inspect `NetworkSettings.Networks.<name>`).
public struct EndpointState: Codable, Sendable, Equatable {
    public var ipamConfig: EndpointSettings.IPAMConfig?
    public var links: [String]?
    public var aliases: [String]?
    public var networkID: String
    public var endpointID: String
    public var gateway: String
    public var ipAddress: String
    public var ipPrefixLen: Int
    public var ipv6Gateway: String
    public var globalIPv6Address: String
    public var globalIPv6PrefixLen: Int
    public var macAddress: String
    public var driverOpts: [String: String]?

    enum CodingKeys: String, CodingKey {
        case ipamConfig = "IPAMConfig", links = "Links", aliases = "Aliases", networkID = "NetworkID", endpointID = "EndpointID"
        case gateway = "Gateway", ipAddress = "IPAddress", ipPrefixLen = "IPPrefixLen", ipv6Gateway = "IPv6Gateway"
        case globalIPv6Address = "GlobalIPv6Address", globalIPv6PrefixLen = "GlobalIPv6PrefixLen", macAddress = "MacAddress"
        case driverOpts = "DriverOpts"
    }

    public init(ipamConfig: EndpointSettings.IPAMConfig? = nil, aliases: [String]? = nil, networkID: String,
                endpointID: String = "", gateway: String = "", ipAddress: String = "", ipPrefixLen: Int = 0, macAddress: String = "") {
        self.ipamConfig = ipamConfig; self.links = nil; self.aliases = aliases; self.networkID = networkID
        self.endpointID = endpointID; self.gateway = gateway; self.ipAddress = ipAddress; self.ipPrefixLen = ipPrefixLen
        self.ipv6Gateway = ""; self.globalIPv6Address = ""; self.globalIPv6PrefixLen = 0; self.macAddress = macAddress
        self.driverOpts = nil
    }
}

/// Inspect's `NetworkSettings`: the sandbox, published ports and each network's endpoint; the
/// top-level address fields mirror the default bridge's endpoint, as in Docker.
public struct NetworkSettings: Codable, Sendable, Equatable {
    public var bridge: String
    public var sandboxID: String
    public var hairpinMode: Bool
    public var linkLocalIPv6Address: String
    public var linkLocalIPv6PrefixLen: Int
    /// `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]`; an exposed port not published is null.
    public var ports: [String: [PortBinding]?]
    /// The pinned network namespace.
    public var sandboxKey: String
    public var endpointID: String
    public var gateway: String
    public var globalIPv6Address: String
    public var globalIPv6PrefixLen: Int
    public var ipAddress: String
    public var ipPrefixLen: Int
    public var ipv6Gateway: String
    public var macAddress: String
    public var networks: [String: EndpointState]

    enum CodingKeys: String, CodingKey {
        case bridge = "Bridge", sandboxID = "SandboxID", hairpinMode = "HairpinMode"
        case linkLocalIPv6Address = "LinkLocalIPv6Address", linkLocalIPv6PrefixLen = "LinkLocalIPv6PrefixLen"
        case ports = "Ports", sandboxKey = "SandboxKey", endpointID = "EndpointID", gateway = "Gateway"
        case globalIPv6Address = "GlobalIPv6Address", globalIPv6PrefixLen = "GlobalIPv6PrefixLen", ipAddress = "IPAddress"
        case ipPrefixLen = "IPPrefixLen", ipv6Gateway = "IPv6Gateway", macAddress = "MacAddress", networks = "Networks"
    }

    public init(sandboxID: String = "", ports: [String: [PortBinding]?] = [:], sandboxKey: String = "",
                networks: [String: EndpointState] = [:]) {
        self.bridge = ""; self.sandboxID = sandboxID; self.hairpinMode = false; self.linkLocalIPv6Address = ""
        self.linkLocalIPv6PrefixLen = 0; self.ports = ports; self.sandboxKey = sandboxKey; self.endpointID = ""
        self.gateway = ""; self.globalIPv6Address = ""; self.globalIPv6PrefixLen = 0; self.ipAddress = ""; self.ipPrefixLen = 0
        self.ipv6Gateway = ""; self.macAddress = ""; self.networks = networks
        if let main = networks["bridge"] {
            endpointID = main.endpointID; gateway = main.gateway; ipAddress = main.ipAddress
            ipPrefixLen = main.ipPrefixLen; macAddress = main.macAddress
        }
    }

    // `Ports` values are null for an exposed port that is not published: encode the nulls.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bridge, forKey: .bridge); try c.encode(sandboxID, forKey: .sandboxID)
        try c.encode(hairpinMode, forKey: .hairpinMode); try c.encode(linkLocalIPv6Address, forKey: .linkLocalIPv6Address)
        try c.encode(linkLocalIPv6PrefixLen, forKey: .linkLocalIPv6PrefixLen)
        var ports = c.nestedContainer(keyedBy: DynamicKey.self, forKey: .ports)
        for (k, v) in self.ports {
            let key = DynamicKey(k)
            if let v { try ports.encode(v, forKey: key) } else { try ports.encodeNil(forKey: key) }
        }
        try c.encode(sandboxKey, forKey: .sandboxKey); try c.encode(endpointID, forKey: .endpointID)
        try c.encode(gateway, forKey: .gateway); try c.encode(globalIPv6Address, forKey: .globalIPv6Address)
        try c.encode(globalIPv6PrefixLen, forKey: .globalIPv6PrefixLen); try c.encode(ipAddress, forKey: .ipAddress)
        try c.encode(ipPrefixLen, forKey: .ipPrefixLen); try c.encode(ipv6Gateway, forKey: .ipv6Gateway)
        try c.encode(macAddress, forKey: .macAddress); try c.encode(networks, forKey: .networks)
    }

    struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// One published or exposed port in `GET /containers/json`.
public struct PortSummary: Codable, Sendable, Equatable {
    public var ip: String?
    public var privatePort: Int
    public var publicPort: Int?
    public var type: String
    enum CodingKeys: String, CodingKey { case ip = "IP", privatePort = "PrivatePort", publicPort = "PublicPort", type = "Type" }
    public init(ip: String? = nil, privatePort: Int, publicPort: Int? = nil, type: String) {
        self.ip = ip; self.privatePort = privatePort; self.publicPort = publicPort; self.type = type
    }
}

/// `{"Networks": {"bridge": {…}}}` in a container list row.
public struct SummaryNetworkSettings: Codable, Sendable, Equatable {
    public var networks: [String: EndpointState]
    enum CodingKeys: String, CodingKey { case networks = "Networks" }
    public init(networks: [String: EndpointState]) { self.networks = networks }
}
