import Foundation
import Testing
@testable import BerthEngineServer
import BerthWire

/// berthd's dockerd-style configuration: flags, daemon.json, listen addresses, default ulimits.
struct DaemonConfigTests {
    func file(_ json: String) throws -> [String: JSONValue] {
        guard case .object(let o) = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else { throw DaemonConfigError("not an object") }
        return o
    }

    @Test func defaultsWithoutFlagsOrFile() throws {
        let s = try DaemonConfig.resolve(flags: DaemonFlags(), file: nil)
        #expect(s == DaemonSettings())
        #expect(s.dataRoot == "/var/lib/berth" && s.execRoot == "/run/berth" && s.group == "berth" && s.liveRestore && s.logLevel == .info)
    }

    @Test func fileKeysFillWhatFlagsLeave() throws {
        let f = try file("""
            {"hosts": ["unix:///tmp/b.sock", "tcp://127.0.0.1:2399"], "data-root": "/d", "exec-root": "/e", "pidfile": "/p",
             "log-level": "warn", "insecure-registries": ["r:5000"], "registry-mirrors": ["https://m.example"], "bip": "10.9.0.1/16",
             "bridge": "br9", "default-address-pools": [{"base": "10.100.0.0/16", "size": 24}],
             "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 2048, "Soft": 1024}}, "live-restore": true, "group": "docker"}
            """)
        var flags = DaemonFlags()
        flags.cgroupParent = "/c"
        let s = try DaemonConfig.resolve(flags: flags, file: f)
        #expect(s.hosts == ["unix:///tmp/b.sock", "tcp://127.0.0.1:2399"])
        #expect(s.dataRoot == "/d" && s.execRoot == "/e" && s.pidfile == "/p" && s.logLevel == .warn)
        #expect(s.insecureRegistries == ["r:5000"] && s.registryMirrors == ["https://m.example"])
        #expect(s.bip == "10.9.0.1/16" && s.bridge == "br9" && s.defaultAddressPools == ["base=10.100.0.0/16,size=24"])
        #expect(s.defaultUlimits == [Ulimit(name: "nofile", soft: 1024, hard: 2048)])
        #expect(s.group == "docker" && s.cgroupParent == "/c")
    }

