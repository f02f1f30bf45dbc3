import ArgumentParser
import Foundation

/// The flags `run` and `create` share, turned into the body of `POST /containers/create` as the
/// docker CLI builds it.
struct ContainerCreateOptions: ParsableArguments {
    @Option(name: .long, help: "Assign a name to the container") var name: String?
    @Flag(name: .customLong("rm"), help: "Automatically remove the container when it exits") var autoRemove = false
    @Option(name: [.short, .customLong("env")], help: "Set environment variables") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read in a file of environment variables") var envFile: [String] = []
    @Option(name: [.short, .customLong("label")], help: "Set meta data on a container") var label: [String] = []
    @Option(name: [.short, .customLong("publish")], help: "Publish a container's port(s) to the host") var publish: [String] = []
    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish all exposed ports to random ports") var publishAll = false
    @Option(name: .customLong("expose"), help: "Expose a port or a range of ports") var expose: [String] = []
    @Option(name: [.short, .customLong("volume")], help: "Bind mount a volume") var volume: [String] = []
    @Option(name: .customLong("mount"), help: "Attach a filesystem mount to the container") var mount: [String] = []
    @Option(name: .customLong("volumes-from"), help: "Mount volumes from the specified container(s)") var volumesFrom: [String] = []
    @Option(name: .customLong("tmpfs"), help: "Mount a tmpfs directory") var tmpfs: [String] = []
    @Option(name: [.short, .customLong("workdir")], help: "Working directory inside the container") var workdir: String?
    @Option(name: [.short, .customLong("user")], help: "Username or UID (format: <name|uid>[:<group|gid>])") var user: String?
    @Option(name: .customLong("group-add"), help: "Add additional groups to join") var groupAdd: [String] = []
    @Option(name: .customLong("entrypoint"), help: "Overwrite the default ENTRYPOINT of the image") var entrypoint: String?
    @Option(name: [.customLong("network"), .customLong("net")], help: "Connect a container to a network") var network: String?
    @Option(name: [.customLong("network-alias"), .customLong("net-alias")], help: "Add network-scoped alias for the container") var networkAlias: [String] = []
    @Option(name: .customLong("ip"), help: "IPv4 address (e.g., 172.30.100.104)") var ip: String?
    @Option(name: [.short, .customLong("hostname")], help: "Container host name") var hostname: String?
    @Option(name: .customLong("domainname"), help: "Container NIS domain name") var domainname: String?
    @Option(name: .customLong("add-host"), help: "Add a custom host-to-IP mapping (host:ip)") var addHost: [String] = []
    @Option(name: .customLong("dns"), help: "Set custom DNS servers") var dns: [String] = []
    @Option(name: .customLong("dns-search"), help: "Set custom DNS search domains") var dnsSearch: [String] = []
    @Option(name: [.customLong("dns-option"), .customLong("dns-opt")], help: "Set DNS options") var dnsOption: [String] = []
    @Option(name: .customLong("restart"), help: "Restart policy to apply when a container exits") var restart: String?
    @Option(name: [.short, .customLong("memory")], help: "Memory limit") var memory: String?
    @Option(name: .customLong("memory-swap"), help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit") var memoryReservation: String?
    @Option(name: .customLong("cpus"), help: "Number of CPUs") var cpus: String?
    @Option(name: [.short, .customLong("cpu-shares")], help: "CPU shares (relative weight)") var cpuShares: Int?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs in which to allow execution (0-3, 0,1)") var cpusetCpus: String?
    @Option(name: .customLong("pids-limit"), help: "Tune container pids limit (set -1 for unlimited)") var pidsLimit: Int?
    @Flag(name: .customLong("privileged"), help: "Give extended privileges to this container") var privileged = false
    @Option(name: .customLong("cap-add"), help: "Add Linux capabilities") var capAdd: [String] = []
    @Option(name: .customLong("cap-drop"), help: "Drop Linux capabilities") var capDrop: [String] = []
    @Option(name: .customLong("security-opt"), help: "Security Options") var securityOpt: [String] = []
    @Flag(name: .customLong("read-only"), help: "Mount the container's root filesystem as read only") var readOnly = false
    @Flag(name: .customLong("init"), help: "Run an init inside the container that forwards signals and reaps processes") var initProcess = false
    @Option(name: .customLong("stop-signal"), help: "Signal to stop the container") var stopSignal: String?
    @Option(name: .customLong("stop-timeout"), help: "Timeout (in seconds) to stop a container") var stopTimeout: Int?
    @Option(name: .customLong("health-cmd"), help: "Command to run to check health") var healthCmd: String?
    @Option(name: .customLong("health-interval"), help: "Time between running the check (ms|s|m|h)") var healthInterval: String?
    @Option(name: .customLong("health-timeout"), help: "Maximum time to allow one check to run (ms|s|m|h)") var healthTimeout: String?
    @Option(name: .customLong("health-start-period"), help: "Start period for the container to initialize (ms|s|m|h)") var healthStartPeriod: String?
    @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy") var healthRetries: Int?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK") var noHealthcheck = false
    @Option(name: .customLong("ulimit"), help: "Ulimit options") var ulimit: [String] = []
    @Option(name: .customLong("shm-size"), help: "Size of /dev/shm") var shmSize: String?
    @Option(name: .customLong("sysctl"), help: "Sysctl options") var sysctl: [String] = []
    @Option(name: .customLong("log-driver"), help: "Logging driver for the container") var logDriver: String?
    @Option(name: .customLong("log-opt"), help: "Log driver options") var logOpt: [String] = []
    @Option(name: .customLong("cidfile"), help: "Write the container ID to the file") var cidfile: String?
    @Option(name: .customLong("runtime"), help: "Runtime to use for this container") var runtime: String?
    @Option(name: .customLong("pull"), help: "Pull image before running (\"always\", \"missing\", \"never\")") var pull = "missing"
    @Option(name: .customLong("platform"), help: "Set platform if server is multi-platform capable") var platform: String?
    @Flag(name: [.short, .customLong("interactive")], help: "Keep STDIN open even if not attached") var interactive = false
    @Flag(name: [.short, .customLong("tty")], help: "Allocate a pseudo-TTY") var tty = false
    @Option(name: [.short, .customLong("attach")], help: "Attach to STDIN, STDOUT or STDERR") var attach: [String] = []

