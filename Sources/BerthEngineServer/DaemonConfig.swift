import BerthWire
import Foundation

/// berthd's settings once its flags and its daemon.json (dockerd's keys) are merged.
struct DaemonSettings: Equatable, Sendable {
    var hosts: [String] = []
    var dataRoot = "/var/lib/berth"
    var execRoot = "/run/berth"
    var pidfile: String?
    var debug = false
    var logLevel: LogLevel = .info
    var insecureRegistries: [String] = []
    var registryMirrors: [String] = []
    var bip: String?
    var bridge: String?
    /// `base=10.88.0.0/13,size=20`, as berth-lifecycled takes them.
    var defaultAddressPools: [String] = []
    var defaultUlimits: [Ulimit] = []
    /// Always in effect: containers' monitors outlive both daemons. Kept to report it.
    var liveRestore = true
    var group = "berth"
    var cgroupParent: String?
}

/// dockerd's `--log-level` values.
enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug, info, warn, error, fatal
    init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        case "fatal", "panic": self = .fatal
        default: return nil
        }
    }
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// What the command line set: nil, empty or false is "not given", so a daemon.json key may set it.
struct DaemonFlags: Sendable {
    var hosts: [String] = []
    var dataRoot: String?
    var execRoot: String?
    var pidfile: String?
    var debug = false
    var logLevel: String?
    var insecureRegistries: [String] = []
    var registryMirrors: [String] = []
    var bip: String?
    var bridge: String?
    var defaultAddressPools: [String] = []
    var defaultUlimits: [String] = []
    var liveRestore = false
    var group: String?
    var cgroupParent: String?
}

struct DaemonConfigError: Error, CustomStringConvertible, Equatable {
    var description: String
    init(_ d: String) { description = d }
}

enum DaemonConfig {
    static let defaultFile = "/etc/berth/daemon.json"

    /// The daemon.json keys berthd knows, with the flag each one mirrors.
    static let keys: [String: String] = [
        "hosts": "host", "data-root": "data-root", "exec-root": "exec-root", "pidfile": "pidfile", "debug": "debug",
        "log-level": "log-level", "insecure-registries": "insecure-registry", "registry-mirrors": "registry-mirror",
        "bip": "bip", "bridge": "bridge", "default-address-pools": "default-address-pool",
        "default-ulimits": "default-ulimit", "live-restore": "live-restore", "group": "group", "cgroup-parent": "cgroup-parent",
    ]

