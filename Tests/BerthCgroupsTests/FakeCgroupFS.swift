import BerthCgroups
import Glibc
import Synchronization

/// In-memory cgroup filesystem: files are strings, directories a set, every write is logged,
/// and errnos can be injected per path. Models just enough kernel behaviour for the manager:
/// cgroup files vanish with their directory, and writing cgroup.freeze updates cgroup.events.
final class FakeCgroupFS: CgroupFS {
    struct State: Sendable {
        var files: [String: String] = [:]
        var directories: Set<String> = ["/"]
        var writes: [Write] = []
        var removed: [String] = []
        var failures: [String: [Int32]] = [:]
        var attached: [(directory: String, program: [BPFInsn])] = []
        /// Contents returned by the next reads of a path, one per read; the file keeps the last.
        var scripted: [String: [String]] = [:]
    }

    struct Write: Sendable, Equatable, CustomStringConvertible {
        var path: String
        var value: String
        var description: String { "\(path)=\(value)" }
    }

    let state = Mutex(State())

    init(_ files: [String: String] = [:]) {
        seed(files)
    }

    /// Adds files (and their parent directories).
    func seed(_ files: [String: String]) {
        state.withLock { state in
            for (path, value) in files {
                state.files[path] = value
                FakeCgroupFS.addDirectories(FakeCgroupFS.parent(path), to: &state.directories)
            }
        }
    }

    /// Makes the next reads of `path` return `contents` in turn (the kernel changing a file
    /// between reads); later reads return the last of them.
    func script(_ path: String, _ contents: [String]) {
        state.withLock { $0.scripted[path, default: []].append(contentsOf: contents) }
    }

    /// Makes the next `times` operations on `path` fail with `code`.
    func fail(_ path: String, errno code: Int32, times: Int = 1) {
        state.withLock { $0.failures[path, default: []].append(contentsOf: Array(repeating: code, count: times)) }
    }

    var writes: [Write] { state.withLock { $0.writes } }
    var removed: [String] { state.withLock { $0.removed } }
    var attached: [(directory: String, program: [BPFInsn])] { state.withLock { $0.attached } }
    func file(_ path: String) -> String? { state.withLock { $0.files[path] } }
    func isDirectory(_ path: String) -> Bool { state.withLock { $0.directories.contains(path) } }
    /// Writes whose path ends in `suffix`, as `value` strings in order.
    func written(_ suffix: String) -> [String] { writes.filter { $0.path.hasSuffix(suffix) }.map(\.value) }
    func clearWrites() { state.withLock { $0.writes = [] } }

    func read(_ path: String) throws(CgroupError) -> String {
        try state.withLock { state throws(CgroupError) in
            try FakeCgroupFS.injected(&state, path, "read")
            if var queue = state.scripted[path], !queue.isEmpty, state.files[path] != nil {
                state.files[path] = queue.removeFirst()
                state.scripted[path] = queue
            }
            guard let value = state.files[path] else { throw CgroupError.syscall("read", path, errno: 2) }
            return value
        }
    }

    func write(_ path: String, _ value: String) throws(CgroupError) {
        try state.withLock { state throws(CgroupError) in
            try FakeCgroupFS.injected(&state, path, "write \(value) to")
            let directory = FakeCgroupFS.parent(path)
            guard state.directories.contains(directory) else {
                throw CgroupError.syscall("write \(value) to", path, errno: 2)
            }
            state.files[path] = value
            state.writes.append(Write(path: path, value: value))
            if path.hasSuffix("/cgroup.freeze") {
                state.files[directory + "/cgroup.events"] = "populated 0\nfrozen \(value)\n"
            }
        }
    }

    func mkdirAll(_ path: String) throws(CgroupError) {
        try state.withLock { state throws(CgroupError) in
            try FakeCgroupFS.injected(&state, path, "mkdir")
            FakeCgroupFS.addDirectories(path, to: &state.directories)
        }
    }

    func rmdir(_ path: String) throws(CgroupError) {
        try state.withLock { state throws(CgroupError) in
            try FakeCgroupFS.injected(&state, path, "rmdir")
            guard state.directories.contains(path) else { return }
            if state.directories.contains(where: { FakeCgroupFS.parent($0) == path && $0 != path }) {
                throw CgroupError.syscall("rmdir", path, errno: 16)
            }
            state.directories.remove(path)
            state.files = state.files.filter { FakeCgroupFS.parent($0.key) != path }
            state.removed.append(path)
        }
    }

    func exists(_ path: String) -> Bool {
        state.withLock { $0.files[path] != nil || $0.directories.contains(path) }
    }

    func subdirectories(_ path: String) throws(CgroupError) -> [String] {
        state.withLock { state in
            state.directories.filter { FakeCgroupFS.parent($0) == path && $0 != path }
                .map { String($0.dropFirst(path.count + 1)) }.sorted()
        }
    }

    func attachDeviceFilter(_ program: [BPFInsn], to directory: String) throws(CgroupError) {
        state.withLock { $0.attached.append((directory, program)) }
    }

    /// A real descriptor (of /dev/null) standing for the fake file, so an eventfd
    /// registration can name it; fails like open(2) when the fake file does not exist.
    func openForEvents(_ path: String) throws(CgroupError) -> Int32 {
        try state.withLock { state throws(CgroupError) in
            try FakeCgroupFS.injected(&state, path, "open")
            guard state.files[path] != nil else { throw CgroupError.syscall("open", path, errno: ENOENT) }
        }
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw CgroupError.syscall("open /dev/null for", path, errno: errno) }
        return fd
    }

    private static func injected(_ state: inout State, _ path: String, _ operation: String) throws(CgroupError) {
        if var queue = state.failures[path], !queue.isEmpty {
            let code = queue.removeFirst()
            state.failures[path] = queue
            throw CgroupError.syscall(operation, path, errno: code)
        }
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "/" }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    private static func addDirectories(_ path: String, to directories: inout Set<String>) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            directories.insert(current)
        }
    }
}
