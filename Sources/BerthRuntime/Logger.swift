import Glibc
import BerthOS

/// runc's --log / --log-format: lines appended to a file (containerd reads the last error from it).
public struct RuntimeLogger: Sendable {
    public var path: String?
    public var json: Bool
    public var debugEnabled: Bool

    public init(path: String?, json: Bool, debug: Bool) { self.path = path; self.json = json; self.debugEnabled = debug }

    public func error(_ msg: String) { write(level: "error", msg) }
    public func warning(_ msg: String) { write(level: "warning", msg) }
    public func debug(_ msg: String) { if debugEnabled { write(level: "debug", msg) } }

    func write(level: String, _ msg: String) {
        let time = Clock.rfc3339Nano()
        let line: String
        if json {
            line = "{\"level\":\"\(level)\",\"msg\":\(JSON.encode(msg)),\"time\":\"\(time)\"}\n"
        } else {
            line = "time=\"\(time)\" level=\(level) msg=\(JSON.encode(msg))\n"
        }
        guard let path, !path.isEmpty else {
            if level != "error" { FileHandleStderr.write(line) }
            return
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { return }
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
}

enum FileHandleStderr {
    static func write(_ s: String) { _ = s.withCString { Glibc.write(2, $0, strlen($0)) } }
}

enum Stdout {
    static func write(_ s: String) {
        let bytes = Array(s.utf8)
        let count = bytes.count
        var off = 0
        while off < count {
            let n = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + off, count - off) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}
