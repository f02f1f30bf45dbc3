import Foundation
import Testing
import BerthImage
import BerthTestSupport
@testable import BerthWire
@testable import BerthLifecycle

// Keeps Specs/lifecycle-protocol.schema.json in step with the code: its `x-methods` are exactly the
// methods the daemon registers, and what the Swift types encode (with the wire's own encoder)
// validates against it.

/// The schema document, parsed.
private let schemaURL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Specs/lifecycle-protocol.schema.json")

private func loadSchema() throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: schemaURL))
}

/// A value as it crosses the wire: encoded with the wire's encoder, read back as generic JSON.
private func wireJSON<T: Encodable>(_ value: T) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: WireCoding.encoder().encode(value))
}

private func parse(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

private extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }

    /// A copy with `key` of the top object set to `value` (nil removes it).
    func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var o) = self else { return self }
        o[key] = value
        return .object(o)
    }
}

// MARK: - A minimal JSON Schema (2020-12) validator

/// Supports the keywords the schema uses, and refuses a schema that uses any other (so a keyword
/// it would silently ignore cannot creep in): type (a name or a list, incl. "null"), properties,
/// required, additionalProperties (bool or schema), items, $ref (local JSON pointers), enum, const,
/// pattern, anyOf, oneOf.
struct SchemaValidator {
    static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "$ref", "enum", "const", "pattern", "anyOf", "oneOf",
    ]
    /// Keywords that only annotate.
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$comment", "$defs", "x-methods"]

    let root: JSONValue

    /// The schema a local `$ref` (`#/$defs/Name`) points at.
    func resolve(_ ref: String) -> JSONValue? {
        guard ref == "#" || ref.hasPrefix("#/") else { return nil }
        var node = root
        for token in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where !ref.dropFirst(2).isEmpty {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    /// Every way `value` breaks `schema`, with JSON paths; empty when it conforms.
    func errors(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        if case .bool(let b) = schema { return b ? [] : ["\(path): no value is allowed here"] }
        guard case .object(let s) = schema else { return ["\(path): schema is not an object or a boolean"] }
        var out: [String] = []

        if case .string(let ref)? = s["$ref"] {
            if let target = resolve(ref) { out += errors(value, target, at: path) } else { out.append("\(path): unresolvable $ref \(ref)") }
        }
        if let t = s["type"] {
            let names = t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue].compactMap { $0 }
            if !names.contains(where: { Self.hasType(value, $0) }) {
                out.append("\(path): expected \(names.joined(separator: " or ")), got \(Self.typeName(value))")
            }
        }
        if case .array(let options)? = s["enum"], !options.contains(value) {
            out.append("\(path): \(Self.show(value)) is not one of \(options.map(Self.show))")
        }
        if let c = s["const"], c != value {
            out.append("\(path): \(Self.show(value)) is not \(Self.show(c))")
        }
        if case .string(let pattern)? = s["pattern"], case .string(let str) = value {
            if let re = try? NSRegularExpression(pattern: pattern) {
                if re.firstMatch(in: str, range: NSRange(str.startIndex..., in: str)) == nil {
                    out.append("\(path): \(Self.show(value)) does not match \(pattern)")
                }
            } else {
                out.append("\(path): bad pattern \(pattern)")
            }
        }
        if case .object(let obj) = value {
            let props = s["properties"]?.objectValue ?? [:]
            for (key, sub) in props { if let v = obj[key] { out += errors(v, sub, at: "\(path).\(key)") } }
            for case .string(let key) in s["required"]?.arrayValue ?? [] where obj[key] == nil {
                out.append("\(path): missing required key \"\(key)\"")
            }
            if let extra = s["additionalProperties"] {
                for (key, v) in obj where props[key] == nil { out += errors(v, extra, at: "\(path).\(key)") }
            }
        }
        if case .array(let items) = value, let itemSchema = s["items"] {
            for (i, v) in items.enumerated() { out += errors(v, itemSchema, at: "\(path)[\(i)]") }
        }
        if let anyOf = s["anyOf"]?.arrayValue {
            let results = anyOf.map { errors(value, $0, at: path) }
            if !results.contains(where: \.isEmpty) {
                out.append("\(path): matches none of anyOf (\(results.flatMap { $0 }.joined(separator: "; ")))")
            }
        }
        if let oneOf = s["oneOf"]?.arrayValue {
            let results = oneOf.map { errors(value, $0, at: path) }
            let passing = results.filter(\.isEmpty).count
            if passing != 1 {
                out.append("\(path): matches \(passing) of oneOf, not exactly 1" + (passing == 0 ? " (\(results.flatMap { $0 }.joined(separator: "; ")))" : ""))
            }
        }
        return out
    }

    /// Walks every subschema: reports keywords this validator does not implement and `$ref`s that
    /// do not resolve.
    func audit(_ schema: JSONValue, at path: String = "#") -> [String] {
        if case .bool = schema { return [] }
        guard case .object(let s) = schema else { return ["\(path): schema is not an object or a boolean"] }
        var out: [String] = []
        for key in s.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            out.append("\(path): unsupported keyword \(key)")
        }
        if case .string(let ref)? = s["$ref"], resolve(ref) == nil { out.append("\(path): unresolvable $ref \(ref)") }
        for (name, sub) in s["$defs"]?.objectValue ?? [:] { out += audit(sub, at: "\(path)/$defs/\(name)") }
        for (name, sub) in s["properties"]?.objectValue ?? [:] { out += audit(sub, at: "\(path)/properties/\(name)") }
        if let sub = s["additionalProperties"] { out += audit(sub, at: "\(path)/additionalProperties") }
        if let sub = s["items"] { out += audit(sub, at: "\(path)/items") }
        for k in ["anyOf", "oneOf"] {
            for (i, sub) in (s[k]?.arrayValue ?? []).enumerated() { out += audit(sub, at: "\(path)/\(k)/\(i)") }
        }
        for (method, entry) in s["x-methods"]?.objectValue ?? [:] {
            for (role, sub) in entry.objectValue ?? [:] { out += audit(sub, at: "\(path)/x-methods/\(method)/\(role)") }
        }
        return out
    }

    static func hasType(_ v: JSONValue, _ name: String) -> Bool {
        switch (name, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .int), ("number", .int), ("number", .double): return true
        case ("integer", .double(let d)): return d.rounded() == d
        default: return false
        }
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    static func show(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: e.encode(v), as: UTF8.self)) ?? "\(v)"
    }
}

// MARK: - Samples: real Swift values of every params, result and event type, per method

struct MethodSamples {
    var params: [any Encodable]
    var results: [any Encodable]
    /// ProgressEvent, LogBatch or Event values, as the method streams them.
    var progress: [any Encodable] = []
}

/// Every method the daemon registers, in the order of Specs/lifecycle-protocol.md.
private let allMethods = [
    "system.ping", "system.info", "system.gc", "image.pull", "image.push", "image.list", "image.inspect", "image.history",
    "image.tag", "image.remove", "image.prune", "image.import", "image.save", "image.load", "image.build.commit",
    "image.build.cache", "registry.login", "snapshot.prepare", "snapshot.remove",
    "container.create", "container.start", "container.stop", "container.restart", "container.kill", "container.pause",
    "container.unpause", "container.remove", "container.wait", "container.list", "container.inspect", "container.rename",
    "container.update", "container.resize", "container.io", "container.logs", "container.attach", "container.changes", "container.export",
    "container.archive.stat", "container.archive.get", "container.archive.put", "container.commit", "container.top",
    "container.stats", "exec.create", "exec.start", "exec.inspect", "exec.resize", "exec.io",
    "volume.create", "volume.inspect", "volume.list", "volume.remove", "volume.prune",
    "network.create", "network.inspect", "network.list", "network.remove", "network.prune", "network.connect", "network.disconnect",
    "system.events",
]

private func digest(_ seed: String) -> String { fakeDigest(seed).description }

private func sampleInspect(full: Bool) -> ImageInspect {
    let diffIDs = [fakeDigest("layer-1"), fakeDigest("layer-2")]
    let chain = ChainID.of(diffIDs)
    var config = ContainerConfig()
    if full {
        config.user = "app"
        config.exposedPorts = ["80/tcp": EmptyObject(), "53/udp": EmptyObject()]
        config.env = ["PATH=/usr/bin:/bin", "A=b"]
        config.entrypoint = ["/docker-entrypoint.sh"]
        config.cmd = ["/bin/app", "--serve"]
        config.volumes = ["/data": EmptyObject()]
        config.workingDir = "/srv"
        config.labels = ["team": "core"]
        config.stopSignal = "SIGTERM"
        config.argsEscaped = true
        var health = HealthConfig()
        health.test = ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]
        health.interval = 30_000_000_000; health.timeout = 5_000_000_000
        health.startPeriod = 1_000_000_000; health.startInterval = 500_000_000; health.retries = 3
        config.healthcheck = health
        config.onBuild = ["RUN make"]
        config.shell = ["/bin/sh", "-c"]
    }
    let layers = zip(diffIDs, chain).map { d, c in
        LayerInfo(digest: digest("blob-\(d)"), mediaType: MediaType.ociLayer, size: 1234, diffID: d.description, chainID: c.description)
    }
    return ImageInspect(
        id: digest("config"), repoTags: full ? ["busybox:latest"] : [], repoDigests: full ? ["busybox@\(digest("manifest"))"] : [],
        created: full ? "2024-05-01T12:00:00Z" : nil, author: full ? "someone" : nil, comment: full ? "imported" : nil,
        config: full ? config : nil, architecture: "amd64", variant: full ? "v8" : nil, os: "linux", size: 4_200_000,
        rootFS: RootFS(diffIDs: diffIDs), manifestDigest: digest("manifest"), manifestMediaType: MediaType.ociManifest,
        layers: full ? layers : [], topChainID: full ? chain.last?.description : nil, chainIDs: full ? chain.map(\.description) : [])
}

