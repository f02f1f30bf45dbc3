import Glibc

public enum UnixSocket {
    /// Connects a SOCK_STREAM unix socket (the console socket protocol runc uses).
    public static func connect(_ path: String) throws(OSError) -> Int32 {
        try withSocket(path, op: "connect to console socket") { fd, addr, len in Glibc.connect(fd, addr, len) }
    }

    /// Listens on a SOCK_STREAM unix socket at path (used by tests and tools that receive a pty).
    public static func listen(_ path: String) throws(OSError) -> Int32 {
        try withSocket(path, op: "listen") { fd, addr, len in
            bind(fd, addr, len) == 0 ? Glibc.listen(fd, 16) : -1
        }
    }

    /// Makes a socket and a sockaddr_un for path, runs `body`; closes the socket if it fails.
    private static func withSocket(_ path: String, op: String,
                                   _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws(OSError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw OSError("socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw OSError(op, path, code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { let e = OSError(op, path); close(fd); throw e }
        return fd
    }
}
