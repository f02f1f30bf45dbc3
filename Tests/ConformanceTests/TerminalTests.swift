import BerthOCI
import BerthTestSupport
import Glibc
import Testing
import BerthOS

/// OCI runtime spec, config "Process" terminal and consoleSize, with runc's --console-socket protocol:
/// the runtime connects to a unix socket and sends the pty master as SCM_RIGHTS.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct TerminalTests {
    /// A listening unix socket that receives one file descriptor.
    final class ConsoleSocket {
        let path: String
        let fd: Int32

        init(path: String) throws {
            self.path = path
            fd = try UnixSocket.listen(path)
        }

        deinit { close(fd); unlink(path) }

        /// Accepts one connection and returns the fd passed over it.
        func receiveFD(timeoutMs: Int32 = 5000) throws -> Int32 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMs) == 1 else { throw HarnessError("no connection on the console socket") }
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { throw HarnessError("accept: errno \(errno)") }
            defer { close(conn) }
            var data = [UInt8](repeating: 0, count: 4096)
            var control = [UInt8](repeating: 0, count: 256)
            let n: Int = data.withUnsafeMutableBytes { dataBuf in
                control.withUnsafeMutableBytes { ctrlBuf in
                    var iov = iovec(iov_base: dataBuf.baseAddress, iov_len: dataBuf.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPtr in
                        var msg = msghdr()
                        msg.msg_iov = iovPtr
                        msg.msg_iovlen = 1
                        msg.msg_control = ctrlBuf.baseAddress
                        msg.msg_controllen = ctrlBuf.count
                        let r = recvmsg(conn, &msg, Int32(MSG_CMSG_CLOEXEC))
                        return r < 0 ? -1 : Int(msg.msg_controllen)
                    }
                }
            }
            // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by the fds.
            guard n >= 20 else { throw HarnessError("no SCM_RIGHTS message (controllen \(n), errno \(errno))") }
            let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
            let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
            guard level == SOL_SOCKET, type == Int32(SCM_RIGHTS) else { throw HarnessError("unexpected cmsg \(level)/\(type)") }
            return control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
        }
    }

    /// Reads everything from a pty master until the other side is closed (EIO) or the timeout.
    static func drain(_ fd: Int32, timeoutMs: Int = 10_000) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        var waited = 0
        while waited < timeoutMs {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, 100)
            if r == 0 { waited += 100; continue }
            if r < 0 { if errno == EINTR { continue }; break }
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func terminalThroughConsoleSocket() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let sock = try ConsoleSocket(path: h.dir + "/console.sock")
        let bundle = try h.makeBundle(args: ["sh", "-c", "tty; test -t 0 && echo STDIN_TTY; test -t 1 && echo STDOUT_TTY; test -t 2 && echo STDERR_TTY; stty size; ls -l /dev/console | cut -c1"]) { spec in
            spec.process?.terminal = true
            spec.process?.consoleSize = Box(height: 30, width: 100)
        }
        let id = h.newID("tty")
        let c = try h.run(["create", "--bundle", bundle, "--console-socket", sock.path, id])
        try #require(c.status == 0, "\(c)")
        let master = try sock.receiveFD()
        defer { close(master) }
        #expect(isatty(master) == 1 || isatty(master) == 0)   // a pty master; isatty varies by kernel
        var ws = winsize()
        #expect(ioctl(master, UInt(TIOCGWINSZ), &ws) == 0)
        let s = try h.run(["start", id])
        try #require(s.status == 0, "\(s)")
        let out = lines(Self.drain(master))
        #expect(out.first == "/dev/pts/0", "\(out)")
        #expect(out.contains("STDIN_TTY") && out.contains("STDOUT_TTY") && out.contains("STDERR_TTY"), "\(out)")
        #expect(out.contains("30 100"), "consoleSize: \(out)")
        #expect(out.last == "c", "/dev/console is a character device: \(out)")
        #expect(h.waitForStatus(id, "stopped"))
        #expect(try h.run(["delete", id]).status == 0)
    }

    @Test func terminalInputReachesTheContainer() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let sock = try ConsoleSocket(path: h.dir + "/console.sock")
        let bundle = try h.makeBundle(args: ["sh", "-c", "stty -echo; read line; echo \"got:$line\""]) { spec in
            spec.process?.terminal = true
        }
        let id = h.newID("ttyin")
        #expect(try h.run(["create", "--bundle", bundle, "--console-socket", sock.path, id]).status == 0)
        let master = try sock.receiveFD()
        defer { close(master) }
        #expect(try h.run(["start", id]).status == 0)
        usleep(200_000)
        _ = "hello-tty\n".withCString { write(master, $0, 10) }
        #expect(lines(Self.drain(master)).contains("got:hello-tty"))
    }

    @Test func noTerminalMeansNoTTY() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("tty; test -t 1 || echo NOT_A_TTY")
        #expect(lines(r.stdout).last == "NOT_A_TTY", "\(r)")
    }
}
