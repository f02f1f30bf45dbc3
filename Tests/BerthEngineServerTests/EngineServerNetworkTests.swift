import Foundation
import Testing
import BerthEngineAPI
@testable import BerthEngineServer
import BerthTestSupport
import BerthWire

extension EngineServerTests {
    /// berthd's `/networks` endpoints against a fake berth-lifecycled that records the wire params
    /// it gets: routing, status codes, how Docker's bodies become wire params, error mapping.
    /// Nested in EngineServerTests to run serially with it: the blocking socket reads of both would
    /// otherwise take every thread of the cooperative pool on a 2-core machine and starve the server.
    @Suite("EngineServerTests.Networks")
    struct Networks {
        /// The wire calls the fake received, in order.
        final class Calls: @unchecked Sendable {
            private let lock = NSLock()
            private var calls: [(method: String, params: any Sendable)] = []
            func add(_ method: String, _ params: any Sendable) { lock.withLock { calls.append((method, params)) } }
            func last<P>(_ method: String, as: P.Type = P.self) -> P? {
                lock.withLock { calls.last { $0.method == method }?.params as? P }
            }
            var methods: [String] { lock.withLock { calls.map(\.method) } }
        }

        static let netID = String(repeating: "ab", count: 32)

        static func sampleNetwork(_ name: String) -> BerthWire.Network {
            BerthWire.Network(name: name, id: netID, created: "2026-01-02T03:04:05.000000006Z", driver: "bridge",
                              ipam: IPAM(driver: "default", config: [IPAMPool(subnet: "10.1.2.0/24", gateway: "10.1.2.1")]),
                              internal: false, attachable: false,
                              containers: ["c1": NetworkContainer(name: "web", endpointID: "e1", macAddress: "02:42:0a:01:02:05", ipv4Address: "10.1.2.5/24")],
                              options: [:], labels: ["team": "core"])
        }

        static func fakeLifecycle(_ calls: Calls) -> WireRouter {
            var r = EngineServerTests.fakeLifecycle()
            r.register("network.list", NetworkListParams.self) { p, _ in
                calls.add("network.list", p)
                return [sampleNetwork("bridge"), sampleNetwork("berth-a")]
            }
            r.register("network.inspect", NetworkRefParams.self) { p, _ in
                calls.add("network.inspect", p)
                guard p.id != "nosuch" else { throw WireError(code: 404, message: "network nosuch not found") }
                return sampleNetwork(p.id)
            }
            r.register("network.create", NetworkCreateParams.self) { p, _ in
                calls.add("network.create", p)
                if p.name == "dup" { throw WireError(code: 409, message: "network with name dup already exists") }
                if p.name == "host" { throw WireError(code: 403, message: "host is a pre-defined network and cannot be created") }
                if p.driver == "overlay" { throw WireError(code: 404, message: "plugin \"overlay\" not found") }
                return NetworkCreateResult(id: netID)
            }
            r.register("network.remove", NetworkRefParams.self) { p, _ -> Empty in
                calls.add("network.remove", p)
                switch p.id {
                case "busy": throw WireError(code: 403, message: "error while removing network: network busy id \(netID) has active endpoints")
                case "bridge": throw WireError(code: 403, message: "bridge is a pre-defined network and cannot be removed")
                case "nosuch": throw WireError(code: 404, message: "network nosuch not found")
                default: return Empty()
                }
            }
            r.register("network.prune", NetworkPruneParams.self) { p, _ in
                calls.add("network.prune", p)
                return NetworkPruneResult(networksDeleted: ["old"])
            }
            r.register("network.connect", NetworkConnectParams.self) { p, _ -> Empty in
                calls.add("network.connect", p)
                if p.container == "nosuch" { throw WireError(code: 404, message: "No such container: nosuch") }
                if p.container == "twice" { throw WireError(code: 403, message: "endpoint with name twice already exists in network \(p.network)") }
                return Empty()
            }
            r.register("network.disconnect", NetworkDisconnectParams.self) { p, _ -> Empty in
                calls.add("network.disconnect", p)
                if p.container == "elsewhere" { throw WireError(code: 403, message: "container elsewhere is not connected to network \(p.network)") }
                return Empty()
            }
            return r
        }

