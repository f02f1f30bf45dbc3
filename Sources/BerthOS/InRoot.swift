import Glibc
import CBerthInit

// openat2 resolve flags (linux/openat2.h); Glibc does not export them to Swift.
private let resolveNoMagicLinks: UInt64 = 0x02
private let resolveInRoot: UInt64 = 0x10
private let O_PATH = BERTH_O_PATH

/// A directory tree that files are created in without ever leaving it: every path is resolved with
/// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink met on the way (`evil -> /etc`,
/// `../../..`) resolves as if the tree were `/` and can never lead to a host path.
///
/// Final components are created with the `*at` calls on an already-resolved parent and never
/// follow a symlink (O_NOFOLLOW / AT_SYMLINK_NOFOLLOW). The fd is closed by `close()`.
public struct InRoot: Sendable {
    public let path: String
    /// An O_PATH fd of the root directory.
    public let fd: Int32

    public init(path: String) throws(OSError) {
        self.path = path
        fd = try retrying("open", path) { Glibc.open(path, O_PATH | O_DIRECTORY | O_CLOEXEC) }
    }

    public func close() { _ = Glibc.close(fd) }

    /// Opens `rel` (relative to the root; a leading "/" is the root) resolved inside the root.
    public func open(_ rel: String, flags: Int32, mode: mode_t = 0) throws(OSError) -> Int32 {
        let r = rel.isEmpty ? "." : rel
        let fd = berth_openat2(self.fd, r, UInt64(UInt32(bitPattern: flags)), UInt64(mode), resolveInRoot | resolveNoMagicLinks)
        if fd < 0 { throw OSError("openat2", path + "/" + rel) }
        return fd
    }

    /// An O_PATH fd of directory `rel`, resolved in the root. With `create`, missing components
    /// are made (mode 0755) one at a time, each under a parent that was itself resolved in the
    /// root, so a dangling symlink or a file in the way is an error and never a way out.
    public func openDirectory(_ rel: String, create: Bool) throws(OSError) -> Int32 {
        let first = berth_openat2(fd, rel.isEmpty ? "." : rel, UInt64(O_PATH | O_DIRECTORY), 0, resolveInRoot | resolveNoMagicLinks)
        if first >= 0 { return first }
        if !create || errno != ENOENT { throw OSError("openat2", path + "/" + rel) }
        let comps = rel.split(separator: "/", omittingEmptySubsequences: true)
        var parent = try open(".", flags: O_PATH | O_DIRECTORY)
        var prefix = ""
        for comp in comps {
            prefix += prefix.isEmpty ? String(comp) : "/" + comp
            var next = berth_openat2(fd, prefix, UInt64(O_PATH | O_DIRECTORY), 0, resolveInRoot | resolveNoMagicLinks)
            if next < 0 && errno == ENOENT {
                if mkdirat(parent, String(comp), 0o755) != 0 && errno != EEXIST {
                    let e = OSError("mkdir", path + "/" + prefix)
                    _ = Glibc.close(parent)
                    throw e
                }
                next = berth_openat2(fd, prefix, UInt64(O_PATH | O_DIRECTORY), 0, resolveInRoot | resolveNoMagicLinks)
            }
            if next < 0 {
                let e = OSError("openat2", path + "/" + prefix)
                _ = Glibc.close(parent)
                throw e
            }
            _ = Glibc.close(parent)
            parent = next
        }
        return parent
    }
}

/// Operations on one name inside an already-opened directory (`dirfd`, `name` with no slash).
/// None of them follows a symlink at `name`.
public enum At {
    /// lstat of `name` in `dirfd`, or nil when it does not exist.
    public static func lstat(_ dirfd: Int32, _ name: String) throws(OSError) -> stat? {
        var st = stat()
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT { return nil }
        throw OSError("lstat", name)
    }

    /// rm -rf of `name` in `dirfd` without following symlinks (directories are opened O_NOFOLLOW).
    public static func removeAll(_ dirfd: Int32, _ name: String) throws(OSError) {
        if unlinkat(dirfd, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw OSError("unlink", name) }
        let sub = try retrying("open", name) { openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard let d = fdopendir(sub) else {
            let e = OSError("opendir", name)
            _ = Glibc.close(sub)
            throw e
        }
        var names: [String] = []
        while let ent = readdir(d) {
            let n = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if n != "." && n != ".." { names.append(n) }
        }
        let dfd = Glibc.dirfd(d)
        for n in names {
            do { try removeAll(dfd, n) } catch {
                closedir(d)
                throw error
            }
        }
        closedir(d)
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw OSError("rmdir", name) }
    }

    /// Removes whatever is at `name` unless it is a directory and `keepDirectory` is set.
    /// Returns true when something was removed (callers use it to drop cached lookups).
    @discardableResult
    public static func clear(_ dirfd: Int32, _ name: String, keepDirectory: Bool) throws(OSError) -> Bool {
        guard let st = try lstat(dirfd, name) else { return false }
        if keepDirectory && (st.st_mode & S_IFMT) == S_IFDIR { return false }
        try removeAll(dirfd, name)
        return true
    }

