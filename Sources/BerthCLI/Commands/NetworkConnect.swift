import ArgumentParser
import Foundation

/// `berth network connect NETWORK CONTAINER`: `POST /networks/{id}/connect` with the endpoint settings.
struct NetworkConnect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect a container to a network",
        usage: "berth network connect [OPTIONS] NETWORK CONTAINER", helpNames: [.long])

    @Option(name: .customLong("alias"), help: "Add network-scoped alias for the container") var alias: [String] = []
    @Option(name: .customLong("driver-opt"), help: "driver options for the network") var driverOpt: [String] = []
    @Option(name: .customLong("ip"), help: "IPv4 address (e.g., \"172.30.100.104\")") var ip: String?
    @Option(name: .customLong("ip6"), help: "IPv6 address (e.g., \"2001:db8::33\")") var ip6: String?
    @Option(name: .customLong("link"), help: "Add link to another container") var link: [String] = []
    @Option(name: .customLong("link-local-ip"), help: "Add a link-local address for the container") var linkLocalIP: [String] = []
    @Argument(help: "The network") var network: String
    @Argument(help: "The container") var container: String

    func run() throws {
        var endpoint: [String: Any] = [:]
        var ipam: [String: Any] = [:]
        if let ip { ipam["IPv4Address"] = ip }
        if let ip6 { ipam["IPv6Address"] = ip6 }
        if !linkLocalIP.isEmpty { ipam["LinkLocalIPs"] = linkLocalIP }
        if !ipam.isEmpty { endpoint["IPAMConfig"] = ipam }
        if !alias.isEmpty { endpoint["Aliases"] = alias }
        if !link.isEmpty { endpoint["Links"] = link }
        if !driverOpt.isEmpty { endpoint["DriverOpts"] = NetworkCreate.keyValues(driverOpt) }
        _ = try CLI.client().json("POST", "/networks/\(network)/connect", body: ["Container": container, "EndpointConfig": endpoint])
    }
}
