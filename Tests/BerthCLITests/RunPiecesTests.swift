import ArgumentParser
import BerthEngineAPI
import Foundation
import Testing
@testable import BerthCLI

@Suite struct CreateOptionsTests {
    func body(_ args: [String], image: String = "busybox", detached: Bool = false) throws -> [String: Any] {
        try ContainerCreateOptions.parse(args).body(image: image, command: ["sh"], detached: detached)
    }

    @Test func publishSpecsBecomeExposedPortsAndBindings() throws {
        let (exposed, bindings) = try ContainerCreateOptions.parsePorts(["8080:80", "127.0.0.1::53/udp", "9000-9001:90-91", "5000", "7000-7010:70"])
        #expect(Set(exposed.keys) == ["80/tcp", "53/udp", "90/tcp", "91/tcp", "5000/tcp", "70/tcp"])
        #expect(bindings["80/tcp"]! == [["HostIp": "", "HostPort": "8080"]])
        #expect(bindings["53/udp"]! == [["HostIp": "127.0.0.1", "HostPort": ""]])
        #expect(bindings["91/tcp"]! == [["HostIp": "", "HostPort": "9001"]])
        #expect(bindings["5000/tcp"]! == [["HostIp": "", "HostPort": ""]])
        #expect(bindings["70/tcp"]! == [["HostIp": "", "HostPort": "7000-7010"]])
        for bad in ["x:80", "80/icmp", "1:2:3:4", "70000", "90-91:80-82"] {
            #expect(throws: CLIError.self, "\(bad)") { try ContainerCreateOptions.parsePorts([bad]) }
        }
    }

    @Test func sizesAndDurationsParseAsDockerDoes() throws {
        #expect(try ContainerCreateOptions.parseBytes("512m", flag: "-m") == 512 << 20)
        #expect(try ContainerCreateOptions.parseBytes("1g", flag: "-m") == 1 << 30)
        #expect(try ContainerCreateOptions.parseBytes("1.5k", flag: "-m") == 1536)
        #expect(try ContainerCreateOptions.parseBytes("100", flag: "-m") == 100)
        #expect(throws: CLIError.self) { try ContainerCreateOptions.parseBytes("lots", flag: "-m") }
        #expect(try ContainerCreateOptions.parseDuration("1m30s", flag: "--health-interval") == 90_000_000_000)
        #expect(try ContainerCreateOptions.parseDuration("500ms", flag: "--health-interval") == 500_000_000)
        #expect(throws: CLIError.self) { try ContainerCreateOptions.parseDuration("5", flag: "--health-interval") }
    }

    @Test func runFlagsBecomeTheCreateBody() throws {
        let b = try body(["-it", "--rm", "--name", "x", "-e", "A=1", "-p", "8080:80", "-v", "/src:/dst:ro", "-v", "/anon",
                          "--network", "net1", "--network-alias", "web", "-m", "64m", "--cpus", "0.5", "--restart", "on-failure:3",
                          "-w", "/tmp", "-u", "1000", "--entrypoint", "", "-l", "k=v", "--health-cmd", "true"])
        #expect(b["Image"] as? String == "busybox" && b["Cmd"] as? [String] == ["sh"])
        #expect(b["Tty"] as? Bool == true && b["OpenStdin"] as? Bool == true && b["StdinOnce"] as? Bool == true)
        #expect(b["AttachStdin"] as? Bool == true && b["AttachStdout"] as? Bool == true)
        #expect(b["Env"] as? [String] == ["A=1"] && b["Entrypoint"] as? [String] == [""])
        #expect(b["WorkingDir"] as? String == "/tmp" && b["User"] as? String == "1000")
        #expect((b["Volumes"] as? [String: Any])?.keys.first == "/anon")
        #expect((b["Labels"] as? [String: String]) == ["k": "v"])
        #expect((b["Healthcheck"] as? [String: Any])?["Test"] as? [String] == ["CMD-SHELL", "true"])
        let h = try #require(b["HostConfig"] as? [String: Any])
        #expect(h["AutoRemove"] as? Bool == true && h["Binds"] as? [String] == ["/src:/dst:ro"])
        #expect(h["NetworkMode"] as? String == "net1" && h["Memory"] as? Int64 == 64 << 20 && h["NanoCpus"] as? Int64 == 500_000_000)
        #expect((h["RestartPolicy"] as? [String: Any])?["MaximumRetryCount"] as? Int == 3)
        let eps = (b["NetworkingConfig"] as? [String: Any])?["EndpointsConfig"] as? [String: Any]
        #expect((eps?["net1"] as? [String: Any])?["Aliases"] as? [String] == ["web"])
    }

    @Test func detachedRunsAttachNothingAndBadFlagsAreUsageErrors() throws {
        let b = try body([], detached: true)
        #expect(b["AttachStdout"] as? Bool == false && b["AttachStdin"] as? Bool == false && b["StdinOnce"] as? Bool == false)
        #expect(throws: CLIError.self) { try body(["--restart", "sometimes"]) }
        #expect(throws: CLIError.self) { try body(["-a", "stdin", "-a", "bogus"]) }
        #expect(throws: CLIError.self) { try body(["--ip", "10.0.0.2"]) }   // not on a user-defined network
        #expect(throws: CLIError.self) { try body(["--mount", "type=bind,source=/a"]) }
        let m = try ContainerCreateOptions.parseMount("type=bind,source=/a,target=/b,readonly")
        #expect(m["Type"] as? String == "bind" && m["Target"] as? String == "/b" && m["ReadOnly"] as? Bool == true)
        #expect(try ContainerCreateOptions.parseUlimit("nofile=1024:2048")["Hard"] as? Int64 == 2048)
    }
}

@Suite struct StreamPieceTests {
    @Test func framesSplitAcrossReadsAreReassembled() {
        var demux = FrameDemux()
        var out: [(UInt8, String)] = []
        let frame = { (s: UInt8, text: String) -> [UInt8] in
            let b = Array(text.utf8)
            return [s, 0, 0, 0, UInt8(b.count >> 24), UInt8(b.count >> 16 & 0xff), UInt8(b.count >> 8 & 0xff), UInt8(b.count & 0xff)] + b
        }
        let bytes = frame(1, "hello\n") + frame(2, "oops\n") + frame(1, "")
        for chunk in stride(from: 0, to: bytes.count, by: 3) {
            demux.feed(Array(bytes[chunk..<min(chunk + 3, bytes.count)])) { out.append(($0, String(decoding: $1, as: UTF8.self))) }
        }
        #expect(out.map(\.0) == [1, 2, 1] && out.map(\.1) == ["hello\n", "oops\n", ""])
    }

    @Test func detachKeysAreHeldBackUntilTheSequenceBreaksOrCompletes() throws {
        #expect(try StreamPump.parseKeys("ctrl-p,ctrl-q") == [16, 17])
        #expect(try StreamPump.parseKeys("ctrl-a,x") == [1, 120])
        #expect(throws: CLIError.self) { try StreamPump.parseKeys("ctrl-,q") }
        var scanner = DetachScanner(keys: [16, 17])
        #expect(scanner.feed([97, 16]) == ([97], false))        // a partial sequence waits
        #expect(scanner.feed([98]) == ([16, 98], false))        // ... and goes when it breaks
        #expect(scanner.feed([16, 16]) == ([16], false))        // a repeated first key restarts the match
        #expect(scanner.feed([17]) == ([], true))               // complete: detach
    }
}
