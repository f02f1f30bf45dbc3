import Foundation
import Glibc
import BerthImage
import BerthOCI
import BerthOS
import BerthWire

extension ContainerService {
    /// Docker's rule for names: `/?[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    static func isValidName(_ raw: String) -> Bool {
        let s = raw.hasPrefix("/") ? raw.dropFirst() : Substring(raw)
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        guard s.count >= 2, let first = s.first, alnum(first) else { return false }
        return s.dropFirst().allSatisfy { alnum($0) || $0 == "_" || $0 == "." || $0 == "-" }
    }

    /// Creates a container: resolves its image, merges the config, prepares volumes, a writable
    /// snapshot mounted at the bundle's rootfs, the network files and config.json, then records
    /// it. Any failure undoes every step taken.
    public func create(_ req: ContainerCreateRequest) async throws -> ContainerCreateResult {
        var name = req.name ?? ""
        if !name.isEmpty {
            guard Self.isValidName(name) else {
                throw LifecycleError.invalidArgument("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
            }
            if name.hasPrefix("/") { name.removeFirst() }
            if let other = try images.meta.containerID(named: name) {
                throw LifecycleError.conflict("Conflict. The container name \"/\(name)\" is already in use by container \"\(other)\". You have to remove (or rename) that container to be able to reuse that name.")
            }
        } else {
            name = uniqueName()
        }
        guard let imageRef = req.config.image, !imageRef.isEmpty else {
            throw LifecycleError.invalidArgument("No command specified: an image is required")
        }
        let imageID = try images.resolve(imageRef)
        let imageRecord = try images.record(imageID)
        let imageConfig = (try images.config(of: imageRecord)).config ?? ContainerConfig()
        var merged: ContainerCreateParams
        do { merged = try SpecBuilder.merge(req.config, image: imageConfig) } catch { throw LifecycleError.invalidArgument(error.description) }
        // As dockerd: a container in another's network namespace takes its hostname too.
        if case .container(let ref) = NetworkMode(merged.hostConfig?.networkMode) {
            if !(req.config.hostname ?? "").isEmpty {
                throw LifecycleError.invalidArgument("conflicting options: hostname and the network mode")
            }
            let other = try resolve(ref)
            merged.hostname = (other.config.hostname ?? "").isEmpty ? String(other.id.prefix(12)) : other.config.hostname
        }
        if (merged.entrypoint ?? []).isEmpty && (merged.cmd ?? []).isEmpty {
            throw LifecycleError.invalidArgument("No command specified")
        }
        let hc = merged.hostConfig ?? HostConfig()
        try Self.validate(hc)
        let endpoints = try planNetworks(merged, networking: req.config.networkingConfig)

        let id = Self.randomID()
        // The namespace the runtime joins: pinned by the network service at each start.
        let netns: String? = switch NetworkMode(hc.networkMode) {
        case .host: nil
        case .container(let ref): networks.netnsPath(try resolve(ref).id)
        case .none, .network: networks.netnsPath(id)
        }
        var undo: [() -> Void] = []
        func rollback() { for u in undo.reversed() { u() } }
        do {
            // Volumes: named ones are created on first use (as Docker does), anonymous ones fresh.
            let needed: (named: [String], anonymous: [String])
            do { needed = try SpecBuilder.requiredVolumes(merged) } catch { throw LifecycleError.invalidArgument(error.description) }
            var named: [String: String] = [:], anonymous: [String: String] = [:], anonymousNames: [String: String] = [:]
            for v in needed.named {
                if (try? volumes.inspect(v)) == nil {
                    _ = try await volumes.create(VolumeCreateParams(name: v))
                    events.publish(type: "volume", action: "create", id: v, attributes: ["driver": "local"])
                }
                named[v] = try volumes.path(v)
            }
            for dest in needed.anonymous {
                let v = try await volumes.createAnonymous()
                let anonName = v.name
                undo.append { [volumes] in Task { try? await volumes.remove(anonName, force: true) } }
                events.publish(type: "volume", action: "create", id: v.name, attributes: ["driver": "local"])
                anonymous[dest] = try volumes.path(v.name)
                anonymousNames[dest] = v.name
            }

            // The writable layer, mounted where config.json's root points.
            try FS.mkdirAll(bundle(id), mode: 0o710)
            undo.append { [self] in try? FS.removeAll(bundle(id)) }
            let m = try images.prepareSnapshot(SnapshotPrepareParams(key: id, image: imageID.description))
            undo.append { [images] in try? images.removeSnapshot(SnapshotKeyParams(key: id)) }
            try FS.mkdirAll(rootfs(id), mode: 0o755)
            try images.snapshots.mount(OverlayMount(lowerDirs: m.lowerDirs, upperDir: m.upperDir, workDir: m.workDir), at: rootfs(id))
            undo.append { [self] in try? images.snapshots.unmount(rootfs(id)) }

            // Fresh volumes get the image's content at their destination (Docker's copy-up).
            for (dest, v) in anonymousNames { try await populate(volume: v, id: id, destination: dest) }
            for v in needed.named where volumesNeedCopy(merged, name: v) {
                if let dest = Self.destination(ofVolume: v, in: merged) { try await populate(volume: v, id: id, destination: dest) }
            }

            let files = try writeNetworkFiles(id: id, config: merged, hc: hc, endpoints: endpoints)
            var spec: Spec
            do {
                spec = try builder.build(ContainerSpecInput(id: id, params: merged, image: imageConfig, rootfs: rootfs(id),
                                                            volumes: named, anonymousVolumes: anonymous,
                                                            networkNamespace: netns,
                                                            networkFiles: files))
            } catch { throw LifecycleError.invalidArgument(error.description) }
            let gated: Bool
            if case .network = NetworkMode(hc.networkMode) { gated = true } else { gated = false }
            if gated {
                var hooks = spec.hooks ?? Hooks()
                hooks.createRuntime = (hooks.createRuntime ?? []) + [Hook(path: options.monitor,
                    args: ["berth-monitor", "netwait", netGatePath(id)], timeout: 120)]
                spec.hooks = hooks
            }
            let specBytes = try JSONEncoder().encode(spec)
            try FS.write(bundle(id) + "/config.json", [UInt8](specBytes), mode: 0o600, atomic: true)

            let now = Date()
            let record = ContainerRecord(
                id: id, name: name, created: Self.now(), createdAt: now.timeIntervalSince1970,
                image: imageRef, imageID: imageID.description, config: merged,
                path: spec.process?.args?.first ?? "", args: Array((spec.process?.args ?? []).dropFirst()),
                state: ContainerState(status: "created"), restartCount: 0,
                mounts: Self.mountPoints(spec: spec, named: named, anonymous: anonymousNames),
                anonymousVolumes: Array(anonymousNames.values), manuallyStopped: false, hasBeenStarted: false,
                endpoints: endpoints, sandbox: nil, networkGate: gated)
            try images.meta.putContainer(record)
            records.withLockedValue { $0[id] = record }
            emit(record, "create")
            return ContainerCreateResult(id: id, warnings: [])
        } catch {
            rollback()
            throw error
        }
    }

    static func validate(_ hc: HostConfig) throws {
        let policy = hc.restartPolicy?.name ?? ""
        guard ["", "no", "always", "unless-stopped", "on-failure"].contains(policy) else {
            throw LifecycleError.invalidArgument("invalid restart policy '\(policy)'")
        }
        if let n = hc.restartPolicy?.maximumRetryCount, n != 0 {
            if n < 0 { throw LifecycleError.invalidArgument("invalid value \(n) for restart policy max retries: must be a positive integer") }
            if policy != "on-failure" {
                throw LifecycleError.invalidArgument("maximum retry count cannot be used with restart policy '\(policy)'")
            }
        }
        if hc.autoRemove == true && !["", "no"].contains(policy) {
            throw LifecycleError.invalidArgument("can't create 'AutoRemove' container with restart policy")
        }
        let driver = hc.logConfig?.type ?? ""
        guard ["", "json-file", "local", "none"].contains(driver) else {
            throw LifecycleError.invalidArgument("logging driver \"\(driver)\" is not supported: use json-file or none")
        }
        for (k, _) in hc.logConfig?.config ?? [:] where !["max-size", "max-file", "compress", "labels", "env", "tag", "mode"].contains(k) {
            throw LifecycleError.invalidArgument("unknown log opt '\(k)' for json-file log driver")
        }
        if let s = hc.logConfig?.config?["max-size"], parseSize(s) == nil {
            throw LifecycleError.invalidArgument("invalid max-size \"\(s)\"")
        }
        if let s = hc.logConfig?.config?["max-file"], (Int(s) ?? 0) < 1 {
            throw LifecycleError.invalidArgument("invalid max-file \"\(s)\": must be a positive number")
        }
    }

    /// `10m`, `512k`, `1g`, `4096`.
    static func parseSize(_ s: String) -> Int64? {
        let lower = s.lowercased()
        let units: [(String, Int64)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10), ("b", 1)]
        for (u, mult) in units where lower.hasSuffix(u) {
            guard let v = Double(lower.dropLast(u.count)), v > 0 else { return nil }
            return Int64(v * Double(mult))
        }
        return Int64(lower).flatMap { $0 > 0 ? $0 : nil }
    }

    func volumesNeedCopy(_ c: ContainerCreateParams, name: String) -> Bool {
        guard let v = try? volumes.path(name), let entries = try? FS.list(v) else { return false }
        if !entries.isEmpty { return false }
        return !(c.hostConfig?.mounts ?? []).contains { $0.source == name && $0.volumeOptions?.noCopy == true }
    }

    static func destination(ofVolume name: String, in c: ContainerCreateParams) -> String? {
        for b in c.hostConfig?.binds ?? [] {
            let parts = b.split(separator: ":").map(String.init)
            if parts.count >= 2, parts[0] == name { return parts[1] }
        }
        return c.hostConfig?.mounts?.first { $0.type == "volume" && $0.source == name }?.target
    }

    /// Docker's copy-up: a fresh volume gets the image's content at its destination.
    func populate(volume: String, id: String, destination: String) async throws {
        _ = try await volumes.populate(name: volume, rootfs: rootfs(id), path: destination)
    }

    static func mountPoints(spec: Spec, named: [String: String], anonymous: [String: String]) -> [MountPoint] {
        let byPath = Dictionary(named.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [MountPoint] = []
        for m in spec.mounts ?? [] where m.type == "bind" || (m.type == "tmpfs" && !SpecBuilder.defaultMounts.contains { $0.destination == m.destination }) {
            let opts = m.options ?? []
            let rw = !opts.contains("ro")
            if ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts", "/sbin/docker-init"].contains(m.destination) { continue }
            let propagation = opts.first { SpecBuilder.propagationModes.contains($0) } ?? ""
            if m.type == "tmpfs" {
                out.append(MountPoint(type: "tmpfs", source: "", destination: m.destination, mode: "", rw: rw, propagation: ""))
            } else if let v = anonymous[m.destination] {
                out.append(MountPoint(type: "volume", name: v, source: m.source ?? "", destination: m.destination, driver: "local", mode: "", rw: rw, propagation: ""))
            } else if let src = m.source, let v = byPath[src] {
                out.append(MountPoint(type: "volume", name: v, source: src, destination: m.destination, driver: "local", mode: "z", rw: rw, propagation: ""))
            } else {
                out.append(MountPoint(type: "bind", source: m.source ?? "", destination: m.destination, mode: "", rw: rw, propagation: propagation.isEmpty ? "rprivate" : propagation))
            }
        }
        return out
    }

    /// /etc/hostname, /etc/hosts and /etc/resolv.conf as Docker writes them (the container's
    /// addresses join /etc/hosts at start). `container:` mode shares the other container's files;
    /// a user-defined network's resolver is the embedded DNS at 127.0.0.11.
    func writeNetworkFiles(id: String, config: ContainerCreateParams, hc: HostConfig,
                           endpoints: [String: EndpointState]) throws -> [String: String] {
        let mode = NetworkMode(hc.networkMode)
        if case .container(let ref) = mode {
            let other = try resolve(ref)
            return ["/etc/hostname": bundle(other.id) + "/hostname", "/etc/hosts": bundle(other.id) + "/hosts",
                    "/etc/resolv.conf": bundle(other.id) + "/resolv.conf"]
        }
        let hostNet = mode == .host
        let hostname = hostNet && (config.hostname ?? "").isEmpty ? builder.host.hostname
            : ((config.hostname ?? "").isEmpty ? String(id.prefix(12)) : config.hostname ?? "")
        var hosts = Self.baseHosts
        if hostNet, let h = try? FS.readString("/etc/hosts") { hosts = h }
        hosts += try Self.extraHostLines(hc.extraHosts ?? [])
        let embedded = endpoints.values.contains { e in networks.record(e.networkID)?.hasDNS == true }
        let resolv = Self.resolvConf(host: (try? FS.readString("/etc/resolv.conf")) ?? "", dns: embedded ? ["127.0.0.11"] : hc.dns ?? [],
                                     search: hc.dnsSearch ?? [], options: embedded ? (hc.dnsOptions ?? []) + ["ndots:0"] : hc.dnsOptions ?? [],
                                     keepLoopback: hostNet || embedded)
        var files: [String: String] = [:]
        for (dest, name, text) in [("/etc/hostname", "hostname", hostname + "\n"), ("/etc/hosts", "hosts", hosts),
                                   ("/etc/resolv.conf", "resolv.conf", resolv)] {
            let path = bundle(id) + "/" + name
            try FS.write(path, text, mode: 0o644)
            files[dest] = path
        }
        return files
    }

    /// The host's resolv.conf as Docker adapts it: loopback nameservers dropped (they don't work
    /// from another network namespace), Google's public servers if none is left; `--dns`,
    /// `--dns-search`, `--dns-option` replace the host's.
    static func resolvConf(host: String, dns: [String], search: [String], options: [String], keepLoopback: Bool) -> String {
        var servers: [String] = [], searches: [String] = [], opts: [String] = []
        for line in host.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let key = f.first else { continue }
            switch key {
            case "nameserver" where f.count > 1:
                if keepLoopback || !(f[1].hasPrefix("127.") || f[1] == "::1") { servers.append(f[1]) }
            case "search", "domain": searches = Array(f.dropFirst())
            case "options": opts += f.dropFirst()
            default: break
            }
        }
        if !dns.isEmpty { servers = dns }
        if servers.isEmpty { servers = ["8.8.8.8", "8.8.4.4"] }
        if !search.isEmpty { searches = search.filter { $0 != "." } }
        if !options.isEmpty { opts = options }
        var out = ""
        if !searches.isEmpty { out += "search " + searches.joined(separator: " ") + "\n" }
        for s in servers { out += "nameserver \(s)\n" }
        if !opts.isEmpty { out += "options " + opts.joined(separator: " ") + "\n" }
        return out
    }

    // MARK: names

    static let adjectives = ["admiring", "brave", "calm", "dazzling", "eager", "focused", "gallant", "happy", "jolly",
                             "keen", "loving", "modest", "nifty", "optimistic", "peaceful", "quirky", "relaxed", "serene",
                             "tender", "upbeat", "vibrant", "wizardly", "youthful", "zealous"]
    static let surnames = ["albattani", "babbage", "curie", "darwin", "euclid", "fermat", "galileo", "hopper", "johnson",
                           "kepler", "lovelace", "mayer", "noether", "pascal", "ritchie", "shannon", "turing", "volhard",
                           "wozniak", "yalow"]

    /// Docker-style `adjective_surname`, with a digit appended if taken.
    func uniqueName() -> String {
        let taken = Set(records.withLockedValue { $0.values.map(\.name) })
        for attempt in 0..<100 {
            var n = "\(Self.adjectives[Int.random(in: 0..<Self.adjectives.count)])_\(Self.surnames[Int.random(in: 0..<Self.surnames.count)])"
            if attempt > 10 { n += String(Int.random(in: 0...9)) }
            if !taken.contains(n) { return n }
        }
        return "berth_" + Self.randomID().prefix(12)
    }
}
