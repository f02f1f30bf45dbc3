import BerthOCI
import BerthWire

// Resources, devices and rlimits, as dockerd 20.10 (daemon/daemon_unix.go verifyPlatformContainerResources
// and adaptContainerSettings; daemon/oci_linux.go WithResources, WithDevices, WithRlimits).

extension SpecBuilder {
    /// dockerd's smallest memory limit (linuxMinMemory).
    static let minimumMemory: Int64 = 6 * 1024 * 1024

    func resources(_ hc: HostConfig) throws(SpecBuildError) -> Resources {
        func fail(_ field: String, _ m: String) -> SpecBuildError { SpecBuildError(field: "HostConfig." + field, message: m) }
        let memory = hc.memory ?? 0, reservation = hc.memoryReservation ?? 0
        var swap = hc.memorySwap ?? 0
        if memory != 0 && memory < Self.minimumMemory { throw fail("Memory", "Minimum memory limit allowed is 6MB") }
        if memory > 0 && swap > 0 && swap < memory {
            throw fail("MemorySwap", "Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        if memory == 0 && swap > 0 {
            throw fail("MemorySwap", "You should always set the Memory limit when using Memoryswap limit, see usage")
        }
        if swap < -1 { throw fail("MemorySwap", "Invalid value: \(swap), memoryswap must be -1 (unlimited) or larger than memory limit") }
        if let s = hc.memorySwappiness, s != -1 && !(0...100).contains(s) {
            throw fail("MemorySwappiness", "Invalid value: \(s), valid memory swappiness range is 0-100")
        }
        if reservation != 0 && reservation < Self.minimumMemory {
            throw fail("MemoryReservation", "Minimum memory reservation allowed is 6MB")
        }
        if memory > 0 && reservation > 0 && memory < reservation {
            throw fail("MemoryReservation", "Minimum memory limit can not be less than memory reservation limit, see usage")
        }
        // Twice the memory when unset; none when the host can't limit swap.
        if memory > 0 && swap == 0 { swap = memory * 2 }
        if !host.swapLimit { swap = -1 }

        let nano = hc.nanoCpus ?? 0, period = hc.cpuPeriod ?? 0, quota = hc.cpuQuota ?? 0, shares = hc.cpuShares ?? 0
        if nano > 0 && period > 0 { throw fail("NanoCpus", "Conflicting options: Nano CPUs and CPU Period cannot both be set") }
        if nano > 0 && quota > 0 { throw fail("NanoCpus", "Conflicting options: Nano CPUs and CPU Quota cannot both be set") }
        if nano < 0 || nano > Int64(host.cpuCount) * 1_000_000_000 {
            throw fail("NanoCpus", "Range of CPUs is from 0.01 to \(host.cpuCount).00, as there are only \(host.cpuCount) CPUs available")
        }
        if period != 0 && !(1000...1_000_000).contains(period) {
            throw fail("CpuPeriod", "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        }
        if quota > 0 && quota < 1000 { throw fail("CpuQuota", "CPU cfs quota can not be less than 1ms (i.e. 1000)") }
        if shares < 0 { throw fail("CpuShares", "shares: invalid argument") }
        for (field, list) in [("CpusetCpus", hc.cpusetCpus), ("CpusetMems", hc.cpusetMems)] {
            if let l = list, !l.isEmpty, !Self.validCPUList(l) {
                throw fail(field, "Invalid value \(l) for cpuset \(field == "CpusetCpus" ? "cpus" : "mems")")
            }
        }
        if let s = hc.shmSize, s < 0 { throw fail("ShmSize", "SHM size can not be less than 0") }
        if let o = hc.oomScoreAdj, !(-1000...1000).contains(o) {
            throw fail("OomScoreAdj", "Invalid value \(o), range for oom score adj is [-1000, 1000]")
        }

        var mem = Memory()
        if memory > 0 { mem.limit = memory }
        if reservation > 0 { mem.reservation = reservation }
        if swap > 0 { mem.swap = swap }
        if let s = hc.memorySwappiness, s >= 0 { mem.swappiness = UInt64(s) }
        mem.disableOOMKiller = hc.oomKillDisable ?? false

        var cpu = CPU(shares: UInt64(shares))
        if let c = hc.cpusetCpus, !c.isEmpty { cpu.cpus = c }
        if let m = hc.cpusetMems, !m.isEmpty { cpu.mems = m }
        if nano > 0 {
            cpu.period = 100_000
            cpu.quota = nano * 100_000 / 1_000_000_000
        }
        if period != 0 { cpu.period = UInt64(period) }
        if quota != 0 { cpu.quota = quota }
        if let p = hc.cpuRealtimePeriod, p != 0 { cpu.realtimePeriod = UInt64(p) }
        if let r = hc.cpuRealtimeRuntime, r != 0 { cpu.realtimeRuntime = r }

        var res = Resources(memory: mem, cpu: cpu)
        if let p = hc.pidsLimit { res.pids = Pids(limit: p <= 0 ? -1 : p) }
        // dockerd always writes the weight, 0 meaning "leave the cgroup's" (runtimes skip a 0).
        let weight = hc.blkioWeight ?? 0
        if weight != 0 && !(10...1000).contains(weight) { throw fail("BlkioWeight", "Range of blkio weight is from 10 to 1000") }
        res.blockIO = BlockIO(weight: weight)
        return res
    }

    /// `0-3,5`: what the cpuset cgroup accepts.
    static func validCPUList(_ s: String) -> Bool {
        s.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
            let r = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(r.count), r.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return false }
            return r.count == 1 || (Int(r[0]) ?? 0) <= (Int(r[1]) ?? 0)
        }
    }

    // MARK: devices

    /// Device nodes to create and the device cgroup rules: Docker's defaults, then each `--device` and
    /// `--device-cgroup-rule`; privileged: every host device and allow all.
    /// Docker 20.10's device cgroup rules (oci/defaults.go): deny all but mem's null, zero, full,
    /// random and urandom, tty and console; fuse explicitly denied.
    public static let defaultDeviceRules: [DeviceCgroup] = [
        DeviceCgroup(allow: false, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        DeviceCgroup(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),
        DeviceCgroup(allow: false, type: "c", major: 10, minor: 229, access: "rwm"),
    ]

    func devices(_ hc: HostConfig, privileged: Bool) throws(SpecBuildError) -> ([Device]?, [DeviceCgroup]) {
        var devs: [Device] = []
        var rules = Self.defaultDeviceRules
        if privileged {
            devs = try hostDevices("/dev")
            for m in hc.devices ?? [] where m.pathOnHost != (m.pathInContainer ?? m.pathOnHost) {
                devs += try devicesFromPath(m, permissions: "rwm").0
            }
            rules = [DeviceCgroup(allow: true, access: "rwm")]
        } else {
            for m in hc.devices ?? [] {
                let (d, r) = try devicesFromPath(m, permissions: m.cgroupPermissions ?? "rwm")
                devs += d; rules += r
            }
            for rule in hc.deviceCgroupRules ?? [] { rules.append(try Self.deviceCgroupRule(rule)) }
        }
        return (devs.isEmpty ? nil : devs, rules)
    }

    /// `c 1:3 rwm`, `b *:* r`, `a *:* m` (oci.AppendDevicePermissionsFromCgroupRules).
    static func deviceCgroupRule(_ rule: String) throws(SpecBuildError) -> DeviceCgroup {
        let fail = SpecBuildError(field: "HostConfig.DeviceCgroupRules", message: "invalid device cgroup format '\(rule)'")
        let f = rule.split(separator: " ")
        guard f.count == 3, ["a", "b", "c"].contains(f[0]) else { throw fail }
        let mm = f[1].split(separator: ":", omittingEmptySubsequences: false)
        guard mm.count == 2 else { throw fail }
        func number(_ s: Substring) throws(SpecBuildError) -> Int64? {
            if s == "*" { return nil }
            guard let n = Int64(s) else { throw fail }
            return n
        }
        guard !f[2].isEmpty, f[2].allSatisfy({ "rwm".contains($0) }) else { throw fail }
        return DeviceCgroup(allow: true, type: String(f[0]), major: try number(mm[0]), minor: try number(mm[1]), access: String(f[2]))
    }

    private func device(_ node: HostNode, path: String) -> Device? {
        let type: String
        switch node.kind {
        case .characterDevice: type = "c"
        case .blockDevice: type = "b"
        default: return nil
        }
        return Device(type: type, path: path, major: node.major, minor: node.minor, fileMode: node.mode, uid: node.uid, gid: node.gid)
    }

    /// One `--device`: a device node, or a directory of them (oci.DevicesFromPath).
    private func devicesFromPath(_ m: DeviceMapping, permissions: String) throws(SpecBuildError) -> ([Device], [DeviceCgroup]) {
        func fail(_ why: String) -> SpecBuildError {
            SpecBuildError(field: "HostConfig.Devices", message: "error gathering device information while adding custom device \"\(m.pathOnHost)\": \(why)")
        }
        guard !permissions.isEmpty, permissions.allSatisfy({ "rwm".contains($0) }) else {
            throw SpecBuildError(field: "HostConfig.Devices", message: "invalid device mode: \(permissions)")
        }
        let inContainer = (m.pathInContainer ?? "").isEmpty ? m.pathOnHost : m.pathInContainer ?? m.pathOnHost
        var onHost = m.pathOnHost
        let top: HostNode?
        do { top = try files.hostNode(onHost) } catch { throw fail("\(error)") }
        guard var node = top else { throw fail("no such file or directory") }
        if node.kind == .symlink, let resolved = files.resolveHostSymlinks(onHost) {
            onHost = resolved
            do { node = try files.hostNode(onHost) ?? node } catch { throw fail("\(error)") }
        }
        func rule(_ d: Device) -> DeviceCgroup {
            DeviceCgroup(allow: true, type: d.type, major: d.major, minor: d.minor, access: permissions)
        }
        if let d = device(node, path: inContainer) { return ([d], [rule(d)]) }
        guard node.kind == .directory else { throw fail("not a device node") }
        var devs: [Device] = []
        func walk(_ dir: String) {
            for name in ((try? files.hostDirectory(dir)) ?? []).sorted() {
                let p = dir + "/" + name
                guard let n = try? files.hostNode(p) else { continue }
                if n.kind == .directory { walk(p); continue }
                if let d = device(n, path: inContainer + p.dropFirst(onHost.count)) { devs.append(d) }
            }
        }
        walk(onHost)
        guard !devs.isEmpty else { throw fail("not a device node") }
        return (devs, devs.map(rule))
    }

    /// Every device under `/dev` but the pty, shm, mqueue and fd trees and the console
    /// (libcontainer/devices.HostDevices), for privileged containers.
    private func hostDevices(_ dir: String) throws(SpecBuildError) -> [Device] {
        let names: [String]
        do { names = try files.hostDirectory(dir) } catch {
            throw SpecBuildError(field: "HostConfig.Privileged", message: "listing host devices in \(dir): \(error)")
        }
        var out: [Device] = []
        for name in names.sorted() {
            let p = dir + "/" + name
            guard let n = try? files.hostNode(p) else { continue }
            if n.kind == .directory {
                if [".lxc", ".lxd-mounts", ".udev", "pts", "shm", "fd", "mqueue"].contains(name) { continue }
                out += try hostDevices(p)
                continue
            }
            if name == "console" { continue }
            if let d = device(n, path: p) { out.append(d) }
        }
        return out
    }

    // MARK: rlimits

    static let ulimitNames: Set<String> = [
        "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
        "rtprio", "rttime", "sigpending", "stack",
    ]

    /// The container's ulimits over the daemon's defaults, as RLIMIT_* (-1 is unlimited).
    func rlimits(_ hc: HostConfig) throws(SpecBuildError) -> [Rlimit]? {
        var ulimits = hc.ulimits ?? []
        let named = Set(ulimits.map(\.name))
        ulimits += host.defaultUlimits.filter { !named.contains($0.name) }
        var out: [Rlimit] = []
        for u in ulimits {
            func fail(_ m: String) -> SpecBuildError { SpecBuildError(field: "HostConfig.Ulimits", message: m) }
            guard Self.ulimitNames.contains(u.name) else { throw fail("invalid ulimit type: \(u.name)") }
            guard u.soft >= -1, u.hard >= -1 else { throw fail("invalid ulimit argument: \(u.name)=\(u.soft):\(u.hard)") }
            let soft = u.soft < 0 ? UInt64.max : UInt64(u.soft), hard = u.hard < 0 ? UInt64.max : UInt64(u.hard)
            guard soft <= hard else {
                throw fail("ulimit soft limit must be less than or equal to hard limit: \(u.soft) > \(u.hard)")
            }
            out.append(Rlimit(type: "RLIMIT_" + u.name.uppercased(), soft: soft, hard: hard))
        }
        return out.isEmpty ? nil : out
    }
}