    @Test func keyGivenTwiceIsDockerdsError() throws {
        var flags = DaemonFlags()
        flags.dataRoot = "/flag"
        flags.hosts = ["unix:///x.sock"]
        #expect(throws: DaemonConfigError("unable to configure the berth daemon with file /etc/berth/daemon.json: the following directives are specified both as a flag and in the configuration file: data-root: (from flag: /flag, from file: \"/file\"), hosts: (from flag: [\"unix:///x.sock\"], from file: [\"unix:///y.sock\"])")) {
            try DaemonConfig.resolve(flags: flags, file: try file(#"{"data-root": "/file", "hosts": ["unix:///y.sock"], "bip": "10.1.0.1/16"}"#))
        }
    }

    @Test func unknownKeysAndWrongTypesAreErrors() throws {
        #expect(throws: DaemonConfigError("unable to configure the berth daemon with file /etc/berth/daemon.json: the following directives don't match any configuration option: nope, storage-driver")) {
            try DaemonConfig.resolve(flags: DaemonFlags(), file: try file(#"{"nope": 1, "storage-driver": "overlay2", "debug": true}"#))
        }
        #expect(throws: DaemonConfigError.self) { try DaemonConfig.resolve(flags: DaemonFlags(), file: try file(#"{"debug": "yes"}"#)) }
        #expect(throws: DaemonConfigError.self) { try DaemonConfig.resolve(flags: DaemonFlags(), file: try file(#"{"hosts": "unix:///x"}"#)) }
        #expect(throws: DaemonConfigError.self) {
            try DaemonConfig.resolve(flags: DaemonFlags(), file: try file(#"{"default-address-pools": [{"base": "10.0.0.0/8"}]}"#))
        }
        #expect(throws: DaemonConfigError("unable to parse logging level: loud")) {
            try DaemonConfig.resolve(flags: DaemonFlags(logLevel: "loud"), file: nil)
        }
    }

    @Test func missingFileIsFineUnlessNamed() throws {
        #expect(try DaemonConfig.load(path: "/nonexistent/berth/daemon.json", explicit: false) == nil)
        #expect(throws: DaemonConfigError.self) { try DaemonConfig.load(path: "/nonexistent/berth/daemon.json", explicit: true) }
    }

    @Test func debugAndLogLevels() throws {
        #expect(try DaemonConfig.resolve(flags: DaemonFlags(debug: true), file: nil).logLevel == .debug)
        #expect(try DaemonConfig.resolve(flags: DaemonFlags(logLevel: "error"), file: nil).logLevel == .error)
        #expect(LogLevel.allCases.map { LogLevel(name: "\($0)") } == LogLevel.allCases.map { $0 })
    }

    @Test func ulimitsAsGoUnitsParsesThem() throws {
        #expect(try DaemonConfig.parseUlimit("nofile=1024:2048") == Ulimit(name: "nofile", soft: 1024, hard: 2048))
        #expect(try DaemonConfig.parseUlimit("nproc=512") == Ulimit(name: "nproc", soft: 512, hard: 512))
        #expect(throws: DaemonConfigError("invalid ulimit type: files")) { try DaemonConfig.parseUlimit("files=1") }
        #expect(throws: DaemonConfigError("invalid ulimit argument: nofile")) { try DaemonConfig.parseUlimit("nofile") }
        #expect(throws: DaemonConfigError("ulimit soft limit must be less than or equal to hard limit: 10 > 5")) {
            try DaemonConfig.parseUlimit("nofile=10:5")
        }
    }

    @Test func defaultUlimitsOnlyWhereTheContainerSetsNone() throws {
        let body = JSONValue.object(["Image": .string("busybox"),
                                     "HostConfig": .object(["Ulimits": .array([.object(["Name": .string("nofile"), "Soft": .int(10), "Hard": .int(20)])])])])
        let out = DaemonConfig.withDefaultUlimits(body, [Ulimit(name: "nofile", soft: 1, hard: 2), Ulimit(name: "nproc", soft: 3, hard: 4)])
        guard case .object(let o) = out, case .object(let hc)? = o["HostConfig"], case .array(let list)? = hc["Ulimits"] else {
            Issue.record("no HostConfig.Ulimits in \(out)"); return
        }
        #expect(list == [.object(["Name": .string("nofile"), "Soft": .int(10), "Hard": .int(20)]),
                         .object(["Name": .string("nproc"), "Soft": .int(3), "Hard": .int(4)])])
        #expect(DaemonConfig.withDefaultUlimits(.object(["Image": .string("b")]), []) == .object(["Image": .string("b")]))
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress.parse("unix:///tmp/a.sock") == .unix("/tmp/a.sock"))
        #expect(try ListenAddress.parse("unix://") == .unix("/run/berth/berth.sock"))
        #expect(try ListenAddress.parse("tcp://0.0.0.0:2376") == .tcp(host: "0.0.0.0", port: 2376))
        #expect(try ListenAddress.parse("tcp://:2399") == .tcp(host: "127.0.0.1", port: 2399))
        #expect(try ListenAddress.parse("tcp://[::1]:2399") == .tcp(host: "::1", port: 2399))
        #expect(try ListenAddress.parse("tcp://127.0.0.1") == .tcp(host: "127.0.0.1", port: 2375))
        #expect(throws: DaemonConfigError.self) { try ListenAddress.parse("fd://") }
        #expect(throws: DaemonConfigError.self) { try ListenAddress.parse("tcp://h:99999") }
        #expect(throws: DaemonConfigError.self) { try ListenAddress.parse("ssh://h") }
    }
}
