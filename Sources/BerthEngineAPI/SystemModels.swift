/// `GET /version`.
public struct VersionResponse: Codable, Sendable {
    public struct PlatformInfo: Codable, Sendable { public var Name: String }
    public struct ComponentInfo: Codable, Sendable {
        public var Name: String
        public var Version: String
        public var Details: [String: String]
    }
    public var Platform: PlatformInfo
    public var Components: [ComponentInfo]
    public var Version: String
    public var ApiVersion: String
    public var MinAPIVersion: String
    public var GitCommit: String
    public var GoVersion: String
    public var Os: String
    public var Arch: String
    public var KernelVersion: String
    public var BuildTime: String

    public init(kernelVersion: String, arch: String) {
        let details = ["ApiVersion": APIVersion.current.description, "MinAPIVersion": APIVersion.minimum.description,
                       "Arch": arch, "Os": "linux", "KernelVersion": kernelVersion, "GitCommit": "", "GoVersion": "swift", "Experimental": "false"]
        self.Platform = PlatformInfo(Name: EngineIdentity.platformName)
        self.Components = [ComponentInfo(Name: "Engine", Version: EngineIdentity.version, Details: details)]
        Version = EngineIdentity.version
        ApiVersion = APIVersion.current.description
        MinAPIVersion = APIVersion.minimum.description
        GitCommit = ""
        GoVersion = "swift"
        Os = "linux"
        Arch = arch
        KernelVersion = kernelVersion
        BuildTime = ""
    }
}

/// The subset of `GET /info` berthd fills. Keys are Docker's.
public struct InfoResponse: Codable, Sendable {
    public var ID: String
    public var Containers: Int
    public var ContainersRunning: Int
    public var ContainersPaused: Int
    public var ContainersStopped: Int
    public var Images: Int
    public var Driver = "overlay2"
    public var DriverStatus: [[String]] = []
    public var MemoryLimit = true
    public var SwapLimit = true
    public var CpuCfsPeriod = true
    public var CpuCfsQuota = true
    public var PidsLimit = true
    public var IPv4Forwarding = false
    public var Debug: Bool
    public var NFd = 0
    public var NGoroutines = 0
    public var SystemTime: String
    public var LoggingDriver = "json-file"
    public var CgroupDriver = "cgroupfs"
    public var CgroupVersion: String
    public var NEventsListener = 0
    public var KernelVersion: String
    public var OperatingSystem: String
    public var OSVersion: String
    public var OSType = "linux"
    public var Architecture: String
    public var NCPU: Int
    public var MemTotal: Int64
    public var IndexServerAddress = "https://index.docker.io/v1/"
    public var DockerRootDir: String
    public var Name: String
    public var Labels: [String] = []
    public var ExperimentalBuild = false
    public var ServerVersion = EngineIdentity.version
    public var Runtimes: [String: [String: String]] = ["berth-runtime": ["path": "berth-runtime"]]
    public var DefaultRuntime = "berth-runtime"
    public var LiveRestoreEnabled = true
    public var Isolation = ""
    public var SecurityOptions: [String] = ["name=seccomp,profile=builtin"]
    public var Warnings: [String] = []
    /// No swarm: the docker CLI prints `Swarm: inactive` (an absent state reads as a half-joined node).
    public var Swarm: [String: String] = ["LocalNodeState": "inactive", "NodeID": "", "NodeAddr": ""]

    public init(id: String, containers: Int, running: Int, paused: Int, stopped: Int, images: Int, debug: Bool,
                systemTime: String, cgroupVersion: String, kernelVersion: String, operatingSystem: String,
                osVersion: String, architecture: String, ncpu: Int, memTotal: Int64, rootDir: String, name: String) {
        ID = id; Containers = containers; ContainersRunning = running; ContainersPaused = paused
        ContainersStopped = stopped; Images = images; Debug = debug; SystemTime = systemTime
        CgroupVersion = cgroupVersion; KernelVersion = kernelVersion; OperatingSystem = operatingSystem
        OSVersion = osVersion; Architecture = architecture; NCPU = ncpu; MemTotal = memTotal
        DockerRootDir = rootDir; Name = name
    }
}

/// Every error body: `{"message": "…"}`.
public struct ErrorResponse: Codable, Sendable {
    public var message: String
    public init(message: String) { self.message = message }
}

/// One line of a pull's progress stream (Docker's jsonmessage.JSONMessage).
public struct JSONMessage: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var current: Int64?
        public var total: Int64?
        public init(current: Int64?, total: Int64?) { self.current = current; self.total = total }
    }
    public struct ErrorDetail: Codable, Sendable {
        public var message: String
    }
    public var status: String?
    public var id: String?
    public var progressDetail: Detail?
    public var errorDetail: ErrorDetail?
    public var error: String?

    /// As dockerd sends them: a layer's statuses carry `progressDetail` (`{}` without numbers), so a
    /// terminal keeps them on the layer's line; `Pulling from …`, `Digest:`, `Status:` and the push's
    /// opening line do not, and stay lines of their own.
    public init(status: String, id: String?, current: Int64?, total: Int64?) {
        self.status = status; self.id = id
        if id != nil && !status.hasPrefix("Pulling from ") { progressDetail = Detail(current: current, total: total) }
    }

    public init(error: String) { self.error = error; errorDetail = ErrorDetail(message: error) }
}
