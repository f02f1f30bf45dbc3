import Foundation
import Glibc
import Testing
import NIOConcurrencyHelpers
@testable import BerthNetwork
import BerthOS

@Suite("IPv4, pools and routes")
struct IPv4Tests {
    @Test func parseAndFormat() {
        #expect(IPv4Address("10.1.2.3")?.description == "10.1.2.3")
        for bad in ["10.1.2", "10.1.2.256", "1.2.3.4.5", "a.b.c.d", "", "1..2.3", "01234.1.1.1"] { #expect(IPv4Address(bad) == nil, "\(bad)") }
        let s = IPv4Subnet("10.1.2.3/16")
        #expect(s?.description == "10.1.0.0/16" && s?.firstHost.description == "10.1.0.1" && s?.last.description == "10.1.255.255")
        #expect(IPv4Subnet("10.1.2.3/16", strict: true) == nil)
        #expect(IPv4Subnet("10.1.0.0/33") == nil && IPv4Subnet("10.1.0.0") == nil)
        let a = IPv4Subnet("10.1.0.0/16")!, b = IPv4Subnet("10.1.200.0/24")!, c = IPv4Subnet("10.2.0.0/16")!
        #expect(a.overlaps(b) && b.overlaps(a) && !a.overlaps(c) && a.contains(IPv4Address("10.1.9.9")!))
    }

    @Test func poolsSkipTakenSubnets() throws {
        let pool = try #require(AddressPool(parsing: "base=10.88.0.0/22,size=24"))
        #expect(pool.next(avoiding: [])?.description == "10.88.0.0/24")
        #expect(pool.next(avoiding: [IPv4Subnet("10.88.0.0/23")!])?.description == "10.88.2.0/24")
        #expect(pool.next(avoiding: [IPv4Subnet("10.0.0.0/8")!]) == nil)
        for bad in ["base=10.88.0.0/22", "size=24", "base=10.88.0.1/22,size=24", "base=10.88.0.0/22,size=20", "x=1"] {
            #expect(AddressPool(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func hostRoutesFromProc() {
        let text = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            br0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
            """
        let routes = HostRoutes.parse(text)
        #expect(routes.map(\.subnet.description) == ["0.0.0.0/0", "192.0.2.0/24", "10.88.0.0/16"])
        // The default route never conflicts; the network's own bridge can be ignored.
        #expect(HostRoutes.conflict(IPv4Subnet("172.20.0.0/16")!, routes: routes) == nil)
        #expect(HostRoutes.conflict(IPv4Subnet("192.0.2.128/25")!, routes: routes)?.interface == "eth0")
        #expect(HostRoutes.conflict(IPv4Subnet("10.88.1.0/24")!, routes: routes, ignoring: ["br0"]) == nil)
    }
}

@Suite("Firewall rules")
struct FirewallTests {
    /// An iptables stand-in: records calls; `-C` and `-L` answer from the rules it was given.
    final class FakeIPTables: Sendable {
        let state = NIOLockedValueBox<(calls: [[String]], rules: Set<String>, chains: Set<String>)>(([], [], []))
        var runner: Firewall.Runner {
            { args in
                self.state.withLockedValue { s -> (Int32, String) in
                    s.calls.append(args)
                    let table = args[1], op = args[2], chain = args.count > 3 ? args[3] : ""
                    let key = ([table, chain] + args.dropFirst(4)).joined(separator: " ")
                    switch op {
                    case "-C": return (s.rules.contains(key) ? 0 : 1, "")
                    case "-A", "-I":
                        let spec = op == "-I" ? [table, chain] + args.dropFirst(5) : [table, chain] + args.dropFirst(4)
                        s.rules.insert(spec.joined(separator: " ")); return (0, "")
                    case "-D": s.rules.remove(key); return (0, "")
                    case "-N": s.chains.insert(table + " " + chain); return (0, "")
                    case "-L": return (s.chains.contains(table + " " + chain) ? 0 : 1, "")
                    default: return (0, "")
                    }
                }
            }
        }
        var calls: [[String]] { state.withLockedValue { $0.calls } }
        var rules: Set<String> { state.withLockedValue { $0.rules } }
    }

    @Test func applyIsIdempotentAndRemoveUndoesIt() throws {
        let fake = FakeIPTables()
        let fw = Firewall(prefix: "T", runner: fake.runner)
        let net = Firewall.NetworkRules(bridge: "br-x", subnet: IPv4Subnet("10.5.0.0/24")!, internal: false)
        try fw.apply(net)
        let rules = fake.rules
        #expect(rules.contains("filter FORWARD -j T-FORWARD") && rules.contains("nat POSTROUTING -j T-POSTROUTING"))
        #expect(rules.contains("nat T-POSTROUTING -s 10.5.0.0/24 ! -o br-x -j MASQUERADE"))
        #expect(rules.contains("filter T-ISOLATION-1 -i br-x ! -o br-x -j T-ISOLATION-2"))
        #expect(rules.contains("filter T-ISOLATION-2 -o br-x -j DROP"))
        let appendsBefore = fake.calls.filter { $0[2] == "-A" || $0[2] == "-I" }.count
        try fw.apply(net)
        #expect(fake.calls.filter { $0[2] == "-A" || $0[2] == "-I" }.count == appendsBefore, "a second apply adds nothing")
        fw.remove(net)
        #expect(fake.rules.allSatisfy { !$0.contains("br-x") }, "\(fake.rules)")
    }

    @Test func internalNetworksGetNoMasqueradeAndDropOutside() throws {
        let fake = FakeIPTables()
        try Firewall(prefix: "T", runner: fake.runner).apply(.init(bridge: "br-i", subnet: IPv4Subnet("10.6.0.0/24")!, internal: true))
        #expect(!fake.rules.contains { $0.contains("MASQUERADE") })
        #expect(fake.rules.contains("filter T-ISOLATION-1 -i br-i ! -o br-i -j DROP"))
        #expect(fake.rules.contains("filter T-ISOLATION-1 -o br-i ! -i br-i -j DROP"))
    }

    @Test func failuresSayWhichRule() {
        let fw = Firewall(prefix: "T", runner: { args in args[2] == "-N" ? (4, "iptables: Permission denied") : (1, "") })
        #expect {
            try fw.apply(.init(bridge: "b", subnet: IPv4Subnet("10.7.0.0/24")!, internal: false))
        } throws: { e in
            let d = "\(e)"
            return d.contains("-N T-FORWARD") && d.contains("Permission denied")
        }
    }
}

@Suite("Port reservations")
struct PortReservationTests {
    @Test func randomRangeConflictAndRelease() throws {
        let ports = PortReservations()
        let got = try ports.reserve(containerID: "a", [PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1"),
                                                       PortRequest(containerPort: 53, proto: "udp", hostIP: "127.0.0.1")])
        #expect(got.count == 2 && got.allSatisfy { $0.hostPort > 0 })
        ports.release(containerID: "a")
        // A fixed port below the ephemeral range (other tests' outgoing connections use that
        // range and could take a port between our release and our next reserve).
        var p = 0
        for _ in 0..<50 {
            let candidate = Int.random(in: 20000...31000)
            if (try? ports.reserve(containerID: "a", [PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1", hostPortLow: candidate, hostPortHigh: candidate)])) != nil {
                p = candidate; break
            }
        }
        try #require(p > 0)
        #expect {
            _ = try ports.reserve(containerID: "b", [PortRequest(containerPort: 81, proto: "udp", hostIP: "127.0.0.1"),
                                                     PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1", hostPortLow: p, hostPortHigh: p)])
        } throws: { "\($0)" == "Bind for 127.0.0.1:\(p) failed: port is already allocated" }
        // All or nothing: a failing request releases those already taken in the same call.
        #expect(!ports.isHolding(containerID: "b"))
        // A range takes the next free port.
        let next = try ports.reserve(containerID: "c", [PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1", hostPortLow: p, hostPortHigh: p + 20)])
        #expect(next[0].hostPort > p && next[0].hostPort <= p + 20)
        ports.release(containerID: "a")
        let again = try ports.reserve(containerID: "d", [PortRequest(containerPort: 80, proto: "tcp", hostIP: "127.0.0.1", hostPortLow: p, hostPortHigh: p)])
        #expect(again[0].hostPort == p)
        ports.release(containerID: "c"); ports.release(containerID: "d")
    }
}

@Suite("CNI plugin calls")
struct CNITests {
    /// A plugin that is a shell script: it records its environment and stdin, then answers.
    func withPlugin(_ body: String, _ test: (CNIPlugins, String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "berth-test-cni-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FS.mkdirAll(dir, mode: 0o700)
        defer { try? FS.removeAll(dir) }
        try FS.write(dir + "/fake", "#!/bin/sh\nenv > \(dir)/env\ncat > \(dir)/stdin\n\(body)\n", mode: 0o755)
        try test(CNIPlugins(searchPath: [dir + "/none", dir]), dir)
    }

    @Test func addPassesTheCallAndParsesTheResult() throws {
        let result = #"{"cniVersion":"1.0.0","interfaces":[{"name":"br0","mac":"aa"},{"name":"veth1","mac":"bb"},{"name":"eth0","mac":"cc","sandbox":"/x"}],"ips":[{"interface":2,"address":"10.1.0.5/16","gateway":"10.1.0.1"}]}"#
        try withPlugin("echo '\(result)'") { cni, dir in
            let out = try #require(try cni.run("ADD", config: cniConfig(["type": "fake", "name": "n"]), containerID: "cid", netns: "/ns", ifName: "eth0"))
            #expect(out.result.ipv4?.address == "10.1.0.5" && out.result.ipv4?.prefix == 16 && out.result.ipv4?.gateway == "10.1.0.1")
            #expect(out.result.sandboxMAC == "cc" && out.result.hostVeth(bridge: "br0") == "veth1")
            let env = try FS.readString(dir + "/env")
            for v in ["CNI_COMMAND=ADD", "CNI_CONTAINERID=cid", "CNI_NETNS=/ns", "CNI_IFNAME=eth0", "CNI_PATH=\(dir)/none:\(dir)"] {
                #expect(env.contains(v), "\(v)")
            }
            #expect(try FS.readString(dir + "/stdin") == #"{"name":"n","type":"fake"}"#)
        }
    }

    @Test func pluginErrorsCarryTheirMessage() throws {
        try withPlugin(#"echo '{"code":11,"msg":"failed to allocate","details":"range full"}'; exit 1"#) { cni, _ in
            #expect {
                try cni.run("ADD", config: cniConfig(["type": "fake"]), containerID: "cid", netns: "/ns", ifName: "eth0")
            } throws: { "\($0)" == "CNI fake ADD for cid: failed to allocate: range full" }
        }
        try withPlugin("echo not json; exit 3") { cni, _ in
            #expect(throws: CNIError.self) { try cni.run("DEL", config: cniConfig(["type": "fake"]), containerID: "c", netns: "/ns", ifName: "eth0") }
        }
        #expect { try CNIPlugins(searchPath: ["/nonexistent"]).run("ADD", config: cniConfig(["type": "bridge"]), containerID: "c", netns: "/n", ifName: "e") } throws: {
            "\($0)".contains("plugin not found")
        }
    }
}
