import Glibc
import CBerthInit

/// Runs a program (hooks, `ps`) with posix_spawn: stdin from bytes, stdout optionally captured.
public enum Subprocess {
    public struct Result: Sendable {
        /// Exit status, or 128+N when killed by signal N.
        public var status: Int32
        public var output: [UInt8]
        public var timedOut: Bool
        /// The signal that killed it, if one did.
        public var signal: Int32?
    }

    public static func run(path: String, args: [String], env: [String], stdin input: [UInt8] = [],
                           captureOutput: Bool = false, captureStderr: Bool = false, timeoutSeconds: Int = 0) throws(OSError) -> Result {
        let captureOutput = captureOutput || captureStderr
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
        // stdin is a socket, not a pipe: send(MSG_NOSIGNAL) can't raise SIGPIPE in us when the
        // program exits without reading it (a hook given a large state).
        if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &inPipe) != 0 {
            throw OSError("socketpair")
        }
        if captureOutput && berth_pipe2(&outPipe, O_CLOEXEC) != 0 { close(inPipe[0]); close(inPipe[1]); throw OSError("pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        if captureOutput { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1) }
        if captureStderr { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2) }
        if timeoutSeconds > 0 {
            // A program that neither reads its stdin nor exits must not block us past its timeout.
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(inPipe[1], SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(); sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) }; for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        close(inPipe[0])
        if captureOutput { close(outPipe[1]) }
        if rc != 0 {
            close(inPipe[1]); if captureOutput { close(outPipe[0]) }
            throw OSError("run", path, code: rc)
        }
        // A hook that does not read its stdin must not make us fail: ignore EPIPE.
        var off = 0
        while off < input.count {
            let n = input.withUnsafeBytes { Glibc.send(inPipe[1], $0.baseAddress! + off, input.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
            off += n
        }
        close(inPipe[1])
        var output: [UInt8] = []
        if captureOutput {
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(outPipe[0], &buf, buf.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                output.append(contentsOf: buf[0..<n])
            }
            close(outPipe[0])
        }
        var timedOut = false
        if timeoutSeconds > 0 && !Proc.waitGone(pid, timeoutMs: Int32(timeoutSeconds * 1000)) {
            timedOut = true
            Glibc.kill(pid, SIGKILL)
        }
        var raw: Int32 = 0
        _ = try retrying("waitpid", "\(pid)") { waitpid(pid, &raw, 0) }
        let sig = raw & 0x7f
        return Result(status: Proc.exitCode(raw), output: output, timedOut: timedOut, signal: sig != 0 ? sig : nil)
    }
}
