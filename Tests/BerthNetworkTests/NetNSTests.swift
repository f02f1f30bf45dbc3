import Testing
import Foundation
import Glibc
import BerthOS

@Suite("NetNS")
struct NetNSTests {
    @Test func createSocketRemove() throws {
        let dir = NSTemporaryDirectory() + "berth-test-netns-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FS.mkdirAll(dir, mode: 0o700)
        defer { try? FS.removeAll(dir) }
        let path = dir + "/ns"
        try NetNS.create(at: path)
        defer { try? NetNS.remove(at: path) }
        #expect(NetNS.exists(at: path))
        #expect(throws: OSError.self) { try NetNS.create(at: path) }
        // 127.0.0.11 is usable once lo is up in the new namespace; the port is free there even if
        // the host uses it.
        let host = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: 0)
        defer { close(host) }
        let port = NetNS.port(of: host)
        let inside = try NetNS.boundSocket(namespace: path, kind: .tcp, address: "127.0.0.1", port: port)
        close(inside)
        let udp = try NetNS.boundSocket(namespace: path, kind: .udp, address: "127.0.0.11", port: 53)
        #expect(NetNS.port(of: udp) == 53)
        close(udp)
        #expect(throws: OSError.self) { _ = try NetNS.boundSocket(namespace: nil, kind: .tcp, address: "127.0.0.1", port: port) }
        try NetNS.remove(at: path)
        #expect(!NetNS.exists(at: path))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
