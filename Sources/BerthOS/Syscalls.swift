import Glibc
import CBerthInit

/// Syscalls the Swift Glibc module does not import, for the libraries above BerthOS.
public enum Syscalls {
    /// eventfd(2) with counter 0 and EFD_CLOEXEC.
    public static func eventFD() throws(OSError) -> Int32 {
        let fd = berth_eventfd(0, O_CLOEXEC)
        if fd < 0 { throw OSError("eventfd", nil, code: -fd) }
        return fd
    }

    /// A close-on-exec, non-blocking inotify fd watching `path` for `mask` (IN_MODIFY = 0x2).
    public static func inotifyWatch(_ path: String, mask: UInt32) throws(OSError) -> Int32 {
        let fd = berth_inotify_init1(O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw OSError("inotify_init1 for", path, code: -fd) }
        let w = berth_inotify_add_watch(fd, path, mask)
        if w < 0 { close(fd); throw OSError("inotify_add_watch", path, code: -w) }
        return fd
    }

    /// bpf(2) with the attribute bytes; the result, or -errno.
    public static func bpf(_ command: Int32, _ attr: inout [UInt8]) -> Int {
        attr.withUnsafeMutableBytes { Int(berth_bpf(command, $0.baseAddress, UInt32($0.count))) }
    }

    /// A close-on-exec memfd.
    public static func memfd(_ name: String) throws(OSError) -> Int32 {
        let fd = berth_memfd_create(name, 1)   // MFD_CLOEXEC
        if fd < 0 { throw OSError("memfd_create", name, code: -fd) }
        return fd
    }
}
