import ArgumentParser
import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS

struct StateCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's state as JSON.")
    @Argument(help: "Container id.") var id: String
    func run() throws { perform { Stdout.write(try globals.runtime().stateJSON(id: id) + "\n") } }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a signal to a container's init (default SIGTERM).")
    @Flag(name: [.short, .long], help: "Send the signal to every process in the container.") var all = false
    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"
    func run() throws {
        perform {
            // Signal 0 only checks that the container can be signalled.
            guard let sig = signal == "0" ? 0 : Signals.parse(signal) else { throw RuntimeError("unknown signal \"\(signal)\"") }
            try globals.runtime().kill(id: id, signal: sig, all: all)
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a stopped container (or any, with --force).")
    @Flag(name: [.short, .long], help: "Kill and delete a running container.") var force = false
    @Argument(help: "Container id.") var id: String
    func run() throws { perform { try globals.runtime().delete(id: id, force: force) } }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.", aliases: ["ls"])
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Flag(name: [.short, .long], help: "Print only ids.") var quiet = false
    func run() throws {
        perform {
            guard format == "table" || format == "json" else { throw RuntimeError("invalid format option \"\(format)\"") }
            Stdout.write(try globals.runtime().list(json: format == "json", quiet: quiet))
        }
    }
}

struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the processes in a container.")
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Arguments for ps (default -ef).") var psArgs: [String] = []
    func run() throws {
        perform {
            guard format == "table" || format == "json" else { throw RuntimeError("invalid format option \"\(format)\"") }
            let args = psArgs.first == "--" ? Array(psArgs.dropFirst()) : psArgs
            Stdout.write(try globals.runtime().ps(id: id, json: format == "json", psArgs: args))
        }
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Freeze every process in a container.")
    @Argument(help: "Container id.") var id: String
    func run() throws { perform { try globals.runtime().pause(id: id) } }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Thaw a paused container.")
    @Argument(help: "Container id.") var id: String
    func run() throws { perform { try globals.runtime().resume(id: id) } }
}

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print container resource statistics as JSON events.")
    @Flag(name: .long, help: "Print one stats event and exit.") var stats = false
    @Option(name: .long, help: "Interval between events, e.g. 5s.") var interval: String = "5s"
    @Argument(help: "Container id.") var id: String
    func run() throws {
        perform {
            let rt = try globals.runtime()
            if stats { Stdout.write(try rt.statsEvent(id: id) + "\n"); return }
            guard let seconds = Events.seconds(interval), seconds > 0 else { throw RuntimeError("invalid interval \"\(interval)\"") }
            try rt.streamEvents(id: id, intervalMs: Int(seconds * 1000)) { Stdout.write($0 + "\n") }
        }
    }
    static func seconds(_ s: String) -> Double? {
        if s.hasSuffix("ms") { return Double(s.dropLast(2)).map { $0 / 1000 } }
        if s.hasSuffix("s") { return Double(s.dropLast()) }
        if s.hasSuffix("m") { return Double(s.dropLast()).map { $0 * 60 } }
        return Double(s)
    }
}

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change a container's resource limits.")
    @Option(name: [.short, .long], help: "JSON file with linux.resources, or - for stdin.") var resources: String?
    @Option(name: .long) var memory: String?
    @Option(name: .customLong("memory-reservation")) var memoryReservation: String?
    @Option(name: .customLong("memory-swap")) var memorySwap: String?
    @Option(name: [.customLong("cpu-share"), .customLong("cpu-shares")]) var cpuShares: UInt64?
    @Option(name: .customLong("cpu-quota")) var cpuQuota: Int64?
    @Option(name: .customLong("cpu-period")) var cpuPeriod: UInt64?
    @Option(name: .customLong("cpu-rt-runtime")) var cpuRtRuntime: Int64?
    @Option(name: .customLong("cpu-rt-period")) var cpuRtPeriod: UInt64?
    @Option(name: .customLong("cpuset-cpus")) var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems")) var cpusetMems: String?
    @Option(name: .customLong("pids-limit")) var pidsLimit: Int64?
    @Option(name: .customLong("blkio-weight")) var blkioWeight: UInt16?
    @Argument(help: "Container id.") var id: String

    func run() throws {
        perform {
            var r = Resources()
            if let file = resources {
                let bytes = file == "-" ? try Update.readStdin() : try FS.readBytes(file)
                do { r = try JSONDecoder().decode(Resources.self, from: Data(bytes)) }
                catch { throw RuntimeError("invalid resources JSON in \(file == "-" ? "stdin" : file): \(error)") }
            }
            func bytes(_ s: String?, _ flag: String) throws(RuntimeError) -> Int64? {
                guard let s else { return nil }
                guard let v = Update.parseSize(s) else { throw RuntimeError("invalid value for --\(flag): \(s)") }
                return v
            }
            var mem = r.memory ?? Memory()
            if let v = try bytes(memory, "memory") { mem.limit = v }
            if let v = try bytes(memoryReservation, "memory-reservation") { mem.reservation = v }
            if let v = try bytes(memorySwap, "memory-swap") { mem.swap = v }
            if mem != Memory() { r.memory = mem }
            var cpu = r.cpu ?? CPU()
            if let v = cpuShares { cpu.shares = v }
            if let v = cpuQuota { cpu.quota = v }
            if let v = cpuPeriod { cpu.period = v }
            if let v = cpuRtRuntime { cpu.realtimeRuntime = v }
            if let v = cpuRtPeriod { cpu.realtimePeriod = v }
            if let v = cpusetCpus { cpu.cpus = v }
            if let v = cpusetMems { cpu.mems = v }
            if cpu != CPU() { r.cpu = cpu }
            if let v = pidsLimit { r.pids = Pids(limit: v) }
            if let v = blkioWeight { r.blockIO = BlockIO(weight: v) }
            try globals.runtime().update(id: id, resources: r)
        }
    }

    static func readStdin() throws(RuntimeError) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buf, buf.count)
            if n < 0 { if errno == EINTR { continue }; throw RuntimeError("\(OSError("read", "stdin"))") }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
        }
    }

    /// "64m", "1g", "1024", "-1" → bytes.
    static func parseSize(_ s: String) -> Int64? {
        if s == "-1" { return -1 }
        let lower = s.lowercased()
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (u, m) in units where lower.hasSuffix(u) {
            return Int64(lower.dropLast(u.count)).map { $0 * m }
        }
        return Int64(lower)
    }
}