private let fullAuth = RegistryAuth(username: "u", password: "p", identityToken: "it", registryToken: "rt", serverAddress: "https://index.docker.io/v1/")

private func samples() -> [String: MethodSamples] {
    [
        "system.ping": MethodSamples(params: [Empty()], results: [PingResult(version: BerthVersion.string)]),
        "system.info": MethodSamples(params: [Empty()], results: [SystemInfo(version: BerthVersion.string, root: "/var/lib/berth", images: 2, snapshots: 3, leases: 0)]),
        "system.gc": MethodSamples(params: [Empty()], results: [GCSummary(blobs: 1, snapshots: 2, bytes: 4096)]),
        "image.pull": MethodSamples(
            params: [ImagePullParams(reference: "busybox"),
                     ImagePullParams(reference: "127.0.0.1:5000/app:1", platform: "linux/arm64/v8", auth: fullAuth),
                     ImagePullParams(reference: "busybox", auth: RegistryAuth(identityToken: "t"))],
            results: [ImagePullResult(reference: "docker.io/library/busybox:latest", id: digest("config"), digest: digest("index"),
                                      status: "Downloaded newer image for busybox:latest")],
            progress: [ProgressEvent(status: "Pulling from library/busybox"), ProgressEvent(id: "a3ed95caeb02", status: "Pulling fs layer"),
                       ProgressEvent(id: "a3ed95caeb02", status: "Downloading", current: 1024, total: 2_000_000),
                       ProgressEvent(status: "Digest: \(digest("index"))")]),
        "image.push": MethodSamples(
            params: [ImagePushParams(reference: "127.0.0.1:5000/app:1"), ImagePushParams(reference: "app:1", auth: fullAuth)],
            results: [ImagePushResult(reference: "127.0.0.1:5000/app:1", digest: digest("manifest"), size: 527)],
            progress: [ProgressEvent(status: "The push refers to repository [127.0.0.1:5000/app]"),
                       ProgressEvent(id: "a3ed95caeb02", status: "Pushing", current: 10, total: 20),
                       ProgressEvent(id: "a3ed95caeb02", status: "Pushed"),
                       ProgressEvent(status: "1: digest: \(digest("manifest")) size: 527")]),
        "image.list": MethodSamples(
            params: [ImageListParams(),
                     ImageListParams(filters: ["reference": ["busy*"], "dangling": ["false"], "label": ["team=core"],
                                               "before": ["app:2"], "since": ["app:1"]], all: true)],
            results: [[ImageSummary](),
                      [ImageSummary(id: digest("config"), repoTags: ["busybox:latest"], repoDigests: ["busybox@\(digest("m"))"],
                                    created: 1_700_000_000, size: 4_200_000, labels: ["team": "core"], containers: 1),
                       ImageSummary(id: digest("dangling"), repoTags: [], repoDigests: [], created: 0, size: 0, labels: [:], containers: 0)]]),
        "image.inspect": MethodSamples(params: [ImageRefParams(reference: "busybox")], results: [sampleInspect(full: true), sampleInspect(full: false)]),
        "image.history": MethodSamples(
            params: [ImageRefParams(reference: digest("config"))],
            results: [[HistoryEntry(id: digest("config"), created: 1_700_000_000, createdBy: "/bin/sh -c #(nop) CMD [\"sh\"]",
                                    tags: ["busybox:latest"], size: 0, comment: ""),
                       HistoryEntry(id: "<missing>", created: 1_699_999_999, createdBy: "/bin/sh -c #(nop) ADD file:abc in / ",
                                    tags: [], size: 4_200_000, comment: "imported")]]),
        "image.tag": MethodSamples(params: [ImageTagParams(source: "busybox", target: "mine:1")], results: [Empty()]),
        "image.remove": MethodSamples(
            params: [ImageRemoveParams(reference: "busybox"), ImageRemoveParams(reference: "busybox", force: true, noPrune: false)],
            results: [[ImageDeleteItem(untagged: "busybox:latest"), ImageDeleteItem(deleted: digest("config")),
                       ImageDeleteItem(deleted: digest("chain"))], [ImageDeleteItem]()]),
        "image.prune": MethodSamples(
            params: [ImagePruneParams(), ImagePruneParams(all: true, filters: ["dangling": ["false"], "label": ["team"]])],
            results: [ImagePruneResult(deleted: [ImageDeleteItem(untagged: "app:1"), ImageDeleteItem(deleted: digest("x"))], spaceReclaimed: 4096),
                      ImagePruneResult(deleted: [], spaceReclaimed: 0)]),
        "image.import": MethodSamples(
            params: [ImageImportParams(path: "/tmp/rootfs.tar"),
                     ImageImportParams(path: "/tmp/fifo", reference: "app:1", message: "hello", changes: [#"CMD ["sh"]"#, "ENV A=b"],
                                       platform: "linux/amd64")],
            results: [ImageIDResult(id: digest("config"))],
            progress: [ProgressEvent(status: "Importing", current: 100, total: 100)]),
        "image.save": MethodSamples(params: [ImageSaveParams(references: ["busybox", "app:1"], path: "/tmp/out.tar")], results: [Empty()]),
        "image.load": MethodSamples(
            params: [ImageLoadParams(path: "/tmp/in.tar")],
            results: [ImageLoadResult(loaded: ["busybox:latest", digest("untagged")]), ImageLoadResult(loaded: [])],
            progress: [ProgressEvent(status: "Loaded image: busybox:latest")]),
        "image.build.commit": MethodSamples(
            params: [ImageBuildCommitParams(parent: "", config: ContainerConfig(), createdBy: "/bin/sh -c #(nop) ADD file:abc in / ",
                                            cacheKey: digest("step1")),
                     ImageBuildCommitParams(parent: digest("base"), container: hexID("build-step"), config: { var c = ContainerConfig(); c.cmd = ["sh"]; return c }(),
                                            createdBy: "/bin/sh -c echo hi > /hi", comment: "step 2", references: ["app:1"]),
                     ImageBuildCommitParams(parent: "busybox", layerTar: "/var/lib/berth/tmp/layer.tar", config: ContainerConfig(),
                                            createdBy: "/bin/sh -c #(nop) COPY file:abc in /app ")],
            results: [ImageIDResult(id: digest("built"))]),
        "image.build.cache": MethodSamples(
            params: [ImageBuildCacheParams(key: digest("step1"))],
            results: [ImageBuildCacheResult(id: digest("built")), ImageBuildCacheResult(id: nil)]),
        "registry.login": MethodSamples(
            params: [fullAuth, RegistryAuth(username: "u", password: "p", serverAddress: "127.0.0.1:5000")],
            results: [RegistryLoginResult()]),
        "snapshot.prepare": MethodSamples(
            params: [SnapshotPrepareParams(key: "c1", image: "busybox")],
            results: [SnapshotMount(type: "overlay", lowerDirs: ["/var/lib/berth/snapshots/2/fs", "/var/lib/berth/snapshots/1/fs"],
                                    upperDir: "/var/lib/berth/snapshots/3/fs", workDir: "/var/lib/berth/snapshots/3/work",
                                    options: "lowerdir=/a:/b,upperdir=/c,workdir=/d")]),
        "snapshot.remove": MethodSamples(params: [SnapshotKeyParams(key: "c1")], results: [Empty()]),
    ].merging(containerSamples(), uniquingKeysWith: { a, _ in a }).merging(volumeAndEventSamples(), uniquingKeysWith: { a, _ in a })
        .merging(networkSamples(), uniquingKeysWith: { a, _ in a })
}

// MARK: container, exec, volume and event samples

/// A 64-hex ID like the daemon's container and exec IDs.
private func hexID(_ seed: String) -> String { String(fakeDigest(seed).description.dropFirst("sha256:".count)) }

private let containerID = hexID("container-web")
private let execID = hexID("exec-1")
private let bundleDir = "/var/lib/berth/containers/\(containerID)"
private let socketPath = "/run/berth/c/\(containerID.prefix(32))/monitor.sock"

/// A HostConfig with every key set, as `docker run` with many flags sends it.
private func fullHostConfig() -> HostConfig {
    var hc = HostConfig()
    hc.cpuShares = 512; hc.memory = 512 << 20; hc.cgroupParent = "/berth"; hc.blkioWeight = 500
    hc.cpuPeriod = 100_000; hc.cpuQuota = 50_000; hc.cpuRealtimePeriod = 1_000_000; hc.cpuRealtimeRuntime = 950_000
    hc.cpusetCpus = "0-1"; hc.cpusetMems = "0"
    hc.devices = [DeviceMapping(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse", cgroupPermissions: "rwm"),
                  DeviceMapping(pathOnHost: "/dev/null")]
    hc.deviceCgroupRules = ["c 10:229 rwm"]; hc.memoryReservation = 256 << 20; hc.memorySwap = -1; hc.memorySwappiness = 60
    hc.nanoCpus = 500_000_000; hc.oomKillDisable = false; hc.`init` = true; hc.pidsLimit = 100
    hc.ulimits = [Ulimit(name: "nofile", soft: 1024, hard: 2048)]
    hc.binds = ["data:/data", "/srv/conf:/etc/app:ro,rslave"]; hc.containerIDFile = "/tmp/web.cid"
    hc.logConfig = LogConfig(type: "json-file", config: ["max-size": "10m", "max-file": "3"])
    hc.networkMode = "bridge"
    hc.portBindings = ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "8080")], "443/tcp": [PortBinding(hostPort: "8443")], "53/udp": nil]
    hc.restartPolicy = RestartPolicy(name: "on-failure", maximumRetryCount: 3); hc.autoRemove = false
    hc.volumeDriver = "local"; hc.volumesFrom = ["other:ro"]
    var volumeMount = MountSpec(type: "volume", source: "cache", target: "/cache", readOnly: false,
                                volumeOptions: .init(noCopy: true, labels: ["team": "core"],
                                                     driverConfig: .init(name: "local", options: ["type": "none"])))
    volumeMount.consistency = "default"
    hc.mounts = [volumeMount,
                 MountSpec(type: "bind", source: "/srv/www", target: "/usr/share/nginx/html", readOnly: true,
                           bindOptions: .init(propagation: "rprivate", nonRecursive: false, createMountpoint: true)),
                 MountSpec(type: "tmpfs", target: "/scratch", tmpfsOptions: .init(sizeBytes: 64 << 20, mode: 0o1777))]
    hc.consoleSize = [24, 80]; hc.annotations = ["org.example.owner": "core"]
    hc.capAdd = ["NET_ADMIN"]; hc.capDrop = ["MKNOD"]; hc.cgroupnsMode = "private"
    hc.dns = ["1.1.1.1"]; hc.dnsOptions = ["ndots:2"]; hc.dnsSearch = ["example.com"]; hc.extraHosts = ["db:10.0.0.5"]
    hc.groupAdd = ["audio"]; hc.ipcMode = "private"; hc.cgroup = ""; hc.links = ["/db:/web/db"]; hc.oomScoreAdj = 500
    hc.pidMode = ""; hc.privileged = false; hc.publishAllPorts = false; hc.readonlyRootfs = true
    hc.securityOpt = ["no-new-privileges:true"]; hc.storageOpt = ["size": "10G"]; hc.tmpfs = ["/run": "rw,noexec,size=64m"]
    hc.utsMode = ""; hc.usernsMode = ""; hc.shmSize = 64 << 20; hc.sysctls = ["net.ipv4.ip_forward": "1"]
    hc.runtime = "runc"; hc.maskedPaths = ["/proc/kcore"]; hc.readonlyPaths = ["/proc/sys"]
    return hc
}