    /// `[ip:][hostPort:]containerPort[/proto]`, ranges allowed: exposed ports and bindings.
    static func parsePorts(_ specs: [String]) throws -> (exposed: [String: Any], bindings: [String: [[String: String]]]) {
        var exposed: [String: Any] = [:]
        var bindings: [String: [[String: String]]] = [:]
        for spec in specs {
            var body = spec
            var proto = "tcp"
            if let slash = spec.lastIndex(of: "/") {
                proto = String(spec[spec.index(after: slash)...]).lowercased()
                body = String(spec[..<slash])
                guard ["tcp", "udp", "sctp"].contains(proto) else { throw CLIError.usage("invalid proto: \(proto)") }
            }
            var parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            // An IPv6 host address in brackets: [::1]:80:80
            if body.hasPrefix("["), let close = body.firstIndex(of: "]") {
                let ip = String(body[body.index(after: body.startIndex)..<close])
                parts = [ip] + body[body.index(after: close)...].dropFirst().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            }
            var hostIP = "", hostPort = "", containerPort = ""
            switch parts.count {
            case 1: containerPort = parts[0]
            case 2: hostPort = parts[0]; containerPort = parts[1]
            case 3: hostIP = parts[0]; hostPort = parts[1]; containerPort = parts[2]
            default: throw CLIError.usage("invalid publish opts format (should be name=value but got '\(spec)')")
            }
            let cRange = try portRange(containerPort, spec)
            let hRange = hostPort.isEmpty ? nil : try portRange(hostPort, spec)
            if let h = hRange, h.count != cRange.count, cRange.count != 1 {
                throw CLIError.usage("invalid ranges specified for container and host Ports: \(containerPort) and \(hostPort)")
            }
            for (i, p) in cRange.enumerated() {
                let key = "\(p)/\(proto)"
                exposed[key] = [String: Any]()
                var hp = ""
                if let h = hRange { hp = cRange.count == 1 && h.count > 1 ? "\(h.first!)-\(h.last!)" : "\(h[i])" }
                bindings[key, default: []].append(["HostIp": hostIP, "HostPort": hp])
            }
        }
        return (exposed, bindings)
    }

    private static func portRange(_ s: String, _ spec: String) throws -> [Int] {
        let ends = s.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(ends.count), let lo = Int(ends[0]), let hi = Int(ends.last!), lo >= 0, hi <= 65535, lo <= hi, lo > 0 || hi == 0 else {
            throw CLIError.usage("invalid containerPort: \(s)")
        }
        return Array(lo...hi)
    }

