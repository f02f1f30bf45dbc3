import BerthOS
import Glibc

// OOM notification for `events`: cgroup v1 signals an eventfd registered through
// cgroup.event_control; cgroup v2 counts OOMs in memory.events and notifies inotify watchers
// of that file. Same mechanisms as runc's libcontainer/notify_linux.go and notify_v2_linux.go.

extension CgroupManager {
    /// A watcher for OOM events of the container's memory cgroup, armed now: OOMs that
    /// happened before this call are not reported.
    ///
    /// Fails when the memory controller is not available for the container (v1: not mounted;
    /// v2: `memory.events` missing, the controller not enabled) or the cgroup does not exist.
    public func oomWatcher() throws(CgroupError) -> OOMWatcher {
        if isV2 {
            let dir = try unifiedDirectory()
            let events = dir + "/memory.events"
            guard fs.exists(events) else {
                throw CgroupError.unsupported("watch OOM events of \(dir)",
                                              "memory.events does not exist (is the memory controller enabled for this cgroup?)")
            }
            return try OOMWatcher(memoryEvents: events, fs: fs)
        }
        guard let dir = paths["memory"] else {
            throw CgroupError.unsupported("watch OOM events", "the memory cgroup controller is not mounted on this host")
        }
        return try OOMWatcher(v1MemoryDirectory: dir, fs: fs)
    }
}

/// Reports OOM events of one cgroup. Use it from one thread at a time; `close()` (or deinit)
/// releases its descriptors.
public final class OOMWatcher {
    private enum Source {
        /// v1: the eventfd the kernel signals, the open memory.oom_control it was registered
        /// for, and cgroup.event_control, whose disappearance means the cgroup was removed
        /// (the kernel signals the eventfd then too).
        case eventFD(eventFD: Int32, oomControlFD: Int32, eventControl: String)
        /// v2: memory.events, with an inotify descriptor when the filesystem offers one
        /// (otherwise the file is polled).
        case memoryEvents(path: String, inotifyFD: Int32?)
    }

    private let fs: any CgroupFS
    private var source: Source?
    /// v2: the last `oom` and `oom_kill` counts seen.
    private var counts: (oom: UInt64, oomKill: UInt64) = (0, 0)

    /// True once the watched cgroup has been removed: no OOM event can come any more.
    public private(set) var cgroupRemoved = false

    /// How often v2 polls memory.events when there is no inotify.
    static let pollIntervalMs = 100
    /// With inotify, memory.events is still re-read this often, in case a notification is lost.
    static let inotifySliceMs = 1000

    /// cgroup v1: registers a new eventfd for `memory.oom_control` of `directory`.
    init(v1MemoryDirectory directory: String, fs: any CgroupFS) throws(CgroupError) {
        self.fs = fs
        let eventControl = directory + "/cgroup.event_control"
        let oomControlFD = try fs.openForEvents(directory + "/memory.oom_control")
        let eventFD: Int32
        do {
            eventFD = try LinuxEvents.eventFD()
        } catch {
            Glibc.close(oomControlFD)
            throw error
        }
        do {
            try fs.write(eventControl, "\(eventFD) \(oomControlFD)")
        } catch {
            Glibc.close(eventFD)
            Glibc.close(oomControlFD)
            throw error
        }
        source = .eventFD(eventFD: eventFD, oomControlFD: oomControlFD, eventControl: eventControl)
    }

    /// cgroup v2: remembers the current counts of `path` (memory.events) and watches it with
    /// inotify when `fs` can.
    init(memoryEvents path: String, fs: any CgroupFS) throws(CgroupError) {
        self.fs = fs
        counts = OOMWatcher.parseCounts(try fs.read(path))
        source = .memoryEvents(path: path, inotifyFD: try? fs.watchModifications(path))
    }

    deinit { close() }

    /// Whether the v2 watcher is event-driven (inotify) rather than polling; for tests.
    var usesInotify: Bool {
        if case .memoryEvents(_, let fd) = source { return fd != nil }
        return false
    }

    /// Waits until the cgroup reports an OOM, at most `timeoutMs` milliseconds (negative:
    /// no limit). True when at least one OOM happened since the previous call (or since the
    /// watcher was created); false on timeout, after `close()`, and once the cgroup is gone
    /// (see `cgroupRemoved`). Several OOMs between two calls are reported once.
    ///
    /// When nothing can arrive any more (closed, cgroup removed) a call with a timeout still
    /// waits it out, so a polling loop does not spin; with no limit it returns at once.
    public func wait(timeoutMs: Int32) -> Bool {
        let deadline = timeoutMs < 0 ? nil : monotonicMilliseconds() + Int(timeoutMs)
        switch source {
        case .eventFD(let eventFD, _, let eventControl)? where !cgroupRemoved:
            return waitV1(eventFD, eventControl, deadline)
        case .memoryEvents(let path, let inotifyFD)? where !cgroupRemoved:
            return waitV2(path, inotifyFD, deadline)
        default:
            if let deadline { sleepMilliseconds(max(deadline - monotonicMilliseconds(), 0)) }
            return false
        }
    }