/// A create body with every key set.
private func fullCreateParams() -> ContainerCreateParams {
    var health = HealthConfig()
    health.test = ["CMD-SHELL", "wget -qO- http://localhost/ || exit 1"]
    health.interval = 30_000_000_000; health.timeout = 5_000_000_000
    health.startPeriod = 1_000_000_000; health.startInterval = 500_000_000; health.retries = 3
    var c = ContainerCreateParams(
        image: "nginx:1.25", cmd: ["nginx", "-g", "daemon off;"], entrypoint: ["/docker-entrypoint.sh"],
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.4"],
        workingDir: "/", user: "101:101", hostname: "web", domainname: "example.com", labels: ["team": "core"],
        tty: false, openStdin: true, stdinOnce: true, attachStdin: true, attachStdout: true, attachStderr: true,
        stopSignal: "SIGQUIT", stopTimeout: 20, exposedPorts: ["80/tcp": EmptyObject(), "53/udp": EmptyObject()],
        volumes: ["/data": EmptyObject()], healthcheck: health, hostConfig: fullHostConfig(),
        networkingConfig: NetworkingConfig(endpointsConfig: [
            "bridge": EndpointSettings(ipamConfig: .init(ipv4Address: "172.17.0.5", ipv6Address: "fd00::5", linkLocalIPs: ["169.254.0.5"]),
                                       links: ["db:db"], aliases: ["web"], networkID: "bridge", macAddress: "02:42:ac:11:00:05")]))
    c.argsEscaped = false; c.networkDisabled = false; c.macAddress = "02:42:ac:11:00:05"
    c.onBuild = ["RUN make"]; c.shell = ["/bin/sh", "-c"]
    return c
}

private func runningState() -> ContainerState {
    var s = ContainerState(status: "running")
    s.running = true; s.pid = 4242; s.startedAt = "2024-05-01T12:00:00.123456789Z"
    s.health = .init(status: "healthy", failingStreak: 0, log: [
        .init(start: "2024-05-01T12:00:30.1Z", end: "2024-05-01T12:00:30.2Z", exitCode: 0, output: "ok\n"),
        .init(start: "2024-05-01T12:01:00.1Z", end: "2024-05-01T12:01:05.1Z", exitCode: -1, output: "Health check exceeded timeout (5s)")])
    return s
}

private func exitedState() -> ContainerState {
    var s = ContainerState(status: "exited")
    s.exitCode = 137; s.oomKilled = true; s.error = ""
    s.startedAt = "2024-05-01T12:00:00.123456789Z"; s.finishedAt = "2024-05-01T12:05:00.5Z"
    return s
}

private let sampleMounts = [
    MountPoint(type: "volume", name: "data", source: "/var/lib/berth/volumes/data/_data", destination: "/data", driver: "local", mode: "z", rw: true),
    MountPoint(type: "bind", source: "/srv/conf", destination: "/etc/app", rw: false, propagation: "rslave"),
    MountPoint(type: "tmpfs", source: "", destination: "/run", rw: true),
]

private func sampleContainerInspect(running: Bool) -> ContainerInspect {
    var config = fullCreateParams()
    config.hostConfig = nil
    return ContainerInspect(
        id: containerID, created: "2024-05-01T11:59:59.987654321Z", path: "/docker-entrypoint.sh", args: ["nginx", "-g", "daemon off;"],
        state: running ? runningState() : exitedState(), image: digest("config"),
        resolvConfPath: bundleDir + "/resolv.conf", hostnamePath: bundleDir + "/hostname", hostsPath: bundleDir + "/hosts",
        logPath: "\(bundleDir)/\(containerID)-json.log", name: "/web", restartCount: running ? 2 : 0,
        execIDs: running ? [execID] : nil, hostConfig: running ? fullHostConfig() : HostConfig(),
        graphDriver: .init(name: "overlay2", data: ["MergedDir": bundleDir + "/rootfs", "UpperDir": "/var/lib/berth/snapshots/7/fs",
                                                     "WorkDir": "/var/lib/berth/snapshots/7/work"]),
        mounts: running ? sampleMounts : [], config: running ? config : ContainerCreateParams(image: "busybox", cmd: ["sh"]),
        networkSettings: sampleNetworkSettings(running: running))
}

// MARK: network samples

private let networkID = hexID("network-a")

/// A container's endpoint on the default bridge and on a user network, with addresses while it runs.
private func sampleEndpoints(running: Bool) -> [String: EndpointState] {
    var user = EndpointState(ipamConfig: .init(ipv4Address: "172.18.0.5"), aliases: ["www", String(containerID.prefix(12))], networkID: networkID)
    user.links = ["db:db"]
    user.driverOpts = ["com.example.opt": "1"]
    var bridge = EndpointState(networkID: hexID("network-bridge"))
    if running {
        user.endpointID = hexID("endpoint-a"); user.gateway = "172.18.0.1"; user.ipAddress = "172.18.0.5"; user.ipPrefixLen = 16
        user.macAddress = "02:42:ac:12:00:05"
        bridge = EndpointState(networkID: bridge.networkID, endpointID: hexID("endpoint-bridge"), gateway: "10.87.0.1",
                               ipAddress: "10.87.0.2", ipPrefixLen: 16, macAddress: "02:42:0a:57:00:02")
    }
    return ["bridge": bridge, "berth-a": user]
}

