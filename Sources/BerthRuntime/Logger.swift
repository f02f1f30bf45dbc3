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

    /// A debug line with the milliseconds since the process started: `--debug` shows where time goes.
    public func phase(_ name: String) {
        guard debugEnabled else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
        let ms = (now - RuntimeLogger.startMs * 1).rounded(toPlaces: 2)
        write(level: "debug", "\(ms) ms: \(name)")
    }

    /// Process start time from /proc/self/stat would cost a read; the first call's time is close enough
    /// for relative phases, so take it at load.
    nonisolated(unsafe) static var startMs: Double = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
    }()

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

extension Double {
    func rounded(toPlaces p: Int) -> Double {
        var m = 1.0
        for _ in 0..<p { m *= 10 }
        return (self * m).rounded() / m
    }
}
