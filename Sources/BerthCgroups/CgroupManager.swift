import BerthOCI
import Glibc

/// Creates, configures, freezes, measures and removes one container's cgroup, on cgroup v1
/// (one directory per hierarchy) or v2 (one directory), through a `CgroupFS`.
///
/// Resource mapping follows runc's `libcontainer/cgroups/fs` (v1) and `fs2` (v2). The manager
/// holds no mutable state: everything it needs is in `paths`, which the runtime stores in
/// the container state and restores with `init(paths:layout:fs:)`.
public struct CgroupManager: Sendable {
    /// The host's cgroup layout the paths were computed for.
    public let layout: CgroupLayout
    /// Subsystem name (`"memory"`, `"cpu"`, `"name=systemd"`, or `""` for the v2 unified
    /// hierarchy) → absolute cgroup directory.
    public let paths: [String: String]
    let fs: any CgroupFS

    /// Computes the cgroup directories of a new container.
    ///
    /// `cgroupsPath` follows `linux.cgroupsPath`: `/a/b` and `a/b` both land at `/a/b` under each
    /// hierarchy root; nil or empty means `/berth/<containerID>`. `..` cannot climb above the
    /// root. Systemd-style `slice:prefix:name` paths are rejected: only the cgroupfs driver exists.
    public init(layout: CgroupLayout, cgroupsPath: String?, containerID: String, fs: any CgroupFS) throws(CgroupError) {
        let relative = try CgroupManager.cgroupPath(cgroupsPath, containerID: containerID)
        var paths: [String: String] = [:]
        switch layout {
        case .v1(let hierarchies):
            for hierarchy in hierarchies {
                for subsystem in hierarchy.subsystems {
                    paths[subsystem] = joinPath(hierarchy.mountPoint, relative)
                }
            }
        case .v2(let mountPoint):
            paths[""] = joinPath(mountPoint, relative)
        }
        self.init(paths: paths, layout: layout, fs: fs)
    }

    /// Restores a manager from `paths` saved by an earlier `CgroupManager`.
    public init(paths: [String: String], layout: CgroupLayout, fs: any CgroupFS) {
        self.paths = paths; self.layout = layout; self.fs = fs
    }