private func sampleNetworkSettings(running: Bool) -> NetworkSettings {
    guard running else { return NetworkSettings(networks: sampleEndpoints(running: false)) }
    return NetworkSettings(sandboxID: hexID("sandbox"),
                           ports: ["80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "8080"), PortBinding(hostIp: "0.0.0.0", hostPort: "8081")],
                                   "53/udp": nil],
                           sandboxKey: "/run/berth/netns/\(containerID.prefix(32))", networks: sampleEndpoints(running: true))
}

private func sampleNetwork(containers: Bool) -> BerthWire.Network {
    BerthWire.Network(
        name: "berth-a", id: networkID, created: "2024-05-01T12:00:00.123456789Z", driver: "bridge",
        ipam: IPAM(driver: "default", config: [IPAMPool(subnet: "172.18.0.0/16", ipRange: "172.18.5.0/24", gateway: "172.18.0.1")]),
        internal: false, attachable: true,
        containers: containers ? [containerID: NetworkContainer(name: "web", endpointID: hexID("endpoint-a"), macAddress: "02:42:ac:12:00:05",
                                                                ipv4Address: "172.18.0.5/16")] : [:],
        options: ["com.docker.network.bridge.name": "br-6e6574776f72"], labels: ["team": "core"])
}

private func networkSamples() -> [String: MethodSamples] {
    var full = NetworkCreateParams(
        name: "berth-a", driver: "bridge", internal: true, attachable: true,
        ipam: IPAM(driver: "default", config: [IPAMPool(subnet: "172.18.0.0/16", ipRange: "172.18.5.0/24", gateway: "172.18.0.1",
                                                        auxiliaryAddresses: ["router": "172.18.0.2"])],
                   options: ["foo": "bar"]),
        enableIPv6: false, options: ["com.docker.network.bridge.name": "br-custom"], labels: ["team": "core"])
    full.checkDuplicate = true
    full.ingress = false
    let host = BerthWire.Network(name: "host", id: hexID("network-host"), created: "2024-05-01T11:00:00Z", driver: "host",
                                 ipam: IPAM(driver: "default", config: []), internal: false, attachable: false, containers: [:],
                                 options: [:], labels: [:])
    return [
        "network.create": MethodSamples(params: [NetworkCreateParams(name: "berth-b"), full], results: [NetworkCreateResult(id: networkID)]),
        "network.inspect": MethodSamples(params: [NetworkRefParams(id: "berth-a"), NetworkRefParams(id: String(networkID.prefix(12)))],
                                         results: [sampleNetwork(containers: true), host]),
        "network.list": MethodSamples(
            params: [NetworkListParams(),
                     NetworkListParams(filters: ["driver": ["bridge"], "id": ["6e65"], "label": ["team=core"], "name": ["berth"],
                                                 "scope": ["local"], "type": ["custom"], "dangling": ["false"]])],
            results: [[host, sampleNetwork(containers: false)], [BerthWire.Network]()]),
        "network.remove": MethodSamples(params: [NetworkRefParams(id: "berth-a")], results: [Empty()]),
        "network.prune": MethodSamples(
            params: [NetworkPruneParams(), NetworkPruneParams(filters: ["until": ["24h"], "label": ["team"], "label!": ["keep=1"]])],
            results: [NetworkPruneResult(networksDeleted: ["berth-a"]), NetworkPruneResult(networksDeleted: [])]),
        "network.connect": MethodSamples(
            params: [NetworkConnectParams(network: "berth-a", container: "web"),
                     NetworkConnectParams(network: networkID, container: String(containerID.prefix(12)),
                                          endpointConfig: EndpointSettings(ipamConfig: .init(ipv4Address: "172.18.0.9"), aliases: ["web2"]))],
            results: [Empty()]),
        "network.disconnect": MethodSamples(
            params: [NetworkDisconnectParams(network: "berth-a", container: "web"), NetworkDisconnectParams(network: "berth-a", container: "web", force: true)],
            results: [Empty()]),
    ]
}

private func sampleCPUStats(_ scale: UInt64) -> ContainerStats.CPUStats {
    .init(cpu_usage: .init(total_usage: 1_500_000 * scale, percpu_usage: [1_000_000 * scale, 500_000 * scale],
                           usage_in_kernelmode: 300_000 * scale, usage_in_usermode: 1_200_000 * scale),
          system_cpu_usage: 9_876_543_210_000 * scale, online_cpus: 2,
          throttling_data: .init(periods: 10 * scale, throttled_periods: scale, throttled_time: 20_000 * scale))
}

private func sampleStats(running: Bool) -> ContainerStats {
    ContainerStats(
        id: containerID, name: "/web", read: "2024-05-01T12:00:01.000000001Z", preread: ContainerState.zeroTime,
        pids_stats: .init(current: running ? 3 : 0, limit: running ? 100 : nil),
        cpu_stats: sampleCPUStats(running ? 2 : 0), precpu_stats: running ? sampleCPUStats(1) : nil,
        memory_stats: .init(usage: running ? 4_194_304 : 0, max_usage: running ? 8_388_608 : 0, limit: running ? 536_870_912 : 0,
                            failcnt: 0, stats: running ? ["anon": 1_048_576, "file": 2_097_152] : [:]),
        blkio_stats: [:])
}

private let sampleLogs = LogBatch(entries: [
    LogEntry(stream: "stdout", log: "hello\n", time: "2024-05-01T12:00:00.123456789Z"),
    LogEntry(stream: "stderr", log: "warning: \"x\"\n", time: "2024-05-01T12:00:00.2Z"),
    LogEntry(stream: "stdout", log: "partial line", time: "2024-05-01T12:00:01Z"),
])

private func sampleExecInspect(exited: Bool) -> ExecInspect {
    ExecInspect(id: execID, containerID: containerID, running: !exited, exitCode: exited ? 0 : nil, pid: exited ? 0 : 4300,
                openStdin: !exited,
                processConfig: .init(tty: !exited, entrypoint: "sh", arguments: ["-c", "echo hi"], privileged: exited, user: exited ? "" : "app"))
}