    /// Releases the descriptors (unregistering the v1 eventfd); later `wait` calls return false.
    /// Calling it again does nothing.
    public func close() {
        switch source {
        case .eventFD(let eventFD, let oomControlFD, _)?:
            // Closing the eventfd makes the kernel drop the registration.
            Glibc.close(eventFD)
            Glibc.close(oomControlFD)
        case .memoryEvents(_, let inotifyFD?)?:
            Glibc.close(inotifyFD)
        default:
            break
        }
        source = nil
    }

    // MARK: v1

    private func waitV1(_ eventFD: Int32, _ eventControl: String, _ deadline: Int?) -> Bool {
        while true {
            switch OOMWatcher.pollReadable(eventFD, deadline) {
            case .timeout, .failed: return false
            case .ready: break
            }
            var counter: UInt64 = 0
            let count = Glibc.read(eventFD, &counter, MemoryLayout<UInt64>.size)
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            // The kernel also signals the eventfd when it removes the cgroup (runc checks the
            // same way): that is not an OOM, and no OOM can follow.
            if !fs.exists(eventControl) {
                cgroupRemoved = true
                return false
            }
            return true
        }
    }

    // MARK: v2

    private func waitV2(_ path: String, _ inotifyFD: Int32?, _ deadline: Int?) -> Bool {
        while true {
            if let increased = checkCounts(path) { return increased }
            let remaining = deadline.map { $0 - monotonicMilliseconds() }
            if let remaining, remaining <= 0 { return false }
            if let inotifyFD {
                let slice = min(remaining ?? OOMWatcher.inotifySliceMs, OOMWatcher.inotifySliceMs)
                switch OOMWatcher.pollReadable(inotifyFD, monotonicMilliseconds() + slice) {
                case .ready: OOMWatcher.drain(inotifyFD)
                case .timeout: break
                case .failed: sleepMilliseconds(min(slice, OOMWatcher.pollIntervalMs))  // never spin
                }
            } else {
                sleepMilliseconds(min(remaining ?? OOMWatcher.pollIntervalMs, OOMWatcher.pollIntervalMs))
            }
        }
    }

    /// True when a count went up (and remembers the new counts), false when the file is gone
    /// (the cgroup was removed), nil when nothing changed.
    private func checkCounts(_ path: String) -> Bool? {
        guard let text = try? fs.read(path) else {
            if !fs.exists(path) {
                cgroupRemoved = true
                return false
            }
            return nil
        }
        let now = OOMWatcher.parseCounts(text)
        let increased = now.oom > counts.oom || now.oomKill > counts.oomKill
        counts = now
        return increased ? true : nil
    }

    static func parseCounts(_ text: String) -> (oom: UInt64, oomKill: UInt64) {
        let values = CgroupText.keyValues(text)
        return (values["oom"] ?? 0, values["oom_kill"] ?? 0)
    }

    // MARK: polling

    private enum PollResult { case ready, timeout, failed }

    /// Waits until `fd` is readable or `deadline` (monotonic ms; nil: never) passes.
    private static func pollReadable(_ fd: Int32, _ deadline: Int?) -> PollResult {
        while true {
            let timeout: Int32
            if let deadline {
                timeout = Int32(clamping: max(deadline - monotonicMilliseconds(), 0))
            } else {
                timeout = -1
            }
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let result = poll(&request, 1, timeout)
            if result < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if result == 0 { return .timeout }
            if request.revents & Int16(POLLIN) != 0 { return .ready }
            return .failed  // POLLERR, POLLHUP, POLLNVAL
        }
    }

    /// Reads every queued inotify event; only the wake-up matters.
    private static func drain(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 { continue }
            if count < 0 && errno == EINTR { continue }
            return
        }
    }
}

/// eventfd(2) and inotify(7), through BerthOS (Swift's Glibc module does not import them).
enum LinuxEvents {

    /// IN_MODIFY from <sys/inotify.h>.
    static let inModify: UInt32 = 0x2

    /// A new eventfd with counter 0 and `EFD_CLOEXEC`.
    static func eventFD() throws(CgroupError) -> Int32 {
        do { return try Syscalls.eventFD() } catch { throw CgroupError.syscall("eventfd", "", errno: error.code) }
    }

    /// A non-blocking inotify descriptor watching `path` for `IN_MODIFY`.
    static func inotifyModifyWatch(_ path: String) throws(CgroupError) -> Int32 {
        do { return try Syscalls.inotifyWatch(path, mask: inModify) } catch {
            throw CgroupError.syscall(error.operation, path, errno: error.code)
        }
    }
}
