import BerthImage

// Messages of the container operations after create. Parameters use camelCase (wire-only);
// results that the Engine API returns verbatim (inspect, list, wait, state) use Docker's keys so
// berthd passes them through. Specs/lifecycle-protocol.md lists every method.

/// `container.create`: Docker's create body plus the optional name (`?name=` in the API).
public struct ContainerCreateRequest: Codable, Sendable {
    public var name: String?
    public var config: ContainerCreateParams
    public init(name: String? = nil, config: ContainerCreateParams) { self.name = name; self.config = config }
}

/// A container by ID, short ID or name.
public struct ContainerRefParams: Codable, Sendable {
    public var id: String
    public init(id: String) { self.id = id }
}

public struct ContainerStopParams: Codable, Sendable {
    public var id: String
    /// Seconds before SIGKILL; nil is the container's StopTimeout (default 10). Negative waits forever.
    public var timeout: Int?
    /// Overrides the container's StopSignal.
    public var signal: String?
    public init(id: String, timeout: Int? = nil, signal: String? = nil) { self.id = id; self.timeout = timeout; self.signal = signal }
}

public struct ContainerKillParams: Codable, Sendable {
    public var id: String
    /// Name (`KILL`, `SIGKILL`) or number; default SIGKILL (Docker's default for kill).
    public var signal: String?
    public init(id: String, signal: String? = nil) { self.id = id; self.signal = signal }
}

public struct ContainerRemoveParams: Codable, Sendable {
    public var id: String
    /// Kill a running container first.
    public var force: Bool?
    /// Remove its anonymous volumes too.
    public var volumes: Bool?
    public init(id: String, force: Bool? = nil, volumes: Bool? = nil) { self.id = id; self.force = force; self.volumes = volumes }
}

public struct ContainerWaitParams: Codable, Sendable {
    public var id: String
    /// `not-running` (default), `next-exit`, `removed`.
    public var condition: String?
    public init(id: String, condition: String? = nil) { self.id = id; self.condition = condition }
}

/// Docker's wait response.
public struct ContainerWaitResult: Codable, Sendable, Equatable {
    public struct WaitError: Codable, Sendable, Equatable {
        public var message: String
        enum CodingKeys: String, CodingKey { case message = "Message" }
        public init(message: String) { self.message = message }
    }
    public var statusCode: Int
    public var error: WaitError?
    enum CodingKeys: String, CodingKey { case statusCode = "StatusCode", error = "Error" }
    public init(statusCode: Int, error: WaitError? = nil) { self.statusCode = statusCode; self.error = error }
}

public struct ContainerRenameParams: Codable, Sendable {
    public var id: String
    public var name: String
    public init(id: String, name: String) { self.id = id; self.name = name }
}

public struct ContainerResizeParams: Codable, Sendable {
    public var id: String
    public var height: Int
    public var width: Int
    public init(id: String, height: Int, width: Int) { self.id = id; self.height = height; self.width = width }
}

public struct ContainerListParams: Codable, Sendable {
    public var all: Bool?
    /// Docker's filters: id, name, label, status, exited, ancestor, before, since, volume, health.
    public var filters: [String: [String]]?
    /// Most recent N (including stopped ones, as `docker ps -n`).
    public var limit: Int?
    public init(all: Bool? = nil, filters: [String: [String]]? = nil, limit: Int? = nil) {
        self.all = all; self.filters = filters; self.limit = limit
    }
}

/// One row of `GET /containers/json`.
public struct ContainerSummary: Codable, Sendable, Equatable {
    public var id: String
    public var names: [String]
    public var image: String
    public var imageID: String
    public var command: String
    public var created: Int64
    public var state: String
    public var status: String
    public var labels: [String: String]
    public var mounts: [MountPoint]
    public var ports: [PortSummary]
    public var hostConfig: [String: String]
    public var networkSettings: SummaryNetworkSettings
    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command", created = "Created"
        case state = "State", status = "Status", labels = "Labels", mounts = "Mounts", ports = "Ports", hostConfig = "HostConfig"
        case networkSettings = "NetworkSettings"
    }
    public init(id: String, names: [String], image: String, imageID: String, command: String, created: Int64,
                state: String, status: String, labels: [String: String], mounts: [MountPoint], networkMode: String,
                ports: [PortSummary] = [], networks: [String: EndpointState] = [:]) {
        self.id = id; self.names = names; self.image = image; self.imageID = imageID; self.command = command
        self.created = created; self.state = state; self.status = status; self.labels = labels; self.mounts = mounts
        self.ports = ports; self.hostConfig = ["NetworkMode": networkMode]
        self.networkSettings = SummaryNetworkSettings(networks: networks)
    }
}

