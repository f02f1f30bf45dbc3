import Glibc
import CBerthInit

/// A console socket of our own, for a foreground `run`/`exec` with a terminal and no
/// --console-socket: the init sends the pty master down `childEnd`, we relay it on our stdio.
public final class LocalConsole {
    /// The end handed to the child (as its console socket).
    public private(set) var childEnd: Int32 = -1
    private var ourEnd: Int32 = -1

    public init() throws(OSError) {
        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
            throw OSError("socketpair for the console")
        }
        ourEnd = pair[0]; childEnd = pair[1]
    }

    deinit { closeAll() }

    /// The pty master the child sent (nil if it sent none), with ONLCR cleared; closes the socket.
    public func receiveMaster() -> Int32? {
        if childEnd >= 0 { close(childEnd); childEnd = -1 }
        let master = berth_recv_fd(ourEnd)
        closeAll()
        guard master >= 0 else { return nil }
        PTYProxy.clearONLCR(master)
        return master
    }

    private func closeAll() {
        if childEnd >= 0 { close(childEnd); childEnd = -1 }
        if ourEnd >= 0 { close(ourEnd); ourEnd = -1 }
    }
}

/// Copies between our stdio and a container's pty master until the container exits,
/// forwarding signals and window size changes (foreground `run`/`exec` with a terminal).
public enum PTYProxy {
    public static func run(master: Int32, child: Int32) -> Int32 {
        var saved = termios()
        let isTTY = isatty(0) == 1
        if isTTY {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
            copyWinsize(from: 0, to: master)
        }
        defer { if isTTY { tcsetattr(0, TCSANOW, &saved) } }
        var set = Signals.block(Signals.forwarded + [SIGCHLD])
        var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: master, events: Int16(POLLIN), revents: 0)]
        var buf = [UInt8](repeating: 0, count: 32768)
        var stdinOpen = true
        var exitCode: Int32? = nil
        while true {
            var status: Int32 = 0
            if exitCode == nil, waitpid(child, &status, WNOHANG) == child { exitCode = Proc.exitCode(status) }
            fds[0].fd = stdinOpen ? 0 : -1
            let r = poll(&fds, 2, exitCode == nil ? 100 : 0)
            if r > 0 {
                if fds[1].revents & Int16(POLLIN) != 0 {
                    let n = read(master, &buf, buf.count)
                    if n > 0 { _ = buf.withUnsafeBytes { write(1, $0.baseAddress, n) } }
                    else if n < 0 && errno != EINTR && errno != EAGAIN { if exitCode != nil { break } }
                } else if fds[1].revents & Int16(POLLHUP | POLLERR) != 0 {
                    if exitCode != nil { break }
                }
                if stdinOpen && fds[0].revents & Int16(POLLIN | POLLHUP) != 0 {
                    let n = read(0, &buf, buf.count)
                    if n > 0 { _ = buf.withUnsafeBytes { write(master, $0.baseAddress, n) } }
                    else { stdinOpen = false; if !isTTY { var eot: UInt8 = 4; _ = write(master, &eot, 1) } }
                }
            } else if exitCode != nil {
                break
            }
            var info = siginfo_t()
            var ts = timespec(tv_sec: 0, tv_nsec: 0)
            let sig = sigtimedwait(&set, &info, &ts)
            if sig > 0 && sig != SIGCHLD {
                if sig == SIGWINCH { copyWinsize(from: 0, to: master) } else { kill(child, sig) }
            }
        }
        close(master)
        return exitCode ?? 255
    }

    /// Turns off "\n" → "\r\n" on a pty we relay ourselves, as runc does: the container's output
    /// reaches our stdout byte for byte (our own terminal, if any, does its own translation).
    public static func clearONLCR(_ fd: Int32) {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return }
        t.c_oflag &= ~tcflag_t(ONLCR)
        tcsetattr(fd, TCSANOW, &t)
    }

    static func copyWinsize(from: Int32, to: Int32) {
        var ws = winsize()
        if ioctl(from, UInt(TIOCGWINSZ), &ws) == 0 { _ = ioctl(to, UInt(TIOCSWINSZ), &ws) }
    }
}
