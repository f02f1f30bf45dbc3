import BerthImage

// Messages of the `container.*` methods. `ContainerCreateParams` is the body of Docker Engine API
// v1.43 `POST /containers/create` (ContainerConfig + HostConfig + NetworkingConfig) with Docker's
// JSON keys, so berthd passes the request body through untranslated. Every field is optional, as
// in the API: absent means "Docker's default" (resolved by berth-lifecycled's SpecBuilder).

/// The body of `POST /containers/create`.
public struct ContainerCreateParams: Codable, Sendable, Equatable {
    public var hostname: String?
    public var domainname: String?
    public var user: String?
    public var attachStdin: Bool?
    public var attachStdout: Bool?
    public var attachStderr: Bool?
    public var exposedPorts: [String: EmptyObject]?
    public var tty: Bool?
    public var openStdin: Bool?
    public var stdinOnce: Bool?
    public var env: [String]?
    public var cmd: [String]?
    public var healthcheck: HealthConfig?
    public var argsEscaped: Bool?
    public var image: String?
    public var volumes: [String: EmptyObject]?
    public var workingDir: String?
    /// `[""]` clears the image's entrypoint (and, as in Docker, does not inherit the image's Cmd).
    public var entrypoint: [String]?
    public var networkDisabled: Bool?
    public var macAddress: String?
    public var onBuild: [String]?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var stopTimeout: Int?
    public var shell: [String]?
    public var hostConfig: HostConfig?
    public var networkingConfig: NetworkingConfig?

    enum CodingKeys: String, CodingKey {
        case hostname = "Hostname", domainname = "Domainname", user = "User"
        case attachStdin = "AttachStdin", attachStdout = "AttachStdout", attachStderr = "AttachStderr"
        case exposedPorts = "ExposedPorts", tty = "Tty", openStdin = "OpenStdin", stdinOnce = "StdinOnce"
        case env = "Env", cmd = "Cmd", healthcheck = "Healthcheck", argsEscaped = "ArgsEscaped", image = "Image"
        case volumes = "Volumes", workingDir = "WorkingDir", entrypoint = "Entrypoint"
        case networkDisabled = "NetworkDisabled", macAddress = "MacAddress", onBuild = "OnBuild", labels = "Labels"
        case stopSignal = "StopSignal", stopTimeout = "StopTimeout", shell = "Shell"
        case hostConfig = "HostConfig", networkingConfig = "NetworkingConfig"
    }

    public init(image: String? = nil, cmd: [String]? = nil, entrypoint: [String]? = nil, env: [String]? = nil,
                workingDir: String? = nil, user: String? = nil, hostname: String? = nil, domainname: String? = nil,
                labels: [String: String]? = nil, tty: Bool? = nil, openStdin: Bool? = nil, stdinOnce: Bool? = nil,
                attachStdin: Bool? = nil, attachStdout: Bool? = nil, attachStderr: Bool? = nil,
                stopSignal: String? = nil, stopTimeout: Int? = nil, exposedPorts: [String: EmptyObject]? = nil,
                volumes: [String: EmptyObject]? = nil, healthcheck: HealthConfig? = nil,
                hostConfig: HostConfig? = nil, networkingConfig: NetworkingConfig? = nil) {
        self.image = image; self.cmd = cmd; self.entrypoint = entrypoint; self.env = env
        self.workingDir = workingDir; self.user = user; self.hostname = hostname; self.domainname = domainname
        self.labels = labels; self.tty = tty; self.openStdin = openStdin; self.stdinOnce = stdinOnce
        self.attachStdin = attachStdin; self.attachStdout = attachStdout; self.attachStderr = attachStderr
        self.stopSignal = stopSignal; self.stopTimeout = stopTimeout; self.exposedPorts = exposedPorts
        self.volumes = volumes; self.healthcheck = healthcheck; self.hostConfig = hostConfig
        self.networkingConfig = networkingConfig
    }
}

/// The answer of `POST /containers/create`.
public struct ContainerCreateResult: Codable, Sendable, Equatable {
    public var id: String
    public var warnings: [String]

    enum CodingKeys: String, CodingKey { case id = "Id", warnings = "Warnings" }

    public init(id: String, warnings: [String] = []) { self.id = id; self.warnings = warnings }
}