    /// Reads `path`; a missing file is no configuration unless the user named it (`explicit`).
    static func load(path: String, explicit: Bool) throws(DaemonConfigError) -> [String: JSONValue]? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !explicit && !FileManager.default.fileExists(atPath: path) { return nil }
            throw DaemonConfigError("unable to configure the berth daemon with file \(path): open \(path): no such file or cannot be read")
        }
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let o) = v else {
            throw DaemonConfigError("unable to configure the berth daemon with file \(path): invalid JSON: want one object")
        }
        return o
    }

    /// Flags over defaults, then the file's keys; a key set both ways is dockerd's error.
    static func resolve(flags f: DaemonFlags, file: [String: JSONValue]?, path: String = defaultFile) throws(DaemonConfigError) -> DaemonSettings {
        var s = DaemonSettings()
        s.hosts = f.hosts
        if let v = f.dataRoot { s.dataRoot = v }
        if let v = f.execRoot { s.execRoot = v }
        s.pidfile = f.pidfile
        s.debug = f.debug
        s.insecureRegistries = f.insecureRegistries
        s.registryMirrors = f.registryMirrors
        s.bip = f.bip
        s.bridge = f.bridge
        s.defaultAddressPools = f.defaultAddressPools
        if let v = f.group { s.group = v }
        s.cgroupParent = f.cgroupParent
        var level = f.logLevel
        var ulimits = f.defaultUlimits.map { ($0, "--default-ulimit") }

        if let file {
            func fail(_ m: String) -> DaemonConfigError { DaemonConfigError("unable to configure the berth daemon with file \(path): \(m)") }
            let unknown = file.keys.filter { keys[$0] == nil }.sorted()
            if !unknown.isEmpty { throw fail("the following directives don't match any configuration option: \(unknown.joined(separator: ", "))") }
            // What each flag was given as, for the conflict message.
            let given: [String: String?] = [
                "hosts": f.hosts.isEmpty ? nil : "\(f.hosts)", "data-root": f.dataRoot, "exec-root": f.execRoot, "pidfile": f.pidfile,
                "debug": f.debug ? "true" : nil, "log-level": f.logLevel,
                "insecure-registries": f.insecureRegistries.isEmpty ? nil : "\(f.insecureRegistries)",
                "registry-mirrors": f.registryMirrors.isEmpty ? nil : "\(f.registryMirrors)", "bip": f.bip, "bridge": f.bridge,
                "default-address-pools": f.defaultAddressPools.isEmpty ? nil : "\(f.defaultAddressPools)",
                "default-ulimits": f.defaultUlimits.isEmpty ? nil : "\(f.defaultUlimits)",
                "live-restore": f.liveRestore ? "true" : nil, "group": f.group, "cgroup-parent": f.cgroupParent,
            ]
            let conflicts = file.keys.sorted().compactMap { k -> String? in
                guard let flag = given[k] ?? nil else { return nil }
                return "\(k): (from flag: \(flag), from file: \(render(file[k]!)))"
            }
            if !conflicts.isEmpty {
                throw fail("the following directives are specified both as a flag and in the configuration file: \(conflicts.joined(separator: ", "))")
            }
            func string(_ k: String) throws(DaemonConfigError) -> String? {
                guard let v = file[k] else { return nil }
                guard case .string(let x) = v else { throw fail("\(k): want a string") }
                return x
            }
            func strings(_ k: String) throws(DaemonConfigError) -> [String]? {
                guard let v = file[k] else { return nil }
                guard case .array(let a) = v else { throw fail("\(k): want an array of strings") }
                var out: [String] = []
                for e in a {
                    guard case .string(let x) = e else { throw fail("\(k): want an array of strings") }
                    out.append(x)
                }
                return out
            }
            func bool(_ k: String) throws(DaemonConfigError) -> Bool? {
                guard let v = file[k] else { return nil }
                guard case .bool(let x) = v else { throw fail("\(k): want true or false") }
                return x
            }
            if let v = try strings("hosts") { s.hosts = v }
            if let v = try string("data-root") { s.dataRoot = v }
            if let v = try string("exec-root") { s.execRoot = v }
            if let v = try string("pidfile") { s.pidfile = v }
            if let v = try bool("debug") { s.debug = v }
            if let v = try string("log-level") { level = v }
            if let v = try strings("insecure-registries") { s.insecureRegistries = v }
            if let v = try strings("registry-mirrors") { s.registryMirrors = v }
            if let v = try string("bip") { s.bip = v }
            if let v = try string("bridge") { s.bridge = v }
            if let v = try bool("live-restore") { s.liveRestore = v }
            if let v = try string("group") { s.group = v }
            if let v = try string("cgroup-parent") { s.cgroupParent = v }
            if let v = file["default-address-pools"] {
                guard case .array(let a) = v else { throw fail("default-address-pools: want [{\"base\": \"10.88.0.0/13\", \"size\": 20}]") }
                for e in a {
                    guard case .object(let o) = e, case .string(let base)? = o["base"], case .int(let size)? = o["size"], o.count == 2 else {
                        throw fail("default-address-pools: want [{\"base\": \"10.88.0.0/13\", \"size\": 20}], got \(render(e))")
                    }
                    s.defaultAddressPools.append("base=\(base),size=\(size)")
                }
            }
            if let v = file["default-ulimits"] {
                guard case .object(let o) = v else { throw fail("default-ulimits: want {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 64000, \"Soft\": 64000}}") }
                for (name, e) in o.sorted(by: { $0.key < $1.key }) {
                    guard case .object(let u) = e, case .int(let hard)? = u["Hard"], case .int(let soft)? = u["Soft"] else {
                        throw fail("default-ulimits: \(name): want {\"Name\", \"Hard\", \"Soft\"}")
                    }
                    if case .string(let n)? = u["Name"], n != name { throw fail("default-ulimits: \(name): its Name is \(n)") }
                    ulimits.append(("\(name)=\(soft):\(hard)", "default-ulimits"))
                }
            }
        }
        if let level {
            guard let l = LogLevel(name: level) else { throw DaemonConfigError("unable to parse logging level: \(level)") }
            s.logLevel = l
        }
        if s.debug { s.logLevel = .debug }
        for (u, origin) in ulimits {
            do { s.defaultUlimits.append(try parseUlimit(u)) } catch { throw DaemonConfigError("\(origin): \(error.description)") }
        }
        return s
    }

    static func render(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return (try? e.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    /// The ulimit names dockerd (go-units) knows.
    static let ulimitNames: Set<String> = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
                                           "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]

    /// `name=soft[:hard]`, as go-units' ParseUlimit.
    static func parseUlimit(_ s: String) throws(DaemonConfigError) -> Ulimit {
        let parts = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw DaemonConfigError("invalid ulimit argument: \(s)") }
        let name = String(parts[0])
        guard ulimitNames.contains(name) else { throw DaemonConfigError("invalid ulimit type: \(name)") }
        let limits = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(limits.count), let soft = Int64(limits[0]), let hard = Int64(limits.last!) else {
            throw DaemonConfigError("invalid ulimit argument: \(s)")
        }
        if soft > hard && hard != -1 { throw DaemonConfigError("ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)") }
        return Ulimit(name: name, soft: soft, hard: hard)
    }

    /// A container create body with the daemon's default ulimits for the names it does not set.
    static func withDefaultUlimits(_ body: JSONValue, _ defaults: [Ulimit]) -> JSONValue {
        guard !defaults.isEmpty, case .object(var o) = body else { return body }
        var hc: [String: JSONValue] = [:]
        if case .object(let h)? = o["HostConfig"] { hc = h }
        var list: [JSONValue] = []
        if case .array(let a)? = hc["Ulimits"] { list = a }
        let named = Set(list.compactMap { v -> String? in
            if case .object(let u) = v, case .string(let n)? = u["Name"] { return n }
            return nil
        })
        for u in defaults where !named.contains(u.name) {
            list.append(.object(["Name": .string(u.name), "Soft": .int(u.soft), "Hard": .int(u.hard)]))
        }
        hc["Ulimits"] = .array(list)
        o["HostConfig"] = .object(hc)
        return .object(o)
    }
}

