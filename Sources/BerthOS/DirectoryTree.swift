import Glibc
import CBerthInit

// openat2 resolve flags (linux/openat2.h); Glibc does not export them to Swift.
private let resolveNoMagicLinks: UInt64 = 0x02
private let resolveNoSymlinks: UInt64 = 0x04
private let resolveBeneath: UInt64 = 0x08
private let oPath = BERTH_O_PATH
private let atEmptyPath: Int32 = 0x1000  // AT_EMPTY_PATH

/// Whole-directory operations that never follow a symlink: every step is an `*at` call on a
/// directory fd that was itself opened O_NOFOLLOW, so a symlink inside either tree (`evil ->
/// /etc`) is copied, measured or removed as a link and never used as a way out.
///
/// The copy is what Docker does to fill a fresh volume from an image ("copy-up"): regular files,
/// directories, symlinks, hard links, fifos and devices, with owner, permission bits (including
/// setuid/setgid/sticky) and access/modification times. Sockets are skipped (they mean nothing
/// once copied); extended attributes are not copied.
public enum DirectoryTree {
    /// Deepest tree `copyContents` and `size` walk: each level holds two fds and a stack frame,
    /// and no real image nests anywhere near this deep.
    public static let maxDepth = 256

    /// Opens directory `path` for reading; O_NOFOLLOW, so a symlink there fails with ELOOP rather
    /// than being followed. nil when nothing is there or it is not a directory.
    public static func openDirectory(_ path: String) throws(OSError) -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 { return fd }
        let code = errno
        if code == ENOENT { return nil }
        if code == ENOTDIR || code == ELOOP {
            // Linux reports a symlink under O_DIRECTORY|O_NOFOLLOW as ENOTDIR; callers need to
            // tell "a link was refused" from "not a directory".
            var st = stat()
            if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK { throw OSError("open", path, code: ELOOP) }
            if code == ENOTDIR { return nil }
        }
        throw OSError("open", path, code: code)
    }

    /// Opens directory `rel` of `root` for reading, resolved inside the root (symlinks on the way,
    /// the final one included, resolve as if `root` were `/`, as Docker resolves a volume's
    /// destination in the container's rootfs). nil when nothing is there or it is not a directory.
    public static func openDirectory(in root: InRoot, _ rel: String) throws(OSError) -> Int32? {
        let opath: Int32
        do { opath = try root.open(rel, flags: oPath | O_DIRECTORY | O_CLOEXEC) } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return nil }
            throw error
        }
        defer { _ = Glibc.close(opath) }
        // An O_PATH fd cannot be read; reopening "." through it stays on the resolved directory.
        let fd = openat(opath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw OSError("open", root.path + "/" + rel) }
        return fd
    }

    /// Whether directory `fd` has no entries besides `.` and `..`.
    public static func isEmpty(_ fd: Int32, path: String) throws(OSError) -> Bool {
        try names(fd, path).isEmpty
    }

    /// Copies everything in directory `src` into directory `dst` (fds opened for reading), then
    /// gives `dst` the owner and permission bits of `src`, as Docker does so a volume mounted over
    /// `/var/lib/mysql` keeps mysql's ownership. Entries are created O_EXCL, so an existing name in
    /// `dst` is an error, never overwritten. On failure the top-level entries this call created are
    /// removed again, so a retry starts from the same (empty) destination.
    public static func copyContents(from src: Int32, _ srcPath: String, to dst: Int32, _ dstPath: String) throws(OSError) {
        var copier = Copier(dstRoot: dst, dstRootPath: dstPath)
        do throws(OSError) {
            try copier.copyDirectory(src: src, srcPath: srcPath, dst: dst, dstPath: dstPath, rel: "", depth: 0)
            var st = stat()
            if fstat(src, &st) != 0 { throw OSError("stat", srcPath) }
            try copier.setOwner(fd: dst, st, path: dstPath)
            if fchmod(dst, st.st_mode & 0o7777) != 0 { throw OSError("chmod", dstPath) }
        } catch {
            for name in copier.createdAtTop.reversed() { try? At.removeAll(dst, name) }
            throw error
        }
    }

    /// Bytes held by the tree at `path`: the sizes of everything but directories, each hard-linked
    /// file once (Docker's `directory.Size`, used for "space reclaimed"). Symlinks count their own
    /// size and are not followed. 0 when `path` does not exist.
    public static func size(_ path: String) throws(OSError) -> Int64 {
        guard let fd = try openDirectory(path) else { return 0 }
        defer { _ = Glibc.close(fd) }
        var seen: Set<FileKey> = []
        return try size(fd, path: path, seen: &seen, depth: 0)
    }

    /// Writes a whole file so a crash leaves either the old file or the complete new one: a temp
    /// file beside it (O_EXCL|O_NOFOLLOW), fsync, rename over `path`, fsync of the directory.
    public static func writeDurably(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(OSError) {
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 { throw OSError("create", temp) }
        do throws(OSError) {
            try writeAll(fd, bytes, count: bytes.count, path: temp)
            if fchmod(fd, mode) != 0 { throw OSError("chmod", temp) }
            try FD.fsync(fd, path: temp)
        } catch {
            _ = Glibc.close(fd)
            _ = Glibc.unlink(temp)
            throw error
        }
        _ = Glibc.close(fd)
        if rename(temp, path) != 0 {
            let e = OSError("rename", "\(temp) -> \(path)")
            _ = Glibc.unlink(temp)
            throw e
        }
        try syncDirectory(parent(of: path))
    }

    /// mkdir with exactly `mode` (mkdir(2) alone would apply the daemon's umask).
    public static func makeDirectory(_ path: String, mode: mode_t) throws(OSError) {
        if Glibc.mkdir(path, 0o700) != 0 { throw OSError("mkdir", path) }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw OSError("open", path) }
        defer { _ = Glibc.close(fd) }
        if fchmod(fd, mode) != 0 { throw OSError("chmod", path) }
    }

    /// fsync of a directory, so a rename or create inside it survives a crash.
    public static func syncDirectory(_ path: String) throws(OSError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw OSError("open", path) }
        defer { _ = Glibc.close(fd) }
        try FD.fsync(fd, path: path)
    }

    /// rm -rf of `path` that never follows a symlink below it (directories are opened
    /// O_NOFOLLOW); nothing there is not an error.
    public static func remove(_ path: String) throws(OSError) {
        let dir = parent(of: path)
        let name = String(path.split(separator: "/").last ?? "")
        guard !name.isEmpty, name != ".", name != ".." else { throw OSError("remove", path, code: EINVAL) }
        let dfd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd < 0 { if errno == ENOENT { return }; throw OSError("open", dir) }
        defer { _ = Glibc.close(dfd) }
        try At.removeAll(dfd, name)
    }

    // MARK: internals

    struct FileKey: Hashable { var dev: UInt64; var ino: UInt64 }

    /// Writes the first `count` bytes of `bytes`, retrying EINTR and short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int, path: String) throws(OSError) {
        var off = 0
        while off < count {
            off += try retrying("write", path) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: off), count - off) }
            }
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Entry names of directory `fd` (read through a fresh fd: closedir closes the one it reads).
    static func names(_ fd: Int32, _ path: String) throws(OSError) -> [String] {
        let rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rfd < 0 { throw OSError("open", path) }
        guard let d = fdopendir(rfd) else {
            let e = OSError("opendir", path)
            _ = Glibc.close(rfd)
            throw e
        }
        defer { closedir(d) }
        var out: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    static func size(_ fd: Int32, path: String, seen: inout Set<FileKey>, depth: Int) throws(OSError) -> Int64 {
        if depth > maxDepth { throw OSError("walk", path, code: ELOOP) }
        var total: Int64 = 0
        for name in try names(fd, path) {
            let p = path + "/" + name
            guard let st = try At.lstat(fd, name) else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if sub < 0 { if errno == ENOENT { continue }; throw OSError("open", p) }
                defer { _ = Glibc.close(sub) }
                total += try size(sub, path: p, seen: &seen, depth: depth + 1)
                continue
            }
            if st.st_nlink > 1 {
                let key = FileKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
                if seen.contains(key) { continue }
                seen.insert(key)
            }
            total += Int64(st.st_size)
        }
        return total
    }

    /// One copy's state: hard links already made (source inode → path below the destination
    /// root), the top-level names created (for undo), and one reused buffer.
    struct Copier {
        let dstRoot: Int32
        let dstRootPath: String
        var links: [FileKey: String] = [:]
        var createdAtTop: [String] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let euid = geteuid()

        mutating func copyDirectory(src: Int32, srcPath: String, dst: Int32, dstPath: String, rel: String, depth: Int) throws(OSError) {
            if depth > maxDepth { throw OSError("copy", srcPath, code: ELOOP) }
            for name in try names(src, srcPath) {
                guard let st = try At.lstat(src, name) else { continue }  // removed meanwhile
                let from = srcPath + "/" + name, to = dstPath + "/" + name
                let childRel = rel.isEmpty ? name : rel + "/" + name
                let type = st.st_mode & S_IFMT
                if type == S_IFSOCK { continue }
                if type != S_IFDIR, st.st_nlink > 1 {
                    let key = FileKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
                    if let first = links[key] {
                        try link(first, dst, name, to)
                        if depth == 0 { createdAtTop.append(name) }
                        continue
                    }
                    links[key] = childRel
                }
                switch type {
                case S_IFDIR:
                    if mkdirat(dst, name, 0o700) != 0 { throw OSError("mkdir", to) }
                    if depth == 0 { createdAtTop.append(name) }
                    let s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if s < 0 { throw OSError("open", from) }
                    defer { _ = Glibc.close(s) }
                    let d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if d < 0 { throw OSError("open", to) }
                    defer { _ = Glibc.close(d) }
                    try copyDirectory(src: s, srcPath: from, dst: d, dstPath: to, rel: childRel, depth: depth + 1)
                    // Owner before mode (chown clears setgid); times last, after the entries
                    // created inside have stopped changing the directory's mtime.
                    try setOwner(fd: d, st, path: to)
                    if fchmod(d, st.st_mode & 0o7777) != 0 { throw OSError("chmod", to) }
                    try setTimes(fd: d, st, path: to)
                case S_IFREG:
                    try copyFile(src, name, from, st, dst, to, depth: depth)
                case S_IFLNK:
                    let target = try readLink(src, name, from, size: Int(st.st_size))
                    if symlinkat(target, dst, name) != 0 { throw OSError("symlink", to) }
                    if depth == 0 { createdAtTop.append(name) }
                    if st.st_uid != euid || st.st_gid != getegid() {
                        if fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 { throw OSError("chown", to) }
                    }
                    try At.setTimes(dst, name, mtime: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec), atime: (st.st_atim.tv_sec, st.st_atim.tv_nsec))
                default:  // fifo, character or block device
                    if mknodat(dst, name, (st.st_mode & S_IFMT) | 0o600, st.st_rdev) != 0 { throw OSError("mknod", to) }
                    if depth == 0 { createdAtTop.append(name) }
                    try setNodeAttributes(dst, name, st, path: to)
                }
            }
        }

        mutating func copyFile(_ src: Int32, _ name: String, _ from: String, _ st: stat, _ dst: Int32, _ to: String, depth: Int) throws(OSError) {
            // O_NONBLOCK: if the entry became a fifo since lstat, open must not hang on it.
            let s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            if s < 0 { throw OSError("open", from) }
            defer { _ = Glibc.close(s) }
            var now = stat()
            if fstat(s, &now) != 0 { throw OSError("stat", from) }
            guard (now.st_mode & S_IFMT) == S_IFREG, now.st_ino == st.st_ino else { throw OSError("open", from, code: EAGAIN) }
            let d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if d < 0 { throw OSError("create", to) }
            if depth == 0 { createdAtTop.append(name) }
            defer { _ = Glibc.close(d) }
            while true {
                let n = try retrying("read", from) { buffer.withUnsafeMutableBytes { Glibc.read(s, $0.baseAddress, $0.count) } }
                if n == 0 { break }
                try writeAll(d, buffer, count: n, path: to)
            }
            try setOwner(fd: d, st, path: to)
            if fchmod(d, st.st_mode & 0o7777) != 0 { throw OSError("chmod", to) }
            try setTimes(fd: d, st, path: to)
        }

        /// chown only when the owner differs from ours: a copy by the owner itself needs no
        /// privilege, and a failure to give a file away is an error, not a silent change.
        func setOwner(fd: Int32, _ st: stat, path: String) throws(OSError) {
            var cur = stat()
            if fstat(fd, &cur) != 0 { throw OSError("stat", path) }
            if cur.st_uid == st.st_uid && cur.st_gid == st.st_gid { return }
            if fchown(fd, st.st_uid, st.st_gid) != 0 { throw OSError("chown", path) }
        }

        func setTimes(fd: Int32, _ st: stat, path: String) throws(OSError) {
            try FD.setTimes(fd, mtime: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec), atime: (st.st_atim.tv_sec, st.st_atim.tv_nsec), path: path)
        }

        /// Owner, mode and times of a fifo or device just made at `name`. chmod goes through an
        /// O_PATH|O_NOFOLLOW fd checked to be that node, because fchmodat would follow a symlink
        /// swapped in meanwhile.
        func setNodeAttributes(_ dst: Int32, _ name: String, _ st: stat, path: String) throws(OSError) {
            let fd = openat(dst, name, oPath | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw OSError("open", path) }
            defer { _ = Glibc.close(fd) }
            var cur = stat()
            if fstat(fd, &cur) != 0 { throw OSError("stat", path) }
            guard (cur.st_mode & S_IFMT) == (st.st_mode & S_IFMT) else { throw OSError("chmod", path, code: EAGAIN) }
            if cur.st_uid != st.st_uid || cur.st_gid != st.st_gid {
                if fchownat(fd, "", st.st_uid, st.st_gid, atEmptyPath) != 0 { throw OSError("chown", path) }
            }
            if chmod("/proc/self/fd/\(fd)", st.st_mode & 0o7777) != 0 { throw OSError("chmod", path) }
            try At.setTimes(dst, name, mtime: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec), atime: (st.st_atim.tv_sec, st.st_atim.tv_nsec))
        }

        func readLink(_ dir: Int32, _ name: String, _ path: String, size: Int) throws(OSError) -> String {
            var buf = [CChar](repeating: 0, count: max(size, 255) + 2)
            let n = readlinkat(dir, name, &buf, buf.count)
            if n < 0 { throw OSError("readlink", path) }
            // A target that fills the buffer may have grown since lstat: refuse a truncated copy.
            if n >= buf.count - 1 { throw OSError("readlink", path, code: ENAMETOOLONG) }
            return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// A hard link to the earlier copy `first` (a path below the destination root). Its
        /// parent is resolved beneath the root refusing any symlink, so a link planted in the
        /// destination meanwhile cannot redirect it.
        func link(_ first: String, _ dst: Int32, _ name: String, _ to: String) throws(OSError) {
            let slash = first.lastIndex(of: "/")
            let parentRel = slash.map { String(first[..<$0]) } ?? "."
            let firstName = slash.map { String(first[first.index(after: $0)...]) } ?? first
            let pfd = berth_openat2(dstRoot, parentRel, UInt64(oPath | O_DIRECTORY | O_CLOEXEC), 0,
                                    resolveBeneath | resolveNoSymlinks | resolveNoMagicLinks)
            if pfd < 0 { throw OSError("open", dstRootPath + "/" + parentRel) }
            defer { _ = Glibc.close(pfd) }
            if linkat(pfd, firstName, dst, name, 0) != 0 { throw OSError("link", to) }
        }
    }
}