private func containerSamples() -> [String: MethodSamples] {
    let ref = ContainerRefParams(id: "web"), short = ContainerRefParams(id: String(containerID.prefix(12)))
    let changed = ContainerChangeResult(notModified: false), unchanged = ContainerChangeResult(notModified: true)
    var fullExec = ExecConfig(cmd: ["sh", "-c", "echo hi"], env: ["A=b"], user: "app", workingDir: "/srv", tty: true,
                              attachStdin: true, privileged: false)
    fullExec.attachStdout = true; fullExec.attachStderr = true; fullExec.detachKeys = "ctrl-p,ctrl-q"; fullExec.consoleSize = [24, 80]
    let stat = PathStat(name: "passwd", size: 1234, mode: 0o644, mtime: "2024-05-01T12:00:00.5Z", linkTarget: "")
    let linkStat = PathStat(name: "link", size: 11, mode: (1 << 27) | 0o777, mtime: "2024-05-01T12:00:00Z", linkTarget: "/etc/passwd")
    return [
        "container.create": MethodSamples(
            params: [ContainerCreateRequest(name: "web", config: fullCreateParams()),
                     ContainerCreateRequest(config: ContainerCreateParams(image: "busybox", cmd: ["sh"])),
                     ContainerCreateRequest(name: "/clear", config: ContainerCreateParams(image: "busybox", entrypoint: [""]))],
            results: [ContainerCreateResult(id: containerID), ContainerCreateResult(id: containerID, warnings: ["Your kernel does not support swap limit capabilities"])]),
        "container.start": MethodSamples(params: [ref, short], results: [changed, unchanged]),
        "container.stop": MethodSamples(
            params: [ContainerStopParams(id: "web"), ContainerStopParams(id: containerID, timeout: 3, signal: "SIGINT"),
                     ContainerStopParams(id: "web", timeout: -1)],
            results: [changed, unchanged]),
        "container.restart": MethodSamples(params: [ContainerStopParams(id: "web", timeout: 1, signal: "SIGTERM")], results: [Empty()]),
        "container.kill": MethodSamples(params: [ContainerKillParams(id: "web"), ContainerKillParams(id: "web", signal: "HUP")], results: [Empty()]),
        "container.pause": MethodSamples(params: [ref], results: [Empty()]),
        "container.unpause": MethodSamples(params: [ref], results: [Empty()]),
        "container.remove": MethodSamples(
            params: [ContainerRemoveParams(id: "web"), ContainerRemoveParams(id: "web", force: true, volumes: true)], results: [Empty()]),
        "container.wait": MethodSamples(
            params: [ContainerWaitParams(id: "web"), ContainerWaitParams(id: "web", condition: "next-exit"),
                     ContainerWaitParams(id: "web", condition: "removed"), ContainerWaitParams(id: "web", condition: "")],
            results: [ContainerWaitResult(statusCode: 0),
                      ContainerWaitResult(statusCode: 255, error: .init(message: "container monitor exited without recording an exit status"))]),
        "container.list": MethodSamples(
            params: [ContainerListParams(),
                     ContainerListParams(all: true, filters: ["id": ["4f"], "name": ["^web$"], "label": ["team=core"], "status": ["running", "exited"],
                                                              "exited": ["0"], "ancestor": ["nginx"], "before": ["db"], "since": ["cache"],
                                                              "volume": ["data"], "health": ["healthy"], "is-task": ["false"], "network": ["bridge"]],
                                         limit: 5)],
            results: [[ContainerSummary](),
                      [ContainerSummary(id: containerID, names: ["/web"], image: "nginx:1.25", imageID: digest("config"),
                                        command: "/docker-entrypoint.sh nginx -g \"daemon off;\"", created: 1_714_564_799, state: "running",
                                        status: "Up 3 minutes (healthy)", labels: ["team": "core"], mounts: sampleMounts, networkMode: "bridge",
                                        ports: [PortSummary(ip: "127.0.0.1", privatePort: 80, publicPort: 8080, type: "tcp"),
                                                PortSummary(privatePort: 53, type: "udp")],
                                        networks: sampleEndpoints(running: true)),
                       ContainerSummary(id: hexID("container-old"), names: ["/old"], image: "busybox", imageID: digest("busybox"),
                                        command: "sh", created: 1_714_000_000, state: "exited", status: "Exited (0) 2 days ago",
                                        labels: [:], mounts: [], networkMode: "default")]]),
        "container.inspect": MethodSamples(params: [ref], results: [sampleContainerInspect(running: true), sampleContainerInspect(running: false)]),
        "container.rename": MethodSamples(params: [ContainerRenameParams(id: "web", name: "web2")], results: [Empty()]),
        "container.update": MethodSamples(
            params: [ContainerUpdateParams(id: "web", update: { var h = HostConfig(); h.memory = 64 << 20; h.nanoCpus = 500_000_000
                                                                 h.restartPolicy = RestartPolicy(name: "on-failure", maximumRetryCount: 3); return h }())],
            results: [ContainerUpdateResult()]),
        "container.resize": MethodSamples(params: [ContainerResizeParams(id: "web", height: 24, width: 80)], results: [Empty()]),
        "container.io": MethodSamples(
            params: [ref],
            results: [ContainerIOResult(controlSocket: socketPath, tty: true, openStdin: true),
                      ContainerIOResult(controlSocket: nil, tty: false, openStdin: false)]),
        "container.logs": MethodSamples(
            params: [ContainerLogsParams(id: "web", stdout: true),
                     ContainerLogsParams(id: "web", follow: true, stdout: true, stderr: true, since: "1714564800.5",
                                         until: "2024-05-01T13:00:00Z", tail: "100")],
            results: [Empty()], progress: [sampleLogs, LogBatch(entries: [])]),
        "container.attach": MethodSamples(
            params: [ContainerAttachParams(id: "web"), ContainerAttachParams(id: "web", logs: true, stream: false, stdout: true, stderr: false)],
            results: [Empty()], progress: [sampleLogs]),
        "container.changes": MethodSamples(
            params: [ref],
            results: [[FilesystemChange(path: "/etc", kind: .modified), FilesystemChange(path: "/etc/app.conf", kind: .added),
                       FilesystemChange(path: "/tmp/old", kind: .deleted)], [FilesystemChange]()]),
        "container.export": MethodSamples(params: [ContainerTarParams(id: "web", tarPath: "/tmp/berth-export.fifo")], results: [Empty()]),
        "container.archive.stat": MethodSamples(params: [ContainerTarParams(id: "web", path: "/etc/passwd")], results: [stat, linkStat]),
        "container.archive.get": MethodSamples(
            params: [ContainerTarParams(id: "web", path: "/etc/.", tarPath: "/tmp/cp-out.tar")], results: [stat]),
        "container.archive.put": MethodSamples(
            params: [ContainerTarParams(id: "web", path: "/srv", tarPath: "/tmp/cp-in.tar", noOverwriteDirNonDir: true)], results: [Empty()]),
        "container.commit": MethodSamples(
            params: [ContainerCommitParams(id: "web"),
                     ContainerCommitParams(id: "web", reference: "app:2", comment: "snapshot", author: "me <me@example.com>",
                                           changes: [#"CMD ["nginx"]"#, "ENV B=c"], pause: false,
                                           config: ContainerCreateParams(cmd: ["nginx"], env: ["A=b"], labels: ["v": "2"]))],
            results: [ImageIDResult(id: digest("committed"))]),
        "container.top": MethodSamples(
            params: [ref, ContainerTopParams(id: "web", psArgs: "aux")],
            results: [ContainerTopResult(titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
                                         processes: [["root", "4242", "4230", "0", "12:00", "?", "00:00:00", "nginx: master process nginx -g daemon off;"],
                                                     ["101", "4250", "4242", "0", "12:00", "?", "00:00:00", "nginx: worker process"]])]),
        "container.stats": MethodSamples(params: [ref], results: [sampleStats(running: true), sampleStats(running: false)]),
        "exec.create": MethodSamples(
            params: [ExecCreateParams(id: "web", config: fullExec), ExecCreateParams(id: "web", config: ExecConfig(cmd: ["true"]))],
            results: [ContainerCreateResult(id: execID)]),
        "exec.start": MethodSamples(
            params: [ExecStartParams(execId: execID), ExecStartParams(execId: execID, detach: true)],
            results: [ExecStartResult(exitCode: 0), ExecStartResult(exitCode: 127), ExecStartResult(exitCode: nil)],
            progress: [sampleLogs]),
        "exec.inspect": MethodSamples(params: [ExecRefParams(execId: execID)], results: [sampleExecInspect(exited: false), sampleExecInspect(exited: true)]),
        "exec.resize": MethodSamples(params: [ExecResizeParams(execId: execID, height: 40, width: 120)], results: [Empty()]),
        "exec.io": MethodSamples(
            params: [ExecRefParams(execId: execID)],
            results: [ContainerIOResult(controlSocket: "/run/berth/e/\(execID.prefix(32))/monitor.sock", tty: false, openStdin: true)]),
    ]
}

private func volumeAndEventSamples() -> [String: MethodSamples] {
    let anonymous = hexID("anonymous-volume")
    let named = Volume(name: "data", driver: "local", mountpoint: "/var/lib/berth/volumes/data/_data", createdAt: "2024-05-01T12:00:00Z",
                       status: ["mounted": "false"], labels: ["team": "core"], scope: "local",
                       options: ["type": "none", "o": "bind", "device": "/srv/data"], usageData: VolumeUsageData(size: 4096, refCount: 1))
    let anon = Volume(name: anonymous, driver: "local", mountpoint: "/var/lib/berth/volumes/\(anonymous)/_data",
                      createdAt: "2024-05-01T12:00:01Z", labels: [VolumeService.anonymousLabel: ""], options: [:])
    var containerAttrs = ["image": "nginx:1.25", "name": "web", "team": "core"]
    let start = Event(type: "container", action: "start", actor: .init(id: containerID, attributes: containerAttrs), timeNano: 1_714_564_800_123_456_789)
    containerAttrs["exitCode"] = "137"
    let die = Event(type: "container", action: "die", actor: .init(id: containerID, attributes: containerAttrs), timeNano: 1_714_564_900_000_000_001)
    let execStart = Event(type: "container", action: "exec_start: sh -c echo hi",
                          actor: .init(id: containerID, attributes: ["image": "nginx:1.25", "name": "web", "execID": execID]),
                          timeNano: 1_714_564_850_000_000_000)
    let volume = Event(type: "volume", action: "create", actor: .init(id: "data", attributes: ["driver": "local"]), timeNano: 1_714_564_799_000_000_000)
    let image = Event(type: "image", action: "tag", actor: .init(id: digest("config"), attributes: ["name": "app:2"]), timeNano: 1_714_564_801_000_000_000)
    let network = Event(type: "network", action: "connect", actor: .init(id: networkID, attributes: ["container": containerID, "name": "berth-a", "type": "bridge"]),
                        timeNano: 1_714_564_802_000_000_000)
    return [
        "volume.create": MethodSamples(
            params: [VolumeCreateParams(), VolumeCreateParams(name: "data", driver: "local", driverOpts: ["type": "none", "o": "bind", "device": "/srv/data"],
                                                              labels: ["team": "core"])],
            results: [named, anon]),
        "volume.inspect": MethodSamples(params: [VolumeNameParams(name: "data")], results: [named]),
        "volume.list": MethodSamples(
            params: [VolumeListParams(), VolumeListParams(filters: ["name": ["^da"], "label": ["team=core"], "dangling": ["true"], "driver": ["local"]])],
            results: [VolumeListResult(volumes: [anon, named]), VolumeListResult(volumes: [])]),
        "volume.remove": MethodSamples(params: [VolumeRemoveParams(name: "data"), VolumeRemoveParams(name: "data", force: true)], results: [Empty()]),
        "volume.prune": MethodSamples(
            params: [VolumePruneParams(), VolumePruneParams(filters: ["label": ["team"], "label!": ["keep=1"], "all": ["true"]])],
            results: [VolumePruneResult(volumesDeleted: [anonymous], spaceReclaimed: 8192), VolumePruneResult(volumesDeleted: [], spaceReclaimed: 0)]),
        "system.events": MethodSamples(
            params: [EventsParams(),
                     EventsParams(since: "1714564800", until: "2024-05-01T13:00:00Z",
                                  filters: ["type": ["container"], "event": ["start", "exec_start"], "container": ["web"], "image": ["nginx"],
                                            "volume": ["data"], "network": ["bridge"], "label": ["team=core"], "scope": ["local"]])],
            results: [Empty()], progress: [start, die, execStart, volume, image, network]),
    ]
}

/// Which optional stored properties the samples set: every struct reachable from them (through
/// optionals, arrays and dictionary values) is walked, and each optional property is recorded as
/// `Module.Type.property` in `set` or `unset`. A property never set in any sample would be a key
/// whose schema the samples never check.
struct FieldCoverage {
    var set: Set<String> = []
    var unset: Set<String> = []

    mutating func walk(_ value: Any) {
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            if let some = m.children.first { walk(some.value) }
        case .struct:
            let owner = String(reflecting: type(of: value))
            for child in m.children {
                let c = Mirror(reflecting: child.value)
                if c.displayStyle == .optional {
                    let key = "\(owner).\(child.label ?? "?")"
                    if c.children.isEmpty { unset.insert(key) } else { set.insert(key) }
                }
                walk(child.value)
            }
        case .collection, .set:
            for child in m.children { walk(child.value) }
        case .dictionary:
            for child in m.children {
                if let v = Mirror(reflecting: child.value).children.dropFirst().first { walk(v.value) }
            }
        default:
            break
        }
    }

    var neverSet: [String] { unset.subtracting(set).sorted() }
}

