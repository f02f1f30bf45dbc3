import BerthEngineAPI
import BerthEngineClient
import Foundation
import Glibc

/// Copies a hijacked attach / exec connection to our stdio: the container's output to stdout and
/// stderr (split from Docker's 8-byte frames when there is no TTY), our stdin to the container
/// (raw mode on a terminal, half-close at EOF), window sizes as they change, and — without a TTY —
/// SIGINT/SIGTERM forwarded to the container, as the docker CLI's sig-proxy.
final class StreamPump {
    let conn: HTTPConnection
    let tty: Bool
    let sendStdin: Bool
    /// Called with (height, width) at the start and on every SIGWINCH, when there is a TTY.
    var onResize: ((Int, Int) -> Void)?
    /// Called with a signal name when a proxied signal arrives.
    var onSignal: ((String) -> Void)?
    /// The key sequence that detaches (ctrl-p ctrl-q by default), when stdin is sent with a TTY.
    var detachKeys: [UInt8] { get { detach.keys } set { detach = DetachScanner(keys: newValue) } }
    private var detach = DetachScanner(keys: [])
    private var demux = FrameDemux()

    enum End { case closed, detached }

    init(conn: HTTPConnection, tty: Bool, stdin: Bool) {
        self.conn = conn; self.tty = tty; self.sendStdin = stdin
    }

    /// Terminal size of our stdout (or stdin), if it is a terminal.
    static func terminalSize() -> (Int, Int)? {
        var ws = winsize()
        for fd: Int32 in [1, 0, 2] where ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_row > 0 {
            return (Int(ws.ws_row), Int(ws.ws_col))
        }
        return nil
    }

    /// Runs until the daemon closes the stream or the user types the detach keys.
    @discardableResult
    func run() -> End {
        var saved = termios()
        let raw = tty && sendStdin && isatty(0) == 1
        if raw {
            tcgetattr(0, &saved)
            var r = saved
            cfmakeraw(&r)
            // Keep output processing: the container's "\n" already comes as "\r\n" from its pty.
            tcsetattr(0, TCSANOW, &r)
        }
        defer { if raw { tcsetattr(0, TCSANOW, &saved) } }

        var signals: [Int32] = tty ? [SIGWINCH] : []
        if onSignal != nil && !tty { signals += [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] }
        let sigfd = SignalPipe.install(signals)
        defer { SignalPipe.uninstall(signals) }
        if tty, let (h, w) = Self.terminalSize() { onResize?(h, w) }

        // Bytes that came with the response head.
        if let first = try? conn.readBufferedOnly(), !first.isEmpty { output(first) }

        var stdinOpen = sendStdin
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            var fds = [pollfd(fd: conn.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: sigfd, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 3, -1)
            if r < 0 { if errno == EINTR { continue }; break }
            if fds[0].revents != 0 {
                let n = recv(conn.fd, &buf, buf.count, 0)
                if n > 0 { output(Array(buf[0..<n])) }
                else if n == 0 || (errno != EINTR && errno != EAGAIN) { break }
            }
            if stdinOpen && fds[1].revents != 0 {
                let n = read(0, &buf, buf.count)
                if n > 0 {
                    let (out, detached) = detach.feed(buf[0..<n])
                    if detached { fflush(nil); return .detached }
                    let ok = out.withUnsafeBytes { p -> Bool in
                        var off = 0
                        while off < p.count {
                            let w = send(conn.fd, p.baseAddress! + off, p.count - off, Int32(MSG_NOSIGNAL))
                            if w < 0 { if errno == EINTR { continue }; return false }
                            off += w
                        }
                        return true
                    }
                    if !ok { stdinOpen = false }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    stdinOpen = false
                    conn.closeWrite()
                }
            }
            if sigfd >= 0 && fds[2].revents != 0 {
                var b: UInt8 = 0
                if read(sigfd, &b, 1) > 0 {
                    let sig = Int32(b)
                    if sig == SIGWINCH { if let (h, w) = Self.terminalSize() { onResize?(h, w) } }
                    else { onSignal?(Self.signalName(sig)) }
                }
            }
        }
        fflush(nil)
        return .closed
    }

    /// `ctrl-p,ctrl-q`, `ctrl-a,x`: docker's detach-keys syntax.
    static func parseKeys(_ spec: String) throws -> [UInt8] {
        do { return try DetachScanner.keys(spec) } catch { throw CLIError.usage(error.message) }
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGQUIT: return "SIGQUIT"
        case SIGUSR1: return "SIGUSR1"
        case SIGUSR2: return "SIGUSR2"
        default: return String(s)
        }
    }

    private func output(_ bytes: [UInt8]) {
        if tty { writeAll(1, bytes); return }
        demux.feed(bytes) { stream, payload in writeAll(stream == 2 ? 2 : 1, payload) }
    }
}

/// Splits Docker's multiplexed stream: `[stream, 0, 0, 0, size BE32]` then `size` bytes.
struct FrameDemux {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8], _ emit: (UInt8, ArraySlice<UInt8>) -> Void) {
        pending += bytes
        var i = 0
        while pending.count - i >= 8 {
            let size = Int(pending[i + 4]) << 24 | Int(pending[i + 5]) << 16 | Int(pending[i + 6]) << 8 | Int(pending[i + 7])
            guard pending.count - i - 8 >= size else { break }
            emit(pending[i], pending[(i + 8)..<(i + 8 + size)])
            i += 8 + size
        }
        pending.removeFirst(i)
    }
}

/// Writes everything (retrying short writes and EINTR); a closed pipe ends quietly.
func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) {
    let array = Array(bytes)
    array.withUnsafeBytes { p in
        var off = 0
        while off < p.count {
            let n = write(fd, p.baseAddress! + off, p.count - off)
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}

/// Signals as bytes on a pipe, so the poll loop sees them (a self-pipe; Glibc's module has no signalfd).
enum SignalPipe {
    nonisolated(unsafe) static var fds: [Int32] = [-1, -1]

    /// Routes `signals` to the pipe; its read end, or -1 when there are none.
    static func install(_ signals: [Int32]) -> Int32 {
        guard !signals.isEmpty else { return -1 }
        if fds[0] < 0 {
            var p: [Int32] = [-1, -1]
            guard pipe(&p) == 0 else { return -1 }
            for fd in p { _ = fcntl(fd, F_SETFD, FD_CLOEXEC); _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
            fds = p
        }
        for s in signals {
            signal(s) { sig in
                var b = UInt8(truncatingIfNeeded: sig)
                _ = write(SignalPipe.fds[1], &b, 1)
            }
        }
        return fds[0]
    }

    static func uninstall(_ signals: [Int32]) {
        for s in signals { signal(s, SIG_DFL) }
    }
}
