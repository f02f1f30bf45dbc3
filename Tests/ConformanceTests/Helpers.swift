import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

// Shared helpers for the conformance suites: every check runs busybox inside a container and
// compares what the container sees with what config.json asked for.

extension RuntimeHarness {
    /// Runs `script` with `sh -c` in a fresh container (its own bundle) and returns the result.
    func sh(_ script: String, configure: (inout Spec) -> Void = { _ in }) throws -> Command.Result {
        let bundle = try makeBundle("b\(UInt32.random(in: 0...UInt32.max))", args: ["sh", "-c", script],
                                    configure: configure)
        return try runContainer(bundle)
    }

    /// Like `sh`, but requires exit status 0 and returns stdout.
    func shOK(_ script: String, sourceLocation: SourceLocation = #_sourceLocation,
              configure: (inout Spec) -> Void = { _ in }) throws -> String {
        let r = try sh(script, configure: configure)
        try #require(r.status == 0, "container failed: \(r)", sourceLocation: sourceLocation)
        return r.stdout
    }

    /// Creates and starts a long-running container (`sleep`), returning its id and bundle.
    func startSleeper(_ hint: String = "sleeper", args: [String] = ["sleep", "1000"],
                      configure: (inout Spec) -> Void = { _ in }) throws -> (id: String, bundle: String) {
        let bundle = try makeBundle("b\(UInt32.random(in: 0...UInt32.max))", args: args, configure: configure)
        let id = newID(hint)
        let c = try run(["create", "--bundle", bundle, id])
        guard c.status == 0 else { throw HarnessError("create \(id): \(c)") }
        let s = try run(["start", id])
        guard s.status == 0 else { throw HarnessError("start \(id): \(s)") }
        return (id, bundle)
    }

    /// `exec` of a command in a running container.
    func exec(_ id: String, _ args: [String], flags: [String] = []) throws -> Command.Result {
        try run(["exec"] + flags + [id] + args)
    }

    /// Polls `state` until the container reaches `status` (or the timeout passes).
    func waitForStatus(_ id: String, _ status: String, timeoutMs: Int = 5000) -> Bool {
        var waited = 0
        while waited < timeoutMs {
            if let s = try? state(id), s.status == status { return true }
            usleep(20_000)
            waited += 20
        }
        return false
    }

    /// Ids in `list -q`.
    func listedIDs() throws -> [String] {
        let r = try run(["list", "-q"])
        return r.stdout.split(separator: "\n").map { trimmed(String($0)) }.filter { !$0.isEmpty }
    }

    /// If the runtime dies half-way (a bug), its init may be orphaned in the cgroup `relative`
    /// (default: berth/<id>): on cleanup, kill whatever is left there and remove the cgroup.
    func reapCgroupOnCleanup(_ relative: String) {
        onCleanup {
            for _ in 0..<50 {
                let pids = lines((try? Fixtures.read("/sys/fs/cgroup/pids/\(relative)/cgroup.procs")) ?? "").compactMap { Int32($0) }
                if pids.isEmpty { break }
                for p in pids { kill(p, SIGKILL) }
                usleep(20_000)
            }
            for c in cgroupHierarchies { rmdir("/sys/fs/cgroup/\(c)/\(relative)") }
        }
    }

    /// Entries of the state root (missing root counts as empty).
    func stateRootEntries() -> [String] { dirEntries(root) }
}

/// Names in a directory, without . and .. (a missing directory is empty).
func dirEntries(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { out.append(name) }
    }
    return out.sorted()
}

/// Waits until `pid` no longer exists (a killed init may be a zombie for a moment).
func waitGone(_ pid: Int32, timeoutMs: Int = 5000) -> Bool {
    var waited = 0
    while waited < timeoutMs {
        if kill(pid, 0) != 0 { return true }
        usleep(20_000)
        waited += 20
    }
    return false
}

/// Runs a shell command on the host.
@discardableResult
func host(_ script: String, timeout: Int = 30) throws -> Command.Result {
    try Command.run("/bin/sh", ["-c", script], timeout: timeout)
}

func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func readlinkHost(_ path: String) -> String? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4095) }
    guard n >= 0 else { return nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
}

func trimmed(_ s: String) -> String {
    let ws: Set<Character> = [" ", "\t", "\n", "\r"]
    var sub = Substring(s)
    while let f = sub.first, ws.contains(f) { sub = sub.dropFirst() }
    while let l = sub.last, ws.contains(l) { sub = sub.dropLast() }
    return String(sub)
}

func lines(_ s: String) -> [String] {
    // "\r\n" is one Character in Swift: normalise (pty output) before splitting.
    s.replacing("\r\n", with: "\n").replacing("\r", with: "")
        .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

/// `key: value` lines (e.g. /proc/self/status) into a dictionary.
func statusFields(_ s: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in lines(s) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        out[String(line[..<colon])] = trimmed(String(line[line.index(after: colon)...]))
    }
    return out
}

/// A mountinfo line, parsed.
struct MountInfo {
    var mountPoint: String
    var options: [String]      // per-mount options (field 6)
    var optional: [String]     // optional fields ("shared:N", "master:N")
    var fsType: String
    var source: String
    var superOptions: [String]

    static func parse(_ text: String) -> [MountInfo] {
        lines(text).compactMap { line in
            let f = line.split(separator: " ").map(String.init)
            guard let dash = f.firstIndex(of: "-"), dash >= 6, f.count >= dash + 3 else { return nil }
            return MountInfo(mountPoint: f[4], options: f[5].split(separator: ",").map(String.init),
                             optional: Array(f[6..<dash]), fsType: f[dash + 1], source: f[dash + 2],
                             superOptions: f.count > dash + 3 ? f[dash + 3].split(separator: ",").map(String.init) : [])
        }
    }
}

/// Capability numbers (linux/capability.h).
enum Cap {
    static let numbers: [String: Int] = [
        "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
        "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
        "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
        "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
        "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
        "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
        "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
        "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
        "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
    ]

    static func mask(_ names: [String]) -> UInt64 {
        names.reduce(0) { $0 | (1 << UInt64(numbers[$1]!)) }
    }

    /// The 16-hex-digit form /proc/self/status prints.
    static func hex(_ m: UInt64) -> String {
        let s = String(m, radix: 16)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s
    }
}

/// A random suffix for host-side names (netns, cgroups).
func randomSuffix() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }

/// The controller directories of cgroup v1 hierarchies on this host.
let cgroupV1Controllers = ["memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "systemd"]
/// Every hierarchy the runtime makes a directory in on this hybrid host: cleanup must cover them all.
let cgroupHierarchies = cgroupV1Controllers + ["unified"]

/// The cgroup v1 directories that exist for a relative cgroup path.
func existingCgroupDirs(_ relative: String) -> [String] {
    cgroupV1Controllers.map { "/sys/fs/cgroup/\($0)/\(relative)" }.filter(exists)
}
