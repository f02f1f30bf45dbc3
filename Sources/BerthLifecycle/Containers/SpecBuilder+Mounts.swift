import BerthOCI
import BerthWire

// Mounts, as dockerd 20.10: the default spec's (oci/defaults.go), then the container's binds,
// volumes and tmpfs (volume/mounts linuxParser, daemon/oci_linux.go WithMounts).

/// A mount the container asked for (daemon/container.Mount).
struct UserMount {
    var destination: String
    var source: String
    var writable: Bool
    /// "" or a propagation mode.
    var propagation: String
    var nonRecursive = false
    /// Options of a tmpfs; nil for a bind.
    var tmpfsData: String?
    /// A named volume (resolved to `source` later), or "" for an anonymous one; nil for binds.
    var volumeName: String?
}

extension SpecBuilder {
    /// Docker's default mounts, in its order (oci/defaults.go); /dev/shm gets its size later.
    public static let defaultMounts: [Mount] = [
        Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
              options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        Mount(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777"]),
    ]

    static let propagationModes: Set<String> = ["private", "rprivate", "shared", "rshared", "slave", "rslave"]

    /// The named volumes (by name) and anonymous volumes (by destination) a container needs,
    /// after the merge with its image: create them, then pass their paths in `ContainerSpecInput`.
    public static func requiredVolumes(_ merged: ContainerCreateParams) throws(SpecBuildError) -> (named: [String], anonymous: [String]) {
        let points = try mountPoints(merged)
        let named = points.compactMap { $0.volumeName.flatMap { $0.isEmpty ? nil : $0 } }
        let anonymous = points.filter { $0.volumeName == "" }.map(\.destination)
        var seen = Set<String>()
        return (named.filter { seen.insert($0).inserted }, anonymous)
    }

    /// Binds, Mounts (bind and volume) and the anonymous volumes of `Volumes`, by destination;
    /// tmpfs destinations excluded.
    static func mountPoints(_ c: ContainerCreateParams) throws(SpecBuildError) -> [UserMount] {
        let hc = c.hostConfig ?? HostConfig()
        var points: [String: UserMount] = [:]
        func add(_ m: UserMount, field: String) throws(SpecBuildError) {
            guard points[m.destination] == nil else {
                throw SpecBuildError(field: field, message: "Duplicate mount point: \(m.destination)")
            }
            points[m.destination] = m
        }
        for raw in hc.binds ?? [] { try add(parseBind(raw), field: "HostConfig.Binds") }
        for m in hc.mounts ?? [] where m.type != "tmpfs" { try add(parseMount(m), field: "HostConfig.Mounts") }
        let tmpfs = Set(try tmpfsMounts(hc).map(\.destination))
        for dest in (c.volumes ?? [:]).keys.sorted() {
            let d = cleanPath(dest)
            guard dest.hasPrefix("/") else {
                throw SpecBuildError(field: "Volumes", message: "invalid mount config for type \"volume\": invalid mount path: '\(dest)' mount path must be absolute")
            }
            if points[d] == nil && !tmpfs.contains(d) {
                points[d] = UserMount(destination: d, source: "", writable: true, propagation: "", volumeName: "")
            }
        }
        return points.keys.sorted().compactMap { tmpfs.contains($0) ? nil : points[$0] }
    }

    /// `src:dst[:mode]` or `name:dst[:mode]` (volume/mounts linuxParser.ParseMountRaw).
    static func parseBind(_ raw: String) throws(SpecBuildError) -> UserMount {
        func fail(_ m: String) -> SpecBuildError { SpecBuildError(field: "HostConfig.Binds", message: m) }
        let invalid = fail("invalid volume specification: '\(raw)'")
        let arr = raw.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard let first = arr.first, !first.isEmpty, (2...3).contains(arr.count) else { throw invalid }
        let source = arr[0], target = arr[1], mode = arr.count == 3 ? arr[2] : ""
        var readOnly = false, propagation: String? = nil
        var seenRW = false
        for m in mode.split(separator: ",", omittingEmptySubsequences: false) where !mode.isEmpty {
            switch m {
            case "rw", "ro":
                if seenRW { throw fail("invalid mode: \(mode)") }
                seenRW = true; readOnly = m == "ro"
            case "z", "Z", "nocopy", "copy": break
            case let p where propagationModes.contains(String(p)):
                if propagation != nil { throw fail("invalid mode: \(mode)") }
                propagation = String(p)
            default: throw fail("invalid mode: \(mode)")
            }
        }
        let isBind = source.hasPrefix("/")
        let type = isBind ? "bind" : "volume"
        guard target.hasPrefix("/") else {
            throw fail("invalid volume specification: '\(raw)': invalid mount config for type \"\(type)\": invalid mount path: '\(target)' mount path must be absolute")
        }
        let dest = cleanPath(target)
        guard dest != "/" else { throw fail("invalid volume specification: '\(raw)': invalid mount config for type \"\(type)\": invalid specification: destination can't be '/'") }
        if isBind {
            return UserMount(destination: dest, source: cleanPath(source), writable: !readOnly, propagation: propagation ?? "rprivate")
        }
        return UserMount(destination: dest, source: "", writable: !readOnly, propagation: propagation ?? "", volumeName: source)
    }

    /// One HostConfig.Mounts entry of type bind or volume (linuxParser.ParseMountSpec).
    static func parseMount(_ m: MountSpec) throws(SpecBuildError) -> UserMount {
        let type = m.type ?? ""
        func fail(_ why: String) -> SpecBuildError {
            SpecBuildError(field: "HostConfig.Mounts", message: "invalid mount config for type \"\(type)\": \(why)")
        }
        let target = m.target ?? ""
        guard !target.isEmpty else { throw fail("field Target must not be empty") }
        guard target.hasPrefix("/") else { throw fail("invalid mount path: '\(target)' mount path must be absolute") }
        let dest = cleanPath(target)
        switch type {
        case "bind":
            guard let src = m.source, !src.isEmpty else { throw fail("field Source must not be empty") }
            guard src.hasPrefix("/") else { throw fail("invalid mount path: '\(src)' mount path must be absolute") }
            if m.volumeOptions != nil { throw fail("field VolumeOptions must not be specified") }
            if m.tmpfsOptions != nil { throw fail("field TmpfsOptions must not be specified") }
            let propagation = m.bindOptions?.propagation.flatMap { $0.isEmpty ? nil : $0 } ?? "rprivate"
            guard propagationModes.contains(propagation) else { throw fail("invalid propagation mode: \(propagation)") }
            return UserMount(destination: dest, source: cleanPath(src), writable: !(m.readOnly ?? false),
                             propagation: propagation, nonRecursive: m.bindOptions?.nonRecursive ?? false)
        case "volume":
            if m.bindOptions != nil { throw fail("field BindOptions must not be specified") }
            if m.tmpfsOptions != nil { throw fail("field TmpfsOptions must not be specified") }
            return UserMount(destination: dest, source: "", writable: !(m.readOnly ?? false), propagation: "",
                             volumeName: m.source ?? "")
        default:
            throw SpecBuildError(field: "HostConfig.Mounts", message: "mount type unknown: \"\(type)\"")
        }
    }

    /// HostConfig.Tmpfs and the tmpfs entries of HostConfig.Mounts (container.TmpfsMounts).
    static func tmpfsMounts(_ hc: HostConfig) throws(SpecBuildError) -> [UserMount] {
        var out: [UserMount] = []
        for (dest, data) in (hc.tmpfs ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard dest.hasPrefix("/") else {
                throw SpecBuildError(field: "HostConfig.Tmpfs", message: "invalid mount config for type \"tmpfs\": invalid mount path: '\(dest)' mount path must be absolute")
            }
            out.append(UserMount(destination: cleanPath(dest), source: "tmpfs", writable: true, propagation: "", tmpfsData: data))
        }
        for m in hc.mounts ?? [] where m.type == "tmpfs" {
            let target = m.target ?? ""
            guard target.hasPrefix("/") else {
                throw SpecBuildError(field: "HostConfig.Mounts", message: "invalid mount config for type \"tmpfs\": invalid mount path: '\(target)' mount path must be absolute")
            }
            if !(m.source ?? "").isEmpty {
                throw SpecBuildError(field: "HostConfig.Mounts", message: "invalid mount config for type \"tmpfs\": field Source must not be specified")
            }
            var raw: [String] = []
            if m.readOnly == true { raw.append("ro") }
            if let mode = m.tmpfsOptions?.mode, mode != 0 { raw.append("mode=" + String(mode, radix: 8)) }
            if let size = m.tmpfsOptions?.sizeBytes, size != 0 {
                var s = size, suffix = ""
                for (sfx, div) in [("g", Int64(1) << 30), ("m", 1 << 20), ("k", 1 << 10)] where s % div == 0 {
                    s /= div; suffix = sfx; break
                }
                raw.append("size=\(s)\(suffix)")
            }
            out.append(UserMount(destination: cleanPath(target), source: "tmpfs", writable: !(m.readOnly ?? false),
                                 propagation: "", tmpfsData: raw.joined(separator: ",")))
        }
        return out
    }

    /// mount.MergeTmpfsOptions: later options win, one propagation mode, data options checked.
    static func mergeTmpfsOptions(_ options: [String]) throws(SpecBuildError) -> [String] {
        let flagKey: [String: String] = [
            "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid", "dev": "nodev", "nodev": "nodev",
            "exec": "noexec", "noexec": "noexec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
            "remount": "remount", "mand": "mand", "nomand": "mand", "atime": "noatime", "noatime": "noatime",
            "diratime": "nodiratime", "nodiratime": "nodiratime", "bind": "bind", "rbind": "rbind",
            "relatime": "relatime", "norelatime": "relatime", "strictatime": "strictatime", "nostrictatime": "strictatime",
            "unbindable": "propagation", "runbindable": "propagation", "private": "propagation", "rprivate": "propagation",
            "shared": "propagation", "rshared": "propagation", "slave": "propagation", "rslave": "propagation",
        ]
        let dataKeys: Set<String> = ["", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"]
        var flags = Set<String>(), data = Set<String>()
        var out: [String] = []
        for option in options.reversed() where option != "defaults" {
            if let key = flagKey[option] {
                if flags.insert(key).inserted { out.insert(option, at: 0) }
                continue
            }
            let kv = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, dataKeys.contains(String(kv[0])) else {
                throw SpecBuildError(field: "HostConfig.Tmpfs", message: "Invalid tmpfs option \(kv.map(String.init))")
            }
            if data.insert(String(kv[0])).inserted { out.insert(option, at: 0) }
        }
        return out
    }

    /// Path depth, the key Docker sorts user mounts by (parents before children).
    private static func depth(_ p: String) -> Int { cleanPath(p).filter { $0 == "/" }.count }

    func mounts(_ c: ContainerCreateParams, _ hc: HostConfig, input: ContainerSpecInput,
                rootPropagation: inout String?) throws(SpecBuildError) -> [Mount] {
        // The container's mounts: volumes and binds, then the network files, then tmpfs.
        var points = try Self.mountPoints(c)
        for i in points.indices {
            guard let name = points[i].volumeName else { continue }
            let path = name.isEmpty ? input.anonymousVolumes[points[i].destination] : input.volumes[name]
            guard let path else {
                throw SpecBuildError(field: name.isEmpty ? "Volumes" : "HostConfig.Binds",
                                     message: "no host path for volume \(name.isEmpty ? "at " + points[i].destination : name)")
            }
            points[i].source = path
        }
        points = points.enumerated().sorted { (Self.depth($0.element.destination), $0.offset) < (Self.depth($1.element.destination), $1.offset) }.map(\.element)
        let pointDestinations = Set(points.map(\.destination))
        for dest in ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"] {
            guard let src = input.networkFiles[dest], !pointDestinations.contains(dest) else { continue }
            points.append(UserMount(destination: dest, source: src, writable: !(hc.readonlyRootfs ?? false), propagation: "rprivate"))
        }
        var user = points + (try Self.tmpfsMounts(hc))
        user = user.enumerated().sorted { (Self.depth($0.element.destination), $0.offset) < (Self.depth($1.element.destination), $1.offset) }.map(\.element)
        let userDestinations = Set(user.map(\.destination))

        // Docker's defaults, less those the container replaces.
        let ipc = (hc.ipcMode ?? "").isEmpty ? host.defaultIpcMode : hc.ipcMode ?? ""
        let shmSize = (hc.shmSize ?? 0) == 0 ? host.defaultShmSize : hc.shmSize ?? 0
        let mountsDev = userDestinations.contains("/dev")
        var out: [Mount] = []
        for var m in Self.defaultMounts {
            if userDestinations.contains(m.destination) { continue }
            if mountsDev && m.destination.hasPrefix("/dev/") { continue }
            if m.destination == "/dev/shm" {
                if ipc == "none" { continue }
                m.options?.append("size=\(shmSize)")
            }
            out.append(m)
        }

        for m in user {
            if let data = m.tmpfsData {
                var options = ["noexec", "nosuid", "nodev", "rprivate"]
                if !data.isEmpty { options += data.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
                out.append(Mount(destination: m.destination, type: "tmpfs", source: m.source, options: try Self.mergeTmpfsOptions(options)))
                continue
            }
            var options = [m.nonRecursive ? "bind" : "rbind"]
            if !m.writable { options.append("ro") }
            if !m.propagation.isEmpty { options.append(m.propagation) }
            switch m.propagation {
            case "shared", "rshared":
                if rootPropagation != "shared" && rootPropagation != "rshared" { rootPropagation = "shared" }
            case "slave", "rslave":
                if ![Optional("shared"), "rshared", "slave", "rslave"].contains(rootPropagation) { rootPropagation = "rslave" }
            default: break
            }
            out.append(Mount(destination: m.destination, type: "bind", source: m.source, options: options))
        }

        if hc.readonlyRootfs == true {
            for i in out.indices where !["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"].contains(out[i].destination)
                && !userDestinations.contains(out[i].destination) && !(out[i].options ?? []).contains("ro") {
                out[i].options = (out[i].options ?? []) + ["ro"]
            }
        }
        if hc.privileged == true {
            for i in out.indices where out[i].destination == "/sys" || out[i].type == "cgroup" {
                out[i].options = out[i].options?.filter { $0 != "ro" }
            }
        }
        return out
    }
}