    /// The cleaned path inside each hierarchy, always starting with `/`.
    static func cgroupPath(_ cgroupsPath: String?, containerID: String) throws(CgroupError) -> String {
        let requested: String
        if let cgroupsPath, !cgroupsPath.isEmpty {
            if !cgroupsPath.hasPrefix("/") && cgroupsPath.split(separator: ":", omittingEmptySubsequences: false).count == 3 {
                throw CgroupError.unsupported(
                    "use linux.cgroupsPath \"\(cgroupsPath)\"",
                    "systemd cgroup paths (slice:prefix:name) need the systemd cgroup driver, which berth does not implement; use a path like /berth/<id>")
            }
            requested = cgroupsPath
        } else {
            if containerID.isEmpty || containerID.contains("/") || containerID == "." || containerID == ".." {
                throw CgroupError.invalid("container id", "\"\(containerID)\" cannot name a cgroup directory")
            }
            requested = "/berth/" + containerID
        }
        // Lexical cleaning like runc's utils.CleanPath: ".." stops at the hierarchy root, so a
        // spec cannot point outside the cgroup filesystem.
        var components: [Substring] = []
        for component in requested.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(component)
            }
        }
        if components.isEmpty {
            throw CgroupError.invalid("linux.cgroupsPath", "\"\(requested)\" is the hierarchy root; a container needs its own cgroup")
        }
        return "/" + components.joined(separator: "/")
    }

    /// Every distinct directory, sorted (hierarchies such as `cpu,cpuacct` share one).
    var directories: [String] {
        Set(paths.values).sorted()
    }

    var isV2: Bool {
        if case .v2 = layout { return true }
        return false
    }

    /// Creates the cgroup directories. On v1 the cpuset directories get `cpuset.cpus` and
    /// `cpuset.mems` from their parents (a cpuset cgroup with empty sets refuses tasks); on v2
    /// the parents delegate their controllers through `cgroup.subtree_control`.
    public func create() throws(CgroupError) {
        switch layout {
        case .v1(let hierarchies):
            let cpusetDirectory = paths["cpuset"]
            for directory in directories {
                if directory == cpusetDirectory,
                   let root = hierarchies.first(where: { $0.subsystems.contains("cpuset") })?.mountPoint {
                    try createCpusetV1(directory, root: root)
                } else {
                    try fs.mkdirAll(directory)
                }
            }
        case .v2(let mountPoint):
            try createV2(mountPoint: mountPoint)
        }
    }

    /// Applies `resources`, for creation and for `update`. Everything is validated first, so
    /// an invalid spec writes nothing.
    public func apply(_ resources: Resources) throws(CgroupError) {
        try CgroupManager.validate(resources)
        if isV2 {
            try applyV2(resources)
        } else {
            try applyV1(resources)
        }
    }

    /// Moves process `pid` into the cgroup (every hierarchy on v1).
    public func add(pid: Int32) throws(CgroupError) {
        for directory in directories {
            try fs.write(directory + "/cgroup.procs", String(pid))
        }
    }

    /// The processes in the cgroup and its child cgroups, sorted.
    public func pids() throws(CgroupError) -> [Int32] {
        guard let directory = processDirectory else { return [] }
        var result: Set<Int32> = []
        try collectPids(directory, into: &result)
        return result.sorted()
    }

    /// Whether any process is in the container's cgroup or below it, in any hierarchy (v1) or
    /// the one directory (v2). A cgroup that does not exist has none. runc refuses to create a
    /// container in a cgroup that has processes ("container's cgroup is not empty"); ask
    /// before `create()`. Unreadable files count as empty, like a cgroup removed meanwhile.
    public func hasProcesses() -> Bool {
        for directory in directories {
            var found: Set<Int32> = []
            // A failure part way still leaves what was found.
            try? collectPids(directory, into: &found)
            if !found.isEmpty { return true }
        }
        return false
    }

    /// On v1 the hierarchies hold the same processes; prefer the ones every container uses.
    private var processDirectory: String? {
        if isV2 { return paths[""] }
        return paths["pids"] ?? paths["memory"] ?? paths.keys.sorted().first.flatMap { paths[$0] }
    }

    private func collectPids(_ directory: String, into result: inout Set<Int32>) throws(CgroupError) {
        let procs = directory + "/cgroup.procs"
        // A child cgroup can vanish between listing and reading; only the top one must exist.
        guard fs.exists(procs) else { return }
        result.formUnion(CgroupText.pids(try fs.read(procs)))
        for child in try fs.subdirectories(directory) {
            try collectPids(directory + "/" + child, into: &result)
        }
    }

    /// Freezes every process in the cgroup and waits (up to 2 s) until the kernel reports it frozen.
    public func freeze() throws(CgroupError) {
        if isV2 { try setFrozenV2(true) } else { try freezeV1() }
    }

    /// Thaws a frozen cgroup.
    public func thaw() throws(CgroupError) {
        if isV2 { try setFrozenV2(false) } else { try thawV1() }
    }

    /// Whether the kernel reports the cgroup frozen; false when that cannot be read (no
    /// freezer, no cgroup). Stateless: it reads the files, so a cgroup frozen by someone else
    /// before `create()` (v1 `freezer.state` FROZEN, v2 `cgroup.freeze` 1) reads as frozen.
    /// On v1 a cgroup frozen only through a frozen parent reads as frozen too.
    public func isFrozen() -> Bool {
        if isV2 { return isFrozenV2() }
        return isFrozenV1()
    }

    /// Whether the cgroup is frozen or being frozen: for the check before `create()` (runc
    /// fails with "container's cgroup unexpectedly frozen"). Unlike `isFrozen()` it also counts
    /// a freeze that has not completed (v1 FREEZING; v2 `cgroup.freeze` 1 while
    /// `cgroup.events` still says `frozen 0`). False when the cgroup or freezer does not exist.
    public func wasFrozen() -> Bool {
        if isV2 { return isFrozenV2() || freezeRequestedV2() }
        return isFrozenV1() || freezerStateV1() == "FREEZING"
    }

    /// Current resource usage, shaped like runc's `events --stats`.
    public func stats() throws(CgroupError) -> CgroupStats {
        isV2 ? try statsV2() : try statsV1()
    }

    /// Removes the cgroup directories, child cgroups first. `EBUSY` (processes still exiting)
    /// is retried a few times; directories that are already gone are fine. Every directory is
    /// attempted; the first failure is thrown.
    public func destroy() throws(CgroupError) {
        var firstError: CgroupError?
        for directory in directories {
            do {
                try removeTree(directory)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    private func removeTree(_ directory: String) throws(CgroupError) {
        for child in try fs.subdirectories(directory) {
            try removeTree(directory + "/" + child)
        }
        var delay = 10
        for attempt in 1...5 {
            do {
                try fs.rmdir(directory)
                return
            } catch {
                guard error.errno == EBUSY, attempt < 5 else { throw error }
                sleepMilliseconds(delay)
                delay *= 2
            }
        }
    }

    /// Writes `value` to `file` in `directory`.
    func write(_ directory: String, _ file: String, _ value: String) throws(CgroupError) {
        try fs.write(directory + "/" + file, value)
    }

    /// Reads `file` in `directory`.
    func read(_ directory: String, _ file: String) throws(CgroupError) -> String {
        try fs.read(directory + "/" + file)
    }

    /// Reads a number from `file`, or nil when the file does not exist (optional kernel features).
    func readNumberIfPresent(_ directory: String, _ file: String) throws(CgroupError) -> UInt64? {
        let path = directory + "/" + file
        guard fs.exists(path) else { return nil }
        let text = try fs.read(path)
        guard let value = CgroupText.uint(text) else {
            throw CgroupError(operation: "parse", path: path, reason: "\"\(abbreviated(text.trimmed))\" is not a number")
        }
        return value
    }

    /// The directory of a v1 subsystem needed by `field`, or an error saying it is not mounted.
    func directory(for subsystem: String, field: String) throws(CgroupError) -> String {
        guard let directory = paths[subsystem] else {
            throw CgroupError.unsupported("apply linux.resources.\(field)",
                                          "the \(subsystem) cgroup controller is not mounted on this host")
        }
        return directory
    }
}
