import Foundation
import BerthNetwork
import BerthOS
import Glibc
import BerthWire

/// A berth-lifecycled of its own for one test: temp data and run roots, its own socket. Stops it,
/// unmounts what the test mounted under its directory, and removes everything in `cleanup`.
public final class LifecycleHarness: @unchecked Sendable {
    public let dir: String
    public let root: String
    public let run: String
    public var socket: String { run + "/lifecycle.sock" }
    public let binary: String
    public private(set) var process: BackgroundProcess?
    private var clients: [WireClient] = []
    public let extraArgs: [String]

    /// The berth-lifecycled under test: $BERTH_LIFECYCLED, else the one built beside this test binary.
    public static var lifecycledBinary: String {
        if let env = getenv("BERTH_LIFECYCLED") { return String(cString: env) }
        return siblingBinary("berth-lifecycled")
    }

    /// A product of this build: in the directory of the running test bundle (whatever scratch
    /// path built it), else `.build/debug`.
    public static func siblingBinary(_ name: String) -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var dir = (exe as NSString).deletingLastPathComponent
            // The bundle may be <dir>/X.xctest (a file) or <dir>/X.xctest/Contents/… .
            while dir.contains(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
            let candidate = dir + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        let pkg = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        return "/\(pkg)/.build/debug/\(name)"
    }

    public static var available: Bool { geteuid() == 0 && access(lifecycledBinary, X_OK) == 0 }

    /// This instance's parent cgroup (`--cgroup-parent`), removed in cleanup.
    public let cgroupParent: String

    /// This instance's networking: its own default bridge, subnets (checked against the host's
    /// routes, random so parallel instances don't collide) and iptables chains.
    public let bridge: String
    public let bridgeSubnet: IPv4Subnet
    public let pool: IPv4Subnet
    public let chainPrefix: String