/// Docker's HostConfig: the container's resources, security and host integration.
public struct HostConfig: Codable, Sendable, Equatable {
    // Resources.
    public var cpuShares: Int64?
    public var memory: Int64?
    public var cgroupParent: String?
    public var blkioWeight: UInt16?
    public var cpuPeriod: Int64?
    public var cpuQuota: Int64?
    public var cpuRealtimePeriod: Int64?
    public var cpuRealtimeRuntime: Int64?
    public var cpusetCpus: String?
    public var cpusetMems: String?
    public var devices: [DeviceMapping]?
    /// `"c 1:3 rwm"`, `"b 8:* r"`, `"a *:* m"`.
    public var deviceCgroupRules: [String]?
    public var memoryReservation: Int64?
    /// Memory + swap; -1 is unlimited swap; unset with Memory set means twice Memory.
    public var memorySwap: Int64?
    public var memorySwappiness: Int64?
    /// CPUs in units of 1e-9 (`--cpus 0.5` is 500000000).
    public var nanoCpus: Int64?
    public var oomKillDisable: Bool?
    public var `init`: Bool?
    /// 0 or negative: unlimited.
    public var pidsLimit: Int64?
    public var ulimits: [Ulimit]?

    // Host integration.
    public var binds: [String]?
    public var containerIDFile: String?
    public var logConfig: LogConfig?
    public var networkMode: String?
    public var portBindings: [String: [PortBinding]?]?
    public var restartPolicy: RestartPolicy?
    public var autoRemove: Bool?
    public var volumeDriver: String?
    public var volumesFrom: [String]?
    public var mounts: [MountSpec]?
    public var consoleSize: [Int]?
    public var annotations: [String: String]?
    public var capAdd: [String]?
    public var capDrop: [String]?
    public var cgroupnsMode: String?
    public var dns: [String]?
    public var dnsOptions: [String]?
    public var dnsSearch: [String]?
    public var extraHosts: [String]?
    public var groupAdd: [String]?
    public var ipcMode: String?
    public var cgroup: String?
    public var links: [String]?
    public var oomScoreAdj: Int?
    public var pidMode: String?
    public var privileged: Bool?
    public var publishAllPorts: Bool?
    public var readonlyRootfs: Bool?
    public var securityOpt: [String]?
    public var storageOpt: [String: String]?
    /// Destination → tmpfs options (`"rw,noexec,size=64m"`).
    public var tmpfs: [String: String]?
    public var utsMode: String?
    public var usernsMode: String?
    /// Bytes; 0 or unset means 64 MiB.
    public var shmSize: Int64?
    public var sysctls: [String: String]?
    public var runtime: String?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?

    enum CodingKeys: String, CodingKey {
        case cpuShares = "CpuShares", memory = "Memory", cgroupParent = "CgroupParent", blkioWeight = "BlkioWeight"
        case cpuPeriod = "CpuPeriod", cpuQuota = "CpuQuota", cpuRealtimePeriod = "CpuRealtimePeriod"
        case cpuRealtimeRuntime = "CpuRealtimeRuntime", cpusetCpus = "CpusetCpus", cpusetMems = "CpusetMems"
        case devices = "Devices", deviceCgroupRules = "DeviceCgroupRules", memoryReservation = "MemoryReservation"
        case memorySwap = "MemorySwap", memorySwappiness = "MemorySwappiness", nanoCpus = "NanoCpus"
        case oomKillDisable = "OomKillDisable", `init` = "Init", pidsLimit = "PidsLimit", ulimits = "Ulimits"
        case binds = "Binds", containerIDFile = "ContainerIDFile", logConfig = "LogConfig", networkMode = "NetworkMode"
        case portBindings = "PortBindings", restartPolicy = "RestartPolicy", autoRemove = "AutoRemove"
        case volumeDriver = "VolumeDriver", volumesFrom = "VolumesFrom", mounts = "Mounts", consoleSize = "ConsoleSize"
        case annotations = "Annotations", capAdd = "CapAdd", capDrop = "CapDrop", cgroupnsMode = "CgroupnsMode"
        case dns = "Dns", dnsOptions = "DnsOptions", dnsSearch = "DnsSearch", extraHosts = "ExtraHosts"
        case groupAdd = "GroupAdd", ipcMode = "IpcMode", cgroup = "Cgroup", links = "Links", oomScoreAdj = "OomScoreAdj"
        case pidMode = "PidMode", privileged = "Privileged", publishAllPorts = "PublishAllPorts"
        case readonlyRootfs = "ReadonlyRootfs", securityOpt = "SecurityOpt", storageOpt = "StorageOpt", tmpfs = "Tmpfs"
        case utsMode = "UTSMode", usernsMode = "UsernsMode", shmSize = "ShmSize", sysctls = "Sysctls"
        case runtime = "Runtime", maskedPaths = "MaskedPaths", readonlyPaths = "ReadonlyPaths"
    }