/// Docker's MountPoint (inspect `Mounts`).
public struct MountPoint: Codable, Sendable, Equatable {
    public var type: String
    public var name: String?
    public var source: String
    public var destination: String
    public var driver: String?
    public var mode: String
    public var rw: Bool
    public var propagation: String
    enum CodingKeys: String, CodingKey {
        case type = "Type", name = "Name", source = "Source", destination = "Destination", driver = "Driver"
        case mode = "Mode", rw = "RW", propagation = "Propagation"
    }
    public init(type: String, name: String? = nil, source: String, destination: String, driver: String? = nil,
                mode: String = "", rw: Bool, propagation: String = "") {
        self.type = type; self.name = name; self.source = source; self.destination = destination
        self.driver = driver; self.mode = mode; self.rw = rw; self.propagation = propagation
    }
}

/// Docker's ContainerState.
public struct ContainerState: Codable, Sendable, Equatable {
    /// created, running, paused, restarting, removing, exited, dead.
    public var status: String
    public var running: Bool
    public var paused: Bool
    public var restarting: Bool
    public var oomKilled: Bool
    public var dead: Bool
    public var pid: Int
    public var exitCode: Int
    public var error: String
    public var startedAt: String
    public var finishedAt: String
    public var health: Health?

    public static let zeroTime = "0001-01-01T00:00:00Z"

    enum CodingKeys: String, CodingKey {
        case status = "Status", running = "Running", paused = "Paused", restarting = "Restarting", oomKilled = "OOMKilled"
        case dead = "Dead", pid = "Pid", exitCode = "ExitCode", error = "Error", startedAt = "StartedAt"
        case finishedAt = "FinishedAt", health = "Health"
    }

    public init(status: String = "created") {
        self.status = status; running = false; paused = false; restarting = false; oomKilled = false; dead = false
        pid = 0; exitCode = 0; error = ""; startedAt = Self.zeroTime; finishedAt = Self.zeroTime; health = nil
    }

    /// Docker's health object: `starting`, `healthy`, `unhealthy`, with the last five probes.
    public struct Health: Codable, Sendable, Equatable {
        public var status: String
        public var failingStreak: Int
        public var log: [HealthLog]
        enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak", log = "Log" }
        public init(status: String, failingStreak: Int = 0, log: [HealthLog] = []) {
            self.status = status; self.failingStreak = failingStreak; self.log = log
        }
    }

    public struct HealthLog: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
        public var exitCode: Int
        public var output: String
        enum CodingKeys: String, CodingKey { case start = "Start", end = "End", exitCode = "ExitCode", output = "Output" }
        public init(start: String, end: String, exitCode: Int, output: String) {
            self.start = start; self.end = end; self.exitCode = exitCode; self.output = output
        }
    }
}

/// `GET /containers/{id}/json`: the fields Berth fills.
public struct ContainerInspect: Codable, Sendable {
    public var id: String
    public var created: String
    public var path: String
    public var args: [String]
    public var state: ContainerState
    public var image: String
    public var resolvConfPath: String
    public var hostnamePath: String
    public var hostsPath: String
    public var logPath: String
    public var name: String
    public var restartCount: Int
    public var driver: String
    public var platform: String
    public var mountLabel: String
    public var processLabel: String
    public var appArmorProfile: String
    public var execIDs: [String]?
    public var hostConfig: HostConfig
    public var graphDriver: GraphDriver
    public var mounts: [MountPoint]
    public var config: ContainerCreateParams
    public var networkSettings: NetworkSettings
    enum CodingKeys: String, CodingKey {
        case id = "Id", created = "Created", path = "Path", args = "Args", state = "State", image = "Image"
        case resolvConfPath = "ResolvConfPath", hostnamePath = "HostnamePath", hostsPath = "HostsPath", logPath = "LogPath"
        case name = "Name", restartCount = "RestartCount", driver = "Driver", platform = "Platform"
        case mountLabel = "MountLabel", processLabel = "ProcessLabel", appArmorProfile = "AppArmorProfile"
        case execIDs = "ExecIDs", hostConfig = "HostConfig", graphDriver = "GraphDriver", mounts = "Mounts", config = "Config"
        case networkSettings = "NetworkSettings"
    }

