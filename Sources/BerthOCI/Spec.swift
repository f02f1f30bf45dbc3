// OCI runtime-spec v1.2 configuration types (config.json). Pure data: no syscalls.
// Field names follow the spec's JSON exactly; unknown fields are ignored on decode,
// as the spec requires of runtimes.

/// The root of an OCI bundle's `config.json`.
public struct Spec: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(ociVersion: String = Spec.version, process: Process? = nil, root: Root? = nil,
                hostname: String? = nil, domainname: String? = nil, mounts: [Mount]? = nil,
                hooks: Hooks? = nil, annotations: [String: String]? = nil, linux: Linux? = nil) {
        self.ociVersion = ociVersion; self.process = process; self.root = root
        self.hostname = hostname; self.domainname = domainname; self.mounts = mounts
        self.hooks = hooks; self.annotations = annotations; self.linux = linux
    }

    /// The runtime-spec version this runtime implements.
    public static let version = "1.2.0"
}

public struct Root: Codable, Sendable, Equatable {
    public var path: String
    public var readonly: Bool?
    public init(path: String, readonly: Bool? = nil) { self.path = path; self.readonly = readonly }
}

public struct Process: Codable, Sendable, Equatable {
    public var terminal: Bool?
    public var consoleSize: Box?
    public var user: User
    public var args: [String]?
    public var commandLine: String?
    public var env: [String]?
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var selinuxLabel: String?
    public var ioPriority: IOPriority?
    public var scheduler: Scheduler?
    public var execCPUAffinity: ExecCPUAffinity?

    enum CodingKeys: String, CodingKey {
        case terminal, consoleSize, user, args, commandLine, env, cwd, capabilities, rlimits, noNewPrivileges
        case apparmorProfile, oomScoreAdj, selinuxLabel, ioPriority, scheduler, execCPUAffinity
    }

    /// `user` and `cwd` are required by the spec, but runc's `exec --process` files often omit
    /// them: they decode as uid 0 and "" (validation then names cwd for config.json).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        terminal = try c.decodeIfPresent(Bool.self, forKey: .terminal)
        consoleSize = try c.decodeIfPresent(Box.self, forKey: .consoleSize)
        user = try c.decodeIfPresent(User.self, forKey: .user) ?? User(uid: 0, gid: 0)
        args = try c.decodeIfPresent([String].self, forKey: .args)
        commandLine = try c.decodeIfPresent(String.self, forKey: .commandLine)
        env = try c.decodeIfPresent([String].self, forKey: .env)
        cwd = try c.decodeIfPresent(String.self, forKey: .cwd) ?? ""
        capabilities = try c.decodeIfPresent(Capabilities.self, forKey: .capabilities)
        rlimits = try c.decodeIfPresent([Rlimit].self, forKey: .rlimits)
        noNewPrivileges = try c.decodeIfPresent(Bool.self, forKey: .noNewPrivileges)
        apparmorProfile = try c.decodeIfPresent(String.self, forKey: .apparmorProfile)
        oomScoreAdj = try c.decodeIfPresent(Int.self, forKey: .oomScoreAdj)
        selinuxLabel = try c.decodeIfPresent(String.self, forKey: .selinuxLabel)
        ioPriority = try c.decodeIfPresent(IOPriority.self, forKey: .ioPriority)
        scheduler = try c.decodeIfPresent(Scheduler.self, forKey: .scheduler)
        execCPUAffinity = try c.decodeIfPresent(ExecCPUAffinity.self, forKey: .execCPUAffinity)
    }

    public init(terminal: Bool? = nil, user: User = User(uid: 0, gid: 0), args: [String]? = nil,
                env: [String]? = nil, cwd: String = "/", capabilities: Capabilities? = nil,
                rlimits: [Rlimit]? = nil, noNewPrivileges: Bool? = nil, oomScoreAdj: Int? = nil) {
        self.terminal = terminal; self.user = user; self.args = args; self.env = env; self.cwd = cwd
        self.capabilities = capabilities; self.rlimits = rlimits; self.noNewPrivileges = noNewPrivileges
        self.oomScoreAdj = oomScoreAdj
    }
}

public struct Box: Codable, Sendable, Equatable {
    public var height: UInt16
    public var width: UInt16
    public init(height: UInt16, width: UInt16) { self.height = height; self.width = width }
}

