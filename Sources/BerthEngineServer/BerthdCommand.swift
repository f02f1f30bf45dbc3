import ArgumentParser
import BerthWire
import BerthOS
import Foundation
import Glibc
import NIOConcurrencyHelpers

/// `berthd`: the Docker Engine API daemon. dockerd's flag names; containers and images are
/// berth-lifecycled's, reached over its wire socket (started here as a child unless
/// `--lifecycle-socket` names one already running).
public struct BerthdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "berthd", abstract: "Berth's Docker Engine API daemon (the role of dockerd).", version: "0.1.0")

    @Option(name: [.customShort("H"), .long], help: "Address to listen on: unix:///path or tcp://host:port (plain HTTP). Repeatable.")
    var host: [String] = []
    @Option(name: .long, help: "daemon.json with dockerd's keys (default /etc/berth/daemon.json; a missing default is no configuration).")
    var configFile: String?
    @Option(name: .long, help: "Data root (images, containers, volumes; default /var/lib/berth).")
    var dataRoot: String?
    @Option(name: .long, help: "Exec root (sockets, monitor state; default /run/berth).")
    var execRoot: String?
    @Option(name: .long, help: "Write berthd's pid here.")
    var pidfile: String?
    @Flag(name: [.customShort("D"), .long], help: "Debug logging.")
    var debug = false
    @Option(name: [.customShort("l"), .long], help: "Logging level: debug, info, warn, error, fatal (default info).")
    var logLevel: String?
    @Option(name: .long, help: "Use this running berth-lifecycled instead of starting one.")
    var lifecycleSocket: String?
    @Option(name: .long, help: "Parent cgroup of every container (passed to berth-lifecycled).")
    var cgroupParent: String?
    @Option(name: .long, help: "A registry (host[:port]) that may be reached over plain HTTP. Repeatable.")
    var insecureRegistry: [String] = []
    @Option(name: .long, help: "A docker.io mirror (https://host[:port]) tried before docker.io. Repeatable.")
    var registryMirror: [String] = []
    @Option(name: .long, help: "A ulimit for containers that set none of that name: nofile=1024:2048. Repeatable.")
    var defaultUlimit: [String] = []
    @Flag(name: .long, help: "Containers keep running while the daemons are down (always on).")
    var liveRestore = false
    @Option(name: [.customShort("G"), .long], help: "Group of the unix API sockets (default berth; root only if it does not exist).")
    var group: String?
    @Option(name: .long, help: "berth-lifecycled to start (default: beside this program).")
    var lifecycled: String?
    @Option(name: [.customShort("b"), .long], help: "The default bridge network's Linux bridge (berth-lifecycled's default: berth0).")
    var bridge: String?
    @Option(name: .long, help: "The default bridge's address with its prefix, e.g. 10.87.0.1/16.")
    var bip: String?
    @Option(name: .long, help: "Where new networks get their subnets: base=10.88.0.0/13,size=20. Repeatable.")
    var defaultAddressPool: [String] = []
    @Option(name: .long, help: "Prefix of user-defined networks' bridge names (Berth's own; for tests).")
    var bridgePrefix: String?
    @Option(name: .long, help: "Prefix of Berth's iptables chains (Berth's own; for tests).")
    var iptablesChainPrefix: String?

    public init() {}

    public static func entry() async { await main(nil) }

    var flags: DaemonFlags {
        DaemonFlags(hosts: host, dataRoot: dataRoot, execRoot: execRoot, pidfile: pidfile, debug: debug, logLevel: logLevel,
                    insecureRegistries: insecureRegistry, registryMirrors: registryMirror, bip: bip, bridge: bridge,
                    defaultAddressPools: defaultAddressPool, defaultUlimits: defaultUlimit, liveRestore: liveRestore,
                    group: group, cgroupParent: cgroupParent)
    }

    /// The flags alone (daemon.json is read in `run`): dockerd's usage errors.
    public func validate() throws {
        do { try Self.check(DaemonConfig.resolve(flags: flags, file: nil)) } catch { throw ValidationError(error.description) }
    }

    /// The networking flags as berth-lifecycled gets them, without daemon.json.
    var networkArgs: [String] { networkArgs((try? DaemonConfig.resolve(flags: flags, file: nil)) ?? DaemonSettings()) }

    /// Refuses networking settings berth-lifecycled could not start with, before anything starts.
    static func check(_ s: DaemonSettings) throws(DaemonConfigError) {
        // dockerd's `--bridge none` turns the default bridge off; berth-lifecycled always has one.
        if s.bridge == "none" { throw DaemonConfigError("--bridge none is not supported: the default bridge network cannot be disabled") }
        if let bip = s.bip, bip.split(separator: "/").count != 2 {
            throw DaemonConfigError("invalid --bip \(bip): want an address with its prefix length, like 10.87.0.1/16")
        }
        for p in s.defaultAddressPools {
            let keys = Set(p.split(separator: ",").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
            guard keys == ["base", "size"] else {
                throw DaemonConfigError("invalid --default-address-pool \(p): want base=<subnet>,size=<prefix length>")
            }
        }
    }

    /// The flags berth-lifecycled gets for its networks (same names there).
    func networkArgs(_ s: DaemonSettings) -> [String] {
        var args: [String] = []
        if let bridge = s.bridge { args += ["--bridge", bridge] }
        if let bip = s.bip { args += ["--bip", bip] }
        for p in s.defaultAddressPools { args += ["--default-address-pool", p] }
        if let bridgePrefix { args += ["--bridge-prefix", bridgePrefix] }
        if let iptablesChainPrefix { args += ["--iptables-chain-prefix", iptablesChainPrefix] }
        return args
    }

    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let s: DaemonSettings
        let listens: [ListenAddress]
        do {
            let path = configFile ?? DaemonConfig.defaultFile
            s = try DaemonConfig.resolve(flags: flags, file: try DaemonConfig.load(path: path, explicit: configFile != nil), path: path)
            try Self.check(s)
            listens = try (s.hosts.isEmpty ? ["unix://" + ListenAddress.defaultSocket] : s.hosts).map(ListenAddress.parse)
        } catch {
            Self.log(error.description, level: .fatal)
            throw ExitCode(1)
        }
        Self.threshold.withLockedValue { $0 = s.logLevel }
        if !s.liveRestore { Self.log("live-restore is always on: containers keep running while berthd is down", level: .warn) }
        var child: LifecycleChild?
        let wireSocket: String
        if let sock = lifecycleSocket {
            wireSocket = sock
            if !networkArgs(s).isEmpty || !s.registryMirrors.isEmpty {
                Self.log("networking and registry flags are ignored with --lifecycle-socket: pass them to that berth-lifecycled", level: .warn)
            }
        } else {
            wireSocket = s.execRoot + "/lifecycle.sock"
            var args = ["serve", "--root", s.dataRoot, "--run-root", s.execRoot, "--socket", wireSocket]
            if let cg = s.cgroupParent { args += ["--cgroup-parent", cg] }
            for r in s.insecureRegistries { args += ["--insecure-registry", r] }
            for m in s.registryMirrors { args += ["--registry-mirror", m] }
            args += networkArgs(s)
            if s.logLevel == .debug { args.append("--debug") }
            let binary = lifecycled ?? LifecycleChild.sibling("berth-lifecycled")
            do { child = try LifecycleChild.start(binary: binary, args: args) } catch {
                Self.log("cannot start \(binary): \(error)", level: .fatal)
                throw ExitCode(1)
            }
        }
        guard await LifecycleChild.waitReady(socket: wireSocket, child: child) else {
            Self.log("berth-lifecycled did not answer on \(wireSocket)", level: .fatal)
            child?.stop()
            throw ExitCode(1)
        }
        var options = EngineServerOptions(dataRoot: s.dataRoot, debug: s.logLevel == .debug)
        options.logErrors = s.logLevel <= .error
        options.defaultUlimits = s.defaultUlimits
        var servers: [EngineServer] = []
        for l in listens {
            do {
                switch l {
                case .unix(let path):
                    let server = try await EngineServer.start(path: path, lifecycleSocket: wireSocket, options: options)
                    Self.restrict(socket: path, group: s.group)
                    servers.append(server)
                    Self.log("API listening on \(path) (berth-lifecycled at \(wireSocket))")
                case .tcp(let h, let port):
                    servers.append(try await EngineServer.start(host: h, port: port, lifecycleSocket: wireSocket, options: options))
                    // dockerd's warnings for a TCP socket without TLS (berthd has no TLS at all).
                    Self.log("Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.", level: .warn)
                    Self.log("API is accessible on http://\(h):\(port) without encryption or authentication: anyone who can reach it controls this machine as root", level: .warn)
                    Self.log("API listening on \(h):\(port)")
                }
            } catch {
                Self.log("listen on \(l): \(error)", level: .fatal)
                for server in servers { await server.close() }
                child?.stop()
                throw ExitCode(1)
            }
        }
        if let pidfile = s.pidfile { try? "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8) }
        await Termination.wait()
        Self.log("shutting down")
        for server in servers { await server.close() }
        // Containers keep running: their monitors do not depend on either daemon (live restore).
        child?.stop()
        if let pidfile = s.pidfile { unlink(pidfile) }
    }

    /// Like docker.sock: root and `group` may use the socket (mode 0660); without that group,
    /// root only.
    static func restrict(socket: String, group: String) {
        chmod(socket, 0o660)
        guard let gr = getgrnam(group) else {
            log("group \(group) not found: the API socket \(socket) is for root only", level: .warn)
            return
        }
        if chown(socket, 0, gr.pointee.gr_gid) != 0 {
            log("chown \(socket) to root:\(group): \(String(cString: strerror(errno)))", level: .warn)
        }
    }

    static let threshold = NIOLockedValueBox(LogLevel.info)

    static func log(_ s: String, level: LogLevel = .info) {
        guard level >= threshold.withLockedValue({ $0 }) else { return }
        FileHandle.standardError.write(Data("berthd: \(s)\n".utf8))
    }
}

/// The berth-lifecycled berthd started and owns.
struct LifecycleChild {
    let process: Process

    /// A program installed beside this one.
    static func sibling(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent + "/" + name
    }

    static func start(binary: String, args: [String]) throws -> LifecycleChild {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        try p.run()
        return LifecycleChild(process: p)
    }

    /// Until the daemon answers `system.ping` (or the child died), at most 30 s.
    static func waitReady(socket: String, child: LifecycleChild?) async -> Bool {
        for _ in 0..<600 {
            if let c = try? await WireClient.connect(path: socket) {
                let ok = (try? await c.call("system.ping", Empty(), returning: RawJSON.self)) != nil
                await c.close()
                if ok { return true }
            }
            if let child, !child.process.isRunning { return false }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    /// SIGTERM and wait for it (its own shutdown leaves containers running).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