    public struct GraphDriver: Codable, Sendable {
        public var name: String
        public var data: [String: String]
        enum CodingKeys: String, CodingKey { case name = "Name", data = "Data" }
        public init(name: String, data: [String: String]) { self.name = name; self.data = data }
    }

    public init(id: String, created: String, path: String, args: [String], state: ContainerState, image: String,
                resolvConfPath: String, hostnamePath: String, hostsPath: String, logPath: String, name: String,
                restartCount: Int, execIDs: [String]?, hostConfig: HostConfig, graphDriver: GraphDriver,
                mounts: [MountPoint], config: ContainerCreateParams, networkSettings: NetworkSettings = NetworkSettings()) {
        self.id = id; self.created = created; self.path = path; self.args = args; self.state = state; self.image = image
        self.resolvConfPath = resolvConfPath; self.hostnamePath = hostnamePath; self.hostsPath = hostsPath
        self.logPath = logPath; self.name = name; self.restartCount = restartCount; self.driver = "overlay2"
        self.platform = "linux"; self.mountLabel = ""; self.processLabel = ""; self.appArmorProfile = ""
        self.execIDs = execIDs; self.hostConfig = hostConfig; self.graphDriver = graphDriver; self.mounts = mounts
        self.config = config; self.networkSettings = networkSettings
    }
}

/// `container.logs`: Docker's log options.
public struct ContainerLogsParams: Codable, Sendable {
    public var id: String
    public var follow: Bool?
    public var stdout: Bool?
    public var stderr: Bool?
    /// Unix time (seconds, fractional allowed) or RFC 3339; entries at or after it.
    public var since: String?
    /// Entries before it.
    public var until: String?
    /// `all` or a number of last entries.
    public var tail: String?
    public init(id: String, follow: Bool? = nil, stdout: Bool? = nil, stderr: Bool? = nil,
                since: String? = nil, until: String? = nil, tail: String? = nil) {
        self.id = id; self.follow = follow; self.stdout = stdout; self.stderr = stderr
        self.since = since; self.until = until; self.tail = tail
    }
}

/// One log or output entry, sent as a `progress` notification: the json-file record.
public struct LogEntry: Codable, Sendable, Equatable {
    /// `stdout` or `stderr`.
    public var stream: String
    /// The text, including its newline (a partial line has none).
    public var log: String
    /// RFC 3339 with nanoseconds.
    public var time: String
    public init(stream: String, log: String, time: String) { self.stream = stream; self.log = log; self.time = time }
}

/// `container.attach`: output while the container runs (and its past output with `logs`).
public struct ContainerAttachParams: Codable, Sendable {
    public var id: String
    public var logs: Bool?
    public var stream: Bool?
    public var stdout: Bool?
    public var stderr: Bool?
    public init(id: String, logs: Bool? = nil, stream: Bool? = nil, stdout: Bool? = nil, stderr: Bool? = nil) {
        self.id = id; self.logs = logs; self.stream = stream; self.stdout = stdout; self.stderr = stderr
    }
}

/// Where a client writes a container's (or exec's) stdin and sends resizes: the monitor's control
/// socket (Specs/monitor.md: `stdin`, `resize R C`).
public struct ContainerIOResult: Codable, Sendable, Equatable {
    public var controlSocket: String?
    public var tty: Bool
    public var openStdin: Bool
    public init(controlSocket: String?, tty: Bool, openStdin: Bool) {
        self.controlSocket = controlSocket; self.tty = tty; self.openStdin = openStdin
    }
}

