import ArgumentParser
import Foundation

/// `berth network create`: docker's create body from its flags; prints the new network's ID.
struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a network", usage: "berth network create [OPTIONS] NETWORK", helpNames: [.long])

    @Flag(name: .customLong("attachable"), help: "Enable manual container attachment") var attachable = false
    @Option(name: .customLong("aux-address"), help: "Auxiliary IPv4 or IPv6 addresses used by Network driver") var auxAddress: [String] = []
    @Option(name: .customLong("config-from"), help: "The network from which to copy the configuration") var configFrom: String?
    @Flag(name: .customLong("config-only"), help: "Create a configuration only network") var configOnly = false
    @Option(name: [.short, .customLong("driver")], help: "Driver to manage the Network") var driver = "bridge"
    @Option(name: .customLong("gateway"), help: "IPv4 or IPv6 Gateway for the master subnet") var gateway: [String] = []
    @Flag(name: .customLong("ingress"), help: "Create swarm routing-mesh network") var ingress = false
    @Flag(name: .customLong("internal"), help: "Restrict external access to the network") var `internal` = false
    @Option(name: .customLong("ip-range"), help: "Allocate container ip from a sub-range") var ipRange: [String] = []
    @Option(name: .customLong("ipam-driver"), help: "IP Address Management Driver") var ipamDriver = "default"
    @Option(name: .customLong("ipam-opt"), help: "Set IPAM driver specific options") var ipamOpt: [String] = []
    @Flag(name: .customLong("ipv6"), help: "Enable or disable IPv6 networking") var ipv6 = false
    @Option(name: .customLong("label"), help: "Set metadata on a network") var label: [String] = []
    @Option(name: [.short, .customLong("opt")], help: "Set driver specific options") var opt: [String] = []
    @Option(name: .customLong("scope"), help: "Control the network's scope") var scope: String?
    @Option(name: .customLong("subnet"), help: "Subnet in CIDR format that represents a network segment") var subnet: [String] = []
    @Argument(help: "The network's name") var name: String

    /// `key=value` flags as a map (a bare key maps to "").
    static func keyValues(_ flags: [String]) -> [String: String] {
        var m: [String: String] = [:]
        for f in flags {
            let parts = f.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            m[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return m
    }

    func body() throws -> [String: Any] {
        if gateway.count > subnet.count || ipRange.count > subnet.count {
            throw CLIError("every ip-range or gateway must have a corresponding subnet")
        }
        var configs: [[String: Any]] = []
        for (i, s) in subnet.enumerated() {
            var c: [String: Any] = ["Subnet": s]
            if i < ipRange.count { c["IPRange"] = ipRange[i] }
            if i < gateway.count { c["Gateway"] = gateway[i] }
            if i == 0 && !auxAddress.isEmpty { c["AuxiliaryAddresses"] = Self.keyValues(auxAddress) }
            configs.append(c)
        }
        var b: [String: Any] = [
            "Name": name, "Driver": driver, "EnableIPv6": ipv6, "Internal": `internal`, "Attachable": attachable,
            "Ingress": ingress, "ConfigOnly": configOnly, "CheckDuplicate": true,
            "IPAM": ["Driver": ipamDriver, "Options": Self.keyValues(ipamOpt), "Config": configs] as [String: Any],
            "Options": Self.keyValues(opt), "Labels": Self.keyValues(label),
        ]
        if let scope { b["Scope"] = scope }
        if let configFrom { b["ConfigFrom"] = ["Network": configFrom] }
        return b
    }

    func run() throws {
        let r = try CLI.client().json("POST", "/networks/create", body: try body()) as? [String: Any] ?? [:]
        if let w = r["Warning"] as? String, !w.isEmpty { CommandSupport.err("WARNING: \(w)\n") }
        CommandSupport.out((r["Id"] as? String ?? "") + "\n")
    }
}
