import Foundation
import Glibc
import Testing
import BerthNetwork
import BerthOS
import BerthTestSupport

/// Networks and published ports through berthd with the real docker CLI. Each test has its own
/// berthd and berth-lifecycled with the harness's bridge, subnets and iptables chains
/// (`berth-test-*`); user subnets are taken from the harness's pool, so its teardown finds every
/// bridge even after a failure. Only loopback and the tests' own bridges and namespaces are contacted.
@Suite(.serialized, .enabled(if: BerthdHarness.available && CNIPlugins().path(of: "bridge") != nil),
       .timeLimit(.minutes(4)))
struct EngineAPINetworkTests {
    /// busybox's httpd serving the container's /etc: `/hostname` answers its short ID.
    static let httpd = ["httpd", "-f", "-p", "80", "-h", "/etc"]

    func expectOK(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    /// A berthd with busybox; whatever the test leaves (containers, then user networks) is removed
    /// through the CLI afterwards, also when it failed, so berth-lifecycled releases veths, rules
    /// and bridges itself before the harness's own teardown.
    func withBerthd(_ body: (BerthdHarness) async throws -> Void) async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            do { try await body(h) } catch {
                _ = removeEverything(h)
                throw error
            }
            let leftovers = removeEverything(h)
            #expect(leftovers.isEmpty, "could not remove: \(leftovers)")
        }
    }

    /// Force-removes every container and every user-defined network; what could not be removed.
    func removeEverything(_ h: BerthdHarness) -> [String] {
        var failed: [String] = []
        let ids = ((try? h.docker(["ps", "-aq"]).stdout) ?? "").split(separator: "\n").map(String.init)
        if !ids.isEmpty, let r = try? h.docker(["rm", "-f"] + ids), r.status != 0 { failed.append("containers: \(r.stderr)") }
        let nets = ((try? h.docker(["network", "ls", "-q", "--filter", "type=custom"]).stdout) ?? "").split(separator: "\n").map(String.init)
        if !nets.isEmpty, let r = try? h.docker(["network", "rm"] + nets), r.status != 0 { failed.append("networks: \(r.stderr)") }
        return failed
    }

    /// The n-th /24 near the top of the harness's pool (automatic subnets come from its bottom).
    func subnet(_ h: BerthdHarness, _ n: Int) -> IPv4Subnet {
        IPv4Subnet(network: IPv4Address(h.lc.pool.network.value + UInt32(200 + n) << 8), prefix: 24)
    }

    func address(_ s: IPv4Subnet, _ host: UInt32) -> String { IPv4Address(s.network.value + host).description }

    func json(_ text: String) throws -> [String: Any] {
        let v = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(v as? [String: Any], "not a JSON object: \(text)")
    }

    func trimmed(_ r: Command.Result) -> String { r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    func lines(_ r: Command.Result) -> [String] { r.stdout.split(separator: "\n").map(String.init) }

    /// The network's ID, from `docker network create`.
    func createNetwork(_ h: BerthdHarness, _ args: [String]) throws -> String {
        let r = try h.docker(["network", "create"] + args)
        #expect(r.status == 0, "network create \(args): \(r)")
        let id = trimmed(r)
        #expect(id.count == 64 && id.allSatisfy(\.isHexDigit), "\(r)")
        return id
    }

    func inspectNetwork(_ h: BerthdHarness, _ name: String) throws -> [String: Any] {
        let r = try h.docker(["network", "inspect", "--format", "{{json .}}", name])
        try #require(r.status == 0, "network inspect \(name): \(r)")
        return try json(r.stdout)
    }

    /// A container's endpoint on one network, from `docker inspect`.
    func endpoint(_ h: BerthdHarness, _ container: String, _ network: String) throws -> [String: Any]? {
        let r = try h.docker(["inspect", "--format", "{{json .NetworkSettings.Networks}}", container])
        try #require(r.status == 0, "inspect \(container): \(r)")
        return try json(r.stdout)[network] as? [String: Any]
    }

    /// A port in a high range that nothing on 127.0.0.1 uses right now (below the ephemeral range,
    /// where random ports come from).
    func randomPort() throws -> Int {
        for _ in 0..<100 {
            let p = Int.random(in: 20000..<32000)
            if let fd = try? NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: p, backlog: -1, reuseAddress: false) {
                close(fd)
                return p
            }
        }
        throw HarnessError("no free port found")
    }

    /// `docker run -d --name <name> -p <publish(port)> …` on a random port, again on another one
    /// when a suite running beside this one took it meanwhile.
    func runPublished(_ h: BerthdHarness, name: String, publish: (Int) -> String, _ args: [String]) throws -> Int {
        for attempt in 0..<5 {
            let port = try randomPort()
            let r = try h.docker(["run", "-d", "--name", name, "-p", publish(port)] + args)
            if r.status == 0 { return port }
            _ = try h.docker(["rm", "-f", name])
            guard attempt < 4, r.stderr.contains("port is already allocated") else { throw HarnessError("run -p \(publish(port)): \(r)") }
        }
        throw HarnessError("unreachable")
    }

    /// GET from the host through curl, retried while the server starts: the body, or nil.
    func hostGet(_ url: String) async throws -> String? {
        for _ in 0..<30 {
            let r = try Command.run("/usr/bin/curl", ["-sf", "--noproxy", "*", "--max-time", "3", url])
            if r.status == 0 { return r.stdout }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    // MARK: tests

    @Test func createListInspectAndRemoveNetworks() async throws {
        try await withBerthd { h in
            let plain = try createNetwork(h, ["berth-plain"])
            let s = subnet(h, 0)
            let custom = try createNetwork(h, ["--subnet", s.description, "--gateway", address(s, 254), "--ip-range", address(s, 128) + "/25",
                                               "--label", "tier=db", "--label", "solo", "--internal", "berth-custom"])
            let dup = try h.docker(["network", "create", "berth-plain"])
            #expect(dup.status != 0 && dup.stderr.contains("network with name berth-plain already exists"), "\(dup)")
            let overlap = try h.docker(["network", "create", "--subnet", s.description, "berth-overlap"])
            #expect(overlap.status != 0 && overlap.stderr.contains("overlaps"), "\(overlap)")
            let predefined = try h.docker(["network", "create", "host"])
            #expect(predefined.status != 0 && predefined.stderr.contains("pre-defined network"), "\(predefined)")

            // ls: the three built-ins and ours, sorted by name as the CLI does.
            let ls = try h.docker(["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"])
            expectOK(ls, "network ls")
            #expect(lines(ls) == ["berth-custom bridge local", "berth-plain bridge local", "bridge bridge local",
                                  "host host local", "none null local"], "\(ls)")
            let quiet = try h.docker(["network", "ls", "-q"])
            #expect(lines(quiet).count == 5 && lines(quiet).allSatisfy { $0.count == 12 }, "\(quiet)")
            #expect(Set(lines(quiet)).isSuperset(of: [String(plain.prefix(12)), String(custom.prefix(12))]), "\(quiet)")
            let byName = try h.docker(["network", "ls", "-q", "--no-trunc", "--filter", "name=berth-custom"])
            #expect(lines(byName) == [custom], "\(byName)")
            let byLabel = try h.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "label=tier=db"])
            #expect(lines(byLabel) == ["berth-custom"], "\(byLabel)")
            let custom2 = try h.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "type=custom"])
            #expect(lines(custom2) == ["berth-custom", "berth-plain"], "\(custom2)")
            let builtin = try h.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "type=builtin"])
            #expect(lines(builtin) == ["bridge", "host", "none"], "\(builtin)")
            let byDriver = try h.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "driver=null"])
            #expect(lines(byDriver) == ["none"], "\(byDriver)")
            let byID = try h.docker(["network", "ls", "--format", "{{.Name}}", "--filter", "id=\(plain.prefix(10))"])
            #expect(lines(byID) == ["berth-plain"], "\(byID)")
            let badFilter = try h.docker(["network", "ls", "--filter", "colour=red"])
            #expect(badFilter.status != 0 && badFilter.stderr.contains("invalid filter"), "\(badFilter)")

            // inspect: Docker's shape, with what create asked for.
            let n = try inspectNetwork(h, "berth-custom")
            #expect(n["Id"] as? String == custom && n["Name"] as? String == "berth-custom")
            #expect(n["Driver"] as? String == "bridge" && n["Scope"] as? String == "local" && n["Internal"] as? Bool == true)
            #expect(n["Labels"] as? [String: String] == ["tier": "db", "solo": ""], "\(n)")
            let ipam = try #require((n["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]])
            #expect(ipam.count == 1 && ipam[0]["Subnet"] as? String == s.description && ipam[0]["Gateway"] as? String == address(s, 254)
                    && ipam[0]["IPRange"] as? String == address(s, 128) + "/25", "\(ipam)")
            // One ID prefix is enough.
            let auto = try inspectNetwork(h, String(plain.prefix(8)))
            let autoIPAM = try #require((auto["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]])
            let autoSubnet = try #require((autoIPAM.first?["Subnet"] as? String).flatMap { IPv4Subnet($0) })
            #expect(h.lc.pool.contains(autoSubnet.network) && autoIPAM.first?["Gateway"] as? String == autoSubnet.firstHost.description, "\(auto)")
            let bridge = try inspectNetwork(h, "bridge")
            let bridgeIPAM = (bridge["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]]
            #expect(bridgeIPAM?.first?["Subnet"] as? String == h.lc.bridgeSubnet.description, "\(bridge)")
            #expect((bridge["Options"] as? [String: String])?["com.docker.network.bridge.name"] == h.lc.bridge, "\(bridge)")
            let missing = try h.docker(["network", "inspect", "berth-nosuch"])
            // The CLI words a 404 its own way.
            #expect(missing.status != 0 && missing.stderr.contains("No such network: berth-nosuch"), "\(missing)")

            // An internal network has no way out: no default route.
            let route = try h.docker(["run", "--rm", "--network", "berth-custom", "busybox", "ip", "route"])
            #expect(route.status == 0 && !route.stdout.contains("default") && route.stdout.contains(s.description), "\(route)")

            // rm: by name and by ID; built-ins and unknown names are refused.
            let rm = try h.docker(["network", "rm", "berth-plain", String(custom.prefix(12))])
            #expect(rm.status == 0 && lines(rm) == ["berth-plain", String(custom.prefix(12))], "\(rm)")
            let rmBuiltin = try h.docker(["network", "rm", "bridge"])
            #expect(rmBuiltin.status != 0 && rmBuiltin.stderr.contains("bridge is a pre-defined network and cannot be removed"), "\(rmBuiltin)")
            let rmMissing = try h.docker(["network", "rm", "berth-plain"])
            #expect(rmMissing.status != 0 && rmMissing.stderr.contains("berth-plain"), "\(rmMissing)")
            #expect(lines(try h.docker(["network", "ls", "--format", "{{.Name}}"])) == ["bridge", "host", "none"])

            // The statuses themselves.
            let created = try h.http("POST", "/v1.43/networks/create", body: #"{"Name":"berth-raw","Labels":{"a":"b"}}"#)
            #expect(created.status == 201 && created.body.contains("\"Id\":") && created.body.contains("\"Warning\":\"\""), "\(created)")
            #expect(try h.http("GET", "/v1.43/networks/berth-raw?verbose=false").status == 200)
            #expect(try h.http("POST", "/v1.43/networks/create", body: #"{"Labels":{}}"#).status == 400)
            #expect(try h.http("DELETE", "/v1.43/networks/berth-raw").status == 204)
            #expect(try h.http("DELETE", "/v1.43/networks/berth-raw").status == 404)
        }
    }

    @Test func runWithIPAndAliasesShowsNetworkSettings() async throws {
        try await withBerthd { h in
            let s = subnet(h, 1)
            let netID = try createNetwork(h, ["--subnet", s.description, "berth-fixed"])
            let fixed = address(s, 130)
            let run = try h.docker(["run", "-d", "--name", "berth-c1", "--network", "berth-fixed", "--ip", fixed,
                                    "--network-alias", "web", "--network-alias", "www", "busybox", "sleep", "300"])
            expectOK(run, "run --ip --network-alias")
            let id = trimmed(run)

            let e = try #require(try endpoint(h, "berth-c1", "berth-fixed"))
            #expect(e["IPAddress"] as? String == fixed && e["IPPrefixLen"] as? Int == 24 && e["Gateway"] as? String == s.firstHost.description, "\(e)")
            #expect(e["NetworkID"] as? String == netID && (e["EndpointID"] as? String)?.isEmpty == false, "\(e)")
            #expect((e["MacAddress"] as? String)?.split(separator: ":").count == 6, "\(e)")
            let aliases = Set(e["Aliases"] as? [String] ?? [])
            #expect(aliases.isSuperset(of: ["web", "www"]), "\(e)")
            #expect((e["IPAMConfig"] as? [String: Any])?["IPv4Address"] as? String == fixed, "\(e)")
            let mode = try h.docker(["inspect", "--format", "{{.HostConfig.NetworkMode}} {{.NetworkSettings.SandboxKey}}", "berth-c1"])
            #expect(mode.stdout.hasPrefix("berth-fixed /") && mode.stdout.contains("/netns/"), "\(mode)")
            let inside = try h.docker(["exec", "berth-c1", "ip", "-4", "addr", "show", "eth0"])
            #expect(inside.status == 0 && inside.stdout.contains("inet \(fixed)/24"), "\(inside)")

            // The network lists the running container with its address.
            let n = try inspectNetwork(h, "berth-fixed")
            let member = try #require((n["Containers"] as? [String: Any])?[id] as? [String: Any], "\(n)")
            #expect(member["Name"] as? String == "berth-c1" && member["IPv4Address"] as? String == fixed + "/24", "\(member)")
            #expect(member["MacAddress"] as? String == e["MacAddress"] as? String, "\(member)")
            let ps = try h.docker(["ps", "--format", "{{.Names}} {{.Networks}}"])
            #expect(lines(ps) == ["berth-c1 berth-fixed"], "\(ps)")
            let byNetwork = try h.docker(["ps", "-q", "--filter", "network=berth-fixed"])
            #expect(lines(byNetwork) == [String(id.prefix(12))], "\(byNetwork)")

            // The address is taken while it runs.
            let taken = try h.docker(["run", "-d", "--name", "berth-c2", "--network", "berth-fixed", "--ip", fixed, "busybox", "sleep", "300"])
            #expect(taken.status == 125, "\(taken)")

            // The default bridge: the top-level fields mirror its endpoint, as in Docker.
            expectOK(try h.docker(["run", "-d", "--name", "berth-def", "busybox", "sleep", "300"]), "run on bridge")
            let top = try h.docker(["inspect", "--format", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}}", "berth-def"])
            let f = trimmed(top).split(separator: " ").map(String.init)
            let gw = IPv4Address(h.lc.bridgeSubnet.network.value + 1).description
            #expect(f.count == 3 && IPv4Address(f[0]).map { h.lc.bridgeSubnet.contains($0) } == true && f[1] == gw && f[2] == "24", "\(top)")
            #expect(try endpoint(h, "berth-def", "bridge")?["IPAddress"] as? String == f.first)
            let none = try h.docker(["run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev"])
            #expect(none.status == 0 && !none.stdout.contains("eth0"), "\(none)")

            // Refused as dockerd refuses them.
            _ = try createNetwork(h, ["berth-auto"])
            let noUserSubnet = try h.docker(["run", "--rm", "--network", "berth-auto", "--ip", address(s, 131), "busybox", "true"])
            #expect(noUserSubnet.status == 125 && noUserSubnet.stderr.contains("user specified IP address is supported only when connecting to networks with user configured subnets"), "\(noUserSubnet)")
            // (Without --network the CLI itself drops --ip and --network-alias.)
            let ipOnBridge = try h.docker(["run", "--rm", "--network", "bridge", "--ip", gw, "busybox", "true"])
            #expect(ipOnBridge.status == 125 && ipOnBridge.stderr.contains("user specified IP address is supported"), "\(ipOnBridge)")
            let aliasOnBridge = try h.docker(["run", "--rm", "--network", "bridge", "--network-alias", "x", "busybox", "true"])
            // The CLI refuses this one itself ("…aliases are only supported for user-defined networks").
            #expect(aliasOnBridge.status == 125 && aliasOnBridge.stderr.contains("network-scoped alias"), "\(aliasOnBridge)")
            let outside = try h.docker(["run", "--rm", "--network", "berth-fixed", "--ip", "203.0.113.7", "busybox", "true"])
            #expect(outside.status == 125 && outside.stderr.contains("203.0.113.7"), "\(outside)")
            // berth-lifecycled refuses an unknown network at create with a 404, which the CLI takes
            // for a missing image and pulls (dockerd creates the container and fails its start):
            // --pull never keeps this test off the registry.
            let missing = try h.docker(["run", "--rm", "--pull", "never", "--network", "berth-nosuch", "busybox", "true"])
            #expect(missing.status == 125 && missing.stderr.contains("network berth-nosuch not found"), "\(missing)")
        }
    }

    @Test func publishedPortsReachTheContainerFromTheHost() async throws {
        try await withBerthd { h in
            let port = try runPublished(h, name: "berth-web", publish: { "127.0.0.1:\($0):80" }, ["busybox"] + Self.httpd)
            let id = trimmed(try h.docker(["inspect", "--format", "{{.Id}}", "berth-web"]))
            let body = try await hostGet("http://127.0.0.1:\(port)/hostname")
            #expect(body == String(id.prefix(12)) + "\n", "\(String(describing: body))")

            let dockerPort = try h.docker(["port", "berth-web"])
            #expect(dockerPort.status == 0 && dockerPort.stdout == "80/tcp -> 127.0.0.1:\(port)\n", "\(dockerPort)")
            let one = try h.docker(["port", "berth-web", "80/tcp"])
            #expect(one.stdout == "127.0.0.1:\(port)\n", "\(one)")
            let ps = try h.docker(["ps", "--format", "{{.Names}} {{.Ports}}"])
            #expect(lines(ps) == ["berth-web 127.0.0.1:\(port)->80/tcp"], "\(ps)")
            let ports = try h.docker(["inspect", "--format", "{{json .NetworkSettings.Ports}}", "berth-web"])
            #expect(ports.stdout == #"{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"\#(port)"}]}"# + "\n", "\(ports)")
            let bindings = try h.docker(["inspect", "--format", "{{json .HostConfig.PortBindings}}", "berth-web"])
            #expect(bindings.stdout.contains("\"HostPort\":\"\(port)\""), "\(bindings)")

            // The port is taken: Docker's words, and the CLI's 125.
            let conflict = try h.docker(["run", "-d", "--name", "berth-web2", "-p", "127.0.0.1:\(port):80", "busybox"] + Self.httpd)
            #expect(conflict.status == 125, "\(conflict)")
            #expect(conflict.stderr.contains("Bind for 127.0.0.1:\(port) failed: port is already allocated"), "\(conflict)")
            #expect(trimmed(try h.docker(["inspect", "--format", "{{.State.Status}}", "berth-web2"])) == "created")

            // -p <container port>: a random host port on every address, shown by port and ps.
            expectOK(try h.docker(["run", "-d", "--name", "berth-rand", "-p", "80", "--expose", "8080", "busybox"] + Self.httpd), "run -p 80")
            let randomPort = try h.docker(["port", "berth-rand", "80"])
            let hostPort = try #require(Int(trimmed(randomPort).split(separator: ":").last ?? ""), "\(randomPort)")
            #expect(trimmed(randomPort) == "0.0.0.0:\(hostPort)", "\(randomPort)")
            let randPS = try h.docker(["ps", "--filter", "name=berth-rand", "--format", "{{.Ports}}"])
            #expect(randPS.stdout.contains("0.0.0.0:\(hostPort)->80/tcp") && randPS.stdout.contains("8080/tcp"), "\(randPS)")
            let randID = trimmed(try h.docker(["inspect", "--format", "{{.Id}}", "berth-rand"]))
            let randBody = try await hostGet("http://127.0.0.1:\(hostPort)/hostname")
            #expect(randBody == String(randID.prefix(12)) + "\n", "\(String(describing: randBody))")

            // Stopping frees the port and the container shows none.
            expectOK(try h.docker(["stop", "-t", "1", "berth-web"]), "stop")
            #expect(try h.docker(["port", "berth-web"]).stdout.isEmpty)
            let fd = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: port, backlog: -1, reuseAddress: false)
            close(fd)
            // ... and another container can have it.
            expectOK(try h.docker(["start", "berth-web2"]), "start the one that lost the port")
            let id2 = trimmed(try h.docker(["inspect", "--format", "{{.Id}}", "berth-web2"]))
            #expect(try await hostGet("http://127.0.0.1:\(port)/hostname") == String(id2.prefix(12)) + "\n")
        }
    }

    @Test func connectDisconnectRemoveAndPrune() async throws {
        try await withBerthd { h in
            _ = try createNetwork(h, ["berth-a"])
            _ = try createNetwork(h, ["berth-b"])
            // On the default bridge first: with the DNS shim, a second user network in one
            // namespace fails (see connectToASecondUserNetwork).
            expectOK(try h.docker(["run", "-d", "--name", "berth-m", "busybox", "sleep", "300"]), "run")
            let id = trimmed(try h.docker(["inspect", "--format", "{{.Id}}", "berth-m"]))

            // connect: a second interface at once.
            expectOK(try h.docker(["network", "connect", "--alias", "second", "berth-a", "berth-m"]), "network connect")
            let ea = try #require(try endpoint(h, "berth-m", "berth-a"))
            let ipA = try #require(ea["IPAddress"] as? String)
            #expect((ea["Aliases"] as? [String])?.contains("second") == true, "\(ea)")
            let eth1 = try h.docker(["exec", "berth-m", "ip", "-4", "addr", "show", "eth1"])
            #expect(eth1.status == 0 && eth1.stdout.contains("inet \(ipA)/"), "\(eth1)")
            let hosts = try h.docker(["exec", "berth-m", "cat", "/etc/hosts"])
            #expect(hosts.stdout.contains(ipA), "\(hosts)")
            let members = try #require(try inspectNetwork(h, "berth-a")["Containers"] as? [String: Any])
            #expect(members.keys.sorted() == [id], "\(members)")
            let ps = try h.docker(["ps", "--format", "{{.Networks}}", "--filter", "name=berth-m"])
            #expect(Set(trimmed(ps).split(separator: ",")) == ["bridge", "berth-a"], "\(ps)")
            let twice = try h.docker(["network", "connect", "berth-a", "berth-m"])
            #expect(twice.status != 0 && twice.stderr.contains("already exists in network berth-a"), "\(twice)")
            let nosuch = try h.docker(["network", "connect", "berth-a", "berth-nosuch"])
            #expect(nosuch.status != 0 && nosuch.stderr.contains("No such container: berth-nosuch"), "\(nosuch)")
            let hostNet = try h.docker(["network", "connect", "host", "berth-m"])
            #expect(hostNet.status != 0, "\(hostNet)")

            // rm is refused while a running container is on it.
            let busy = try h.docker(["network", "rm", "berth-a"])
            #expect(busy.status != 0 && busy.stderr.contains("has active endpoints"), "\(busy)")

            // disconnect: the interface goes at once.
            expectOK(try h.docker(["network", "disconnect", "berth-a", "berth-m"]), "network disconnect")
            let gone = try h.docker(["exec", "berth-m", "ip", "addr", "show", "eth1"])
            #expect(gone.status != 0, "\(gone)")
            #expect(try endpoint(h, "berth-m", "berth-a") == nil)
            #expect((try inspectNetwork(h, "berth-a")["Containers"] as? [String: Any])?.isEmpty == true)
            let notOn = try h.docker(["network", "disconnect", "berth-a", "berth-m"])
            #expect(notOn.status != 0 && notOn.stderr.contains("is not connected to network berth-a"), "\(notOn)")

            // A stopped container joins at its next start.
            expectOK(try h.docker(["create", "--name", "berth-s", "busybox", "sleep", "300"]), "create")
            expectOK(try h.docker(["network", "connect", "berth-b", "berth-s"]), "connect a created container")
            #expect(try endpoint(h, "berth-s", "berth-b")?["IPAddress"] as? String == "")
            expectOK(try h.docker(["start", "berth-s"]), "start")
            let sIP = try #require(try endpoint(h, "berth-s", "berth-b")?["IPAddress"] as? String)
            let sEth1 = try h.docker(["exec", "berth-s", "ip", "-4", "addr", "show", "eth1"])
            #expect(!sIP.isEmpty && sEth1.stdout.contains("inet \(sIP)/"), "\(sEth1)")

            // rm works once nothing runs on the network; the bridge goes with it.
            let bridgeA = try bridge(of: h, "berth-a")
            #expect(bridgeA != nil)
            expectOK(try h.docker(["network", "rm", "berth-a"]), "network rm")
            if let bridgeA { #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/" + bridgeA), "\(bridgeA) left behind") }

            // prune: unused user networks only; a label filter keeps some.
            _ = try createNetwork(h, ["berth-unused"])
            _ = try createNetwork(h, ["--label", "keep=1", "berth-kept"])
            let prune = try h.docker(["network", "prune", "-f", "--filter", "label!=keep=1"])
            #expect(prune.status == 0 && lines(prune) == ["Deleted Networks:", "berth-unused"], "\(prune)")
            let after = try h.docker(["network", "ls", "--format", "{{.Name}}"])
            #expect(lines(after) == ["berth-b", "berth-kept", "bridge", "host", "none"], "\(after)")
            let prune2 = try h.docker(["network", "prune", "-f"])
            #expect(prune2.status == 0 && lines(prune2) == ["Deleted Networks:", "berth-kept"], "\(prune2)")

            // Removing the container frees berth-b.
            expectOK(try h.docker(["rm", "-f", "berth-m", "berth-s"]), "rm -f")
            expectOK(try h.docker(["network", "rm", "berth-b"]), "network rm after the containers")
        }
    }

    /// A running container on one user network joining another (twice), and a stopped one started
    /// on two. With the DNS shim, which never reports serving and never closes the sockets it is
    /// given, the second bind of 127.0.0.11:53 in one namespace fails: `Address already in use`.
    @Test
    func connectToASecondUserNetwork() async throws {
        try await withBerthd { h in
            _ = try createNetwork(h, ["berth-a"])
            _ = try createNetwork(h, ["berth-b"])
            expectOK(try h.docker(["run", "-d", "--name", "berth-m", "--network", "berth-a", "busybox", "sleep", "300"]), "run")
            expectOK(try h.docker(["network", "connect", "berth-b", "berth-m"]), "network connect")
            let ipB = try #require(try endpoint(h, "berth-m", "berth-b")?["IPAddress"] as? String)
            let eth1 = try h.docker(["exec", "berth-m", "ip", "-4", "addr", "show", "eth1"])
            #expect(eth1.status == 0 && eth1.stdout.contains("inet \(ipB)/"), "\(eth1)")
            expectOK(try h.docker(["network", "disconnect", "berth-b", "berth-m"]), "network disconnect")
            // Again, after leaving (the shim never closes the sockets of a namespace it stopped serving).
            expectOK(try h.docker(["network", "connect", "berth-b", "berth-m"]), "connect again")
            expectOK(try h.docker(["network", "disconnect", "-f", "berth-b", "berth-m"]), "disconnect -f")

            expectOK(try h.docker(["create", "--name", "berth-s", "--network", "berth-a", "busybox", "sleep", "300"]), "create")
            expectOK(try h.docker(["network", "connect", "berth-b", "berth-s"]), "connect a created container")
            expectOK(try h.docker(["start", "berth-s"]), "start on two user networks")
            let sIP = try #require(try endpoint(h, "berth-s", "berth-b")?["IPAddress"] as? String)
            let sEth1 = try h.docker(["exec", "berth-s", "ip", "-4", "addr", "show", "eth1"])
            #expect(!sIP.isEmpty && sEth1.stdout.contains("inet \(sIP)/"), "\(sEth1)")
        }
    }

    /// The user network's Linux bridge: the `berth-test-` bridge holding its gateway address.
    func bridge(of h: BerthdHarness, _ network: String) throws -> String? {
        let n = try inspectNetwork(h, network)
        let gw = (((n["IPAM"] as? [String: Any])?["Config"] as? [[String: Any]])?.first?["Gateway"] as? String) ?? "-"
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).first { br in
            guard br.hasPrefix("berth-test-"), br != h.lc.bridge else { return false }
            let out = (try? Command.run("/usr/sbin/ip", ["-o", "-4", "addr", "show", "dev", br]).stdout) ?? ""
            return out.contains(" \(gw)/")
        }
    }

    @Test func networksAreIsolatedFromEachOther() async throws {
        try await withBerthd { h in
            _ = try createNetwork(h, ["berth-a"])
            _ = try createNetwork(h, ["berth-b"])
            expectOK(try h.docker(["run", "-d", "--name", "berth-ia", "--network", "berth-a", "busybox", "sleep", "300"]), "run on a")
            expectOK(try h.docker(["run", "-d", "--name", "berth-ib", "--network", "berth-b", "busybox", "sleep", "300"]), "run on b")
            expectOK(try h.docker(["run", "-d", "--name", "berth-id", "busybox", "sleep", "300"]), "run on bridge")
            let ipA = try #require(try endpoint(h, "berth-ia", "berth-a")?["IPAddress"] as? String)
            let ipB = try #require(try endpoint(h, "berth-ib", "berth-b")?["IPAddress"] as? String)

            // Same network: reachable (the control for the checks below).
            let same = try h.docker(["run", "--rm", "--network", "berth-a", "busybox", "ping", "-c1", "-W2", ipA])
            #expect(same.status == 0, "\(same)")
            // Other networks, either way, and from the default bridge: not.
            let aToB = try h.docker(["run", "--rm", "--network", "berth-a", "busybox", "ping", "-c1", "-W2", ipB])
            #expect(aToB.status != 0, "\(aToB)")
            let bToA = try h.docker(["exec", "berth-ib", "ping", "-c1", "-W2", ipA])
            #expect(bToA.status != 0, "\(bToA)")
            let defaultToA = try h.docker(["exec", "berth-id", "ping", "-c1", "-W2", ipA])
            #expect(defaultToA.status != 0, "\(defaultToA)")
            // Connected to B as well, the bridge's container reaches B (and still not A).
            expectOK(try h.docker(["network", "connect", "berth-b", "berth-id"]), "connect")
            let joined = try h.docker(["exec", "berth-id", "ping", "-c1", "-W2", ipB])
            #expect(joined.status == 0, "\(joined)")
            let stillNotA = try h.docker(["exec", "berth-id", "ping", "-c1", "-W2", ipA])
            #expect(stillNotA.status != 0, "\(stillNotA)")
        }
    }

    @Test
    func namesAndAliasesResolveOnUserNetworks() async throws {
        try await withBerthd { h in
            _ = try createNetwork(h, ["berth-n"])
            expectOK(try h.docker(["run", "-d", "--name", "berth-named", "--network", "berth-n", "--network-alias", "berth-alias",
                                   "busybox", "sleep", "300"]), "run")
            let byName = try h.docker(["run", "--rm", "--network", "berth-n", "busybox", "ping", "-c1", "-W2", "berth-named"])
            #expect(byName.status == 0, "\(byName)")
            let byAlias = try h.docker(["run", "--rm", "--network", "berth-n", "busybox", "ping", "-c1", "-W2", "berth-alias"])
            #expect(byAlias.status == 0, "\(byAlias)")
            // The default bridge has no name resolution.
            let onBridge = try h.docker(["run", "--rm", "busybox", "ping", "-c1", "-W2", "berth-named"])
            #expect(onBridge.status != 0, "\(onBridge)")
        }
    }
}