    public init(binds: [String]? = nil, mounts: [MountSpec]? = nil, tmpfs: [String: String]? = nil,
                memory: Int64? = nil, memorySwap: Int64? = nil, memoryReservation: Int64? = nil,
                nanoCpus: Int64? = nil, cpuShares: Int64? = nil, cpuPeriod: Int64? = nil, cpuQuota: Int64? = nil,
                cpusetCpus: String? = nil, cpusetMems: String? = nil, pidsLimit: Int64? = nil,
                ulimits: [Ulimit]? = nil, capAdd: [String]? = nil, capDrop: [String]? = nil,
                privileged: Bool? = nil, readonlyRootfs: Bool? = nil, securityOpt: [String]? = nil,
                sysctls: [String: String]? = nil, devices: [DeviceMapping]? = nil, `init`: Bool? = nil,
                shmSize: Int64? = nil, oomScoreAdj: Int? = nil, oomKillDisable: Bool? = nil,
                networkMode: String? = nil, restartPolicy: RestartPolicy? = nil, autoRemove: Bool? = nil,
                logConfig: LogConfig? = nil, groupAdd: [String]? = nil, dns: [String]? = nil,
                dnsSearch: [String]? = nil, extraHosts: [String]? = nil, portBindings: [String: [PortBinding]?]? = nil,
                publishAllPorts: Bool? = nil) {
        self.portBindings = portBindings; self.publishAllPorts = publishAllPorts
        self.binds = binds; self.mounts = mounts; self.tmpfs = tmpfs
        self.memory = memory; self.memorySwap = memorySwap; self.memoryReservation = memoryReservation
        self.nanoCpus = nanoCpus; self.cpuShares = cpuShares; self.cpuPeriod = cpuPeriod; self.cpuQuota = cpuQuota
        self.cpusetCpus = cpusetCpus; self.cpusetMems = cpusetMems; self.pidsLimit = pidsLimit
        self.ulimits = ulimits; self.capAdd = capAdd; self.capDrop = capDrop
        self.privileged = privileged; self.readonlyRootfs = readonlyRootfs; self.securityOpt = securityOpt
        self.sysctls = sysctls; self.devices = devices; self.`init` = `init`
        self.shmSize = shmSize; self.oomScoreAdj = oomScoreAdj; self.oomKillDisable = oomKillDisable
        self.networkMode = networkMode; self.restartPolicy = restartPolicy; self.autoRemove = autoRemove
        self.logConfig = logConfig; self.groupAdd = groupAdd; self.dns = dns
        self.dnsSearch = dnsSearch; self.extraHosts = extraHosts
    }
}

/// One entry of HostConfig.Mounts.
public struct MountSpec: Codable, Sendable, Equatable {
    /// `bind`, `volume`, `tmpfs` (Docker also has `npipe` and `cluster`).
    public var type: String?
    public var source: String?
    public var target: String?
    public var readOnly: Bool?
    public var consistency: String?
    public var bindOptions: BindOptions?
    public var volumeOptions: VolumeOptions?
    public var tmpfsOptions: TmpfsOptions?

    enum CodingKeys: String, CodingKey {
        case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", consistency = "Consistency"
        case bindOptions = "BindOptions", volumeOptions = "VolumeOptions", tmpfsOptions = "TmpfsOptions"
    }

    public init(type: String? = nil, source: String? = nil, target: String? = nil, readOnly: Bool? = nil,
                bindOptions: BindOptions? = nil, volumeOptions: VolumeOptions? = nil, tmpfsOptions: TmpfsOptions? = nil) {
        self.type = type; self.source = source; self.target = target; self.readOnly = readOnly
        self.bindOptions = bindOptions; self.volumeOptions = volumeOptions; self.tmpfsOptions = tmpfsOptions
    }

    public struct BindOptions: Codable, Sendable, Equatable {
        /// `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
        public var propagation: String?
        public var nonRecursive: Bool?
        public var createMountpoint: Bool?
        enum CodingKeys: String, CodingKey {
            case propagation = "Propagation", nonRecursive = "NonRecursive", createMountpoint = "CreateMountpoint"
        }
        public init(propagation: String? = nil, nonRecursive: Bool? = nil, createMountpoint: Bool? = nil) {
            self.propagation = propagation; self.nonRecursive = nonRecursive; self.createMountpoint = createMountpoint
        }
    }

    public struct VolumeOptions: Codable, Sendable, Equatable {
        public var noCopy: Bool?
        public var labels: [String: String]?
        public var driverConfig: DriverConfig?
        enum CodingKeys: String, CodingKey { case noCopy = "NoCopy", labels = "Labels", driverConfig = "DriverConfig" }
        public init(noCopy: Bool? = nil, labels: [String: String]? = nil, driverConfig: DriverConfig? = nil) {
            self.noCopy = noCopy; self.labels = labels; self.driverConfig = driverConfig
        }
    }