/// `POST /containers/{id}/exec` body.
public struct ExecConfig: Codable, Sendable, Equatable {
    public var attachStdin: Bool?
    public var attachStdout: Bool?
    public var attachStderr: Bool?
    public var detachKeys: String?
    public var tty: Bool?
    public var consoleSize: [Int]?
    public var env: [String]?
    public var cmd: [String]?
    public var privileged: Bool?
    public var user: String?
    public var workingDir: String?
    enum CodingKeys: String, CodingKey {
        case attachStdin = "AttachStdin", attachStdout = "AttachStdout", attachStderr = "AttachStderr"
        case detachKeys = "DetachKeys", tty = "Tty", consoleSize = "ConsoleSize", env = "Env", cmd = "Cmd"
        case privileged = "Privileged", user = "User", workingDir = "WorkingDir"
    }
    public init(cmd: [String]? = nil, env: [String]? = nil, user: String? = nil, workingDir: String? = nil,
                tty: Bool? = nil, attachStdin: Bool? = nil, privileged: Bool? = nil) {
        self.cmd = cmd; self.env = env; self.user = user; self.workingDir = workingDir; self.tty = tty
        self.attachStdin = attachStdin; self.privileged = privileged
    }
}

public struct ExecCreateParams: Codable, Sendable {
    public var id: String
    public var config: ExecConfig
    public init(id: String, config: ExecConfig) { self.id = id; self.config = config }
}

public struct ExecRefParams: Codable, Sendable {
    public var execId: String
    public init(execId: String) { self.execId = execId }
}

public struct ExecStartParams: Codable, Sendable {
    public var execId: String
    /// Return once the process runs instead of streaming its output until it exits.
    public var detach: Bool?
    public init(execId: String, detach: Bool? = nil) { self.execId = execId; self.detach = detach }
}

public struct ExecResizeParams: Codable, Sendable {
    public var execId: String
    public var height: Int
    public var width: Int
    public init(execId: String, height: Int, width: Int) { self.execId = execId; self.height = height; self.width = width }
}

/// `exec.start` result: the exit code once it exited (nil when detached).
public struct ExecStartResult: Codable, Sendable, Equatable {
    public var exitCode: Int?
    public init(exitCode: Int?) { self.exitCode = exitCode }
}

/// `GET /exec/{id}/json`.
public struct ExecInspect: Codable, Sendable, Equatable {
    public var id: String
    public var containerID: String
    public var running: Bool
    public var exitCode: Int?
    public var pid: Int
    public var openStdin: Bool
    public var openStdout: Bool
    public var openStderr: Bool
    public var canRemove: Bool
    public var detachKeys: String
    public var processConfig: ProcessConfig
    enum CodingKeys: String, CodingKey {
        case id = "ID", containerID = "ContainerID", running = "Running", exitCode = "ExitCode", pid = "Pid"
        case openStdin = "OpenStdin", openStdout = "OpenStdout", openStderr = "OpenStderr", canRemove = "CanRemove"
        case detachKeys = "DetachKeys", processConfig = "ProcessConfig"
    }
    public struct ProcessConfig: Codable, Sendable, Equatable {
        public var tty: Bool
        public var entrypoint: String
        public var arguments: [String]
        public var privileged: Bool
        public var user: String
        enum CodingKeys: String, CodingKey {
            case tty, entrypoint, arguments, privileged, user
        }
        public init(tty: Bool, entrypoint: String, arguments: [String], privileged: Bool, user: String) {
            self.tty = tty; self.entrypoint = entrypoint; self.arguments = arguments; self.privileged = privileged; self.user = user
        }
    }
    public init(id: String, containerID: String, running: Bool, exitCode: Int?, pid: Int, openStdin: Bool,
                processConfig: ProcessConfig) {
        self.id = id; self.containerID = containerID; self.running = running; self.exitCode = exitCode; self.pid = pid
        self.openStdin = openStdin; self.openStdout = true; self.openStderr = true; self.canRemove = false
        self.detachKeys = ""; self.processConfig = processConfig
    }
}

/// `GET /containers/{id}/top`.
public struct ContainerTopResult: Codable, Sendable, Equatable {
    public var titles: [String]
    public var processes: [[String]]
    enum CodingKeys: String, CodingKey { case titles = "Titles", processes = "Processes" }
    public init(titles: [String], processes: [[String]]) { self.titles = titles; self.processes = processes }
}

public struct ContainerTopParams: Codable, Sendable {
    public var id: String
    /// `ps` options (default `-ef`).
    public var psArgs: String?
    public init(id: String, psArgs: String? = nil) { self.id = id; self.psArgs = psArgs }
}