// MARK: - Tests

@Suite("Lifecycle protocol schema")
struct LifecycleProtocolSchemaTests {
    let schema: JSONValue
    let validator: SchemaValidator
    let methods: [String: JSONValue]

    init() throws {
        schema = try loadSchema()
        validator = SchemaValidator(root: schema)
        methods = schema["x-methods"]?.objectValue ?? [:]
    }

    /// The method's schema for `role` (params, result, progress).
    func methodSchema(_ method: String, _ role: String) throws -> JSONValue {
        try #require(methods[method]?[role], "x-methods.\(method).\(role) is missing")
    }

    @Test func methodsAreExactlyWhatTheDaemonRegisters() async throws {
        let registered = try await withTempDir { dir in
            let daemon = try LifecycleDaemon(options: DaemonOptions(
                root: dir + "/root", runRoot: dir + "/run", socket: dir + "/lifecycle.sock", authFile: dir + "/no-auth.json"))
            let names = daemon.router().methods
            await daemon.shutdown()
            return names
        }
        #expect(registered.count == 62)
        #expect(registered == allMethods.sorted())
        #expect(Set(methods.keys) == Set(registered),
                "only in the schema: \(Set(methods.keys).subtracting(registered).sorted()); only registered: \(Set(registered).subtracting(methods.keys).sorted())")
        for (name, entry) in methods {
            let roles = Set(entry.objectValue?.keys.map { $0 } ?? [])
            #expect(roles.isSuperset(of: ["params", "result"]), "\(name) lacks params or result")
            #expect(roles.isSubset(of: ["params", "result", "progress"]), "\(name) has unknown entries \(roles.sorted())")
        }
    }

    @Test func schemaUsesOnlyWhatTheValidatorImplements() throws {
        #expect(schema["$schema"]?.stringValue == "https://json-schema.org/draft/2020-12/schema")
        let problems = validator.audit(schema)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func everyMethodHasSamples() throws {
        let s = samples()
        #expect(Set(s.keys) == Set(methods.keys))
        for (name, m) in s {
            // Progress appears in x-methods exactly for the methods that stream it.
            #expect((methods[name]?["progress"] != nil) == !m.progress.isEmpty, "\(name): progress entry and samples disagree")
        }
    }

    /// Every optional field of every message type is set in some sample, so the schema's entry for
    /// each key the Swift types can encode is checked (a HostConfig field added without a schema key
    /// fails here once a sample sets it, and here until one does).
    @Test func samplesSetEveryOptionalField() {
        var coverage = FieldCoverage()
        for (_, m) in samples() {
            for v in m.params + m.results + m.progress { coverage.walk(v) }
        }
        #expect(coverage.set.contains("BerthWire.HostConfig.portBindings"))
        #expect(coverage.neverSet.isEmpty, "optional fields no sample sets: \(coverage.neverSet)")
    }

    @Test(arguments: allMethods)
    func samplesValidate(method: String) throws {
        let m = try #require(samples()[method])
        for p in m.params {
            let json = try wireJSON(p)
            let errs = validator.errors(json, try methodSchema(method, "params"))
            #expect(errs.isEmpty, "\(method) params \(SchemaValidator.show(json)): \(errs)")
        }
        for r in m.results {
            let json = try wireJSON(r)
            let errs = validator.errors(json, try methodSchema(method, "result"))
            #expect(errs.isEmpty, "\(method) result \(SchemaValidator.show(json)): \(errs)")
            // And as a whole response line.
            let line = try wireJSON(ResultEnvelope(id: 7, result: AnyEncodable(r)))
            #expect(validator.errors(line, schema).isEmpty, "\(method) response: \(validator.errors(line, schema))")
        }
        for e in m.progress {
            let json = try wireJSON(e)
            let errs = validator.errors(json, try methodSchema(method, "progress"))
            #expect(errs.isEmpty, "\(method) progress \(SchemaValidator.show(json)): \(errs)")
            // And as a whole notification line.
            let line = try wireJSON(NotificationEnvelope(method: Wire.progressMethod, params: ProgressParams(id: 7, event: AnyEncodable(e))))
            #expect(validator.errors(line, schema).isEmpty, "\(method) notification: \(validator.errors(line, schema))")
        }
        if let p = m.params.first {
            let line = try wireJSON(Request(id: 7, method: method, params: AnyEncodable(p)))
            #expect(validator.errors(line, schema).isEmpty, "\(method) request: \(validator.errors(line, schema))")
        }
    }

    @Test func envelopesValidate() throws {
        let lines: [JSONValue] = [
            try wireJSON(ErrorEnvelope(id: nil, error: .parse("not a JSON-RPC request"))),
            try wireJSON(ErrorEnvelope(id: 3, error: .notFound("No such image: nope:latest"))),
            try wireJSON(ErrorEnvelope(id: 4, error: .methodNotFound("image.nope"))),
            try wireJSON(NotificationEnvelope(method: Wire.progressMethod,
                                              params: ProgressParams(id: 7, event: ProgressEvent(id: "a3ed95caeb02", status: "Extracting", current: 1, total: 2)))),
            try wireJSON(Request(id: 1, method: "system.ping", params: Empty())),
            try wireJSON(ResultEnvelope(id: 1, result: Empty())),
        ]
        for line in lines {
            let errs = validator.errors(line, schema)
            #expect(errs.isEmpty, "\(SchemaValidator.show(line)): \(errs)")
        }
        // The error envelope really sends "id": null, and the schema's ErrorResponse names it.
        #expect(lines[0]["id"] == .null)
        #expect(validator.errors(lines[0], .object(["$ref": .string("#/$defs/ErrorResponse")])).isEmpty)
        #expect(validator.errors(try wireJSON(WireError(code: 409, message: "conflict")), .object(["$ref": .string("#/$defs/WireError")])).isEmpty)
    }

    /// What the daemon really answers, through its own router and a socket: an import, then every
    /// method that needs no registry, each result (and progress event) checked against the schema.
    @Test func liveResponsesValidate() async throws {
        try await withTempDir { dir in
            let daemon = try LifecycleDaemon(options: testDaemonOptions(dir, bridge: "berth-test-sch", chainPrefix: "BERTH-TEST-SCHEMA"))
            let server = try await WireServer.start(path: daemon.options.socket, router: daemon.router())
            let client = try await WireClient.connect(path: server.path)
            func check<P: Encodable & Sendable>(_ method: String, _ params: P) async throws {
                let events = Recorder<RawJSON>()
                let raw = try await client.call(method, params, returning: RawJSON.self, progress: RawJSON.self) { events.append($0) }
                let result = try parse(raw.text)
                let errs = validator.errors(result, try methodSchema(method, "result"))
                #expect(errs.isEmpty, "\(method) result \(raw.text): \(errs)")
                if !events.values.isEmpty {
                    let progress = try methodSchema(method, "progress")
                    for e in events.values {
                        #expect(validator.errors(try parse(e.text), progress).isEmpty, "\(method) progress \(e.text)")
                    }
                }
            }
            do {
                let tar = try makeTar(in: dir, name: "a", files: ["etc/hello.txt": "hello\n", "usr/share/a": "aaa"])
                try await check("image.import", ImageImportParams(
                    path: tar, reference: "app:1", message: "first",
                    changes: [#"CMD ["/bin/app"]"#, #"ENTRYPOINT ["/init"]"#, "ENV A=b", "WORKDIR /srv", "USER app", "LABEL team=core",
                              "EXPOSE 80/tcp", "VOLUME /data", "STOPSIGNAL SIGTERM"]))
                try await check("image.import", ImageImportParams(path: tar))
                try await check("image.build.commit", ImageBuildCommitParams(parent: "app:1", config: ContainerConfig(),
                                                                             createdBy: "/bin/sh -c #(nop)  ENV X=1", cacheKey: "live-key"))
                try await check("image.build.cache", ImageBuildCacheParams(key: "live-key"))
                try await check("image.build.cache", ImageBuildCacheParams(key: "no-such-key"))
                try await check("system.ping", Empty())
                try await check("system.info", Empty())
                try await check("image.tag", ImageTagParams(source: "app:1", target: "app:2"))
                try await check("image.list", ImageListParams())
                try await check("image.list", ImageListParams(filters: ["dangling": ["true"]], all: true))
                try await check("image.inspect", ImageRefParams(reference: "app:1"))
                try await check("image.history", ImageRefParams(reference: "app:1"))
                try await check("snapshot.prepare", SnapshotPrepareParams(key: "c1", image: "app:1"))
                try await check("snapshot.remove", SnapshotKeyParams(key: "c1"))
                try await check("image.save", ImageSaveParams(references: ["app:1"], path: dir + "/saved.tar"))
                try await check("image.remove", ImageRemoveParams(reference: "app:2"))
                try await check("image.remove", ImageRemoveParams(reference: "app:1"))
                try await check("image.load", ImageLoadParams(path: dir + "/saved.tar"))
                try await check("image.prune", ImagePruneParams(all: true))
                try await check("system.gc", Empty())
                try await check("volume.create", VolumeCreateParams(name: "data", labels: ["team": "core"]))
                try await check("volume.create", VolumeCreateParams())
                try await check("volume.inspect", VolumeNameParams(name: "data"))
                try await check("volume.list", VolumeListParams())
                try await check("volume.list", VolumeListParams(filters: ["dangling": ["true"], "label": ["team"]]))
                try await check("volume.prune", VolumePruneParams())
                try await check("volume.remove", VolumeRemoveParams(name: "data"))
                try await check("volume.remove", VolumeRemoveParams(name: "data", force: true))
                try await check("container.list", ContainerListParams(all: true, filters: ["status": ["exited"]]))
                try await check("network.create", NetworkCreateParams(name: "berth-schema-a", labels: ["team": "core"]))
                try await check("network.create", NetworkCreateParams(
                    name: "berth-schema-b", internal: true,
                    ipam: IPAM(config: [IPAMPool(subnet: "198.51.100.0/24", ipRange: "198.51.100.128/25", gateway: "198.51.100.254")])))
                try await check("network.inspect", NetworkRefParams(id: "berth-schema-b"))
                try await check("network.inspect", NetworkRefParams(id: "bridge"))
                try await check("network.inspect", NetworkRefParams(id: "none"))
                try await check("network.list", NetworkListParams())
                try await check("network.list", NetworkListParams(filters: ["type": ["custom"], "label": ["team"], "dangling": ["true"]]))
                try await check("network.remove", NetworkRefParams(id: "berth-schema-a"))
                try await check("network.prune", NetworkPruneParams(filters: ["label!": ["keep"]]))
                try await check("network.prune", NetworkPruneParams())
                // connect and disconnect need a container (and root); their params get as far as the lookup.
                func expectNoSuchContainer<P: Encodable & Sendable>(_ method: String, _ params: P) async throws {
                    do {
                        _ = try await client.call(method, params, returning: RawJSON.self)
                        Issue.record("\(method) of a missing container succeeded")
                    } catch let e as WireError {
                        #expect(e.code == 404 && e.message.contains("nosuch"), "\(method): \(e.code) \(e.message)")
                        #expect(validator.errors(try wireJSON(e), .object(["$ref": .string("#/$defs/WireError")])).isEmpty)
                    }
                }
                try await expectNoSuchContainer("network.connect", NetworkConnectParams(network: "bridge", container: "nosuch"))
                try await expectNoSuchContainer("network.disconnect", NetworkDisconnectParams(network: "bridge", container: "nosuch", force: true))
                // A window in the past: the kept events (the image events above, if published), then the end.
                try await check("system.events", EventsParams(since: "0", until: String(Int(Date().timeIntervalSince1970))))
            } catch {
                await client.close(); await server.close(); await daemon.shutdown()
                throw error
            }
            await client.close(); await server.close(); await daemon.shutdown()
        }
    }

    // MARK: the validator can fail

    @Test func missingRequiredKeysAndWrongTypesFail() throws {
        let pull = try wireJSON(samples()["image.pull"]!.results[0])
        let pullSchema = try methodSchema("image.pull", "result")
        #expect(validator.errors(pull, pullSchema).isEmpty)

        let noID = validator.errors(pull.setting("id", nil), pullSchema)
        #expect(noID.contains { $0.contains("missing required key \"id\"") }, "\(noID)")
        #expect(!validator.errors(pull.setting("status", .int(1)), pullSchema).isEmpty)
        #expect(!validator.errors(pull.setting("digest", .string("sha256:abc")), pullSchema).isEmpty)
        #expect(!validator.errors(pull.setting("extra", .bool(true)), pullSchema).isEmpty)
        #expect(!validator.errors(.array([pull]), pullSchema).isEmpty)

        let summary = try wireJSON(ImageSummary(id: digest("c"), repoTags: [], repoDigests: [], created: 1, size: 2, labels: [:], containers: 0))
        let listSchema = try methodSchema("image.list", "result")
        #expect(validator.errors(.array([summary]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("size", .string("2"))]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("created", .double(1.5))]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("repoTags", .array([.int(1)]))]), listSchema).isEmpty)

        // Docker's capitalised keys: a lowercase "cmd" is not part of ContainerConfig.
        let inspect = try wireJSON(sampleInspect(full: true))
        let inspectSchema = try methodSchema("image.inspect", "result")
        #expect(validator.errors(inspect, inspectSchema).isEmpty)
        let config = try #require(inspect["config"])
        #expect(config["Cmd"] != nil)
        #expect(!validator.errors(inspect.setting("config", config.setting("cmd", .array([.string("sh")]))), inspectSchema).isEmpty)
        let rootFS = try #require(inspect["rootFS"])
        #expect(!validator.errors(inspect.setting("rootFS", rootFS.setting("diff_ids", nil)), inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("rootFS", rootFS.setting("diff_ids", .array([.string("sha512:00")]))), inspectSchema).isEmpty)

        // ImageDeleteItem: exactly one of untagged / deleted.
        let removeSchema = try methodSchema("image.remove", "result")
        #expect(!validator.errors(.array([.object([:])]), removeSchema).isEmpty)
        #expect(!validator.errors(.array([.object(["untagged": .string("a:1"), "deleted": .string(digest("x"))])]), removeSchema).isEmpty)

        // HistoryEntry's id: a digest or "<missing>".
        let history = try wireJSON(samples()["image.history"]!.results[0] as! [HistoryEntry])
        let historySchema = try methodSchema("image.history", "result")
        #expect(validator.errors(history, historySchema).isEmpty)
        let bad = history.arrayValue!.map { $0.setting("id", .string("missing")) }
        #expect(!validator.errors(.array(bad), historySchema).isEmpty)

        // Envelopes: a string id, the wrong jsonrpc version, a response with both result and error.
        let error = try wireJSON(ErrorEnvelope(id: 1, error: .notFound("x")))
        #expect(validator.errors(error, schema).isEmpty)
        #expect(!validator.errors(error.setting("id", .string("1")), schema).isEmpty)
        #expect(!validator.errors(error.setting("jsonrpc", .string("1.0")), schema).isEmpty)
        #expect(!validator.errors(error.setting("result", .object([:])), schema).isEmpty)
        #expect(!validator.errors(error.setting("error", .object(["code": .int(1)])), schema).isEmpty)
        let progress = try wireJSON(NotificationEnvelope(method: Wire.progressMethod, params: ProgressParams(id: 1, event: ProgressEvent(status: "x"))))
        #expect(validator.errors(progress, schema).isEmpty)
        #expect(!validator.errors(progress.setting("method", .string("image.pull")), schema).isEmpty)
        #expect(!validator.errors(progress.setting("params", .object(["id": .int(1), "event": .object(["current": .int(1)])])), schema).isEmpty)

        // Params: a missing required key, a malformed platform, an unknown list filter.
        let pullParams = try methodSchema("image.pull", "params")
        #expect(!validator.errors(.object([:]), pullParams).isEmpty)
        #expect(!validator.errors(.object(["reference": .string("a"), "platform": .string("linux")]), pullParams).isEmpty)
        #expect(!validator.errors(.object(["filters": .object(["nope": .array([])])]), try methodSchema("image.list", "params")).isEmpty)
    }

    @Test func containerVolumeAndEventShapesAreChecked() throws {
        // Docker's capitalised keys and the wire's camelCase ones are not interchangeable.
        let inspect = try wireJSON(sampleContainerInspect(running: true))
        let inspectSchema = try methodSchema("container.inspect", "result")
        #expect(validator.errors(inspect, inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("id", inspect["Id"]).setting("Id", nil), inspectSchema).isEmpty)
        let hostConfig = try #require(inspect["HostConfig"])
        #expect(hostConfig["PortBindings"]?["53/udp"] == .null)
        #expect(!validator.errors(inspect.setting("HostConfig", hostConfig.setting("memory", .int(1))), inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("HostConfig", hostConfig.setting("Memory", .string("1g"))), inspectSchema).isEmpty)
        let rp = try #require(hostConfig["RestartPolicy"])
        #expect(!validator.errors(inspect.setting("HostConfig", hostConfig.setting("RestartPolicy", rp.setting("Name", .string("sometimes")))), inspectSchema).isEmpty)
        let state = try #require(inspect["State"])
        #expect(!validator.errors(inspect.setting("State", state.setting("Status", .string("stopped"))), inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("State", state.setting("Pid", nil)), inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("Id", .string("web")), inspectSchema).isEmpty)

        let create = try wireJSON(ContainerCreateRequest(name: "web", config: fullCreateParams()))
        let createSchema = try methodSchema("container.create", "params")
        #expect(validator.errors(create, createSchema).isEmpty)
        #expect(!validator.errors(create.setting("config", nil), createSchema).isEmpty)
        let config = try #require(create["config"])
        #expect(!validator.errors(create.setting("config", config.setting("Cmd", .string("sh"))), createSchema).isEmpty)
        #expect(!validator.errors(create.setting("config", config.setting("Tty", .string("true"))), createSchema).isEmpty)

        // Streams: a log entry from "stdin", an event without its actor, a ProgressEvent sent as a log.
        let logs = try methodSchema("container.logs", "progress")
        #expect(!validator.errors(.object(["entries": .array([.object(["stream": .string("stdin"), "log": .string("x"), "time": .string("t")])])]), logs).isEmpty)
        #expect(!validator.errors(try wireJSON(ProgressEvent(status: "x")), logs).isEmpty)
        let event = try wireJSON(volumeAndEventSamples()["system.events"]!.progress[0] as! Event)
        let eventSchema = try methodSchema("system.events", "progress")
        #expect(validator.errors(event, eventSchema).isEmpty)
        #expect(event["status"] == .string("start") && event["from"] == .string("nginx:1.25"))
        #expect(!validator.errors(event.setting("Actor", nil), eventSchema).isEmpty)
        #expect(!validator.errors(event.setting("timeNano", .string("1")), eventSchema).isEmpty)

        // Enumerated values: change kinds, wait conditions, filter keys, volume driver options.
        let changes = try methodSchema("container.changes", "result")
        #expect(!validator.errors(.array([.object(["Path": .string("/x"), "Kind": .int(3)])]), changes).isEmpty)
        #expect(!validator.errors(.object(["id": .string("web"), "condition": .string("exited")]), try methodSchema("container.wait", "params")).isEmpty)
        #expect(!validator.errors(.object(["filters": .object(["colour": .array([])])]), try methodSchema("container.list", "params")).isEmpty)
        #expect(!validator.errors(.object(["DriverOpts": .object(["size": .string("1g")])]), try methodSchema("volume.create", "params")).isEmpty)
        #expect(!validator.errors(.object(["filters": .object(["dangling": .array([])])]), try methodSchema("volume.prune", "params")).isEmpty)

        // Volume results use Docker's keys; exec IDs are 64 hex.
        let volume = try wireJSON(Volume(name: "data", driver: "local", mountpoint: "/v/data/_data", labels: [:], options: [:]))
        let volumeSchema = try methodSchema("volume.inspect", "result")
        #expect(validator.errors(volume, volumeSchema).isEmpty)
        #expect(!validator.errors(volume.setting("mountpoint", .string("/x")), volumeSchema).isEmpty)
        #expect(!validator.errors(volume.setting("Driver", .string("nfs")), volumeSchema).isEmpty)
        #expect(!validator.errors(.object(["execId": .string("abc")]), try methodSchema("exec.inspect", "params")).isEmpty)
        let stats = try wireJSON(sampleStats(running: true))
        #expect(!validator.errors(stats.setting("cpuStats", stats["cpu_stats"]), try methodSchema("container.stats", "result")).isEmpty)
    }

    @Test func networkShapesAreChecked() throws {
        let network = try wireJSON(sampleNetwork(containers: true))
        let inspectSchema = try methodSchema("network.inspect", "result")
        #expect(validator.errors(network, inspectSchema).isEmpty)
        #expect(!validator.errors(network.setting("Driver", .string("overlay")), inspectSchema).isEmpty)
        #expect(!validator.errors(network.setting("Containers", nil), inspectSchema).isEmpty)
        #expect(!validator.errors(network.setting("Id", .string("berth-a")), inspectSchema).isEmpty)
        let member = try #require(network["Containers"]?[containerID])
        #expect(!validator.errors(network.setting("Containers", .object([containerID: member.setting("IPv4Address", .string("172.18.0.5"))])), inspectSchema).isEmpty)
        #expect(!validator.errors(.object(["filters": .object(["type": .array([.string("other")])])]), try methodSchema("network.list", "params")).isEmpty)
        #expect(!validator.errors(.object(["network": .string("a")]), try methodSchema("network.connect", "params")).isEmpty)
        #expect(!validator.errors(.object(["Name": .string("a"), "Subnet": .string("10.0.0.0/8")]), try methodSchema("network.create", "params")).isEmpty)
        #expect(!validator.errors(.object(["NetworksDeleted": .null]), try methodSchema("network.prune", "result")).isEmpty)

        // Inspect's and list's network parts.
        let inspect = try wireJSON(sampleContainerInspect(running: true))
        let containerSchema = try methodSchema("container.inspect", "result")
        let settings = try #require(inspect["NetworkSettings"])
        #expect(settings["Ports"]?["53/udp"] == .null && settings["IPAddress"] == .string("10.87.0.2"))
        #expect(!validator.errors(inspect.setting("NetworkSettings", nil), containerSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("NetworkSettings", settings.setting("Ports", .object(["80/tcp": .string("8080")]))), containerSchema).isEmpty)
        let endpoint = try #require(settings["Networks"]?["berth-a"])
        #expect(!validator.errors(inspect.setting("NetworkSettings", settings.setting("Networks", .object(["berth-a": endpoint.setting("IPPrefixLen", .string("16"))]))), containerSchema).isEmpty)
        let rows = try wireJSON(samples()["container.list"]!.results[1] as! [ContainerSummary])
        let listSchema = try methodSchema("container.list", "result")
        #expect(validator.errors(rows, listSchema).isEmpty)
        let row = try #require(rows.arrayValue?.first)
        #expect(!validator.errors(.array([row.setting("NetworkSettings", nil)]), listSchema).isEmpty)
        #expect(!validator.errors(.array([row.setting("Ports", .array([.object(["PublicPort": .int(80)])]))]), listSchema).isEmpty)
    }

    @Test func validatorBasics() {
        let v = SchemaValidator(root: .object([:]))
        func ok(_ value: JSONValue, _ schema: [String: JSONValue]) -> Bool { v.errors(value, .object(schema)).isEmpty }
        #expect(ok(.int(3), ["type": .string("integer")]))
        #expect(ok(.double(3.0), ["type": .string("integer")]))
        #expect(!ok(.double(3.5), ["type": .string("integer")]))
        #expect(!ok(.bool(true), ["type": .string("integer")]))
        #expect(ok(.null, ["type": .array([.string("integer"), .string("null")])]))
        #expect(!ok(.string("x"), ["type": .array([.string("integer"), .string("null")])]))
        #expect(ok(.string("b"), ["enum": .array([.string("a"), .string("b")])]))
        #expect(!ok(.string("c"), ["enum": .array([.string("a"), .string("b")])]))
        #expect(!ok(.string("xy"), ["pattern": .string("^x$")]))
        #expect(!ok(.int(1), ["$ref": .string("#/$defs/Nope")]))
        #expect(!ok(.int(1), ["oneOf": .array([.object([:]), .object(["type": .string("integer")])])]))
        #expect(ok(.int(1), ["anyOf": .array([.object(["type": .string("string")]), .object(["type": .string("integer")])])]))
        #expect(!ok(.object(["a": .int(1)]), ["additionalProperties": .bool(false)]))
        #expect(!ok(.array([.int(1), .string("x")]), ["items": .object(["type": .string("integer")])]))
        #expect(v.audit(.object(["minimum": .int(1)])) == ["#: unsupported keyword minimum"])
    }
}

/// Lets an existential sample go where the wire's generic envelopes want a concrete type.
private struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
