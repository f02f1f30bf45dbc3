import BerthOS
import Glibc

/// An anonymous, close-on-exec file that libseccomp's `seccomp_export_*` can write into and we read back.
///
/// libseccomp 2.5.4 has no `seccomp_export_bpf_mem`, only exporters that `write(2)` to an fd. A pipe
/// would block once the output outgrows the pipe buffer (a PFC dump of a large profile easily does),
/// so the output goes to a memfd, or, where memfd_create is unavailable, an unlinked temp file.
struct MemoryFile: ~Copyable {
    let fd: Int32

    init() throws(SeccompError) {
        if let fd = MemoryFile.memfd() {
            self.fd = fd
            return
        }
        var template = Array("/tmp/berth-seccomp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { throw .libc("mkstemp(/tmp/berth-seccomp-XXXXXX)") }
        _ = template.withUnsafeBufferPointer { buf in buf.baseAddress.map { unlink($0) } }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
    }

    deinit { close(fd) }

    /// Everything written so far, from offset 0.
    func readAll() throws(SeccompError) -> [UInt8] {
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else { throw .libc("lseek(memfd)") }
        let size = Int(end)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return pread(fd, base + done, size - done, off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .libc("pread(memfd)")
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    /// memfd_create(2) through BerthOS (Swift's Glibc module does not declare it).
    private static func memfd() -> Int32? {
        try? Syscalls.memfd("berth-seccomp")
    }
}