struct FeaturesCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print the features document as JSON.")
    func run() throws { Stdout.write(JSON.encode(Runtime.features(), pretty: true) + "\n") }
}

struct SpecCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json into the bundle.")
    @Option(name: [.short, .long], help: "Bundle directory (default: current directory).") var bundle: String = "."
    @Flag(name: .long, help: "A spec for a rootless container.") var rootless = false
    func run() throws {
        perform {
            let path = FS.absolute(bundle) + "/config.json"
            if FS.exists(path) { throw RuntimeError("File \(path) exists. Remove it first") }
            try FS.write(path, JSON.encode(Spec.defaultSpec(rootless: rootless), pretty: true) + "\n", mode: 0o666)
        }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a new process inside a running container.")
    @Option(name: [.short, .long], help: "JSON file describing the process.") var process: String?
    @Flag(name: [.short, .long], help: "Allocate a pseudo-TTY.") var tty = false
    @Option(name: .customLong("console-socket")) var consoleSocket: String?
    @Flag(name: [.short, .long], help: "Detach from the process.") var detach = false
    @Option(name: .customLong("pid-file")) var pidFile: String?
    @Option(name: .long, help: "Working directory inside the container.") var cwd: String?
    @Option(name: [.short, .long], help: "KEY=value to add to the environment.") var env: [String] = []
    @Option(name: [.short, .long], help: "uid[:gid] to run as.") var user: String?
    @Option(name: [.customShort("g"), .customLong("additional-gids")]) var additionalGids: [UInt32] = []
    @Option(name: [.short, .long], help: "Capability to add.") var cap: [String] = []
    @Flag(name: .customLong("no-new-privs")) var noNewPrivs = false
    @Option(name: .customLong("preserve-fds")) var preserveFds: Int32 = 0
    @Option(name: .customLong("process-label")) var processLabel: String?
    @Option(name: [.short, .customLong("apparmor")]) var apparmor: String?
    @Option(name: .customLong("cgroup"), help: "Run in a sub-cgroup: [controller[,controller…]:]path (repeatable).")
    var cgroup: [String] = []
    @Flag(name: .customLong("ignore-paused"), help: "Allow exec in a paused container.") var ignorePaused = false
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough) var command: [String] = []

    func run() throws {
        var code: Int32 = 0
        // runc exits 255 when exec itself fails (the process's own status is passed through).
        perform(exitCode: 255) {
            var o = Runtime.ExecOptions()
            o.processFile = process
            o.args = command.first == "--" ? Array(command.dropFirst()) : command
            o.tty = tty; o.consoleSocket = consoleSocket; o.detach = detach; o.pidFile = pidFile
            o.cwd = cwd; o.env = env; o.user = user; o.additionalGids = additionalGids; o.caps = cap
            o.noNewPrivileges = noNewPrivs; o.preserveFds = preserveFds
            o.cgroups = cgroup; o.ignorePaused = ignorePaused
            code = try globals.runtime().exec(id: id, options: o)
        }
        Glibc.exit(code)
    }
}