    /// `512m`, `1g`, `1024` (bytes): docker's RAMInBytes (binary units).
    static func parseBytes(_ s: String, flag: String) throws -> Int64 {
        let t = s.lowercased().trimmingCharacters(in: .whitespaces)
        var digits = t
        var mult: Double = 1
        let k = 1024.0
        let units: [(String, Double)] = [("kib", k), ("mib", k * k), ("gib", k * k * k), ("tib", k * k * k * k),
                                         ("kb", k), ("mb", k * k), ("gb", k * k * k), ("tb", k * k * k * k),
                                         ("k", k), ("m", k * k), ("g", k * k * k), ("t", k * k * k * k), ("b", 1)]
        for (u, m) in units where t.hasSuffix(u) { digits = String(t.dropLast(u.count)); mult = m; break }
        guard let n = Double(digits), n >= 0 else { throw CLIError.usage("invalid argument \"\(s)\" for \"\(flag)\" flag: invalid size: '\(s)'") }
        return Int64(n * mult)
    }

    /// `30s`, `1m30s`, `500ms`, `2h`: Go's time.ParseDuration, in nanoseconds.
    static func parseDuration(_ s: String, flag: String) throws -> Int64 {
        var total: Double = 0
        var rest = Substring(s)
        let bad = CLIError.usage("invalid argument \"\(s)\" for \"\(flag)\" flag: time: invalid duration \"\(s)\"")
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw bad }
        while !rest.isEmpty {
            let num = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard let v = Double(num) else { throw bad }
            rest = rest.dropFirst(num.count)
            let unit = rest.prefix(while: { $0.isLetter || $0 == "µ" })
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: throw bad
            }
            total += v * scale
        }
        return Int64(total)
    }

    /// `KEY=VALUE` lines of an env file (a bare `KEY` takes the value from our environment).
    static func readEnvFile(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError.usage("open \(path): no such file or directory")
        }
        return text.split(whereSeparator: \.isNewline).compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { return nil }
            return expandEnv(line)
        }
    }

    /// `-e KEY` takes KEY from our environment (dropped when unset), as docker does.
    static func expandEnv(_ e: String) -> String? {
        if e.contains("=") { return e }
        guard let v = ProcessInfo.processInfo.environment[e] else { return nil }
        return e + "=" + v
    }

    /// The create body for `image` and `command`.
    func body(image: String, command: [String], detached: Bool) throws -> [String: Any] {
        var c: [String: Any] = ["Image": image]
        var h: [String: Any] = [:]
        var envs: [String] = []
        for f in envFile { envs += try Self.readEnvFile(f) }
        envs += env.compactMap(Self.expandEnv)
        if !envs.isEmpty { c["Env"] = envs }
        if !command.isEmpty { c["Cmd"] = command }
        if let entrypoint { c["Entrypoint"] = entrypoint.isEmpty ? [""] : [entrypoint] }
        if let workdir { c["WorkingDir"] = workdir }
        if let user { c["User"] = user }
        if let hostname { c["Hostname"] = hostname }
        if let domainname { c["Domainname"] = domainname }
        if let stopSignal { c["StopSignal"] = stopSignal }
        if let stopTimeout { c["StopTimeout"] = stopTimeout }
        var labels: [String: String] = [:]
        for l in label {
            let kv = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            labels[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        if !labels.isEmpty { c["Labels"] = labels }

        // Streams, as the docker CLI sets them.
        let attachAll = !detached && attach.isEmpty
        let streams = Set(attach.map { $0.lowercased() })
        for s in streams where !["stdin", "stdout", "stderr"].contains(s) {
            throw CLIError.usage("invalid argument \"\(s)\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")
        }
        if detached && !attach.isEmpty { throw CLIError.usage("Conflicting options: -a and -d") }
        c["AttachStdin"] = interactive && (attachAll || streams.contains("stdin"))
        c["AttachStdout"] = attachAll || streams.contains("stdout")
        c["AttachStderr"] = attachAll || streams.contains("stderr")
        c["OpenStdin"] = interactive
        c["StdinOnce"] = interactive && !detached
        c["Tty"] = tty

        // Ports.
        var exposedPorts: [String: Any] = [:]
        for e in expose {
            let (x, _) = try Self.parsePorts([e.contains("/") ? e : e])
            for k in x.keys { exposedPorts[k] = [String: Any]() }
        }
        let (pExposed, bindings) = try Self.parsePorts(publish)
        for k in pExposed.keys { exposedPorts[k] = [String: Any]() }
        if !exposedPorts.isEmpty { c["ExposedPorts"] = exposedPorts }
        if !bindings.isEmpty { h["PortBindings"] = bindings }
        if publishAll { h["PublishAllPorts"] = true }

        // Volumes and mounts.
        var binds: [String] = []
        var anonymous: [String: Any] = [:]
        for v in volume {
            let parts = v.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 1 {
                guard v.hasPrefix("/") else { throw CLIError.usage("invalid volume specification: '\(v)'") }
                anonymous[v] = [String: Any]()
            } else {
                guard parts.count <= 3, !parts[0].isEmpty, parts[1].hasPrefix("/") else {
                    throw CLIError.usage("invalid volume specification: '\(v)'")
                }
                var src = String(parts[0])
                if src.hasPrefix(".") || src.hasPrefix("~") {
                    src = URL(fileURLWithPath: (src as NSString).expandingTildeInPath).standardizedFileURL.path
                }
                binds.append(([src] + parts.dropFirst().map(String.init)).joined(separator: ":"))
            }
        }
        if !binds.isEmpty { h["Binds"] = binds }
        if !anonymous.isEmpty { c["Volumes"] = anonymous }
        if !mount.isEmpty { h["Mounts"] = try mount.map(Self.parseMount) }
        if !volumesFrom.isEmpty { h["VolumesFrom"] = volumesFrom }
        if !tmpfs.isEmpty {
            var t: [String: String] = [:]
            for x in tmpfs {
                let kv = x.split(separator: ":", maxSplits: 1)
                t[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            h["Tmpfs"] = t
        }

        // Networking.
        if let network { h["NetworkMode"] = network }
        if !addHost.isEmpty { h["ExtraHosts"] = addHost }
        if !dns.isEmpty { h["Dns"] = dns }
        if !dnsSearch.isEmpty { h["DnsSearch"] = dnsSearch }
        if !dnsOption.isEmpty { h["DnsOptions"] = dnsOption }
        if ip != nil || !networkAlias.isEmpty {
            let net = network ?? "default"
            if ["default", "bridge", "host", "none"].contains(net) && ip != nil {
                throw CLIError(code: 125, "berth: Error response from daemon: user specified IP address is supported on user defined networks only.")
            }
            var ep: [String: Any] = [:]
            if let ip { ep["IPAMConfig"] = ["IPv4Address": ip] }
            if !networkAlias.isEmpty { ep["Aliases"] = networkAlias }
            c["NetworkingConfig"] = ["EndpointsConfig": [net: ep]]
        }

        // Resources and security.
        if let memory { h["Memory"] = try Self.parseBytes(memory, flag: "--memory") }
        if let memorySwap { h["MemorySwap"] = memorySwap == "-1" ? -1 : try Self.parseBytes(memorySwap, flag: "--memory-swap") }
        if let memoryReservation { h["MemoryReservation"] = try Self.parseBytes(memoryReservation, flag: "--memory-reservation") }
        if let shmSize { h["ShmSize"] = try Self.parseBytes(shmSize, flag: "--shm-size") }
        if let cpus {
            guard let v = Double(cpus), v >= 0 else { throw CLIError.usage("invalid argument \"\(cpus)\" for \"--cpus\" flag: failed to parse \(cpus) as a rational number") }
            h["NanoCpus"] = Int64(v * 1e9)
        }
        if let cpuShares { h["CpuShares"] = cpuShares }
        if let cpusetCpus { h["CpusetCpus"] = cpusetCpus }
        if let pidsLimit { h["PidsLimit"] = pidsLimit }
        if privileged { h["Privileged"] = true }
        if !capAdd.isEmpty { h["CapAdd"] = capAdd }
        if !capDrop.isEmpty { h["CapDrop"] = capDrop }
        if !securityOpt.isEmpty { h["SecurityOpt"] = securityOpt }
        if readOnly { h["ReadonlyRootfs"] = true }
        if initProcess { h["Init"] = true }
        if !groupAdd.isEmpty { h["GroupAdd"] = groupAdd }
        if !ulimit.isEmpty { h["Ulimits"] = try ulimit.map(Self.parseUlimit) }
        if !sysctl.isEmpty {
            var s: [String: String] = [:]
            for x in sysctl {
                let kv = x.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { throw CLIError.usage("invalid argument \"\(x)\" for \"--sysctl\" flag: sysctl '\(x)' is not allowed") }
                s[String(kv[0])] = String(kv[1])
            }
            h["Sysctls"] = s
        }
        if let restart {
            let parts = restart.split(separator: ":", maxSplits: 1)
            var p: [String: Any] = ["Name": String(parts.first ?? "no")]
            if parts.count == 2 {
                guard let n = Int(parts[1]) else { throw CLIError.usage("invalid restart policy format: maximum retry count must be an integer") }
                p["MaximumRetryCount"] = n
            }
            guard ["no", "always", "unless-stopped", "on-failure"].contains(p["Name"] as! String) else {
                throw CLIError.usage("invalid restart policy format: invalid restart policy \(parts[0])")
            }
            h["RestartPolicy"] = p
        }
        if let logDriver {
            var opts: [String: String] = [:]
            for o in logOpt { let kv = o.split(separator: "=", maxSplits: 1); opts[String(kv[0])] = kv.count > 1 ? String(kv[1]) : "" }
            h["LogConfig"] = ["Type": logDriver, "Config": opts]
        }

        // Healthcheck.
        if noHealthcheck {
            if healthCmd != nil { throw CLIError.usage("--no-healthcheck conflicts with --health-* options") }
            c["Healthcheck"] = ["Test": ["NONE"]]
        } else if healthCmd != nil || healthInterval != nil || healthTimeout != nil || healthRetries != nil || healthStartPeriod != nil {
            var hc: [String: Any] = [:]
            if let healthCmd { hc["Test"] = ["CMD-SHELL", healthCmd] }
            if let healthInterval { hc["Interval"] = try Self.parseDuration(healthInterval, flag: "--health-interval") }
            if let healthTimeout { hc["Timeout"] = try Self.parseDuration(healthTimeout, flag: "--health-timeout") }
            if let healthStartPeriod { hc["StartPeriod"] = try Self.parseDuration(healthStartPeriod, flag: "--health-start-period") }
            if let healthRetries { hc["Retries"] = healthRetries }
            c["Healthcheck"] = hc
        }
        if autoRemove { h["AutoRemove"] = true }
        if let runtime { h["Runtime"] = runtime }
        if !h.isEmpty { c["HostConfig"] = h }
        return c
    }

    /// `type=bind,source=/a,target=/b,readonly` → a HostConfig.Mounts entry.
    static func parseMount(_ spec: String) throws -> [String: Any] {
        var m: [String: Any] = ["Type": "volume"]
        for field in spec.split(separator: ",") {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].lowercased(), value = kv.count > 1 ? kv[1] : nil
            switch key {
            case "type": m["Type"] = value ?? ""
            case "source", "src": m["Source"] = value ?? ""
            case "target", "destination", "dst": m["Target"] = value ?? ""
            case "readonly", "ro": m["ReadOnly"] = value.map { $0 == "true" || $0 == "1" } ?? true
            case "bind-propagation": m["BindOptions"] = ["Propagation": value ?? ""]
            case "volume-nocopy": m["VolumeOptions"] = ["NoCopy": true]
            case "tmpfs-size": m["TmpfsOptions"] = ["SizeBytes": try parseBytes(value ?? "", flag: "--mount")]
            default: throw CLIError.usage("invalid argument \"\(spec)\" for \"--mount\" flag: unexpected key '\(key)' in '\(field)'")
            }
        }
        guard m["Target"] != nil else { throw CLIError.usage("invalid argument \"\(spec)\" for \"--mount\" flag: target is required") }
        return m
    }

    /// `nofile=1024:2048` → `{"Name","Soft","Hard"}`.
    static func parseUlimit(_ spec: String) throws -> [String: Any] {
        let kv = spec.split(separator: "=", maxSplits: 1)
        let limits = kv.count == 2 ? kv[1].split(separator: ":").map { Int64($0) } : []
        guard kv.count == 2, (1...2).contains(limits.count), let soft = limits[0], let hard = limits.last!, soft <= hard else {
            throw CLIError.usage("invalid argument \"\(spec)\" for \"--ulimit\" flag: invalid ulimit argument: \(spec)")
        }
        return ["Name": String(kv[0]), "Soft": soft, "Hard": hard]
    }
}
