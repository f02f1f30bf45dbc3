import ArgumentParser
import BerthWire
import BerthOS
import Foundation
import Glibc

/// `berthd`: the Docker Engine API daemon. dockerd's flag names; containers and images are
/// berth-lifecycled's, reached over its wire socket (started here as a child unless
/// `--lifecycle-socket` names one already running).
public struct BerthdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "berthd", abstract: "Berth's Docker Engine API daemon (the role of dockerd).", version: "0.1.0")

    @Option(name: [.customShort("H"), .long], help: "Socket to listen on: unix:///path.")
    var host: [String] = []
    @Option(name: .long, help: "Data root (images, containers, volumes).")
    var dataRoot = "/var/lib/berth"
    @Option(name: .long, help: "Exec root (sockets, monitor state).")
    var execRoot = "/run/berth"
    @Option(name: .long, help: "Write berthd's pid here.")
    var pidfile: String?
    @Flag(name: [.customShort("D"), .long], help: "Debug logging.")
    var debug = false
    @Option(name: .long, help: "Use this running berth-lifecycled instead of starting one.")
    var lifecycleSocket: String?
    @Option(name: .long, help: "Parent cgroup of every container (passed to berth-lifecycled).")
    var cgroupParent: String?
    @Option(name: .long, help: "A registry (host[:port]) that may be reached over plain HTTP. Repeatable.")
    var insecureRegistry: [String] = []
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

    /// Refuses networking flags berth-lifecycled could not start with, before anything starts.
    public func validate() throws {
        // dockerd's `--bridge none` turns the default bridge off; berth-lifecycled always has one.
        if bridge == "none" { throw ValidationError("--bridge none is not supported: the default bridge network cannot be disabled") }
        if let bip, bip.split(separator: "/").count != 2 {
            throw ValidationError("invalid --bip \(bip): want an address with its prefix length, like 10.87.0.1/16")
        }
        for p in defaultAddressPool {
            let keys = Set(p.split(separator: ",").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
            guard keys == ["base", "size"] else {
                throw ValidationError("invalid --default-address-pool \(p): want base=<subnet>,size=<prefix length>")
            }
        }
    }

    /// The flags berth-lifecycled gets for its networks (same names there).
    var networkArgs: [String] {
        var args: [String] = []
        if let bridge { args += ["--bridge", bridge] }
        if let bip { args += ["--bip", bip] }
        for p in defaultAddressPool { args += ["--default-address-pool", p] }
        if let bridgePrefix { args += ["--bridge-prefix", bridgePrefix] }
        if let iptablesChainPrefix { args += ["--iptables-chain-prefix", iptablesChainPrefix] }
        return args
    }

    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let listen = host.last ?? "unix:///run/berth/berth.sock"
        guard listen.hasPrefix("unix://"), listen.count > "unix://".count else {
            throw ValidationError("only unix:// hosts are supported: \(listen)")
        }
        let socketPath = String(listen.dropFirst("unix://".count))
        var child: LifecycleChild?
        let wireSocket: String
        if let s = lifecycleSocket {
            wireSocket = s
            if !networkArgs.isEmpty { Self.log("networking flags are ignored with --lifecycle-socket: pass them to that berth-lifecycled") }
        } else {
            wireSocket = execRoot + "/lifecycle.sock"
            var args = ["serve", "--root", dataRoot, "--run-root", execRoot, "--socket", wireSocket]
            if let cgroupParent { args += ["--cgroup-parent", cgroupParent] }
            for r in insecureRegistry { args += ["--insecure-registry", r] }
            args += networkArgs
            if debug { args.append("--debug") }
            let binary = lifecycled ?? LifecycleChild.sibling("berth-lifecycled")
            do { child = try LifecycleChild.start(binary: binary, args: args) } catch {
                Self.log("cannot start \(binary): \(error)")
                throw ExitCode(1)
            }
        }
        guard await LifecycleChild.waitReady(socket: wireSocket, child: child) else {
            Self.log("berth-lifecycled did not answer on \(wireSocket)")
            child?.stop()
            throw ExitCode(1)
        }
        let server: EngineServer
        do {
            server = try await EngineServer.start(path: socketPath, lifecycleSocket: wireSocket,
                                                  options: EngineServerOptions(dataRoot: dataRoot, debug: debug))
        } catch {
            Self.log("listen on \(socketPath): \(error)")
            child?.stop()
            throw ExitCode(1)
        }
        if let pidfile { try? "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8) }
        Self.log("API listening on \(socketPath) (berth-lifecycled at \(wireSocket))")
        await Termination.wait()
        Self.log("shutting down")
        await server.close()
        // Containers keep running: their monitors do not depend on either daemon (live restore).
        child?.stop()
        if let pidfile { unlink(pidfile) }
    }

    static func log(_ s: String) { FileHandle.standardError.write(Data("berthd: \(s)\n".utf8)) }
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
