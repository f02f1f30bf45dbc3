import BerthImage
import BerthOCI
import BerthWire

// The OCI spec of a container, built the way dockerd 20.10 (daemon/oci_linux.go, oci/defaults.go,
// daemon/commit.go merge) and containerd hand it to runc. Pure: everything it reads outside its
// inputs goes through `SpecFiles` (the image's /etc/passwd and /etc/group, host device nodes, a
// seccomp profile named by path), so unit tests run it against a fake file system.

/// An invalid create request or host state, with the request field at fault and Docker's wording.
public struct SpecBuildError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The field of the create request at fault: `User`, `HostConfig.CapAdd`, `HostConfig.Ulimits`…
    public var field: String
    /// The message Docker gives for the same mistake where one is known.
    public var message: String

    public init(field: String, message: String) { self.field = field; self.message = message }

    public var description: String { message }

    /// As a lifecycle error: a 400.
    public var lifecycleError: LifecycleError { .invalidArgument(message) }
}

/// A node of the host file system as `lstat` sees it.
public struct HostNode: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case characterDevice, blockDevice, fifo, directory, symlink, other }
    public var kind: Kind
    public var major: Int64
    public var minor: Int64
    /// Permission bits (`st_mode & ~S_IFMT`).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32

    public init(kind: Kind, major: Int64 = 0, minor: Int64 = 0, mode: UInt32 = 0o666, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.kind = kind; self.major = major; self.minor = minor; self.mode = mode; self.uid = uid; self.gid = gid
    }
}

/// What the builder reads beyond its inputs. `LocalSpecFiles` is the real one.
public protocol SpecFiles: Sendable {
    /// The text of `path` (absolute, resolved inside the container's rootfs `rootfs`), or nil if
    /// there is no such file.
    func readRootfsFile(rootfs: String, _ path: String) throws -> String?
    /// The text of a host file (a seccomp profile given by path).
    func readHostFile(_ path: String) throws -> String
    /// `lstat(path)`, or nil if nothing is there.
    func hostNode(_ path: String) throws -> HostNode?
    /// The names in a host directory.
    func hostDirectory(_ path: String) throws -> [String]
    /// `path` with symlinks resolved, or nil when it can't be.
    func resolveHostSymlinks(_ path: String) -> String?
}

/// Facts about the host and the daemon's defaults, gathered once by berth-lifecycled.
public struct SpecHost: Sendable {
    /// `/proc/sys/kernel/cap_last_cap`: privileged containers get capabilities 0 through this.
    public var lastCap: Int
    /// Go's and libseccomp's names of the host architecture (`amd64`, `SCMP_ARCH_X86_64`).
    public var goArch: String
    public var nativeArch: String
    /// Kernel (major, minor) for the seccomp profile's `minKernel` conditions; nil: newer than all.
    public var kernelVersion: [Int]?
    public var cpuCount: Int
    /// Whether the memory cgroup can limit swap (memory.memsw.* on v1); without it, dockerd drops MemorySwap.
    public var swapLimit: Bool
    /// cgroup v2 (unified) host: the default cgroup namespace mode is then `private`, else `host`.
    public var cgroupV2: Bool
    public var seccompEnabled: Bool
    /// The host's hostname (the container's with `--network host` and no --hostname).
    public var hostname: String
    /// The host path of the init bind-mounted at /sbin/docker-init for `Init: true`.
    public var initBinary: String?
    /// The daemon's default ulimits (`--default-ulimit`); the container's override them by name.
    public var defaultUlimits: [Ulimit]
    /// Parent of each container's cgroup: `<parent>/<id>` (dockerd's is `/docker`).
    public var cgroupParent: String
    /// `--default-shm-size`.
    public var defaultShmSize: Int64
    /// `--default-ipc-mode`.
    public var defaultIpcMode: String

    public init(lastCap: Int = 40, goArch: String = DockerSeccompProfile.hostArch.goArch,
                nativeArch: String = DockerSeccompProfile.hostArch.nativeArch, kernelVersion: [Int]? = nil,
                cpuCount: Int = 1, swapLimit: Bool = true, cgroupV2: Bool = false, seccompEnabled: Bool = true,
                hostname: String = "", initBinary: String? = nil, defaultUlimits: [Ulimit] = [],
                cgroupParent: String = "/berth", defaultShmSize: Int64 = 64 << 20, defaultIpcMode: String = "private") {
        self.lastCap = lastCap; self.goArch = goArch; self.nativeArch = nativeArch; self.kernelVersion = kernelVersion
        self.cpuCount = cpuCount; self.swapLimit = swapLimit; self.cgroupV2 = cgroupV2; self.seccompEnabled = seccompEnabled
        self.hostname = hostname; self.initBinary = initBinary; self.defaultUlimits = defaultUlimits
        self.cgroupParent = cgroupParent; self.defaultShmSize = defaultShmSize; self.defaultIpcMode = defaultIpcMode
    }
}