    public struct DriverConfig: Codable, Sendable, Equatable {
        public var name: String?
        public var options: [String: String]?
        enum CodingKeys: String, CodingKey { case name = "Name", options = "Options" }
        public init(name: String? = nil, options: [String: String]? = nil) { self.name = name; self.options = options }
    }

    public struct TmpfsOptions: Codable, Sendable, Equatable {
        public var sizeBytes: Int64?
        /// Permission bits (decimal in JSON: 0o1777 is 1023).
        public var mode: UInt32?
        enum CodingKeys: String, CodingKey { case sizeBytes = "SizeBytes", mode = "Mode" }
        public init(sizeBytes: Int64? = nil, mode: UInt32? = nil) { self.sizeBytes = sizeBytes; self.mode = mode }
    }
}

/// `{"Name": "nofile", "Soft": 1024, "Hard": 2048}`.
public struct Ulimit: Codable, Sendable, Equatable {
    public var name: String
    public var soft: Int64
    public var hard: Int64
    enum CodingKeys: String, CodingKey { case name = "Name", soft = "Soft", hard = "Hard" }
    public init(name: String, soft: Int64, hard: Int64) { self.name = name; self.soft = soft; self.hard = hard }
}

/// `--device /dev/fuse:/dev/fuse:rwm`.
public struct DeviceMapping: Codable, Sendable, Equatable {
    public var pathOnHost: String
    public var pathInContainer: String?
    public var cgroupPermissions: String?
    enum CodingKeys: String, CodingKey {
        case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
    }
    public init(pathOnHost: String, pathInContainer: String? = nil, cgroupPermissions: String? = nil) {
        self.pathOnHost = pathOnHost; self.pathInContainer = pathInContainer; self.cgroupPermissions = cgroupPermissions
    }
}

/// `{"Name": "on-failure", "MaximumRetryCount": 3}`; Name is `""`, `no`, `always`, `unless-stopped`, `on-failure`.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public var name: String?
    public var maximumRetryCount: Int?
    enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
    public init(name: String? = nil, maximumRetryCount: Int? = nil) { self.name = name; self.maximumRetryCount = maximumRetryCount }
}

/// `{"Type": "json-file", "Config": {"max-size": "10m"}}`.
public struct LogConfig: Codable, Sendable, Equatable {
    public var type: String?
    public var config: [String: String]?
    enum CodingKeys: String, CodingKey { case type = "Type", config = "Config" }
    public init(type: String? = nil, config: [String: String]? = nil) { self.type = type; self.config = config }
}

/// `{"HostIp": "127.0.0.1", "HostPort": "8080"}`.
public struct PortBinding: Codable, Sendable, Equatable {
    public var hostIp: String?
    public var hostPort: String?
    enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    public init(hostIp: String? = nil, hostPort: String? = nil) { self.hostIp = hostIp; self.hostPort = hostPort }
}

/// `{"EndpointsConfig": {"mynet": {...}}}`.
public struct NetworkingConfig: Codable, Sendable, Equatable {
    public var endpointsConfig: [String: EndpointSettings]?
    enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
    public init(endpointsConfig: [String: EndpointSettings]? = nil) { self.endpointsConfig = endpointsConfig }
}

/// The part of Docker's EndpointSettings a create request carries.
public struct EndpointSettings: Codable, Sendable, Equatable {
    public var ipamConfig: IPAMConfig?
    public var links: [String]?
    public var aliases: [String]?
    public var networkID: String?
    public var macAddress: String?
    enum CodingKeys: String, CodingKey {
        case ipamConfig = "IPAMConfig", links = "Links", aliases = "Aliases", networkID = "NetworkID", macAddress = "MacAddress"
    }
    public init(ipamConfig: IPAMConfig? = nil, links: [String]? = nil, aliases: [String]? = nil,
                networkID: String? = nil, macAddress: String? = nil) {
        self.ipamConfig = ipamConfig; self.links = links; self.aliases = aliases
        self.networkID = networkID; self.macAddress = macAddress
    }

    public struct IPAMConfig: Codable, Sendable, Equatable {
        public var ipv4Address: String?
        public var ipv6Address: String?
        public var linkLocalIPs: [String]?
        enum CodingKeys: String, CodingKey {
            case ipv4Address = "IPv4Address", ipv6Address = "IPv6Address", linkLocalIPs = "LinkLocalIPs"
        }
        public init(ipv4Address: String? = nil, ipv6Address: String? = nil, linkLocalIPs: [String]? = nil) {
            self.ipv4Address = ipv4Address; self.ipv6Address = ipv6Address; self.linkLocalIPs = linkLocalIPs
        }
    }
}
