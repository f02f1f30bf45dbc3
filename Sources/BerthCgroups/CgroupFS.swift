import Glibc

/// Filesystem seam so the cgroup logic runs in tests without root: `HostCgroupFS` touches
/// `/sys/fs/cgroup`, a fake records writes in memory.
///
/// Paths are absolute. Implementations must write each value with a single `write(2)`,
/// because cgroup files parse one write as one request.
public protocol CgroupFS: Sendable {
    /// The whole content of the file at `path`.
    func read(_ path: String) throws(CgroupError) -> String
    /// Writes `value` to the existing file at `path` (never creates it).
    func write(_ path: String, _ value: String) throws(CgroupError)
    /// Creates `path` and any missing parents; existing directories are fine.
    func mkdirAll(_ path: String) throws(CgroupError)
    /// Removes the empty directory `path`; a missing one is not an error.
    func rmdir(_ path: String) throws(CgroupError)
    /// Whether anything exists at `path`.
    func exists(_ path: String) -> Bool
    /// Names (not paths) of the directories directly inside `path`: the child cgroups.
    /// A missing `path` has none. Default: none, for fakes that do not model a tree.
    func subdirectories(_ path: String) throws(CgroupError) -> [String]
    /// Loads `program` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program, attaches it to the cgroup v2
    /// directory `directory` and detaches the filters that were there before.
    /// Default: fails, so a fake never reaches the real `bpf(2)`.
    func attachDeviceFilter(_ program: [BPFInsn], to directory: String) throws(CgroupError)
    /// Opens `path` read-only and returns the descriptor, which the caller closes: cgroup v1
    /// event registration needs an open `memory.oom_control` to name in `cgroup.event_control`.
    /// Default: fails, so a fake never opens host files.
    func openForEvents(_ path: String) throws(CgroupError) -> Int32
    /// A non-blocking, close-on-exec inotify descriptor that turns readable when the file at
    /// `path` is modified (`IN_MODIFY`); the caller closes it. Default: fails, and callers
    /// fall back to polling the file.
    func watchModifications(_ path: String) throws(CgroupError) -> Int32
}

extension CgroupFS {
    public func subdirectories(_ path: String) throws(CgroupError) -> [String] { [] }

    public func attachDeviceFilter(_ program: [BPFInsn], to directory: String) throws(CgroupError) {
        throw CgroupError.unsupported("attach device filter to \(directory)",
                                      "this CgroupFS cannot load eBPF programs")
    }

    public func openForEvents(_ path: String) throws(CgroupError) -> Int32 {
        throw CgroupError.unsupported("open \(path) for events", "this CgroupFS has no file descriptors")
    }

    public func watchModifications(_ path: String) throws(CgroupError) -> Int32 {
        throw CgroupError.unsupported("watch \(path)", "this CgroupFS cannot watch files")
    }
}

/// The real cgroup filesystem: plain `open`/`read`/`write`/`mkdir`/`rmdir`, retrying `EINTR`.
public struct HostCgroupFS: CgroupFS {
    public init() {}

    public func read(_ path: String) throws(CgroupError) -> String {
        let fd = try openRetrying(path, O_RDONLY | O_CLOEXEC, operation: "read")
        defer { close(fd) }
        var content: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CgroupError.syscall("read", path, errno: errno)
            }
            if count == 0 { break }
            content.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: content, as: UTF8.self)
    }

    public func write(_ path: String, _ value: String) throws(CgroupError) {
        let operation = "write \(abbreviated(value)) to"
        let fd = try openRetrying(path, O_WRONLY | O_TRUNC | O_CLOEXEC, operation: operation)
        defer { close(fd) }
        let bytes = Array(value.utf8)
        while true {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CgroupError.syscall(operation, path, errno: errno)
            }
            // Cgroup files take a value in one write; a short write means the kernel took part of it.
            if count != bytes.count {
                throw CgroupError(operation: operation, path: path, reason: "short write (\(count) of \(bytes.count) bytes)")
            }
            return
        }
    }

    public func mkdirAll(_ path: String) throws(CgroupError) {
        // Usually only the leaf is missing: one mkdir instead of one per component.
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            while mkdir(current, 0o755) != 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EEXIST { break }
                throw CgroupError.syscall("mkdir", current, errno: code)
            }
        }
    }

    public func rmdir(_ path: String) throws(CgroupError) {
        while Glibc.rmdir(path) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == ENOENT { return }
            throw CgroupError.syscall("rmdir", path, errno: code)
        }
    }

    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func subdirectories(_ path: String) throws(CgroupError) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw CgroupError.syscall("list", path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            if Int(entry.pointee.d_type) == Int(DT_DIR) { names.append(name) }
        }
        return names.sorted()
    }

    public func attachDeviceFilter(_ program: [BPFInsn], to directory: String) throws(CgroupError) {
        try DeviceFilterLoader.loadAndAttach(program, cgroupDirectory: directory)
    }

    public func openForEvents(_ path: String) throws(CgroupError) -> Int32 {
        try openRetrying(path, O_RDONLY | O_CLOEXEC, operation: "open")
    }

    public func watchModifications(_ path: String) throws(CgroupError) -> Int32 {
        try LinuxEvents.inotifyModifyWatch(path)
    }

    private func openRetrying(_ path: String, _ flags: Int32, operation: String) throws(CgroupError) -> Int32 {
        while true {
            let fd = open(path, flags)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw CgroupError.syscall(operation, path, errno: errno)
        }
    }
}

/// Keeps error messages readable when a unified value is long.
func abbreviated(_ value: String) -> String {
    let oneLine = value.split(whereSeparator: \.isNewline).joined(separator: "\\n")
    return oneLine.count > 64 ? String(oneLine.prefix(61)) + "..." : oneLine
}

/// Sleeps the calling thread; the manager's API is synchronous on purpose (it runs in the
/// short-lived runtime process).
func sleepMilliseconds(_ milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// Monotonic milliseconds, for bounded polling.
func monotonicMilliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}
