import Glibc
import CBerthInit

/// Network namespaces kept as bind-mounted files (as `ip netns` does), and sockets bound inside
/// one. The C side enters a namespace on a short-lived thread of its own.
public enum NetNS {
    static let stages = ["create namespace file", "unshare(CLONE_NEWNET)", "bring up lo in", "bind mount namespace on",
                         "setns into", "socket() in", "parse address for", "bind() in", "listen() in", "start thread for"]

    static func stageName(_ s: Int32) -> String { s >= 0 && Int(s) < stages.count ? stages[Int(s)] : "netns step \(s) for" }

    /// A new network namespace with `lo` up, pinned at `path` (which must not exist).
    public static func create(at path: String) throws(OSError) {
        var stage: Int32 = 0
        let rc = berth_netns_create(path, &stage)
        if rc < 0 { throw OSError(stageName(stage), path, code: -rc) }
    }

    /// Unpins and deletes the namespace file; the namespace ends once nothing else uses it.
    /// A missing file is not an error.
    public static func remove(at path: String) throws(OSError) {
        try Overlay.unmount(path, detach: true)
        if unlink(path) != 0 && errno != ENOENT { throw OSError("unlink", path) }
    }

    /// Whether `path` is a pinned namespace (an nsfs bind mount).
    public static func exists(at path: String) -> Bool { berth_fs_type(path) == 0x6e736673 }

    public enum Kind: Sendable { case tcp, udp }

    /// A close-on-exec, non-blocking socket bound to `address`:`port` (0 picks a free port) in the
    /// namespace at `namespace`, or in the caller's own when nil. TCP sockets listen unless
    /// `backlog` is negative (a bound socket alone reserves the port). `reuseAddress` is for
    /// servers; without it no other socket can bind the port, SO_REUSEADDR or not.
    public static func boundSocket(namespace: String?, kind: Kind, address: String, port: Int,
                                   backlog: Int = 128, reuseAddress: Bool = true) throws(OSError) -> Int32 {
        var stage: Int32 = 0
        let domain = address.contains(":") ? AF_INET6 : AF_INET
        let type = kind == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let rc = berth_netns_socket(namespace, domain, type, address, Int32(port), Int32(backlog), reuseAddress ? 1 : 0, &stage)
        if rc < 0 { throw OSError(stageName(stage), "\(namespace ?? "host") \(address):\(port)", code: -rc) }
        return rc
    }

    /// The local port a socket is bound to.
    public static func port(of fd: Int32) -> Int { Int(berth_socket_port(fd)) }
}

/// A FIFO that holds something back until it is released: the reader (`berth-monitor netwait`)
/// blocks until one byte arrives, `1` to go on, `0` to fail. Held open read-write here, so the
/// byte stays in the pipe even if the reader opens it after the release.
public final class ReadyGate: @unchecked Sendable {
    let fd: Int32
    let path: String

    public init(path: String) throws(OSError) {
        unlink(path)
        if mkfifo(path, 0o600) != 0 { throw OSError("mkfifo", path) }
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { let e = OSError("open", path); unlink(path); throw e }
        self.fd = fd; self.path = path
    }

    public func release(_ ok: Bool) {
        var b: UInt8 = ok ? 0x31 : 0x30
        _ = write(fd, &b, 1)
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