/// One container's inputs to the builder.
public struct ContainerSpecInput: Sendable {
    /// The container ID (64 hex digits); its first 12 are the default hostname.
    public var id: String
    /// The create request as the client sent it (the builder merges it with `image`).
    public var params: ContainerCreateParams
    /// The image's config.
    public var image: ContainerConfig
    /// The prepared rootfs (the snapshot's mount point).
    public var rootfs: String
    /// Named volume → its host directory (every name `SpecBuilder.requiredVolumes` lists).
    public var volumes: [String: String]
    /// Destination → host directory of each anonymous volume.
    public var anonymousVolumes: [String: String]
    /// A network namespace to join (`/var/run/netns/…`); nil is a new one. Unused with `host` networking.
    public var networkNamespace: String?
    /// Host files bind-mounted at /etc/resolv.conf, /etc/hostname and /etc/hosts (destination → source).
    public var networkFiles: [String: String]

    public init(id: String, params: ContainerCreateParams, image: ContainerConfig = ContainerConfig(), rootfs: String,
                volumes: [String: String] = [:], anonymousVolumes: [String: String] = [:],
                networkNamespace: String? = nil, networkFiles: [String: String] = [:]) {
        self.id = id; self.params = params; self.image = image; self.rootfs = rootfs
        self.volumes = volumes; self.anonymousVolumes = anonymousVolumes
        self.networkNamespace = networkNamespace; self.networkFiles = networkFiles
    }
}

/// Builds a container's OCI spec as dockerd 20.10 does.
public struct SpecBuilder: Sendable {
    public var host: SpecHost
    public var files: any SpecFiles

    public init(host: SpecHost = SpecHost(), files: any SpecFiles) { self.host = host; self.files = files }

    /// PATH when neither the image nor the request sets one (Go's `system.DefaultPathEnv`).
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The spec of `input`'s container.
    public func build(_ input: ContainerSpecInput) throws(SpecBuildError) -> Spec {
        let config = try Self.merge(input.params, image: input.image)
        let hc = config.hostConfig ?? HostConfig()
        let privileged = hc.privileged ?? false

        // Args, after the merge: Entrypoint + Cmd, behind docker-init with Init.
        var args = (config.entrypoint ?? []) + (config.cmd ?? [])
        if hc.`init` == true {
            guard host.initBinary != nil else {
                throw SpecBuildError(field: "HostConfig.Init", message: "exec: \"docker-init\": executable file not found in $PATH")
            }
            args = ["/sbin/docker-init", "--"] + args
        }

        let hostname = effectiveHostname(config, hc, id: input.id)
        let cwd = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        var process = Process(terminal: config.tty ?? false, args: args,
                              env: Self.environment(config.env ?? [], hostname: hostname, tty: config.tty ?? false),
                              cwd: cwd)
        process.user = try resolveUser(config.user ?? "", groupAdd: hc.groupAdd ?? [], rootfs: input.rootfs)
        process.oomScoreAdj = hc.oomScoreAdj ?? 0
        process.rlimits = try rlimits(hc)

        let security = try SecurityOptions(hc.securityOpt ?? [])
        process.noNewPrivileges = security.noNewPrivileges ? true : nil
        let caps = try capabilities(hc)
        process.capabilities = process.user.uid == 0
            ? Capabilities(bounding: caps, effective: caps, permitted: caps)
            // As execve(2) leaves them for a non-root user: only the bounding set (moby 20.10.14).
            : Capabilities(bounding: caps)

        var linux = Linux()
        linux.resources = try resources(hc)
        let (devices, deviceRules) = try self.devices(hc, privileged: privileged)
        linux.devices = devices
        linux.resources?.devices = deviceRules
        linux.namespaces = try namespaces(hc, networkNamespace: input.networkNamespace)
        linux.cgroupsPath = cgroupsPath(hc, id: input.id)
        linux.sysctl = try sysctls(hc)
        if !privileged {
            linux.maskedPaths = hc.maskedPaths ?? Self.maskedPaths
            linux.readonlyPaths = hc.readonlyPaths ?? Self.readonlyPaths
            linux.seccomp = try seccomp(security.seccomp, bounding: caps)
        }

        var spec = Spec(process: process, root: Root(path: input.rootfs, readonly: hc.readonlyRootfs ?? false),
                        hostname: hostname.isEmpty ? nil : hostname,
                        domainname: (config.domainname ?? "").isEmpty ? nil : config.domainname,
                        linux: linux)
        spec.mounts = try mounts(config, hc, input: input, rootPropagation: &spec.linux!.rootfsPropagation)
        if hc.`init` == true, let initBinary = host.initBinary {
            spec.mounts?.append(Mount(destination: "/sbin/docker-init", type: "bind", source: initBinary, options: ["bind", "ro"]))
        }
        if (hc.utsMode ?? "") == "host" { spec.hostname = nil }
        if let annotations = hc.annotations, !annotations.isEmpty { spec.annotations = annotations }
        return spec
    }