public struct User: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?
    public var username: String?
    public init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
        self.uid = uid; self.gid = gid; self.umask = umask; self.additionalGids = additionalGids
    }

    enum CodingKeys: String, CodingKey { case uid, gid, umask, additionalGids, username }

    /// A missing uid or gid means 0, as runc reads configs.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uid = try c.decodeIfPresent(UInt32.self, forKey: .uid) ?? 0
        gid = try c.decodeIfPresent(UInt32.self, forKey: .gid) ?? 0
        umask = try c.decodeIfPresent(UInt32.self, forKey: .umask)
        additionalGids = try c.decodeIfPresent([UInt32].self, forKey: .additionalGids)
        username = try c.decodeIfPresent(String.self, forKey: .username)
    }
}

public struct Capabilities: Codable, Sendable, Equatable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?
    public init(bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
                permitted: [String]? = nil, ambient: [String]? = nil) {
        self.bounding = bounding; self.effective = effective; self.inheritable = inheritable
        self.permitted = permitted; self.ambient = ambient
    }
}

public struct Rlimit: Codable, Sendable, Equatable {
    public var type: String
    public var soft: UInt64
    public var hard: UInt64
    public init(type: String, soft: UInt64, hard: UInt64) { self.type = type; self.soft = soft; self.hard = hard }
}

public struct IOPriority: Codable, Sendable, Equatable {
    public var `class`: String
    public var priority: Int
}

public struct Scheduler: Codable, Sendable, Equatable {
    public var policy: String
    public var nice: Int32?
    public var priority: Int32?
    public var flags: [String]?
    public var runtime: UInt64?
    public var deadline: UInt64?
    public var period: UInt64?
}

public struct ExecCPUAffinity: Codable, Sendable, Equatable {
    public var initial: String?
    public var final: String?
}

public struct Mount: Codable, Sendable, Equatable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
        self.destination = destination; self.type = type; self.source = source; self.options = options
    }
}

public struct Hook: Codable, Sendable, Equatable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?
    public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
        self.path = path; self.args = args; self.env = env; self.timeout = timeout
    }
}

public struct Hooks: Codable, Sendable, Equatable {
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?
    public init(prestart: [Hook]? = nil, createRuntime: [Hook]? = nil, createContainer: [Hook]? = nil,
                startContainer: [Hook]? = nil, poststart: [Hook]? = nil, poststop: [Hook]? = nil) {
        self.prestart = prestart; self.createRuntime = createRuntime; self.createContainer = createContainer
        self.startContainer = startContainer; self.poststart = poststart; self.poststop = poststop
    }
}

public struct IDMapping: Codable, Sendable, Equatable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32
    public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
        self.containerID = containerID; self.hostID = hostID; self.size = size
    }
}

public struct Linux: Codable, Sendable, Equatable {
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var sysctl: [String: String]?
    public var resources: Resources?
    public var cgroupsPath: String?
    public var namespaces: [Namespace]?
    public var devices: [Device]?
    public var seccomp: Seccomp?
    public var rootfsPropagation: String?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var personality: Personality?
    public var timeOffsets: [String: TimeOffset]?
    public var intelRdt: IntelRdt?

    public init(uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil, sysctl: [String: String]? = nil,
                resources: Resources? = nil, cgroupsPath: String? = nil, namespaces: [Namespace]? = nil,
                devices: [Device]? = nil, seccomp: Seccomp? = nil, rootfsPropagation: String? = nil,
                maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil) {
        self.uidMappings = uidMappings; self.gidMappings = gidMappings; self.sysctl = sysctl
        self.resources = resources; self.cgroupsPath = cgroupsPath; self.namespaces = namespaces
        self.devices = devices; self.seccomp = seccomp; self.rootfsPropagation = rootfsPropagation
        self.maskedPaths = maskedPaths; self.readonlyPaths = readonlyPaths
    }
}

public struct TimeOffset: Codable, Sendable, Equatable {
    public var secs: Int64?
    public var nanosecs: UInt32?
}

public struct IntelRdt: Codable, Sendable, Equatable {
    public var closID: String?
    public var l3CacheSchema: String?
    public var memBwSchema: String?
}

public struct Personality: Codable, Sendable, Equatable {
    public var domain: String
    public var flags: [String]?
}

public struct Namespace: Codable, Sendable, Equatable {
    public var type: String
    public var path: String?
    public init(type: String, path: String? = nil) { self.type = type; self.path = path }
}

public struct Device: Codable, Sendable, Equatable {
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public init(type: String, path: String, major: Int64? = nil, minor: Int64? = nil,
                fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.type = type; self.path = path; self.major = major; self.minor = minor
        self.fileMode = fileMode; self.uid = uid; self.gid = gid
    }
}

public struct DeviceCgroup: Codable, Sendable, Equatable {
    public var allow: Bool
    public var type: String?
    public var major: Int64?
    public var minor: Int64?
    public var access: String?
    public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
        self.allow = allow; self.type = type; self.major = major; self.minor = minor; self.access = access
    }
}

