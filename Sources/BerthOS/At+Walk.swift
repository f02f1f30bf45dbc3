import Glibc
import CBerthInit

// Reading a tree one already-opened directory at a time (layer diffs, rootfs exports, docker cp):
// every name is looked up in its parent's fd and never followed, so a symlink met on the way is
// archived as a symlink and never leads somewhere else.

extension At {
    /// Opens directory `name` of `dirfd` for listing (O_RDONLY). A symlink at `name` fails with
    /// ELOOP/ENOTDIR instead of being followed; `"."` opens `dirfd` itself.
    public static func openDirectory(_ dirfd: Int32, _ name: String) throws(OSError) -> Int32 {
        try retrying("open", name) { openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    /// Opens `name` of `dirfd` for reading its data, refusing anything but a regular file: a file
    /// swapped for a FIFO or a symlink between the lstat and the open must not block or redirect
    /// the reader (O_NONBLOCK, O_NOFOLLOW). Returns the fd and its fstat.
    public static func openRegularFile(_ dirfd: Int32, _ name: String) throws(OSError) -> (fd: Int32, stat: stat) {
        let fd = try retrying("open", name) { openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) }
        var st = stat()
        if fstat(fd, &st) != 0 {
            let e = OSError("fstat", name)
            _ = Glibc.close(fd)
            throw e
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            _ = Glibc.close(fd)
            throw OSError("open", name, code: EINVAL)
        }
        return (fd, st)
    }

    /// The target of symlink `name` in `dirfd`, as stored (not resolved).
    public static func readlink(_ dirfd: Int32, _ name: String) throws(OSError) -> String {
        var size = 256
        while true {
            var buf = [CChar](repeating: 0, count: size)
            let n = readlinkat(dirfd, name, &buf, size)
            if n < 0 { throw OSError("readlink", name) }
            if n < size {
                return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            // Possibly truncated: PATH_MAX is the kernel's limit, so this ends.
            size *= 4
        }
    }

    /// The value of xattr `key` on `name` in `dirfd` (a symlink's own), or nil when it is not set
    /// or the file system has no xattrs.
    public static func getXattr(_ dirfd: Int32, _ name: String, key: String) throws(OSError) -> [UInt8]? {
        let p = "/proc/self/fd/\(dirfd)/\(name)"
        while true {
            let size = berth_lgetxattr(p, key, nil, 0)
            if size < 0 {
                if errno == ENODATA || errno == ENOTSUP { return nil }
                throw OSError("getxattr \(key)", name)
            }
            if size == 0 { return [] }
            var buf = [UInt8](repeating: 0, count: Int(size))
            let n = buf.withUnsafeMutableBytes { berth_lgetxattr(p, key, $0.baseAddress, $0.count) }
            if n >= 0 { return Array(buf[0..<Int(n)]) }
            // ERANGE: the value grew between the two calls; ask again.
            if errno == ERANGE { continue }
            if errno == ENODATA { return nil }
            throw OSError("getxattr \(key)", name)
        }
    }

    /// All xattrs of `name` in `dirfd` (a symlink's own), in the order the file system lists
    /// them; empty when the file system has none. Names the caller may not read are skipped.
    public static func xattrs(_ dirfd: Int32, _ name: String) throws(OSError) -> [(name: String, value: [UInt8])] {
        let p = "/proc/self/fd/\(dirfd)/\(name)"
        var list: [CChar] = []
        while true {
            let size = berth_llistxattr(p, nil, 0)
            if size < 0 {
                if errno == ENOTSUP { return [] }
                throw OSError("listxattr", name)
            }
            if size == 0 { return [] }
            list = [CChar](repeating: 0, count: Int(size))
            let n = list.withUnsafeMutableBufferPointer { berth_llistxattr(p, $0.baseAddress, $0.count) }
            if n >= 0 { list = Array(list[0..<Int(n)]); break }
            if errno != ERANGE { throw OSError("listxattr", name) }
        }
        var out: [(name: String, value: [UInt8])] = []
        for raw in list.split(separator: 0) {
            let key = String(decoding: raw.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let value = try getXattr(dirfd, name, key: key) { out.append((key, value)) }
        }
        return out
    }
}

extension FD {
    /// fstat(2) of an open fd (O_PATH fds included).
    public static func fileStat(_ fd: Int32, path: String) throws(OSError) -> stat {
        var st = Glibc.stat()
        if fstat(fd, &st) != 0 { throw OSError("fstat", path) }
        return st
    }

    /// The names in directory `fd` (without "." and ".."), in the order readdir returns them. The
    /// fd's own offset is untouched: the listing reads through a fresh open of ".".
    public static func entries(_ fd: Int32, path: String) throws(OSError) -> [String] {
        let own = try retrying("open", path) { openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard let d = fdopendir(own) else {
            let e = OSError("opendir", path)
            _ = Glibc.close(own)
            throw e
        }
        defer { closedir(d) }
        var names: [String] = []
        while true {
            // readdir returns NULL both at the end and on failure; only errno tells them apart.
            errno = 0
            guard let ent = readdir(d) else {
                if errno != 0 { throw OSError("readdir", path) }
                return names
            }
            let n = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if n != "." && n != ".." { names.append(n) }
        }
    }

    /// The path the kernel has for an open fd (readlink of /proc/self/fd/N).
    public static func path(of fd: Int32) throws(OSError) -> String {
        try At.readlink(AT_FDCWD, "/proc/self/fd/\(fd)")
    }
}

extension InRoot {
    /// stat of `rel` resolved inside the root, a final symlink followed (inside the root too).
    public func resolvedStat(_ rel: String) throws(OSError) -> Glibc.stat {
        let fd = try open(rel, flags: BERTH_O_PATH)
        defer { FD.close(fd) }
        return try FD.fileStat(fd, path: path + "/" + rel)
    }
}