    // MARK: config merge

    /// The request completed from the image as dockerd does at create (daemon/commit.go `merge`,
    /// then `Entrypoint: [""]` reset), with the defaults dockerd fills in (`adaptContainerSettings`).
    public static func merge(_ params: ContainerCreateParams, image: ContainerConfig) throws(SpecBuildError) -> ContainerCreateParams {
        var c = params
        if (c.user ?? "").isEmpty { c.user = image.user }
        if (c.env ?? []).isEmpty {
            c.env = image.env
        } else {
            let keys = Set((c.env ?? []).map(envKey))
            c.env = (c.env ?? []) + (image.env ?? []).filter { !keys.contains(envKey($0)) }
        }
        var labels = c.labels ?? [:]
        for (k, v) in image.labels ?? [:] where labels[k] == nil { labels[k] = v }
        c.labels = labels.isEmpty ? c.labels : labels
        if (c.entrypoint ?? []).isEmpty {
            if (c.cmd ?? []).isEmpty {
                c.cmd = image.cmd
                c.argsEscaped = image.argsEscaped
            }
            if c.entrypoint == nil { c.entrypoint = image.entrypoint }
        }
        if c.entrypoint == [""] { c.entrypoint = nil }
        if (c.entrypoint ?? []).isEmpty && (c.cmd ?? []).isEmpty {
            throw SpecBuildError(field: "Cmd", message: "No command specified")
        }
        if (c.workingDir ?? "").isEmpty { c.workingDir = image.workingDir }
        if let wd = c.workingDir, !wd.isEmpty {
            guard wd.hasPrefix("/") else {
                throw SpecBuildError(field: "WorkingDir", message: "the working directory '\(wd)' is invalid, it needs to be an absolute path")
            }
            c.workingDir = cleanPath(wd)
        }
        if (c.volumes ?? [:]).isEmpty {
            c.volumes = image.volumes
        } else {
            for (k, v) in image.volumes ?? [:] where c.volumes?[k] == nil { c.volumes?[k] = v }
        }
        if (c.exposedPorts ?? [:]).isEmpty {
            c.exposedPorts = image.exposedPorts
        } else {
            for (k, v) in image.exposedPorts ?? [:] where c.exposedPorts?[k] == nil { c.exposedPorts?[k] = v }
        }
        if (c.stopSignal ?? "").isEmpty { c.stopSignal = image.stopSignal }
        if c.healthcheck == nil { c.healthcheck = image.healthcheck }
        return c
    }

    private func effectiveHostname(_ c: ContainerCreateParams, _ hc: HostConfig, id: String) -> String {
        if let h = c.hostname, !h.isEmpty { return h }
        if (hc.networkMode ?? "") == "host" && !host.hostname.isEmpty { return host.hostname }
        return String(id.prefix(12))
    }

    // MARK: environment

    static func envKey(_ e: String) -> Substring { e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }

