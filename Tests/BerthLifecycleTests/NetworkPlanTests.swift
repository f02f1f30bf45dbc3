import Testing
import BerthImage
@testable import BerthLifecycle
import BerthNetwork
import BerthWire

@Suite("Network plans of containers")
struct NetworkPlanTests {
    @Test func networkModes() {
        #expect(NetworkMode(nil) == .network("bridge") && NetworkMode("default") == .network("bridge"))
        #expect(NetworkMode("host") == .host && NetworkMode("none") == .none)
        #expect(NetworkMode("container:web") == .container("web") && NetworkMode("mynet") == .network("mynet"))
    }

    @Test func publishedPorts() throws {
        var c = ContainerCreateParams(image: "busybox")
        c.exposedPorts = ["80/tcp": EmptyObject(), "53/udp": EmptyObject(), "443/tcp": EmptyObject()]
        c.hostConfig = HostConfig(portBindings: [
            "80/tcp": [PortBinding(hostIp: "127.0.0.1", hostPort: "8080"), PortBinding(hostIp: "", hostPort: "")],
            "53/udp": [PortBinding(hostPort: "5300-5310")],
            "9000": nil,
        ], publishAllPorts: true)
        let r = try ContainerService.portRequests(c)
        #expect(r.contains(PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1", hostPortLow: 8080, hostPortHigh: 8080)))
        #expect(r.contains(PortRequest(containerPort: 80, proto: "tcp")))
        #expect(r.contains(PortRequest(containerPort: 53, proto: "udp", hostPortLow: 5300, hostPortHigh: 5310)))
        #expect(r.contains(PortRequest(containerPort: 9000, proto: "tcp")))
        // -P adds the exposed ports not bound already, once.
        #expect(r.filter { $0.containerPort == 443 } == [PortRequest(containerPort: 443, proto: "tcp")])
        #expect(r.count == 5)

        for (key, host) in [("80/tcp", "99999"), ("80/tcp", "90-80"), ("0/tcp", ""), ("80/icmp", ""), ("x", "")] {
            var bad = ContainerCreateParams(image: "busybox")
            bad.hostConfig = HostConfig(portBindings: [key: [PortBinding(hostPort: host)]])
            #expect(throws: LifecycleError.self, "\(key) \(host)") { _ = try ContainerService.portRequests(bad) }
        }
        var badIP = ContainerCreateParams(image: "busybox")
        badIP.hostConfig = HostConfig(portBindings: ["80/tcp": [PortBinding(hostIp: "300.1.1.1")]])
        #expect(throws: LifecycleError.self) { _ = try ContainerService.portRequests(badIP) }
    }

    @Test func resolversAndEmbeddedDNSResolvConf() {
        #expect(NetworkServiceOptions.hostResolvers("# x\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch a\n") == ["127.0.0.53", "10.0.0.2"])
        let conf = ContainerService.resolvConf(host: "nameserver 10.0.0.2\nsearch corp\noptions edns0\n", dns: ["127.0.0.11"], search: [],
                                               options: ["ndots:0"], keepLoopback: true)
        #expect(conf == "search corp\nnameserver 127.0.0.11\noptions ndots:0\n")
    }
}