/// `system.events`: Docker's event filters and time window.
public struct EventsParams: Codable, Sendable {
    public var since: String?
    public var until: String?
    /// type, event, container, image, volume, network, label.
    public var filters: [String: [String]]?
    public init(since: String? = nil, until: String? = nil, filters: [String: [String]]? = nil) {
        self.since = since; self.until = until; self.filters = filters
    }
}

/// One event in Docker's shape (`GET /events`).
public struct Event: Codable, Sendable, Equatable {
    public struct Actor: Codable, Sendable, Equatable {
        public var id: String
        public var attributes: [String: String]
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
        public init(id: String, attributes: [String: String]) { self.id = id; self.attributes = attributes }
    }
    public var type: String
    public var action: String
    public var actor: Actor
    public var scope: String
    public var time: Int64
    public var timeNano: Int64
    // The pre-1.22 fields the docker CLI still prints for containers.
    public var status: String?
    public var id: String?
    public var from: String?
    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", scope = "scope", time, timeNano
        case status, id, from
    }
    public init(type: String, action: String, actor: Actor, timeNano: Int64) {
        self.type = type; self.action = action; self.actor = actor; self.scope = "local"
        self.time = timeNano / 1_000_000_000; self.timeNano = timeNano
        if type == "container" || type == "image" {
            status = action; id = actor.id; from = actor.attributes["image"]
        }
    }
}

/// Entries sent together in one `progress` notification of `container.logs`, `container.attach`
/// and `exec.start`.
public struct LogBatch: Codable, Sendable {
    public var entries: [LogEntry]
    public init(entries: [LogEntry]) { self.entries = entries }
}

/// `container.start` answers whether the container was started or already running (Docker's 304).
public struct ContainerChangeResult: Codable, Sendable, Equatable {
    public var notModified: Bool
    public init(notModified: Bool) { self.notModified = notModified }
}


/// `container.export` and `container.archive.get`: where to write the tar (a file or a FIFO the
/// caller reads, as with `image.save`).
public struct ContainerTarParams: Codable, Sendable {
    public var id: String
    /// The path inside the container (archive operations only).
    public var path: String?
    /// Where the tar is written, or read from for `container.archive.put`.
    public var tarPath: String?
    /// `docker cp`'s NoOverwriteDirNonDir.
    public var noOverwriteDirNonDir: Bool?
    public init(id: String, path: String? = nil, tarPath: String? = nil, noOverwriteDirNonDir: Bool? = nil) {
        self.id = id; self.path = path; self.tarPath = tarPath; self.noOverwriteDirNonDir = noOverwriteDirNonDir
    }
}

/// `container.commit`: Docker's commit query (`repo`, `tag`, `comment`, `author`, `changes`,
/// `pause`) plus the ContainerConfig body that overrides the container's.
public struct ContainerCommitParams: Codable, Sendable {
    public var id: String
    /// `repo[:tag]`; none makes an untagged image.
    public var reference: String?
    public var comment: String?
    public var author: String?
    public var changes: [String]?
    /// Freeze the container while its layer is read (default true, as Docker).
    public var pause: Bool?
    public var config: ContainerCreateParams?
    public init(id: String, reference: String? = nil, comment: String? = nil, author: String? = nil,
                changes: [String]? = nil, pause: Bool? = nil, config: ContainerCreateParams? = nil) {
        self.id = id; self.reference = reference; self.comment = comment; self.author = author
        self.changes = changes; self.pause = pause; self.config = config
    }
}


/// `container.update` (docker update): the resource keys and RestartPolicy of Docker's UpdateConfig,
/// as a HostConfig. Only keys present and non-zero change the container's HostConfig, as in dockerd.
public struct ContainerUpdateParams: Codable, Sendable {
    public var id: String
    public var update: HostConfig
    public init(id: String, update: HostConfig) { self.id = id; self.update = update }
}

/// Docker's update response.
public struct ContainerUpdateResult: Codable, Sendable, Equatable {
    public var warnings: [String]
    enum CodingKeys: String, CodingKey { case warnings = "Warnings" }
    public init(warnings: [String] = []) { self.warnings = warnings }
}
