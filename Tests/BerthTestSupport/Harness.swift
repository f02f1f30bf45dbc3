import Glibc
import FoundationEssentials
import BerthOCI

/// Test fixtures: temp state roots, busybox bundles made offline from busybox-static,
/// and a driver for the built berth-runtime binary. Everything a test makes is torn down
/// by `cleanup()`, which tests call in a `defer` so it runs on failure too.
public final class RuntimeHarness: @unchecked Sendable {
    public let dir: String
    public let root: String
    public let binary: String
    private var containers: [String] = []
    private var extraCleanup: [() -> Void] = []

    /// The berth-runtime binary under test: $BERTH_RUNTIME, or the debug build beside the tests.
    public static var runtimeBinary: String {
        if let env = getenv("BERTH_RUNTIME") { return String(cString: env) }
        let here = #filePath   // <pkg>/Tests/BerthTestSupport/Harness.swift
        let pkg = here.split(separator: "/").dropLast(3).joined(separator: "/")
        return "/\(pkg)/.build/debug/berth-runtime"
    }

    /// Whether this process can run containers (root, and busybox-static present).
    public static var canRunContainers: Bool { geteuid() == 0 && access("/bin/busybox", X_OK) == 0 }

    public init(binary: String = RuntimeHarness.runtimeBinary) throws {
        var template = Array("/tmp/berth-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        dir = String(cString: p)
        root = dir + "/state"
        self.binary = binary
    }

    /// A unique container id, remembered so cleanup deletes it.
    public func newID(_ hint: String = "c") -> String {
        let id = "berth-test-\(hint)-\(UInt32.random(in: 0...UInt32.max))"
        containers.append(id)
        return id
    }

    public func onCleanup(_ f: @escaping () -> Void) { extraCleanup.append(f) }

    /// Deletes every container this harness named, then its temp dir.
    public func cleanup() {
        for f in extraCleanup.reversed() { f() }
        for id in containers { _ = try? run(["delete", "--force", id]) }
        // Bundles without cgroupsPath get the runtime's default parent /berth; once its last child
        // is gone, remove it too (rmdir of a cgroup that still has children fails, harmlessly).
        for h in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            rmdir("/sys/fs/cgroup/\(h)/berth")
        }
        // A failed test may leave mounts behind in bundles: detach them before removing.
        _ = try? Command.run("/bin/sh", ["-c", "grep -o ' \(dir)[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf '\(dir)'"])
    }

    /// Runs berth-runtime with --root pointing at this harness's state root.
    @discardableResult
    public func run(_ args: [String], stdin: String? = nil, timeout: Int = 30) throws -> Command.Result {
        try Command.run(binary, ["--root", root] + args, stdin: stdin, timeout: timeout)
    }

    /// Makes a bundle with a busybox rootfs and a config.json derived from `berth-runtime spec`.
    public func makeBundle(_ name: String = "bundle", args: [String] = ["true"],
                           configure: (inout Spec) -> Void = { _ in }) throws -> String {
        let bundle = "\(dir)/\(name)"
        try Fixtures.makeBusyboxRootfs(at: bundle + "/rootfs")
        var spec = Spec.defaultSpec()
        spec.process?.terminal = false
        spec.process?.args = args
        spec.root?.readonly = false
        configure(&spec)
        try writeSpec(spec, bundle: bundle)
        return bundle
    }

    public func writeSpec(_ spec: Spec, bundle: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Fixtures.write(bundle + "/config.json", String(decoding: try enc.encode(spec), as: UTF8.self))
    }

    /// `run` of a bundle in the foreground; returns its result.
    public func runContainer(_ bundle: String, id: String? = nil, timeout: Int = 30) throws -> Command.Result {
        try run(["run", "--bundle", bundle, id ?? newID()], timeout: timeout)
    }

    /// Reads the `state` JSON of a container.
    public func state(_ id: String) throws -> (status: String, pid: Int32) {
        let r = try run(["state", id])
        guard r.status == 0 else { throw HarnessError("state \(id): \(r.stderr)") }
        struct S: Decodable { var status: String; var pid: Int32 }
        let s = try JSONDecoder().decode(S.self, from: Data(r.stdout.utf8))
        return (s.status, s.pid)
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

public enum Fixtures {
    /// A busybox rootfs: /bin/busybox from busybox-static plus a symlink per applet.
    public static func makeBusyboxRootfs(at rootfs: String) throws {
        for d in ["bin", "dev", "etc", "proc", "sys", "tmp", "root", "var/run"] {
            try mkdirAll(rootfs + "/" + d)
        }
        try copyFile("/bin/busybox", to: rootfs + "/bin/busybox", mode: 0o755)
        let list = try Command.run("/bin/busybox", ["--list"])
        for applet in list.stdout.split(separator: "\n") where applet != "busybox" {
            symlink("busybox", rootfs + "/bin/" + applet)
        }
        try write(rootfs + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        try write(rootfs + "/etc/group", "root:x:0:\nnogroup:x:65534:\n")
        chmod(rootfs + "/tmp", 0o1777)
    }

    public static func mkdirAll(_ path: String) throws {
        var cur = ""
        for part in path.split(separator: "/") {
            cur += "/" + part
            if mkdir(cur, 0o755) != 0 && errno != EEXIST { throw HarnessError("mkdir \(cur): errno \(errno)") }
        }
    }

    public static func write(_ path: String, _ s: String, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw HarnessError("open \(path): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            guard n > 0 else { throw HarnessError("write \(path): errno \(errno)") }
            off += n
        }
    }

    public static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path): errno \(errno)") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buf, buf.count)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func copyFile(_ from: String, to: String, mode: mode_t) throws {
        let src = open(from, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw HarnessError("open \(from): errno \(errno)") }
        defer { close(src) }
        let dst = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard dst >= 0 else { throw HarnessError("open \(to): errno \(errno)") }
        defer { close(dst) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(src, &buf, buf.count)
            if n <= 0 { break }
            _ = buf.withUnsafeBytes { Glibc.write(dst, $0.baseAddress, n) }
        }
    }
}

/// Runs a program with stdout/stderr captured through temp files (no pipe deadlocks) and a timeout.
public enum Command {
    public struct Result: Sendable, CustomStringConvertible {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var description: String { "status \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    public static func run(_ path: String, _ args: [String], stdin: String? = nil, env: [String]? = nil,
                           timeout: Int = 60) throws -> Result {
        var tmpl = Array("/tmp/berth-test-out-XXXXXX".utf8CString)
        guard let d = mkdtemp(&tmpl) else { throw HarnessError("mkdtemp") }
        let dir = String(cString: d)
        defer { _ = unlink(dir + "/out"); _ = unlink(dir + "/err"); _ = unlink(dir + "/in"); rmdir(dir) }
        try Fixtures.write(dir + "/in", stdin ?? "")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, dir + "/in", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, dir + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, dir + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(); sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attr, 0)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let environment = (env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; environment.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environment)
        guard rc == 0 else { throw HarnessError("spawn \(path): errno \(rc)") }
        var status: Int32 = 0
        let deadline = time(nil) + timeout
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if time(nil) > deadline {
                kill(-pid, SIGKILL); kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw HarnessError("\(path) \(args.joined(separator: " ")) timed out after \(timeout)s")
            }
            usleep(2000)
        }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, stdout: try Fixtures.read(dir + "/out"), stderr: try Fixtures.read(dir + "/err"))
    }
}