        let http = EngineServerTests()

        func withServer(_ body: (String, Calls) async throws -> Void) async throws {
            let calls = Calls()
            try await http.withServer(router: Self.fakeLifecycle(calls)) { s in try await body(s, calls) }
        }

        func json(_ bytes: [UInt8]) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

        func message(_ bytes: [UInt8]) -> String {
            (try? JSONDecoder().decode([String: String].self, from: Data(bytes)))?["message"] ?? String(decoding: bytes, as: UTF8.self)
        }

        @Test func listAndInspectPassDockersShapeThrough() async throws {
            try await withServer { s, calls in
                let filters = #"{"label":{"team=core":true},"driver":["bridge"]}"#
                let list = try http.get(s, "GET", "/v1.43/networks?filters=" + filters.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
                #expect(list.status == 200 && list.head.contains("Content-Type: application/json"))
                let rows = try JSONDecoder().decode([BerthWire.Network].self, from: Data(list.body))
                #expect(rows.map(\.name) == ["bridge", "berth-a"])
                #expect(calls.last("network.list", as: NetworkListParams.self) == NetworkListParams(filters: ["label": ["team=core"], "driver": ["bridge"]]))
                // No filters: none sent.
                #expect(try http.get(s, "GET", "/networks").status == 200)
                #expect(calls.last("network.list", as: NetworkListParams.self) == NetworkListParams())
                http.expectCode(try http.code(s, "GET", "/networks?filters=%7Bnope"), 400)

                // verbose and scope are accepted and make no difference.
                let one = try http.get(s, "GET", "/v1.41/networks/berth-a?verbose=true&scope=local")
                #expect(one.status == 200)
                let body = try json(one.body)
                guard case .object(let o) = body, case .object(let containers)? = o["Containers"], case .object(let ipam)? = o["IPAM"] else {
                    Issue.record("not Docker's Network: \(body)"); return
                }
                #expect(o["Name"] == .string("berth-a") && o["Scope"] == .string("local") && o["Driver"] == .string("bridge"))
                #expect(ipam["Config"] == .array([.object(["Subnet": .string("10.1.2.0/24"), "Gateway": .string("10.1.2.1")])]))
                #expect(containers["c1"] != nil)
                #expect(calls.last("network.inspect", as: NetworkRefParams.self) == NetworkRefParams(id: "berth-a"))
                let missing = try http.get(s, "GET", "/networks/nosuch")
                #expect(missing.status == 404 && message(missing.body) == "network nosuch not found")
            }
        }

        @Test func createTranslatesDockersBody() async throws {
            try await withServer { s, calls in
                // What `docker network create --subnet … --ip-range … --gateway … --internal --label a=b -o …` sends.
                let body = """
                    {"Name":"berth-a","CheckDuplicate":true,"Driver":"bridge","Scope":"","EnableIPv6":false,
                     "IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.2.0/24","IPRange":"10.1.2.128/25","Gateway":"10.1.2.254","AuxiliaryAddresses":{}}]},
                     "Internal":true,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,
                     "Options":{"com.docker.network.bridge.name":"br-test"},"Labels":{"a":"b"}}
                    """
                let r = try http.get(s, "POST", "/v1.43/networks/create", body: body)
                #expect(r.status == 201, "\(r.head)")
                #expect(try json(r.body) == .object(["Id": .string(Self.netID), "Warning": .string("")]))
                let p = try #require(calls.last("network.create", as: NetworkCreateParams.self))
                var want = NetworkCreateParams(name: "berth-a", driver: "bridge", internal: true, attachable: false,
                                               ipam: IPAM(driver: "default", config: [IPAMPool(subnet: "10.1.2.0/24", ipRange: "10.1.2.128/25",
                                                                                                  gateway: "10.1.2.254", auxiliaryAddresses: [:])],
                                                          options: [:]),
                                               enableIPv6: false, options: ["com.docker.network.bridge.name": "br-test"], labels: ["a": "b"])
                want.checkDuplicate = true
                want.ingress = false
                #expect(p == want)

                // The smallest body.
                #expect(try http.code(s, "POST", "/networks/create", body: #"{"Name":"berth-b"}"#) == 201)
                #expect(calls.last("network.create", as: NetworkCreateParams.self) == NetworkCreateParams(name: "berth-b"))

                // Refused by berthd, before the wire: no name, wrong types, swarm-only settings.
                let before = calls.methods.count
                for bad in [#"{}"#, #"{"Name":""}"#, #"{"Name":1}"#, #"{"Name":"x","Labels":["a"]}"#, "{", #"{"Name":"x","Scope":"swarm"}"#,
                            #"{"Name":"x","ConfigOnly":true}"#, #"{"Name":"x","ConfigFrom":{"Network":"other"}}"#, #"{"Name":"x","Ingress":true}"#] {
                    let e = try http.get(s, "POST", "/networks/create", body: bad)
                    #expect(e.status == 400, "\(bad): \(e.head)")
                    #expect(!message(e.body).isEmpty)
                }
                let missing = try http.get(s, "POST", "/networks/create", body: "{}")
                #expect(message(missing.body).contains("missing Name"), "\(message(missing.body))")
                #expect(calls.methods.count == before)

                // The lifecycle daemon's refusals keep their status.
                let dup = try http.get(s, "POST", "/networks/create", body: #"{"Name":"dup"}"#)
                #expect(dup.status == 409 && message(dup.body) == "network with name dup already exists")
                http.expectCode(try http.code(s, "POST", "/networks/create", body: #"{"Name":"host"}"#), 403)
                http.expectCode(try http.code(s, "POST", "/networks/create", body: #"{"Name":"x","Driver":"overlay"}"#), 404)
            }
        }

        @Test func removeAndPrune() async throws {
            try await withServer { s, calls in
                let ok = try http.get(s, "DELETE", "/v1.43/networks/berth-a")
                #expect(ok.status == 204 && ok.body.isEmpty && !ok.head.contains("Content-Length"))
                #expect(calls.last("network.remove", as: NetworkRefParams.self) == NetworkRefParams(id: "berth-a"))
                let busy = try http.get(s, "DELETE", "/networks/busy")
                #expect(busy.status == 403 && message(busy.body).contains("has active endpoints"))
                http.expectCode(try http.code(s, "DELETE", "/networks/bridge"), 403)
                http.expectCode(try http.code(s, "DELETE", "/networks/nosuch"), 404)
                // An ID with characters that need escaping arrives decoded.
                _ = try http.get(s, "DELETE", "/networks/a%2Eb")
                #expect(calls.last("network.remove", as: NetworkRefParams.self) == NetworkRefParams(id: "a.b"))

                let pruned = try http.get(s, "POST", "/v1.43/networks/prune?filters=" + #"{"label":["team"],"until":["24h"]}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
                #expect(pruned.status == 200)
                #expect(try json(pruned.body) == .object(["NetworksDeleted": .array([.string("old")])]))
                #expect(calls.last("network.prune", as: NetworkPruneParams.self) == NetworkPruneParams(filters: ["label": ["team"], "until": ["24h"]]))
                #expect(try http.code(s, "POST", "/networks/prune") == 200)
                #expect(calls.last("network.prune", as: NetworkPruneParams.self) == NetworkPruneParams())
            }
        }

        @Test func connectAndDisconnectBodies() async throws {
            try await withServer { s, calls in
                // What `docker network connect --ip 10.1.2.9 --alias web berth-a c1` sends (API 1.43).
                let body = """
                    {"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.1.2.9"},"Links":null,"Aliases":["web"],
                     "NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"",
                     "GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}
                    """
                let r = try http.get(s, "POST", "/v1.43/networks/berth-a/connect", body: body)
                #expect(r.status == 200 && r.body.isEmpty, "\(r.head)")
                let p = try #require(calls.last("network.connect", as: NetworkConnectParams.self))
                #expect(p.network == "berth-a" && p.container == "c1")
                #expect(p.endpointConfig?.ipamConfig?.ipv4Address == "10.1.2.9" && p.endpointConfig?.aliases == ["web"])
                #expect(p.endpointConfig?.links == nil)

                #expect(try http.code(s, "POST", "/networks/berth-a/connect", body: #"{"Container":"c2"}"#) == 200)
                #expect(calls.last("network.connect", as: NetworkConnectParams.self) == NetworkConnectParams(network: "berth-a", container: "c2"))

                let before = calls.methods.count
                for bad in [#"{}"#, #"{"Container":""}"#, #"{"Container":"c1","EndpointConfig":{"Aliases":"web"}}"#, "[1]"] {
                    http.expectCode(try http.code(s, "POST", "/networks/berth-a/connect", body: bad), 400)
                }
                #expect(calls.methods.count == before)
                let missing = try http.get(s, "POST", "/networks/berth-a/connect", body: #"{"Container":"nosuch"}"#)
                #expect(missing.status == 404 && message(missing.body) == "No such container: nosuch")
                http.expectCode(try http.code(s, "POST", "/networks/berth-a/connect", body: #"{"Container":"twice"}"#), 403)

                let d = try http.get(s, "POST", "/v1.43/networks/berth-a/disconnect", body: #"{"Container":"c1","Force":true}"#)
                #expect(d.status == 200 && d.body.isEmpty)
                #expect(calls.last("network.disconnect", as: NetworkDisconnectParams.self) == NetworkDisconnectParams(network: "berth-a", container: "c1", force: true))
                #expect(try http.code(s, "POST", "/networks/berth-a/disconnect", body: #"{"Container":"c1"}"#) == 200)
                #expect(calls.last("network.disconnect", as: NetworkDisconnectParams.self) == NetworkDisconnectParams(network: "berth-a", container: "c1"))
                http.expectCode(try http.code(s, "POST", "/networks/berth-a/disconnect", body: #"{"Container":"elsewhere"}"#), 403)
                http.expectCode(try http.code(s, "POST", "/networks/berth-a/disconnect", body: #"{"Force":true}"#), 400)
            }
        }

        /// dockerd's networking flags reach the berth-lifecycled berthd starts, under the same names.
        @Test func networkingFlagsArePassedOn() throws {
            let c = try BerthdCommand.parse(["-b", "berth-test-x", "--bip", "10.250.0.1/24", "--default-address-pool", "base=10.251.0.0/16,size=24",
                                             "--default-address-pool", "base=10.252.0.0/16,size=26", "--bridge-prefix", "bt-",
                                             "--iptables-chain-prefix", "BERTH-TEST-X"])
            #expect(c.networkArgs == ["--bridge", "berth-test-x", "--bip", "10.250.0.1/24",
                                      "--default-address-pool", "base=10.251.0.0/16,size=24", "--default-address-pool", "base=10.252.0.0/16,size=26",
                                      "--bridge-prefix", "bt-", "--iptables-chain-prefix", "BERTH-TEST-X"])
            #expect(try BerthdCommand.parse(["--bridge", "br0"]).networkArgs == ["--bridge", "br0"])
            #expect(try BerthdCommand.parse([]).networkArgs.isEmpty)
            for bad in [["--bridge", "none"], ["--bip", "10.250.0.1"], ["--default-address-pool", "10.251.0.0/16"],
                        ["--default-address-pool", "base=10.251.0.0/16"]] {
                #expect(throws: (any Error).self, "\(bad)") { _ = try BerthdCommand.parse(bad) }
            }
        }

        @Test func unknownNetworkPathsAre404() async throws {
            try await withServer { s, calls in
                for (method, path) in [("PUT", "/networks/x"), ("POST", "/networks/x"), ("POST", "/networks/x/nope"), ("GET", "/networks/x/connect"),
                                       ("DELETE", "/networks"), ("GET", "/networks/x/y/z")] {
                    let r = try http.get(s, method, path)
                    #expect(r.status == 404 && message(r.body) == "page not found", "\(method) \(path): \(r.head)")
                }
                #expect(calls.methods.isEmpty)
            }
        }
    }
}