    public init(extraArgs: [String] = []) throws {
        _ = Self.portmapChainsPreexisted
        var template = Array("/tmp/berth-test-lc-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        dir = String(cString: p)
        root = dir + "/root"
        run = dir + "/run"
        binary = Self.lifecycledBinary
        cgroupParent = "/berth-test-" + (dir as NSString).lastPathComponent
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        bridge = "berth-test-" + tag
        chainPrefix = "BERTH-TEST-" + tag
        let routes = HostRoutes.current()
        func free(_ make: () -> IPv4Subnet) -> IPv4Subnet {
            for _ in 0..<100 {
                let s = make()
                if HostRoutes.conflict(s, routes: routes) == nil { return s }
            }
            return make()
        }
        bridgeSubnet = free { IPv4Subnet(network: IPv4Address(UInt32(10) << 24 | UInt32.random(in: 200...249) << 16 | UInt32.random(in: 0...255) << 8), prefix: 24) }
        pool = free { IPv4Subnet(network: IPv4Address(UInt32(10) << 24 | UInt32.random(in: 150...199) << 16), prefix: 16) }
        self.extraArgs = ["--cgroup-parent", cgroupParent] + Self.networkArgs(bridge: bridge, bridgeSubnet: bridgeSubnet, pool: pool,
                                                                              chainPrefix: chainPrefix) + extraArgs
    }

    /// The networking flags of this instance; berthd takes the same ones for the daemon it starts.
    public var networkArgs: [String] { Self.networkArgs(bridge: bridge, bridgeSubnet: bridgeSubnet, pool: pool, chainPrefix: chainPrefix) }

    static func networkArgs(bridge: String, bridgeSubnet: IPv4Subnet, pool: IPv4Subnet, chainPrefix: String) -> [String] {
        ["--bridge", bridge, "--bip", "\(IPv4Address(bridgeSubnet.network.value + 1))/24",
         "--default-address-pool", "base=\(pool),size=24", "--bridge-prefix", "berth-test-", "--iptables-chain-prefix", chainPrefix]
    }

    /// Starts the daemon and waits until it answers `system.ping`.
    public func start() async throws {
        let proc = try BackgroundProcess(binary, ["serve", "--root", root, "--run-root", run] + extraArgs, log: dir + "/lifecycled.log")
        process = proc
        for _ in 0..<200 {
            if let c = try? await WireClient.connect(path: socket) {
                if (try? await c.call("system.ping", Empty(), returning: RawJSON.self)) != nil {
                    await c.close()
                    return
                }
                await c.close()
            }
            if kill(proc.pid, 0) != 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("berth-lifecycled did not come up: \(log)")
    }

    public var log: String { (try? Fixtures.read(dir + "/lifecycled.log")) ?? "" }

    /// A new connection (closed in cleanup).
    public func client() async throws -> WireClient {
        let c = try await WireClient.connect(path: socket)
        clients.append(c)
        return c
    }

    /// SIGTERM and wait.
    public func stop() async {
        for c in clients { await c.close() }
        clients.removeAll()
        process?.stop()
        process = nil
    }

    /// kill -9, as a crash.
    public func crash() async {
        guard let p = process else { return }
        p.crash()
        for c in clients { await c.close() }
        clients.removeAll()
        process = nil
    }

    public func cleanup() async {
        // Containers first, through the daemon while it runs; then whatever a crash left behind.
        if process != nil, let c = try? await WireClient.connect(path: socket) {
            if let all = try? await c.call("container.list", ["all": true], returning: [IDOnly].self) {
                for x in all { _ = try? await c.call("container.remove", RemoveAll(id: x.Id), returning: RawJSON.self) }
            }
            await c.close()
        }
        await stop()
        killLeftovers()
        // Unmount anything a test mounted below its directory, deepest first.
        if let mounts = try? Fixtures.read("/proc/self/mountinfo") {
            let points = mounts.split(separator: "\n").compactMap { l -> String? in
                let f = l.split(separator: " ")
                return f.count > 4 && f[4].hasPrefix(dir) ? String(f[4]) : nil
            }
            for m in points.sorted(by: { $0.count > $1.count }) { umount2(m, Int32(MNT_DETACH)) }
        }
        removeCgroups()
        removeNetworking()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Whether the CNI portmap plugin's shared chains were there before any test ran (then they
    /// are someone else's and stay).
    static let portmapChainsPreexisted: Bool = iptables(["-t", "nat", "-S", "CNI-HOSTPORT-DNAT"]).status == 0

    @discardableResult
    static func iptables(_ args: [String]) -> (status: Int32, output: String) { Firewall.exec(args) }

    /// The portmap plugin leaves its shared chains behind after the last port is unpublished;
    /// they go once no test publishes a port any more (no per-container chain is left in them).
    static func removePortmapChains() {
        guard !portmapChainsPreexisted else { return }
        let dnat = iptables(["-t", "nat", "-S", "CNI-HOSTPORT-DNAT"])
        guard dnat.status == 0, !dnat.output.contains("-A CNI-HOSTPORT-DNAT") else { return }
        iptables(["-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"])
        iptables(["-t", "nat", "-D", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"])
        iptables(["-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"])
        for chain in ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"] {
            iptables(["-t", "nat", "-F", chain])
            iptables(["-t", "nat", "-X", chain])
        }
    }

    /// This instance's bridges (found by their addresses in its own subnets) and iptables chains.
    func removeNetworking() {
        Firewall(prefix: chainPrefix).removeAll()
        Self.removePortmapChains()
        let ip = "/usr/sbin/ip"
        guard let r = try? Subprocess.run(path: ip, args: [ip, "-o", "-4", "addr", "show", "type", "bridge"], env: [],
                                          captureOutput: true) else { return }
        for line in String(decoding: r.output, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 3, f[1].hasPrefix("berth-test-"), let a = IPv4Subnet(String(f[3])),
                  bridgeSubnet.contains(a.network) || pool.contains(a.network) else { continue }
            _ = try? Subprocess.run(path: ip, args: [ip, "link", "delete", String(f[1])], env: [])
        }
        if FileManager.default.fileExists(atPath: "/sys/class/net/" + bridge) {
            _ = try? Subprocess.run(path: ip, args: [ip, "link", "delete", bridge], env: [])
        }
    }

    private struct IDOnly: Decodable { var Id: String }
    private struct RemoveAll: Encodable { var id: String; var force = true; var volumes = true }

    /// Kills the monitors and container processes this instance started (found through its own
    /// run root and cgroup parent, never by name).
    func killLeftovers() {
        for sub in ["c", "e"] {
            for d in (try? FileManager.default.contentsOfDirectory(atPath: "\(run)/\(sub)")) ?? [] {
                if let s = try? Fixtures.read("\(run)/\(sub)/\(d)/monitor.pid"), let pid = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)),
                   let comm = try? Fixtures.read("/proc/\(pid)/comm"), comm.hasPrefix("berth-monitor") {
                    kill(pid, SIGKILL)
                }
            }
        }
        for _ in 0..<50 {
            let pids = cgroupDirs(controller: "pids").flatMap { d in
                ((try? Fixtures.read(d + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
            }
            if pids.isEmpty { break }
            for p in pids { kill(p, SIGKILL) }
            usleep(20_000)
        }
    }

    /// The cgroup dirs under this instance's parent in one hierarchy, deepest first.
    func cgroupDirs(controller: String) -> [String] {
        let base = "/sys/fs/cgroup/\(controller)\(cgroupParent)"
        guard FileManager.default.fileExists(atPath: base) else { return [] }
        var out = [base]
        if let e = FileManager.default.enumerator(atPath: base) {
            for case let rel as String in e {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: base + "/" + rel, isDirectory: &isDir), isDir.boolValue { out.append(base + "/" + rel) }
            }
        }
        return out.sorted { $0.count > $1.count }
    }

    func removeCgroups() {
        let controllers = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        for c in controllers {
            for d in cgroupDirs(controller: c) { rmdir(d) }
        }
    }
}

extension LifecycleHarness {
    /// A berth-lifecycled and a registry for `body`, both stopped and removed afterwards, also on
    /// failure. When `body` throws, `report` gets the daemon's log and the registry's log tail
    /// (tests pass `Issue.record`) before the error is rethrown.
    public static func withStack(auth: TestRegistry.Auth = .none, report: (String) -> Void,
                                 _ body: (LifecycleHarness, TestRegistry, WireClient) async throws -> Void) async throws {
        let registry = try TestRegistry(auth: auth)
        defer { registry.stop() }
        let lc = try LifecycleHarness()
        do {
            try await lc.start()
            try await body(lc, registry, try await lc.client())
        } catch {
            let log = lc.log
            await lc.cleanup()
            report("berth-lifecycled log:\n\(log)\nregistry log (tail):\n\(registry.log.suffix(3000))")
            throw error
        }
        await lc.cleanup()
    }
}
