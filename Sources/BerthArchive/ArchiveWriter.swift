import CArchive
import Glibc
import BerthOS

/// Writes a tar stream, optionally compressed, to a file descriptor: for image save/export and
/// for tests that craft layers (including hostile ones: paths are written exactly as given).
///
/// Not thread-safe. Call `finish()` to write the end-of-archive marker and flush the compressor.
public final class ArchiveWriter {
    /// The tar dialect.
    public enum Format: Sendable {
        /// ustar where it fits, pax extended headers where needed (what Docker and containerd write).
        case paxRestricted
        case gnu
    }

    public enum Compression: Sendable {
        case none, gzip, zstd
    }

    private let a: OpaquePointer
    private let ctx: WriteContext
    private let ownsFD: Bool
    private var finished = false
    public let name: String

    /// Writes to `fd` (not closed). `onOutput` sees every byte written, e.g. to hash the blob.
    public convenience init(fd: Int32, name: String? = nil, format: Format = .paxRestricted, compression: Compression = .none,
                onOutput: ((UnsafeRawBufferPointer) -> Void)? = nil) throws(ArchiveError) {
        try self.init(fd: fd, owns: false, name: name ?? "fd \(fd)", format: format, compression: compression, onOutput: onOutput)
    }

    /// Creates (truncates) the file at `path`.
    public convenience init(path: String, format: Format = .paxRestricted, compression: Compression = .none,
                            onOutput: ((UnsafeRawBufferPointer) -> Void)? = nil) throws(ArchiveError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw ArchiveError(operation: "create", archive: path, message: OSError("open", path).description) }
        try self.init(fd: fd, owns: true, name: path, format: format, compression: compression, onOutput: onOutput)
    }

    private init(fd: Int32, owns: Bool, name: String, format: Format, compression: Compression,
                 onOutput: ((UnsafeRawBufferPointer) -> Void)?) throws(ArchiveError) {
        self.name = name
        ownsFD = owns
        guard let w = archive_write_new() else {
            if owns { close(fd) }
            throw ArchiveError(operation: "archive_write_new", archive: name, message: "out of memory")
        }
        a = w
        ctx = WriteContext(fd: fd, name: name, onOutput: onOutput)
        switch format {
        case .paxRestricted: archive_write_set_format_pax_restricted(a)
        case .gnu: archive_write_set_format_gnutar(a)
        }
        switch compression {
        case .none: archive_write_add_filter_none(a)
        case .gzip: archive_write_add_filter_gzip(a)
        case .zstd: archive_write_add_filter_zstd(a)
        }
        // Layers are streamed, not written to tapes: no padding of the last block to 10 KiB.
        archive_write_set_bytes_in_last_block(a, 1)
        let client = Unmanaged.passUnretained(ctx).toOpaque()
        if archive_write_open(a, client, nil, writeFD, nil) != ARCHIVE_OK { throw error("open", nil) }
    }

    deinit {
        if !finished { archive_write_close(a) }
        archive_write_free(a)
        if ownsFD { close(ctx.fd) }
    }

    private func error(_ op: String, _ entry: String?) -> ArchiveError {
        ArchiveError(operation: op, archive: name,
                     message: ctx.failure ?? archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error",
                     entry: entry)
    }

    /// Adds an entry with its data (regular files; ignored for other types). `entry.size` is
    /// taken from `data`.
    public func add(_ entry: ArchiveEntry, data: [UInt8] = []) throws(ArchiveError) {
        let hasData = entry.type == .regular
        try writeHeader(entry, size: hasData ? Int64(data.count) : 0)
        if hasData && !data.isEmpty {
            let n = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
            if n < 0 { throw error("write data", entry.path) }
        }
    }

    /// Adds a regular-file entry of `entry.size` bytes read from `fd` (at its current offset) in
    /// chunks, so files of any size are archived without holding them in memory. Other entry
    /// types are added as by `add(_:data:)`. A file that shrank while being read is padded
    /// with zeros to the size in its header (libarchive pads a short entry), so the archive
    /// stays well-formed; bytes past `entry.size` are not read.
    public func add(_ entry: ArchiveEntry, contentsOf fd: Int32) throws(ArchiveError) {
        guard entry.type == .regular else { return try add(entry) }
        try writeHeader(entry, size: entry.size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var left = entry.size
        while left > 0 {
            let n = read(fd, buffer.baseAddress, Int(min(Int64(buffer.count), left)))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ArchiveError(operation: "read", archive: name, message: OSError("read", entry.path).description, entry: entry.path) }
            if n == 0 { break }
            if archive_write_data(a, buffer.baseAddress, n) < 0 { throw error("write data", entry.path) }
            left -= Int64(n)
        }
    }

    /// Writes the header of `entry` with data size `size`.
    private func writeHeader(_ entry: ArchiveEntry, size: Int64) throws(ArchiveError) {
        guard let e = archive_entry_new() else { throw ArchiveError(operation: "archive_entry_new", archive: name, message: "out of memory") }
        defer { archive_entry_free(e) }
        archive_entry_set_pathname(e, entry.path)
        let type: UInt32
        switch entry.type {
        case .regular, .hardlink: type = UInt32(Glibc.S_IFREG)
        case .directory: type = UInt32(Glibc.S_IFDIR)
        case .symlink: type = UInt32(Glibc.S_IFLNK)
        case .characterDevice: type = UInt32(Glibc.S_IFCHR)
        case .blockDevice: type = UInt32(Glibc.S_IFBLK)
        case .fifo: type = UInt32(Glibc.S_IFIFO)
        case .socket: type = UInt32(Glibc.S_IFSOCK)
        }
        archive_entry_set_filetype(e, type)
        archive_entry_set_perm(e, mode_t(entry.mode & 0o7777))
        archive_entry_set_uid(e, la_int64_t(entry.uid))
        archive_entry_set_gid(e, la_int64_t(entry.gid))
        if let u = entry.userName { archive_entry_set_uname(e, u) }
        if let g = entry.groupName { archive_entry_set_gname(e, g) }
        archive_entry_set_mtime(e, time_t(entry.mtime.seconds), entry.mtime.nanoseconds)
        if let t = entry.symlinkTarget, entry.type == .symlink { archive_entry_set_symlink(e, t) }
        if let t = entry.hardlinkTarget, entry.type == .hardlink { archive_entry_set_hardlink(e, t) }
        if entry.type == .characterDevice || entry.type == .blockDevice {
            archive_entry_set_rdevmajor(e, dev_t(entry.deviceMajor))
            archive_entry_set_rdevminor(e, dev_t(entry.deviceMinor))
        }
        for x in entry.xattrs {
            x.value.withUnsafeBytes { archive_entry_xattr_add_entry(e, x.name, $0.baseAddress, $0.count) }
        }
        archive_entry_set_size(e, la_int64_t(size))
        if archive_write_header(a, e) < ARCHIVE_WARN { throw error("write header", entry.path) }
    }

    /// Adds the file-system object at `source` (not following a final symlink) as `name`, with
    /// its owner, mode, mtime and contents.
    public func addFile(from source: String, as name: String) throws(ArchiveError) {
        var st = stat()
        if lstat(source, &st) != 0 { throw ArchiveError(operation: "lstat", archive: self.name, message: OSError("lstat", source).description, entry: name) }
        var entry = ArchiveEntry(path: name, type: .regular, mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid,
                                 mtime: Timestamp(seconds: st.st_mtim.tv_sec, nanoseconds: st.st_mtim.tv_nsec))
        var data: [UInt8] = []
        switch st.st_mode & Glibc.S_IFMT {
        case Glibc.S_IFDIR: entry.type = .directory
        case Glibc.S_IFLNK:
            entry.type = .symlink
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink(source, &buf, 4096)
            if n < 0 { throw ArchiveError(operation: "readlink", archive: self.name, message: OSError("readlink", source).description, entry: name) }
            entry.symlinkTarget = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case Glibc.S_IFCHR, Glibc.S_IFBLK:
            entry.type = (st.st_mode & Glibc.S_IFMT) == Glibc.S_IFCHR ? .characterDevice : .blockDevice
            let d = UInt64(st.st_rdev)
            entry.deviceMajor = UInt32(truncatingIfNeeded: ((d >> 8) & 0xfff) | ((d >> 32) & ~UInt64(0xfff)))
            entry.deviceMinor = UInt32(truncatingIfNeeded: (d & 0xff) | ((d >> 12) & ~UInt64(0xff)))
        case Glibc.S_IFIFO: entry.type = .fifo
        case Glibc.S_IFREG:
            do { data = try FS.readBytes(source, limit: Int.max) } catch {
                throw ArchiveError(operation: "read", archive: self.name, message: error.description, entry: name)
            }
        default:
            throw ArchiveError(operation: "add", archive: self.name, message: "unsupported file type", entry: name)
        }
        try add(entry, data: data)
    }

    /// Writes the end-of-archive marker and flushes the compressor. Idempotent.
    public func finish() throws(ArchiveError) {
        if finished { return }
        finished = true
        if archive_write_close(a) != ARCHIVE_OK { throw error("close", nil) }
    }
}

private final class WriteContext {
    let fd: Int32
    let name: String
    let onOutput: ((UnsafeRawBufferPointer) -> Void)?
    var failure: String?
    init(fd: Int32, name: String, onOutput: ((UnsafeRawBufferPointer) -> Void)?) {
        self.fd = fd; self.name = name; self.onOutput = onOutput
    }
}

private func writeFD(_ a: OpaquePointer?, _ client: UnsafeMutableRawPointer?, _ buf: UnsafeRawPointer?, _ n: Int) -> la_ssize_t {
    guard let client else { return -1 }
    let ctx = Unmanaged<WriteContext>.fromOpaque(client).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: buf, count: n)
    do { try FD.writeAll(ctx.fd, bytes, path: ctx.name) } catch {
        ctx.failure = error.description
        return -1
    }
    ctx.onOutput?(bytes)
    return n
}
