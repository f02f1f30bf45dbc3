import ArgumentParser
import Foundation

/// `berth info` / `berth system info`: docker's layout of `GET /info`, or `--format`.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Display system-wide information", usage: "berth info [OPTIONS]", helpNames: [.long])

    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?

    func run() throws {
        let client = try CLI.client()
        let info: [String: Any]
        do {
            info = try client.json("GET", "/info") as? [String: Any] ?? [:]
        } catch {
            if format == nil { CommandSupport.out(Self.clientSection() + "\nServer:\n") }
            throw CLIError(code: 1, "ERROR: \(error)\nerrors pretty printing info")
        }
        if let format {
            var v = info
            v["ClientInfo"] = ["Version": Version.clientVersion, "Context": "default", "Debug": CLI.debug] as [String: Any]
            CommandSupport.out(try inspectFormat(format, values: [v]))
            return
        }
        CommandSupport.out(Self.clientSection() + "\n" + Self.serverSection(info))
        for w in info["Warnings"] as? [String] ?? [] { CommandSupport.err(w + "\n") }
    }

    static func clientSection() -> String {
        "Client:\n Version:    \(Version.clientVersion)\n Context:    default\n Debug Mode: \(CLI.debug)\n"
    }

    /// docker's `prettyPrintServerInfo`, for the fields berthd's /info gives.
    static func serverSection(_ i: [String: Any]) -> String {
        func s(_ k: String) -> String { if let v = i[k] as? String { return v }; if let n = i[k] as? NSNumber { return n.stringValue }; return "" }
        func b(_ k: String) -> String { String((i[k] as? Bool) ?? false) }
        var o = "Server:\n"
        o += " Containers: \(s("Containers"))\n  Running: \(s("ContainersRunning"))\n  Paused: \(s("ContainersPaused"))\n  Stopped: \(s("ContainersStopped"))\n"
        o += " Images: \(s("Images"))\n Server Version: \(s("ServerVersion"))\n Storage Driver: \(s("Driver"))\n"
        for pair in i["DriverStatus"] as? [[String]] ?? [] where pair.count == 2 { o += "  \(pair[0]): \(pair[1])\n" }
        o += " Logging Driver: \(s("LoggingDriver"))\n Cgroup Driver: \(s("CgroupDriver"))\n Cgroup Version: \(s("CgroupVersion"))\n"
        let plugins = i["Plugins"] as? [String: Any] ?? [:]
        func plugin(_ k: String) -> String { (plugins[k] as? [String] ?? []).joined(separator: " ") }
        o += " Plugins:\n  Volume: \(plugin("Volume"))\n  Network: \(plugin("Network"))\n  Log: \(plugin("Log"))\n"
        let swarm = i["Swarm"] as? [String: Any] ?? [:]
        let swarmState = swarm["LocalNodeState"] as? String ?? ""
        o += " Swarm: \(swarmState)\n"
        if swarmState != "inactive" && swarmState != "locked" {
            o += "  NodeID: \(swarm["NodeID"] as? String ?? "")\n  Is Manager: \((swarm["ControlAvailable"] as? Bool) ?? false)\n"
            o += "  Node Address: \(swarm["NodeAddr"] as? String ?? "")\n"
        }
        let runtimes = (i["Runtimes"] as? [String: Any] ?? [:]).keys.sorted()
        if !runtimes.isEmpty { o += " Runtimes: \(runtimes.joined(separator: " "))\n" }
        o += " Default Runtime: \(s("DefaultRuntime"))\n Init Binary: \(s("InitBinary"))\n"
        for (name, key) in [("containerd", "ContainerdCommit"), ("runc", "RuncCommit"), ("init", "InitCommit")] {
            let c = i[key] as? [String: Any] ?? [:]
            let id = c["ID"] as? String ?? "", expected = c["Expected"] as? String ?? ""
            o += " \(name) version: \(id)" + (id != expected ? " (expected: \(expected))" : "") + "\n"
        }
        let secopts = i["SecurityOptions"] as? [String] ?? []
        if !secopts.isEmpty {
            o += " Security Options:\n"
            for opt in secopts {
                var name = "", extras: [(String, String)] = []
                for kv in opt.split(separator: ",") {
                    let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
                    guard p.count == 2 else { continue }
                    if p[0] == "name" { name = p[1] } else { extras.append((p[0].prefix(1).uppercased() + p[0].dropFirst(), p[1])) }
                }
                o += "  \(name)\n" + extras.map { "   \($0.0): \($0.1)\n" }.joined()
            }
        }
        o += " Kernel Version: \(s("KernelVersion"))\n Operating System: \(s("OperatingSystem"))\n OSType: \(s("OSType"))\n"
        o += " Architecture: \(s("Architecture"))\n CPUs: \(s("NCPU"))\n"
        o += " Total Memory: \(bytesSize(CommandSupport.int(i["MemTotal"])))\n Name: \(s("Name"))\n ID: \(s("ID"))\n"
        o += " Docker Root Dir: \(s("DockerRootDir"))\n Debug Mode: \(b("Debug"))\n"
        if (i["Debug"] as? Bool) == true {
            o += "  File Descriptors: \(s("NFd"))\n  Goroutines: \(s("NGoroutines"))\n  System Time: \(s("SystemTime"))\n  EventsListeners: \(s("NEventsListener"))\n"
        }
        for (key, title) in [("HttpProxy", "HTTP Proxy"), ("HttpsProxy", "HTTPS Proxy"), ("NoProxy", "No Proxy")] where !s(key).isEmpty {
            o += " \(title): \(s(key))\n"
        }
        if !s("IndexServerAddress").isEmpty {
            if let u = CLIConfig.load().credentials(for: s("IndexServerAddress"))?.username { o += " Username: \(u)\n" }
            o += " Registry: \(s("IndexServerAddress"))\n"
        }
        if let labels = i["Labels"] as? [String] { o += " Labels:\n" + labels.map { "  \($0)\n" }.joined() }
        o += " Experimental: \(b("ExperimentalBuild"))\n"
        if let reg = i["RegistryConfig"] as? [String: Any] {
            let cidrs = reg["InsecureRegistryCIDRs"] as? [String] ?? []
            let names = (reg["IndexConfigs"] as? [String: [String: Any]] ?? [:]).filter { ($0.value["Secure"] as? Bool) == false }.keys.sorted()
            if !cidrs.isEmpty || !names.isEmpty { o += " Insecure Registries:\n" + (names + cidrs).map { "  \($0)\n" }.joined() }
        }
        o += " Live Restore Enabled: \(b("LiveRestoreEnabled"))\n\n"
        return o
    }
}
