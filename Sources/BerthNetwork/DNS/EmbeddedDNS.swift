// TEMPORARY compile shim until the DNS branch merges. Not committed.
import NIOCore
public struct DNSEndpoint: Sendable, Equatable {
    public var containerID: String; public var names: [String]; public var ipv4: String?; public var ipv6: String?
    public init(containerID: String, names: [String], ipv4: String?, ipv6: String?) { self.containerID = containerID; self.names = names; self.ipv4 = ipv4; self.ipv6 = ipv6 }
}
public final class EmbeddedDNS: Sendable {
    public init(group: any EventLoopGroup, upstream: [String], timeout: TimeAmount = .seconds(2), log: (@Sendable (String) -> Void)? = nil) {}
    public func setNetwork(id: String, name: String, endpoints: [DNSEndpoint]) {}
    public func removeNetwork(id: String) {}
    public func addEndpoint(network: String, _ e: DNSEndpoint) {}
    public func removeEndpoint(network: String, containerID: String) {}
    public func serve(containerID: String, udpFD: Int32, tcpFD: Int32, networks: [String], upstream: [String]?) async throws {}
    public func setNetworks(containerID: String, networks: [String]) {}
    public func isServing(containerID: String) -> Bool { false }
    public func stop(containerID: String) async {}
    public func shutdown() async {}
}
