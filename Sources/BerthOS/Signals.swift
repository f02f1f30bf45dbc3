import Glibc
import Dispatch

/// Signal names as runc and `kill` accept them: "KILL", "SIGKILL", "9".
public enum Signals {
    public static let byName: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
        "IOT": SIGABRT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV,
        "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT,
        "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN,
        "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM,
        "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGIO, "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    public static func parse(_ s: String) -> Int32? {
        if let n = Int32(s) { return (n > 0 && n < 65) ? n : nil }
        var name = s.uppercased()
        if name.hasPrefix("SIG") { name = String(name.dropFirst(3)) }
        if let n = byName[name] { return n }
        // SIGRTMIN+n / RTMAX-n
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)) { return __libc_current_sigrtmin() + k }
        if name.hasPrefix("RTMAX-"), let k = Int32(name.dropFirst(6)) { return __libc_current_sigrtmax() - k }
        return nil
    }

    /// Signals a foreground `run`/`exec` forwards to the container.
    public static let forwarded: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP]

    public static func block(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        var old = sigset_t()
        pthread_sigmask(SIG_BLOCK, &set, &old)
        return set
    }

    /// Waits for `pid` (our child) to exit while forwarding blocked signals to it; returns the exit code.
    public static func forwardUntilExit(_ pid: Int32, onWinch: (() -> Void)? = nil) -> Int32 {
        var set = block(forwarded + [SIGCHLD])
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return Proc.exitCode(status) }
            if r < 0 && errno == ECHILD { return 255 }
            var info = siginfo_t()
            var ts = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            let sig = sigtimedwait(&set, &info, &ts)
            if sig <= 0 || sig == SIGCHLD { continue }
            if sig == SIGWINCH, let onWinch { onWinch(); continue }
            Glibc.kill(pid, sig)
        }
    }
}

/// SIGTERM/SIGINT handling shared by the daemons (berth-lifecycled, berthd).
public enum Termination {
    nonisolated(unsafe) static var retained: [DispatchSourceSignal] = []

    /// Returns once SIGTERM or SIGINT arrives (both are ignored from the call on, so the daemon
    /// can shut down in order).
    public static func wait() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let q = DispatchQueue(label: "signals")
            let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: q) }
            nonisolated(unsafe) var resumed = false
            for s in sources {
                s.setEventHandler {
                    guard !resumed else { return }
                    resumed = true
                    for x in sources { x.cancel() }
                    c.resume()
                }
                s.resume()
            }
            // The sources must outlive this call.
            retained = sources
        }
    }
}
