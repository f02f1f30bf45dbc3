/// What went wrong talking to the Engine API, worded as the docker CLI words it.
public enum EngineClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `-H` / `BERTH_HOST` / `DOCKER_HOST` value is not a host.
    case invalidHost(String)
    /// Nothing answers at the host (errno text).
    case cannotConnect(host: String, reason: String)
    /// The daemon answered with an error status and `{"message"}`.
    case daemon(status: Int, message: String)
    /// The connection broke or the daemon sent something that is not HTTP/1.1.
    case protocolError(String)

    public var description: String {
        switch self {
        case .invalidHost(let h): return "invalid host \"\(h)\": use unix:///path or tcp://host:port"
        case .cannotConnect(let h, let reason):
            return "Cannot connect to the Berth daemon at \(h). Is the berth daemon running? (\(reason))"
        case .daemon(_, let m): return "Error response from daemon: \(m)"
        case .protocolError(let m): return "error during connect: \(m)"
        }
    }

    /// The HTTP status for a daemon error; nil otherwise.
    public var status: Int? { if case .daemon(let s, _) = self { return s }; return nil }
}
