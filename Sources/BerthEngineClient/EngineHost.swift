import Foundation

/// Where the Engine API is: `unix:///run/berth/berth.sock` or `tcp://127.0.0.1:2375` (docker's `-H`).
public enum EngineHost: Sendable, Equatable, CustomStringConvertible {
    case unix(String)
    case tcp(host: String, port: Int)

    public static let defaultSocket = "/run/berth/berth.sock"

    /// Parses docker's host syntax; a bare path is a unix socket.
    public init(parsing text: String) throws(EngineClientError) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard !path.isEmpty else { throw .invalidHost(text) }
            self = .unix(path)
        } else if text.hasPrefix("tcp://") || text.hasPrefix("http://") {
            var rest = Substring(text.drop(while: { $0 != "/" }).dropFirst(2))
            if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, let host = parts.first, !host.isEmpty else { throw .invalidHost(text) }
            let port = parts.count == 2 ? Int(parts[1]) : 2375
            guard let port, (1...65535).contains(port) else { throw .invalidHost(text) }
            self = .tcp(host: String(host), port: port)
        } else if text.hasPrefix("/") {
            self = .unix(text)
        } else {
            throw .invalidHost(text)
        }
    }

    /// `-H` first, then `BERTH_HOST`, then `DOCKER_HOST`, then the default socket.
    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(EngineClientError) -> EngineHost {
        for candidate in [flag, environment["BERTH_HOST"], environment["DOCKER_HOST"]] {
            if let c = candidate, !c.isEmpty { return try EngineHost(parsing: c) }
        }
        return .unix(defaultSocket)
    }

    public var description: String {
        switch self {
        case .unix(let p): return "unix://" + p
        case .tcp(let h, let p): return "tcp://\(h):\(p)"
        }
    }
}
