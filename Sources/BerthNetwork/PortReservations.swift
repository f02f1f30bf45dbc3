import Foundation
import Glibc
import BerthOS
import NIOConcurrencyHelpers

/// One published port: `-p [hostIP:][hostPort[-end]:]containerPort[/proto]` as Docker's
/// HostConfig.PortBindings carries it.
public struct PortRequest: Sendable, Equatable {
    public var containerPort: Int
    public var proto: String
    /// Empty: every address of the host.
    public var hostIP: String
    /// 0…0 asks for any free port; a range takes the first free one in it.
    public var hostPortLow: Int
    public var hostPortHigh: Int

    public init(containerPort: Int, proto: String, hostIP: String = "", hostPortLow: Int = 0, hostPortHigh: Int = 0) {
        self.containerPort = containerPort; self.proto = proto; self.hostIP = hostIP
        self.hostPortLow = hostPortLow; self.hostPortHigh = hostPortHigh
    }
}

/// A port as published: what inspect's `NetworkSettings.Ports` and the portmap plugin get.
public struct PortMapping: Codable, Sendable, Equatable {
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    public var proto: String
    public init(hostIP: String, hostPort: Int, containerPort: Int, proto: String) {
        self.hostIP = hostIP; self.hostPort = hostPort; self.containerPort = containerPort; self.proto = proto
    }
}

public struct PortError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Host ports held for running containers, the way docker-proxy holds them: a socket bound to the
/// port (not listening, so nothing is accepted on it) keeps any other program and any other
/// container from taking it, and gives random ports from the kernel's ephemeral range.
public final class PortReservations: Sendable {
    let held = NIOLockedValueBox<[String: [Int32]]>([:])

    public init() {}

    /// Reserves every request for a container, all or none.
    public func reserve(containerID: String, _ requests: [PortRequest]) throws(PortError) -> [PortMapping] {
        var fds: [Int32] = [], out: [PortMapping] = []
        do {
            for r in requests {
                let (fd, port) = try bind(r)
                fds.append(fd)
                out.append(PortMapping(hostIP: r.hostIP, hostPort: port, containerPort: r.containerPort, proto: r.proto))
            }
        } catch {
            for fd in fds { close(fd) }
            throw error
        }
        held.withLockedValue { $0[containerID, default: []] += fds }
        return out
    }

    func bind(_ r: PortRequest) throws(PortError) -> (Int32, Int) {
        let address = r.hostIP.isEmpty ? "0.0.0.0" : r.hostIP
        let kind: NetNS.Kind = r.proto == "udp" ? .udp : .tcp
        let candidates: [Int] = r.hostPortLow == 0 ? [0] : Array(r.hostPortLow...max(r.hostPortLow, r.hostPortHigh))
        var last: OSError?
        for port in candidates {
            do {
                let fd = try NetNS.boundSocket(namespace: nil, kind: kind, address: address, port: port, backlog: -1, reuseAddress: false)
                return (fd, NetNS.port(of: fd))
            } catch { last = error }
        }
        let shown = r.hostPortLow == 0 ? "0" : (r.hostPortHigh > r.hostPortLow ? "\(r.hostPortLow)-\(r.hostPortHigh)" : "\(r.hostPortLow)")
        if last?.code == EADDRINUSE {
            throw PortError(message: "Bind for \(address):\(shown) failed: port is already allocated")
        }
        throw PortError(message: "Bind for \(address):\(shown) failed: \(last.map { String(cString: strerror($0.code)) } ?? "no port")")
    }

    /// Frees a container's ports.
    public func release(containerID: String) {
        let fds = held.withLockedValue { $0.removeValue(forKey: containerID) } ?? []
        for fd in fds { close(fd) }
    }

    public func isHolding(containerID: String) -> Bool { held.withLockedValue { $0[containerID] != nil } }
}
