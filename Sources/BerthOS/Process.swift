import Glibc
import CBerthInit

/// Process helpers: liveness, start time (to tell a pid from a reused one), signals, waiting.
public enum Proc {
    /// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. nil if the process is gone.
    public static func startTime(_ pid: Int32) -> UInt64? {
        guard let s = try? FS.readString("/proc/\(pid)/stat"), let close = s.lastIndex(of: ")") else { return nil }
        let fields = s[s.index(after: close)...].split(separator: " ")
        // After the ")" the fields start at 3 (state); starttime is field 22.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Process state letter from /proc/<pid>/stat ("R", "S", "Z", …).
    public static func stateLetter(_ pid: Int32) -> Character? {
        guard let s = try? FS.readString("/proc/\(pid)/stat"), let close = s.lastIndex(of: ")") else { return nil }
        return s[s.index(after: close)...].split(separator: " ").first?.first
    }

    /// True if `pid` is alive, not a zombie, and (when given) started at `startTime`.
    public static func isAlive(_ pid: Int32, startTime: UInt64?) -> Bool {
        guard pid > 0, let st = self.startTime(pid) else { return false }
        if let startTime, st != startTime { return false }
        return stateLetter(pid) != "Z"
    }

    public static func kill(_ pid: Int32, _ signal: Int32) throws(OSError) {
        if Glibc.kill(pid, signal) != 0 { throw OSError("kill", "\(pid)") }
    }

    /// Waits for a child; returns its exit code the way a shell reports it (128+signal).
    public static func wait(_ pid: Int32) throws(OSError) -> Int32 {
        var status: Int32 = 0
        _ = try retrying("waitpid", "\(pid)") { waitpid(pid, &status, 0) }
        return exitCode(status)
    }

    public static func exitCode(_ status: Int32) -> Int32 {
        if status & 0x7f == 0 { return (status >> 8) & 0xff }     // WIFEXITED
        return 128 + (status & 0x7f)                               // WTERMSIG
    }

    /// Waits until `pid` (not necessarily our child) exits, polling its pidfd, up to `timeoutMs`.
    /// Returns false on timeout.
    public static func waitGone(_ pid: Int32, timeoutMs: Int32) -> Bool {
        let fd = berth_pidfd_open(pid)
        if fd < 0 { return true }
        defer { close(fd) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMs)
            if r < 0 && errno == EINTR { continue }
            return r > 0
        }
    }
}