    /// PATH, HOSTNAME and (with a TTY) TERM, each replaced by the container's own value; an entry
    /// without "=" unsets (container.CreateDaemonEnvironment + ReplaceOrAppendEnvValues).
    static func environment(_ env: [String], hostname: String, tty: Bool) -> [String] {
        var out = ["PATH=" + defaultPath, "HOSTNAME=" + hostname]
        if tty { out.append("TERM=xterm") }
        var index: [Substring: Int] = [:]
        for (i, e) in out.enumerated() { index[envKey(e)] = i }
        var removed = Set<Int>()
        for value in env {
            if !value.contains("=") {
                if let i = index[Substring(value)] { removed.insert(i) }
                continue
            }
            if let i = index[envKey(value)] { out[i] = value; removed.remove(i) } else { out.append(value) }
        }
        return out.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    // MARK: namespaces and cgroup

    private func namespaces(_ hc: HostConfig, networkNamespace: String?) throws(SpecBuildError) -> [Namespace] {
        var ns: [Namespace] = [Namespace(type: "mount")]
        let network = hc.networkMode ?? ""
        if network != "host" {
            if network.hasPrefix("container:") && networkNamespace == nil {
                throw SpecBuildError(field: "HostConfig.NetworkMode", message: "network mode \(network) needs the other container's network namespace")
            }
            ns.append(Namespace(type: "network", path: networkNamespace))
        }
        if (hc.utsMode ?? "") != "host" { ns.append(Namespace(type: "uts")) }
        let pid = hc.pidMode ?? ""
        switch pid {
        case "": ns.append(Namespace(type: "pid"))
        case "host": break
        default: throw SpecBuildError(field: "HostConfig.PidMode", message: "invalid PID mode: \(pid)")
        }
        let ipc = (hc.ipcMode ?? "").isEmpty ? host.defaultIpcMode : hc.ipcMode ?? ""
        switch ipc {
        case "private", "shareable", "none": ns.append(Namespace(type: "ipc"))
        case "host": break
        default: throw SpecBuildError(field: "HostConfig.IpcMode", message: "invalid IPC mode: \(ipc)")
        }
        // dockerd's default: private on a cgroup v2 host, host on v1.
        let cgroupns = (hc.cgroupnsMode ?? "").isEmpty ? (host.cgroupV2 ? "private" : "host") : hc.cgroupnsMode ?? ""
        switch cgroupns {
        case "private": ns.append(Namespace(type: "cgroup"))
        case "host": break
        default: throw SpecBuildError(field: "HostConfig.CgroupnsMode", message: "invalid cgroup namespace mode: \(cgroupns)")
        }
        return ns
    }

    private func cgroupsPath(_ hc: HostConfig, id: String) -> String {
        let parent = (hc.cgroupParent ?? "").isEmpty ? host.cgroupParent : hc.cgroupParent ?? ""
        return Self.cleanPath((parent.hasPrefix("/") ? "" : "/") + parent + "/" + id)
    }

    /// Kernel parameters Docker (and runc) accept per container: those namespaced by IPC or network.
    private func sysctls(_ hc: HostConfig) throws(SpecBuildError) -> [String: String]? {
        var out: [String: String] = [:]
        // In a network namespace of its own, dockerd 20.10 lets any user ping and bind ports
        // below 1024 (without CAP_NET_RAW / CAP_NET_BIND_SERVICE); the container's own win.
        let network = hc.networkMode ?? ""
        if network != "host" && !network.hasPrefix("container:") {
            out["net.ipv4.ping_group_range"] = "0 2147483647"
            if let k = host.kernelVersion, k.count >= 2, (k[0], k[1]) < (4, 11) {} else {
                out["net.ipv4.ip_unprivileged_port_start"] = "0"
            }
        }
        guard let s = hc.sysctls, !s.isEmpty else { return out.isEmpty ? nil : out }
        let ipc: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]
        for key in s.keys.sorted() {
            if ipc.contains(key) || key.hasPrefix("fs.mqueue.") {
                if (hc.ipcMode ?? "") == "host" {
                    throw SpecBuildError(field: "HostConfig.Sysctls", message: "sysctl \(key) is not allowed in the host IPC namespace")
                }
            } else if key.hasPrefix("net.") {
                if (hc.networkMode ?? "") == "host" {
                    throw SpecBuildError(field: "HostConfig.Sysctls", message: "sysctl \(key) is not allowed in the host network namespace")
                }
            } else {
                throw SpecBuildError(field: "HostConfig.Sysctls", message: "sysctl '\(key)' is not whitelisted")
            }
        }
        return out.merging(s) { _, own in own }
    }

    // MARK: paths

    /// Docker 20.10's masked and read-only paths (oci/defaults.go).
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ]
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// Lexically clean, like Go's `path.Clean` for absolute paths.
    static func cleanPath(_ p: String) -> String {
        var parts: [Substring] = []
        for c in p.split(separator: "/") {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }
}