    /// Creates a regular file (replacing a non-directory or directory there) and opens it for
    /// writing. O_NOFOLLOW|O_EXCL: a symlink planted at `name` is replaced, never written through.
    /// `replaced` is set when something had to be removed first.
    public static func createFile(_ dirfd: Int32, _ name: String, mode: mode_t, replaced: inout Bool) throws(OSError) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var fd = openat(dirfd, name, flags, mode)
        if fd < 0 && errno == EEXIST {
            replaced = true
            try removeAll(dirfd, name)
            fd = openat(dirfd, name, flags, mode)
        }
        if fd < 0 { throw OSError("create", name) }
        return fd
    }

    /// mkdir; an existing directory is kept, anything else there is replaced. Returns true when
    /// something (a non-directory) was removed first.
    @discardableResult
    public static func mkdir(_ dirfd: Int32, _ name: String, mode: mode_t) throws(OSError) -> Bool {
        if mkdirat(dirfd, name, mode) == 0 { return false }
        guard errno == EEXIST else { throw OSError("mkdir", name) }
        if try clear(dirfd, name, keepDirectory: true) == false { return false }
        if mkdirat(dirfd, name, mode) != 0 { throw OSError("mkdir", name) }
        return true
    }

    /// Creates a symlink, replacing what is there. Returns true when something was removed first.
    @discardableResult
    public static func symlink(_ target: String, _ dirfd: Int32, _ name: String) throws(OSError) -> Bool {
        if symlinkat(target, dirfd, name) == 0 { return false }
        guard errno == EEXIST else { throw OSError("symlink", name) }
        try removeAll(dirfd, name)
        if symlinkat(target, dirfd, name) != 0 { throw OSError("symlink", name) }
        return true
    }

    /// A hard link `toDir/toName` to `fromDir/fromName`; flags 0 so a symlink source is linked
    /// itself rather than followed.
    /// Returns true when something was removed first.
    @discardableResult
    public static func link(_ fromDir: Int32, _ fromName: String, _ toDir: Int32, _ toName: String) throws(OSError) -> Bool {
        if linkat(fromDir, fromName, toDir, toName, 0) == 0 { return false }
        guard errno == EEXIST else { throw OSError("link", toName) }
        try removeAll(toDir, toName)
        if linkat(fromDir, fromName, toDir, toName, 0) != 0 { throw OSError("link", toName) }
        return true
    }

    /// mknod of a device or fifo; `mode` carries the S_IF* type.
    /// Returns true when something was removed first.
    @discardableResult
    public static func mknod(_ dirfd: Int32, _ name: String, mode: mode_t, major: UInt32, minor: UInt32) throws(OSError) -> Bool {
        let dev = dev_t(berth_makedev(major, minor))
        if mknodat(dirfd, name, mode, dev) == 0 { return false }
        guard errno == EEXIST else { throw OSError("mknod", name) }
        try removeAll(dirfd, name)
        if mknodat(dirfd, name, mode, dev) != 0 { throw OSError("mknod", name) }
        return true
    }

    public static func chown(_ dirfd: Int32, _ name: String, uid: UInt32, gid: UInt32) throws(OSError) {
        if fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 { throw OSError("chown", name) }
    }

    /// chmod of a name the caller just created as a non-symlink (fchmodat cannot skip symlinks).
    public static func chmod(_ dirfd: Int32, _ name: String, mode: mode_t) throws(OSError) {
        if fchmodat(dirfd, name, mode, 0) != 0 { throw OSError("chmod", name) }
    }

    /// Sets atime and mtime (seconds, nanoseconds) without following a symlink.
    public static func setTimes(_ dirfd: Int32, _ name: String, mtime: (Int, Int), atime: (Int, Int)) throws(OSError) {
        var ts = [timespec(tv_sec: atime.0, tv_nsec: atime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
        if utimensat(dirfd, name, &ts, AT_SYMLINK_NOFOLLOW) != 0 { throw OSError("utimensat", name) }
    }

    /// lsetxattr on `name` through /proc/self/fd of its (already resolved) parent: the magic link
    /// only names the parent; the final component is not followed (`.` is the directory itself).
    public static func setXattr(_ dirfd: Int32, _ name: String, key: String, value: [UInt8]) throws(OSError) {
        let p = "/proc/self/fd/\(dirfd)/\(name)"
        let r = value.withUnsafeBytes { berth_lsetxattr(p, key, $0.baseAddress, $0.count) }
        if r != 0 { throw OSError("setxattr \(key)", name) }
    }
}

extension FS {
    /// rename(2) that fails with EEXIST/ENOTEMPTY instead of replacing an existing target.
    public static func renameNoReplace(_ from: String, _ to: String) throws(OSError) {
        if berth_rename_noreplace(from, to) != 0 { throw OSError("rename", "\(from) -> \(to)") }
    }
}

/// Operations on an open file descriptor.
public enum FD {
    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// Writes all of `bytes` at `offset` (pwrite, retried on EINTR and short writes).
    public static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, offset: Int64, path: String) throws(OSError) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count, off = offset
        while left > 0 {
            let n = pwrite(fd, base, left, off_t(off))
            if n < 0 { if errno == EINTR { continue }; throw OSError("write", path) }
            base += n; left -= n; off += Int64(n)
        }
    }

    /// Writes all of `bytes` at the current offset.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(OSError) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, base, left)
            if n < 0 { if errno == EINTR { continue }; throw OSError("write", path) }
            base += n; left -= n
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(OSError) -> Int {
        try retrying("read", path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    public static func truncate(_ fd: Int32, size: Int64, path: String) throws(OSError) {
        if ftruncate(fd, off_t(size)) != 0 { throw OSError("truncate", path) }
    }

    public static func chown(_ fd: Int32, uid: UInt32, gid: UInt32, path: String) throws(OSError) {
        if fchown(fd, uid, gid) != 0 { throw OSError("chown", path) }
    }

    public static func chmod(_ fd: Int32, mode: mode_t, path: String) throws(OSError) {
        if fchmod(fd, mode) != 0 { throw OSError("chmod", path) }
    }

    public static func setTimes(_ fd: Int32, mtime: (Int, Int), atime: (Int, Int), path: String) throws(OSError) {
        var ts = [timespec(tv_sec: atime.0, tv_nsec: atime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
        if futimens(fd, &ts) != 0 { throw OSError("utimensat", path) }
    }

    public static func setXattr(_ fd: Int32, key: String, value: [UInt8], path: String) throws(OSError) {
        let r = value.withUnsafeBytes { berth_fsetxattr(fd, key, $0.baseAddress, $0.count) }
        if r != 0 { throw OSError("setxattr \(key)", path) }
    }

    public static func fsync(_ fd: Int32, path: String) throws(OSError) {
        if Glibc.fsync(fd) != 0 { throw OSError("fsync", path) }
    }

    public static func size(_ fd: Int32) -> Int64? {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : nil
    }

    /// The value of xattr `key` on `path` (not following a final symlink), or nil if unset.
    public static func getXattr(path: String, key: String) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { berth_lgetxattr(path, key, $0.baseAddress, $0.count) }
        return n < 0 ? nil : Array(buf[0..<Int(n)])
    }
}

/// overlayfs mounts.
public enum Overlay {
    /// Mounts an overlay at `target`. `lowerdirs` are top-first. When the option string would not
    /// fit in a page (mount(2)'s data limit) the new mount API is used, adding one `lowerdir+`
    /// at a time, so any number of layers works.
    public static func mount(lowerdirs: [String], upperdir: String?, workdir: String?, target: String, readOnly: Bool = false) throws(OSError) {
        var opts = "lowerdir=" + lowerdirs.joined(separator: ":")
        if let upperdir, let workdir { opts += ",upperdir=\(upperdir),workdir=\(workdir)" }
        let flags: UInt = readOnly ? UInt(MS_RDONLY) : 0
        if opts.utf8.count < Int(getpagesize()) - 1 && !lowerdirs.contains(where: { $0.contains(":") || $0.contains(",") }) {
            if Glibc.mount("overlay", target, "overlay", flags, opts) != 0 { throw OSError("mount overlay", target) }
            return
        }
        // FSOPEN_CLOEXEC / FSMOUNT_CLOEXEC = 1; FSCONFIG_SET_STRING = 1; FSCONFIG_CMD_CREATE = 6;
        // MOVE_MOUNT_F_EMPTY_PATH = 4; MOUNT_ATTR_RDONLY = 1.
        let fs = berth_fsopen("overlay", 1)
        if fs < 0 { throw OSError("fsopen overlay", target) }
        defer { _ = Glibc.close(fs) }
        func set(_ key: String, _ value: String) throws(OSError) {
            if berth_fsconfig(fs, 1, key, value, 0) != 0 { throw OSError("fsconfig \(key)", value) }
        }
        for l in lowerdirs { try set("lowerdir+", l) }
        if let upperdir, let workdir { try set("upperdir", upperdir); try set("workdir", workdir) }
        if berth_fsconfig(fs, 6, nil, nil, 0) != 0 { throw OSError("fsconfig create overlay", target) }
        let mnt = berth_fsmount(fs, 1, readOnly ? 1 : 0)
        if mnt < 0 { throw OSError("fsmount overlay", target) }
        defer { _ = Glibc.close(mnt) }
        if berth_move_mount(mnt, "", AT_FDCWD, target, 4) != 0 { throw OSError("move_mount overlay", target) }
    }

    /// Unmounts `target`; `detach` makes it lazy (MNT_DETACH). Not mounted is not an error.
    public static func unmount(_ target: String, detach: Bool = false) throws(OSError) {
        if umount2(target, detach ? Int32(MNT_DETACH) : 0) != 0 && errno != EINVAL && errno != ENOENT {
            throw OSError("umount", target)
        }
    }
}
