import ArgumentParser
import Foundation
import Glibc
import BerthWire
import BerthOS
import BerthNetwork

/// `berth-lifecycled`: `serve` (the default) runs the daemon; `call` sends one wire request, for
/// scripts, the demo and debugging.
public struct LifecycleCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "berth-lifecycled",
        abstract: "Berth's lifecycle manager: images, snapshots and (later) containers, over a JSON-RPC unix socket.",
        version: BerthVersion.string,
        subcommands: [Serve.self, Call.self],
        defaultSubcommand: Serve.self)

    public init() {}

    /// The program's entry point (the async `main` of AsyncParsableCommand).
    public static func entry() async {
        await main(nil)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (the default).")

    @Option(name: .long, help: "Data root: content store, snapshots, metadata database.")
    var root = "/var/lib/berth"
    @Option(name: .long, help: "Run root: sockets and runtime state.")
    var runRoot = "/run/berth"
    @Option(name: .long, help: "The wire socket (default: <run-root>/lifecycle.sock).")
    var socket: String?
    @Option(name: .long, help: "A registry (host[:port]) that may be reached over plain HTTP. Repeatable.")
    var insecureRegistry: [String] = []
    @Option(name: .long, help: "A docker.io mirror (https://host[:port]) tried before docker.io. Repeatable.")
    var registryMirror: [String] = []
    @Option(name: .long, help: "Docker-style config.json with registry credentials.")
    var authFile: String?
    @Option(name: .long, help: "Default platform of pulls (os/arch[/variant]).")
    var platform: String?
    @Option(name: .long, help: "The OCI runtime (default: berth-runtime beside this program).")
    var runtime: String?
    @Option(name: .long, help: "The per-container monitor (default: berth-monitor beside this program).")
    var monitor: String?
    @Option(name: .long, help: "The init run as PID 1 with Init (default: docker-init / tini-static).")
    var initPath: String?
    @Option(name: .long, help: "Parent cgroup of every container.")
    var cgroupParent = "/berth"
    @Option(name: .long, help: "The default bridge network's Linux bridge.")
    var bridge = "berth0"
    @Option(name: .long, help: "The default bridge's address and prefix (its subnet follows).")
    var bip = "10.87.0.1/16"
    @Option(name: .long, help: "Subnets of new networks, as base=10.88.0.0/13,size=20. Repeatable.")
    var defaultAddressPool: [String] = []
    @Option(name: .long, help: "Prefix of user-defined networks' bridge names.")
    var bridgePrefix = "br-"
    @Option(name: .long, help: "Prefix of Berth's iptables chains.")
    var iptablesChainPrefix = "BERTH"
    @Option(name: .long, help: "Directories holding the CNI plugins (colon-separated).")
    var cniPath = "/usr/lib/cni:/opt/cni/bin"
    @Option(name: .long, help: "Write the daemon's pid here.")
    var pidfile: String?
    @Flag(name: [.customShort("D"), .long], help: "Debug logging.")
    var debug = false

    func run() async throws {
        Log.debugEnabled = debug
        signal(SIGPIPE, SIG_IGN)
        var pools: [AddressPool] = []
        for p in defaultAddressPool {
            guard let pool = AddressPool(parsing: p) else {
                Log.error("invalid --default-address-pool \(p): want base=<subnet>,size=<prefix length>")
                throw ExitCode(1)
            }
            pools.append(pool)
        }
        var opts = DaemonOptions(root: root, runRoot: runRoot, socket: socket, insecureRegistries: insecureRegistry,
                                 authFile: authFile, platform: platform, runtime: runtime, monitor: monitor,
                                 initBinary: initPath, cgroupParent: cgroupParent)
        opts.registryMirrors = registryMirror
        opts.network = NetworkServiceOptions(runRoot: runRoot, defaultBridge: bridge, defaultBridgeIP: bip,
                                             pools: pools.isEmpty ? nil : pools, bridgePrefix: bridgePrefix,
                                             chainPrefix: iptablesChainPrefix, cniPath: cniPath.split(separator: ":").map(String.init))
        let daemon: LifecycleDaemon
        do { daemon = try LifecycleDaemon(options: opts) } catch {
            Log.error("\(error)")
            throw ExitCode(1)
        }
        let server: WireServer
        do { server = try await daemon.serve() } catch {
            Log.error("\(error)")
            await daemon.shutdown()
            throw ExitCode(1)
        }
        if let pidfile { try? "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8) }
        Log.info("berth-lifecycled \(BerthVersion.string) serving on \(opts.socket) (root \(opts.root))")
        await Termination.wait()
        Log.info("shutting down")
        await server.close()
        await daemon.shutdown()
        if let pidfile { unlink(pidfile) }
    }
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one request and print its progress events and result as JSON lines.",
        discussion: "Example: berth-lifecycled call image.pull '{\"reference\":\"127.0.0.1:5000/busybox\"}'")

    @Option(name: .long, help: "The wire socket.")
    var socket = "/run/berth/lifecycle.sock"
    @Argument(help: "Method, e.g. image.list.")
    var method: String
    @Argument(help: "Parameters as a JSON object.")
    var params = "{}"

    func run() async throws {
        guard case .object = try? JSONDecoder().decode(JSONValue.self, from: Data(params.utf8)) else {
            throw ValidationError("parameters must be a JSON object: \(params)")
        }
        let client = try await WireClient.connect(path: socket)
        do {
            let result = try await client.call(method, RawJSON(params), returning: RawJSON.self, progress: RawJSON.self) { e in
                print(e.text)
            }
            print(result.text)
        } catch let e as WireError {
            FileHandle.standardError.write(Data("berth-lifecycled: \(e.message) (code \(e.code))\n".utf8))
            await client.close()
            throw ExitCode(1)
        }
        await client.close()
    }
}
