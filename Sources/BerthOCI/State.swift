/// The state of a container as the runtime-spec defines it (`state` command output).
public struct State: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var id: String
    public var status: Status
    public var pid: Int32?
    public var bundle: String
    public var annotations: [String: String]?

    public enum Status: String, Codable, Sendable {
        case creating, created, running, stopped, paused
    }

    public init(ociVersion: String = Spec.version, id: String, status: Status, pid: Int32?, bundle: String,
                annotations: [String: String]? = nil) {
        self.ociVersion = ociVersion; self.id = id; self.status = status; self.pid = pid
        self.bundle = bundle; self.annotations = annotations
    }
}

/// The runtime-spec features document (`features` command output).
public struct Features: Codable, Sendable, Equatable {
    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]?
    public var mountOptions: [String]?
    public var linux: LinuxFeatures?
    public var annotations: [String: String]?
    public var potentiallyUnsafeConfigAnnotations: [String]?

    public init(ociVersionMin: String, ociVersionMax: String, hooks: [String]?, mountOptions: [String]?,
                linux: LinuxFeatures?, annotations: [String: String]?) {
        self.ociVersionMin = ociVersionMin; self.ociVersionMax = ociVersionMax; self.hooks = hooks
        self.mountOptions = mountOptions; self.linux = linux; self.annotations = annotations
    }

    public struct LinuxFeatures: Codable, Sendable, Equatable {
        public var namespaces: [String]?
        public var capabilities: [String]?
        public var cgroup: Cgroup?
        public var seccomp: SeccompFeatures?
        public var apparmor: Enabled?
        public var selinux: Enabled?
        public var intelRdt: Enabled?
        public var mountExtensions: MountExtensions?
        public init(namespaces: [String]?, capabilities: [String]?, cgroup: Cgroup?, seccomp: SeccompFeatures?,
                    apparmor: Enabled?, selinux: Enabled?, intelRdt: Enabled?, mountExtensions: MountExtensions?) {
            self.namespaces = namespaces; self.capabilities = capabilities; self.cgroup = cgroup
            self.seccomp = seccomp; self.apparmor = apparmor; self.selinux = selinux; self.intelRdt = intelRdt
            self.mountExtensions = mountExtensions
        }
    }
    public struct Cgroup: Codable, Sendable, Equatable {
        public var v1: Bool?
        public var v2: Bool?
        public var systemd: Bool?
        public var systemdUser: Bool?
        public var rdma: Bool?
        public init(v1: Bool?, v2: Bool?, systemd: Bool?, systemdUser: Bool?, rdma: Bool?) {
            self.v1 = v1; self.v2 = v2; self.systemd = systemd; self.systemdUser = systemdUser; self.rdma = rdma
        }
    }
    public struct SeccompFeatures: Codable, Sendable, Equatable {
        public var enabled: Bool?
        public var actions: [String]?
        public var operators: [String]?
        public var archs: [String]?
        public var knownFlags: [String]?
        public var supportedFlags: [String]?
        public init(enabled: Bool?, actions: [String]?, operators: [String]?, archs: [String]?,
                    knownFlags: [String]?, supportedFlags: [String]?) {
            self.enabled = enabled; self.actions = actions; self.operators = operators; self.archs = archs
            self.knownFlags = knownFlags; self.supportedFlags = supportedFlags
        }
    }
    public struct Enabled: Codable, Sendable, Equatable {
        public var enabled: Bool?
        public init(enabled: Bool?) { self.enabled = enabled }
    }
    public struct MountExtensions: Codable, Sendable, Equatable {
        public var idmap: Enabled?
        public init(idmap: Enabled?) { self.idmap = idmap }
    }
}
