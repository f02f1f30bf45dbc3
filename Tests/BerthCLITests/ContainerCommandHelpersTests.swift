import Foundation
import Testing
@testable import BerthCLI

/// The pure parts of the container commands: ps's columns, port's output, stats' arithmetic,
/// cp's path rules.
struct ContainerCommandHelpersTests {
    func port(_ ip: String, _ priv: Int, _ pub: Int, _ type: String = "tcp") -> [String: Any] {
        var p: [String: Any] = ["PrivatePort": priv, "Type": type]
        if !ip.isEmpty { p["IP"] = ip; p["PublicPort"] = pub }
        return p
    }

    @Test func portsAsDockerShowsThem() {
        #expect(displayablePorts([]) == "")
        #expect(displayablePorts([port("0.0.0.0", 80, 8080), port("::", 80, 8080)]) == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp")
        // Only-exposed ports and same-number publications collapse into ranges.
        #expect(displayablePorts([port("", 9090, 0), port("", 9091, 0), port("", 9092, 0)]) == "9090-9092/tcp")
        #expect(displayablePorts([port("0.0.0.0", 81, 81), port("0.0.0.0", 80, 80), port("0.0.0.0", 82, 82)])
                == "0.0.0.0:80-82->80-82/tcp")
        // Different numbers are one mapping each, after the groups.
        #expect(displayablePorts([port("127.0.0.1", 80, 33315), port("", 53, 0, "udp"), port("0.0.0.0", 81, 8081)])
                == "53/udp, 127.0.0.1:33315->80/tcp, 0.0.0.0:8081->81/tcp")
        // A gap ends a group.
        #expect(displayablePorts([port("", 80, 0), port("", 82, 0)]) == "80/tcp, 82/tcp")
    }

    @Test func commandColumnIsQuotedAndTruncated() {
        #expect(goQuote(ellipsis("sh -c 'sleep 100'", 20)) == "\"sh -c 'sleep 100'\"")
        #expect(goQuote(ellipsis("/docker-entrypoint.sh nginx -g 'daemon off;'", 20)) == "\"/docker-entrypoint.…\"")
        #expect(goQuote("sh -c \"exit 3\"") == "\"sh -c \\\"exit 3\\\"\"")
        #expect(goQuote("a\tb\n\u{01}") == "\"a\\tb\\n\\x01\"")
        #expect(ellipsis("exactly twenty chars", 20) == "exactly twenty chars")
        #expect(ellipsis("漢字漢字漢字漢字漢字漢字", 5) == "漢字…")
    }

    @Test func psRowHasDockersFields() {
        let row = ContainerRow.context([
            "Id": "8767abaed94eaa4147a262b161d4c354d341bf87946057409605c5dd30aaca9c", "Names": ["/web"],
            "Image": "busybox", "ImageID": "sha256:0dce971c1e76", "Command": "sleep 1000", "Created": 1_700_000_000,
            "State": "running", "Status": "Up 5 seconds", "Labels": ["b": "2", "a": "1"],
            "Ports": [port("127.0.0.1", 80, 33315)], "NetworkSettings": ["Networks": ["bridge": [:]]],
        ], trunc: true)
        #expect(Set(row.keys) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
                                  "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"])
        #expect(row["ID"] as? String == "8767abaed94e")
        #expect(row["Names"] as? String == "web")
        #expect(row["Command"] as? String == "\"sleep 1000\"")
        #expect(row["Status"] as? String == "Up 5 seconds")
        #expect(row["Labels"] as? String == "a=1,b=2")
        #expect(row["Ports"] as? String == "127.0.0.1:33315->80/tcp")
        #expect(row["Networks"] as? String == "bridge")
        #expect(ContainerRow.image("sha256:0dce971c1e7687d6", imageID: "sha256:0dce971c1e7687d6", trunc: true) == "0dce971c1e76")
        #expect(ContainerRow.image("docker.io/library/nginx:1@sha256:abc", imageID: "sha256:x", trunc: true) == "nginx:1")
    }

    @Test func portCommandLines() throws {
        let ports: [String: Any] = ["80/tcp": [["HostIp": "127.0.0.1", "HostPort": "33315"], ["HostIp": "::", "HostPort": "33315"]],
                                    "9/tcp": [["HostIp": "0.0.0.0", "HostPort": "9"]], "443/tcp": NSNull()]
        #expect(try Port.lines(ports: ports, port: nil, container: "c")
                == ["9/tcp -> 0.0.0.0:9", "80/tcp -> 127.0.0.1:33315", "80/tcp -> [::]:33315"])
        #expect(try Port.lines(ports: ports, port: "80", container: "c") == ["127.0.0.1:33315", "[::]:33315"])
        #expect(throws: CLIError.self) { try Port.lines(ports: ports, port: "443/tcp", container: "c") }
        #expect(naturalLess("9/tcp", "10/tcp") && !naturalLess("10/tcp", "9/tcp"))
    }

    @Test func statsArithmeticIsDockers() {
        let v: [String: Any] = [
            "name": "/web", "id": "8767abaed94eaa4147a262b161d4c354d341bf87946057409605c5dd30aaca9c",
            "precpu_stats": ["cpu_usage": ["total_usage": 1_000_000_000], "system_cpu_usage": 100_000_000_000, "online_cpus": 2],
            "cpu_stats": ["cpu_usage": ["total_usage": 1_500_000_000, "percpu_usage": [1, 2]], "system_cpu_usage": 102_000_000_000, "online_cpus": 2],
            "memory_stats": ["usage": 10_000, "limit": 100_000, "stats": ["total_inactive_file": 2_000, "inactive_file": 1_000]],
            "networks": ["eth0": ["rx_bytes": 100, "tx_bytes": 50], "eth1": ["rx_bytes": 1, "tx_bytes": 2]],
            "blkio_stats": ["io_service_bytes_recursive": [["op": "Read", "value": 10], ["op": "Write", "value": 4],
                                                           ["op": "read", "value": 5], ["op": "Total", "value": 19]]],
            "pids_stats": ["current": 3],
        ]
        let e = StatsEntry(container: "web", stats: v)
        #expect(e.cpuPercentage == 50)   // 0.5 s of 2 s system time, times 2 CPUs
        #expect(e.memory == 8_000)       // cgroup v1: usage less total_inactive_file
        #expect(e.memoryPercentage == 8)
        #expect(e.networkRx == 101 && e.networkTx == 52)
        #expect(e.blockRead == 15 && e.blockWrite == 4)
        let row = e.context(trunc: true)
        #expect(row["CPUPerc"] as? String == "50.00%" && row["MemPerc"] as? String == "8.00%")
        #expect(row["ID"] as? String == "8767abaed94e" && row["Name"] as? String == "web" && row["PIDs"] as? String == "3")
        // v2 (no total_inactive_file), and no previous sample: 0 %.
        #expect(StatsMath.memUsageNoCache(["usage": 10_000, "stats": ["inactive_file": 1_000]]) == 9_000)
        #expect(StatsMath.cpuPercent(previous: [:], current: ["cpu_usage": ["total_usage": 0], "system_cpu_usage": 5]) == 0)
        var invalid = StatsEntry(container: "x")
        invalid.invalid = true
        #expect(invalid.context(trunc: true)["MemUsage"] as? String == "-- / --")
        #expect(invalid.context(trunc: true)["Name"] as? String == "--")
    }

    @Test func cpPathRules() throws {
        #expect(CopyPath.split("c:/etc/hostname") == ("c", "/etc/hostname"))
        #expect(CopyPath.split("./a:b").container == nil && CopyPath.split("/x:y").container == nil)
        #expect(CopyPath.splitDirEntry("/etc/.") == ("/etc", "."))
        #expect(CopyPath.splitDirEntry("a/b/") == ("a", "b"))
        #expect(CopyPath.splitDirEntry("file") == (".", "file"))
        #expect(CopyPath.splitDirEntry("/etc") == ("/", "etc"))
        #expect(CopyPath.clean("/a/../b/./c/") == "/b/c")
        typealias P = CopyPath.Plan
        // Into an existing directory: as it is.
        #expect(try CopyPath.prepare(srcPath: "/etc", srcIsDir: true, rebaseName: nil, dstPath: "/tmp/d",
                                     dstExists: true, dstIsDir: true) == P(dir: "/tmp/d", from: "etc", rename: nil))
        // A new name: extracted in the parent, renamed.
        #expect(try CopyPath.prepare(srcPath: "/etc/.", srcIsDir: true, rebaseName: nil, dstPath: "out/new",
                                     dstExists: false, dstIsDir: false) == P(dir: "out", from: ".", rename: "new"))
        // File over file.
        #expect(try CopyPath.prepare(srcPath: "/etc/hostname", srcIsDir: false, rebaseName: nil, dstPath: "/tmp/h",
                                     dstExists: true, dstIsDir: false) == P(dir: "/tmp", from: "hostname", rename: "h"))
        #expect(throws: CLIError.self) {
            try CopyPath.prepare(srcPath: "/etc", srcIsDir: true, rebaseName: nil, dstPath: "/tmp/h", dstExists: true, dstIsDir: false)
        }
        #expect(throws: CLIError.self) {
            try CopyPath.prepare(srcPath: "f", srcIsDir: false, rebaseName: nil, dstPath: "/nodir/", dstExists: false, dstIsDir: false)
        }
        #expect(CopyPath.regexEscape("a.b|c") == "a\\.b\\|c")
    }

    @Test func topTableAsDockersTabwriter() {
        #expect(Top.table([["UID", "PID", "CMD"], ["root", "1", "sleep 1000"]])
                == "UID                 PID                 CMD\nroot                1                   sleep 1000\n")
    }

    @Test func filtersAsEngineJSON() throws {
        #expect(try FilterArgs.query(["status=exited", "name=a", "status=created"])[0].1
                == #"{"name":{"a":true},"status":{"created":true,"exited":true}}"#)
        #expect(throws: CLIError.self) { try FilterArgs.query(["nonsense"]) }
        #expect(Commit.split("repo:tag") == ("repo", "tag"))
        #expect(Commit.split("localhost:5000/repo") == ("localhost:5000/repo", nil))
    }
}
