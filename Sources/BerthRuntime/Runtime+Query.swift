import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS
import BerthCgroups
import BerthSeccomp

/// `state` output: the spec's fields plus what runc adds (rootfs, created, owner), in runc's order.
struct StateOutput {
    var ociVersion: String
    var id: String
    var pid: Int32
    var status: String
    var bundle: String
    var rootfs: String
    var created: String
    var owner: String
    var annotations: [String: String]?

    var json: OrderedJSON {
        var fields: [(String, OrderedJSON)] = [
            ("ociVersion", .string(ociVersion)), ("id", .string(id)), ("pid", .int(Int64(pid))),
            ("status", .string(status)), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)), ("owner", .string(owner)),
        ]
        if let a = annotations, !a.isEmpty {
            fields.append(("annotations", .object(a.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return .object(fields)
    }
}

extension Runtime {
    func stateOutput(_ rec: ContainerRecord) -> StateOutput {
        let s = ociState(rec)
        return StateOutput(ociVersion: Spec.version, id: rec.id, pid: s.pid ?? 0, status: s.status.rawValue,
                           bundle: rec.bundle, rootfs: rec.rootfs, created: rec.created, owner: rec.owner,
                           annotations: rec.annotations)
    }

    public func stateJSON(id: String) throws(RuntimeError) -> String {
        stateOutput(try store.load(id)).json.render(pretty: true)
    }

    public func list(json: Bool, quiet: Bool) -> String {
        let recs = store.ids().compactMap { try? store.load($0) }
        if quiet { return recs.map { $0.id + "\n" }.joined() }
        if json { return OrderedJSON.array(recs.map { stateOutput($0).json }).render() + "\n" }
        var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        for r in recs {
            let s = stateOutput(r)
            rows.append([s.id, "\(s.pid)", s.status, s.bundle, s.created, s.owner])
        }
        return Table.render(rows)
    }

    public func pids(id: String) throws(RuntimeError) -> [Int32] {
        let rec = try store.load(id)
        if status(rec) == .stopped { return [] }
        do { return try cgroupManager(rec).pids() } catch { throw RuntimeError("list processes of \(id): \(error)") }
    }

    /// `ps`: `--format json` gives the pids; the table is `ps <args>` filtered to the container's pids.
    public func ps(id: String, json: Bool, psArgs: [String]) throws(RuntimeError) -> String {
        let pids = try pids(id: id)
        if json { return JSON.encode(pids) + "\n" }
        let args = psArgs.isEmpty ? ["-ef"] : psArgs
        let psPath = ["/usr/bin/ps", "/bin/ps"].first(where: FS.exists) ?? "/bin/ps"
        let out: Subprocess.Result
        do {
            out = try Subprocess.run(path: psPath, args: ["ps"] + args, env: ["PATH=/usr/bin:/bin"], captureOutput: true)
        } catch { throw RuntimeError("run ps: \(error)") }
        let lines = String(decoding: out.output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first else { return "" }
        let cols = header.split(separator: " ")
        guard let pidCol = cols.firstIndex(of: "PID") else { throw RuntimeError("ps: no PID column in \"\(header)\"") }
        let set = Set(pids)
        var result = String(header) + "\n"
        for line in lines.dropFirst() {
            let f = line.split(separator: " ")
            if f.count > pidCol, let p = Int32(f[pidCol]), set.contains(p) { result += line + "\n" }
        }
        return result
    }

    public func pause(id: String) throws(RuntimeError) {
        let rec = try store.load(id)
        let st = status(rec)
        guard st == .running || st == .created else { throw RuntimeError("container not running") }
        do { try cgroupManager(rec).freeze() } catch { throw RuntimeError("pause \(id): \(error)") }
    }

    public func resume(id: String) throws(RuntimeError) {
        let rec = try store.load(id)
        guard status(rec) == .paused else { throw RuntimeError("container not paused") }
        do { try cgroupManager(rec).thaw() } catch { throw RuntimeError("resume \(id): \(error)") }
    }

    /// Applies new limits and keeps them in the saved config, so a later `update` starts from them.
    public func update(id: String, resources: Resources) throws(RuntimeError) {
        let rec = try store.load(id)
        if status(rec) == .stopped { throw RuntimeError("container not running") }
        var spec = try store.loadConfig(id)
        var linux = spec.linux ?? Linux()
        linux.resources = Runtime.merge(linux.resources ?? Resources(), resources)
        spec.linux = linux
        do { try spec.validate(requireProcess: false) } catch { throw RuntimeError(error.description) }
        do {
            try cgroupManager(rec).apply(resources)
            try FS.write(store.dir(id) + "/config.json", [UInt8](try JSONEncoder().encode(spec)), mode: 0o600, atomic: true)
        } catch let e as RuntimeError { throw e } catch { throw RuntimeError("update \(id): \(error)") }
    }

    static func merge(_ a: Resources, _ b: Resources) -> Resources {
        var r = a
        if let m = b.memory {
            var mm = r.memory ?? Memory()
            if let v = m.limit { mm.limit = v }
            if let v = m.reservation { mm.reservation = v }
            if let v = m.swap { mm.swap = v }
            if let v = m.swappiness { mm.swappiness = v }
            if let v = m.disableOOMKiller { mm.disableOOMKiller = v }
            r.memory = mm
        }
        if let c = b.cpu {
            var cc = r.cpu ?? CPU()
            if let v = c.shares { cc.shares = v }
            if let v = c.quota { cc.quota = v }
            if let v = c.period { cc.period = v }
            if let v = c.cpus { cc.cpus = v }
            if let v = c.mems { cc.mems = v }
            if let v = c.realtimeRuntime { cc.realtimeRuntime = v }
            if let v = c.realtimePeriod { cc.realtimePeriod = v }
            r.cpu = cc
        }
        if let p = b.pids { r.pids = p }
        if let bio = b.blockIO { r.blockIO = bio }
        if let h = b.hugepageLimits { r.hugepageLimits = h }
        if let u = b.unified { r.unified = (r.unified ?? [:]).merging(u) { $1 } }
        return r
    }

    public func statsEvent(id: String) throws(RuntimeError) -> String {
        let rec = try store.load(id)
        if status(rec) == .stopped { throw RuntimeError("container not running") }
        do {
            let data = JSON.encode(try cgroupManager(rec).stats())
            return OrderedJSON.object([("type", .string("stats")), ("id", .string(id)), ("data", .raw(data))]).render()
        } catch { throw RuntimeError("stats of \(id): \(error)") }
    }

    /// `events`: a stats event every interval and an `oom` event as soon as the container's
    /// cgroup reports one, until the container stops.
    public func streamEvents(id: String, intervalMs: Int, emit: (String) -> Void) throws(RuntimeError) {
        let rec = try store.load(id)
        if status(rec) == .stopped { throw RuntimeError("container not running") }
        let cg = try cgroupManager(rec)
        let watcher = try? cg.oomWatcher()
        defer { watcher?.close() }
        let oom = OrderedJSON.object([("type", .string("oom")), ("id", .string(id))]).render()
        var next = Runtime.nowMs() + intervalMs
        while status(rec) != .stopped {
            let wait = max(0, min(next - Runtime.nowMs(), 200))
            if let watcher {
                if watcher.wait(timeoutMs: Int32(wait)) { emit(oom) }
            } else {
                usleep(UInt32(wait) * 1000)
            }
            if Runtime.nowMs() >= next {
                if let line = try? statsEvent(id: id) { emit(line) }
                next += intervalMs
            }
        }
        // The OOM kill that stopped the container may land between the last wait and the status
        // check: look once more before returning.
        if let watcher, watcher.wait(timeoutMs: 0) { emit(oom) }
    }

    static func nowMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }

    public static func features() -> Features {
        Features(
            ociVersionMin: "1.0.0", ociVersionMax: Spec.version,
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: MountOptions.known,
            linux: Features.LinuxFeatures(
                namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
                capabilities: CapabilityNames.all,
                cgroup: Features.Cgroup(v1: true, v2: true, systemd: false, systemdUser: false, rdma: false),
                seccomp: Features.SeccompFeatures(
                    enabled: true, actions: SeccompCompiler.supportedActions, operators: SeccompCompiler.supportedOperators,
                    archs: SeccompCompiler.supportedArchitectures, knownFlags: SeccompCompiler.knownFlags,
                    supportedFlags: SeccompCompiler.supportedFlags),
                apparmor: Features.Enabled(enabled: false), selinux: Features.Enabled(enabled: false),
                intelRdt: Features.Enabled(enabled: false),
                mountExtensions: Features.MountExtensions(idmap: Features.Enabled(enabled: false))),
            annotations: ["org.opencontainers.runtime-spec.features.runtime": "berth-runtime"])
    }
}

/// Left-aligned columns separated by spaces, like Go's tabwriter in runc's `list`.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 4) }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