/// An address berthd listens on (`-H`).
enum ListenAddress: Equatable, Sendable {
    case unix(String)
    case tcp(host: String, port: Int)

    static let defaultSocket = "/run/berth/berth.sock"

    /// dockerd's forms: `unix:///path`, `tcp://host:port` (host defaults to 127.0.0.1, port to 2375),
    /// `fd://` refused (no systemd socket activation here).
    static func parse(_ s: String) throws(DaemonConfigError) -> ListenAddress {
        if s.hasPrefix("unix://") {
            let p = String(s.dropFirst("unix://".count))
            return .unix(p.isEmpty ? defaultSocket : p)
        }
        if s.hasPrefix("/") { return .unix(s) }
        if s.hasPrefix("tcp://") || s.hasPrefix("http://") {
            var rest = String(s.drop(while: { $0 != ":" }).dropFirst(3))
            while rest.hasSuffix("/") { rest.removeLast() }
            var host = rest, port = 2375
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { throw DaemonConfigError("invalid bind address format: \(s)") }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()) else { throw DaemonConfigError("invalid bind address format: \(s)") }
                    port = p
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let p = Int(rest[rest.index(after: colon)...]) else { throw DaemonConfigError("invalid bind address format: \(s)") }
                port = p
            }
            guard (1...65535).contains(port), !host.contains("/") else { throw DaemonConfigError("invalid bind address format: \(s)") }
            return .tcp(host: host.isEmpty ? "127.0.0.1" : host, port: port)
        }
        if s.hasPrefix("fd://") {
            throw DaemonConfigError("fd:// (systemd socket activation) is not supported: listen with -H unix:///path or -H tcp://host:port")
        }
        throw DaemonConfigError("invalid bind address format: \(s)")
    }
}
