import Glibc
import CBerthInit

/// File helpers over raw syscalls: every failure names the operation and the path.
public enum FS {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func readBytes(_ path: String, limit: Int = 64 << 20) throws(OSError) -> [UInt8] {
        let fd = try retrying("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try retrying("read", path) { buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { throw OSError("read", path, code: EFBIG) }
        }
        return out
    }

    public static func readString(_ path: String) throws(OSError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// Writes a whole file. With `atomic`, writes a temp file beside it and renames it into place.
    public static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, atomic: Bool = false) throws(OSError) {
        let target = atomic ? "\(path).tmp-\(getpid())" : path
        let fd = try retrying("open", target) { open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        var off = 0
        do {
            while off < bytes.count {
                let n = try retrying("write", target) {
                    bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
                }
                off += n
            }
        } catch {
            close(fd)
            if atomic { Glibc.unlink(target) }
            throw error
        }
        close(fd)
        if atomic, rename(target, path) != 0 {
            let e = OSError("rename", path)
            Glibc.unlink(target)
            throw e
        }
    }

    public static func write(_ path: String, _ string: String, mode: mode_t = 0o644, atomic: Bool = false) throws(OSError) {
        try write(path, Array(string.utf8), mode: mode, atomic: atomic)
    }

    public static func mkdir(_ path: String, mode: mode_t = 0o755) throws(OSError) {
        if Glibc.mkdir(path, mode) != 0 { throw OSError("mkdir", path) }
    }

    public static func mkdirAll(_ path: String, mode: mode_t = 0o755) throws(OSError) {
        if isDirectory(path) { return }
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, mode) != 0 && errno != EEXIST { throw OSError("mkdir", current) }
        }
    }

    public static func unlink(_ path: String) throws(OSError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw OSError("unlink", path) }
    }

    /// rm -rf that never crosses into a mount point below `path` (it stops with EBUSY there).
    public static func removeAll(_ path: String) throws(OSError) {
        var st = stat()
        if lstat(path, &st) != 0 { if errno == ENOENT { return }; throw OSError("stat", path) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeAll(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw OSError("rmdir", path) }
        } else if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw OSError("unlink", path)
        }
    }

    /// A small file of a container's root, resolved inside `root` (symlinks can't lead out of it).
    public static func readInRoot(_ root: String, _ path: String, limit: Int = 1 << 20) throws(OSError) -> String {
        var buf = [CChar](repeating: 0, count: limit)
        let n = berth_read_in_root(root, path, &buf, limit)
        if n < 0 { throw OSError("read", root + path, code: Int32(-n)) }
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func list(_ path: String) throws(OSError) -> [String] {
        guard let d = opendir(path) else { throw OSError("opendir", path) }
        defer { closedir(d) }
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func realpath(_ path: String) throws(OSError) -> String {
        guard let p = Glibc.realpath(path, nil) else { throw OSError("resolve", path) }
        defer { free(p) }
        return String(cString: p)
    }

    public static func cwd() -> String {
        guard let p = getcwd(nil, 0) else { return "/" }
        defer { free(p) }
        return String(cString: p)
    }

    /// Makes `path` absolute against the current directory, without touching the file system.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : cleanPath(cwd() + "/" + path)
    }

    /// Lexically cleans an absolute path: no ".", "..", or repeated slashes; ".." stops at "/".
    public static func cleanPath(_ path: String) -> String {
        var parts: [Substring] = []
        for p in path.split(separator: "/", omittingEmptySubsequences: true) {
            if p == "." { continue }
            if p == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }
}