public struct Resources: Codable, Sendable, Equatable {
    public var devices: [DeviceCgroup]?
    public var memory: Memory?
    public var cpu: CPU?
    public var pids: Pids?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit]?
    public var network: Network?
    public var rdma: [String: RdmaLimit]?
    public var unified: [String: String]?
    public init(devices: [DeviceCgroup]? = nil, memory: Memory? = nil, cpu: CPU? = nil, pids: Pids? = nil,
                blockIO: BlockIO? = nil, hugepageLimits: [HugepageLimit]? = nil, unified: [String: String]? = nil) {
        self.devices = devices; self.memory = memory; self.cpu = cpu; self.pids = pids
        self.blockIO = blockIO; self.hugepageLimits = hugepageLimits; self.unified = unified
    }
}

public struct Memory: Codable, Sendable, Equatable {
    public var limit: Int64?
    public var reservation: Int64?
    public var swap: Int64?
    public var kernel: Int64?
    public var kernelTCP: Int64?
    public var swappiness: UInt64?
    public var disableOOMKiller: Bool?
    public var useHierarchy: Bool?
    public var checkBeforeUpdate: Bool?
    public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil,
                swappiness: UInt64? = nil, disableOOMKiller: Bool? = nil) {
        self.limit = limit; self.reservation = reservation; self.swap = swap
        self.swappiness = swappiness; self.disableOOMKiller = disableOOMKiller
    }
}

public struct CPU: Codable, Sendable, Equatable {
    public var shares: UInt64?
    public var quota: Int64?
    public var burst: UInt64?
    public var period: UInt64?
    public var realtimeRuntime: Int64?
    public var realtimePeriod: UInt64?
    public var cpus: String?
    public var mems: String?
    public var idle: Int64?
    public init(shares: UInt64? = nil, quota: Int64? = nil, period: UInt64? = nil, cpus: String? = nil, mems: String? = nil) {
        self.shares = shares; self.quota = quota; self.period = period; self.cpus = cpus; self.mems = mems
    }
}

public struct Pids: Codable, Sendable, Equatable {
    public var limit: Int64
    public init(limit: Int64) { self.limit = limit }
}

public struct WeightDevice: Codable, Sendable, Equatable {
    public var major: Int64
    public var minor: Int64
    public var weight: UInt16?
    public var leafWeight: UInt16?
}

public struct ThrottleDevice: Codable, Sendable, Equatable {
    public var major: Int64
    public var minor: Int64
    public var rate: UInt64
    public init(major: Int64, minor: Int64, rate: UInt64) { self.major = major; self.minor = minor; self.rate = rate }
}

public struct BlockIO: Codable, Sendable, Equatable {
    public var weight: UInt16?
    public var leafWeight: UInt16?
    public var weightDevice: [WeightDevice]?
    public var throttleReadBpsDevice: [ThrottleDevice]?
    public var throttleWriteBpsDevice: [ThrottleDevice]?
    public var throttleReadIOPSDevice: [ThrottleDevice]?
    public var throttleWriteIOPSDevice: [ThrottleDevice]?
    public init(weight: UInt16? = nil) { self.weight = weight }
}

public struct HugepageLimit: Codable, Sendable, Equatable {
    public var pageSize: String
    public var limit: UInt64
    public init(pageSize: String, limit: UInt64) { self.pageSize = pageSize; self.limit = limit }
}

public struct Network: Codable, Sendable, Equatable {
    public var classID: UInt32?
    public var priorities: [NetworkPriority]?
}

public struct NetworkPriority: Codable, Sendable, Equatable {
    public var name: String
    public var priority: UInt32
}

public struct RdmaLimit: Codable, Sendable, Equatable {
    public var hcaHandles: UInt32?
    public var hcaObjects: UInt32?
}

public struct Seccomp: Codable, Sendable, Equatable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var flags: [String]?
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [Syscall]?
    public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil,
                flags: [String]? = nil, syscalls: [Syscall]? = nil) {
        self.defaultAction = defaultAction; self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures; self.flags = flags; self.syscalls = syscalls
    }
}

public struct Syscall: Codable, Sendable, Equatable {
    public var names: [String]
    public var action: String
    public var errnoRet: UInt32?
    public var args: [SeccompArg]?
    public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SeccompArg]? = nil) {
        self.names = names; self.action = action; self.errnoRet = errnoRet; self.args = args
    }
}

public struct SeccompArg: Codable, Sendable, Equatable {
    public var index: UInt32
    public var value: UInt64
    public var valueTwo: UInt64?
    public var op: String
    public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: String) {
        self.index = index; self.value = value; self.valueTwo = valueTwo; self.op = op
    }
}
