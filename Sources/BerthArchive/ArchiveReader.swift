import CArchive
import Glibc
import BerthOS

/// Reads a tar stream (plain, gzip, zstd, …: whatever libarchive's filters detect) from a file
/// descriptor, one entry at a time.
///
/// Two libarchive handles are chained so that callers can hash both forms of the stream in one
/// pass: the *outer* one (format "raw", all filters) reads the fd through a callback that sees
/// every compressed byte (`onCompressed`) and yields the decompressed stream; the *inner* one
/// (tar formats, no filters) pulls that stream through a second callback that sees every
/// uncompressed byte (`onUncompressed`). Buffers are handed from one to the other without copies.
///
/// Not thread-safe: use one reader from one thread. Call `finish()` after the last entry so the
/// hashes cover trailing padding and the whole input.
public final class ArchiveReader {
    private let outer: OpaquePointer
    private let inner: OpaquePointer
    private let ctx: ReadContext
    private let ownsFD: Bool
    private var current: String?
    private var finished = false
    /// The archive's name in errors (its path, or `fd N`).
    public let name: String

    /// Reads from `fd` (not closed by the reader). The hash callbacks get each buffer once, in order.
    public convenience init(fd: Int32, name: String? = nil,
                onCompressed: ((UnsafeRawBufferPointer) -> Void)? = nil,
                onUncompressed: ((UnsafeRawBufferPointer) -> Void)? = nil) throws(ArchiveError) {
        try self.init(fd: fd, owns: false, name: name ?? "fd \(fd)", onCompressed: onCompressed, onUncompressed: onUncompressed)
    }

    /// Opens and reads the file at `path`.
    public convenience init(path: String,
                            onCompressed: ((UnsafeRawBufferPointer) -> Void)? = nil,
                            onUncompressed: ((UnsafeRawBufferPointer) -> Void)? = nil) throws(ArchiveError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ArchiveError(operation: "open", archive: path, message: OSError("open", path).description) }
        try self.init(fd: fd, owns: true, name: path, onCompressed: onCompressed, onUncompressed: onUncompressed)
    }

    private init(fd: Int32, owns: Bool, name: String,
                 onCompressed: ((UnsafeRawBufferPointer) -> Void)?,
                 onUncompressed: ((UnsafeRawBufferPointer) -> Void)?) throws(ArchiveError) {
        self.name = name
        ownsFD = owns
        guard let o = archive_read_new(), let i = archive_read_new() else {
            if owns { close(fd) }
            throw ArchiveError(operation: "archive_read_new", archive: name, message: "out of memory")
        }
        outer = o; inner = i
        ctx = ReadContext(fd: fd, outer: o, onCompressed: onCompressed, onUncompressed: onUncompressed)
        archive_read_support_filter_all(outer)
        archive_read_support_format_raw(outer)
        archive_read_support_format_tar(inner)
        archive_read_support_format_gnutar(inner)
        archive_read_support_format_empty(inner)

        let client = Unmanaged.passUnretained(ctx).toOpaque()
        if archive_read_open(outer, client, nil, readFD, nil) != ARCHIVE_OK {
            throw error(outer, "open")
        }
        // The raw format has a single entry, the decompressed stream. An empty input has none,
        // which the inner reader sees as an empty archive.
        var e: OpaquePointer?
        let r = archive_read_next_header(outer, &e)
        if r == ARCHIVE_EOF { ctx.outerDone = true } else if r < ARCHIVE_WARN { throw error(outer, "decompress") }
        if archive_read_open(inner, client, nil, readOuter, nil) != ARCHIVE_OK {
            throw error(inner, "open")
        }
    }

    deinit {
        archive_read_free(inner)
        archive_read_free(outer)
        if ownsFD { close(ctx.fd) }
    }

    /// The decompression filters detected, outermost first (e.g. `["gzip"]`; empty for plain tar).
    public var filters: [String] {
        var out: [String] = []
        let n = archive_filter_count(outer)
        for k in 0..<n {
            let code = archive_filter_code(outer, k)
            if code == ARCHIVE_FILTER_NONE { continue }
            if let s = archive_filter_name(outer, k) { out.append(String(cString: s)) }
        }
        return out
    }

    /// Compressed bytes read from the fd so far.
    public var compressedCount: Int64 { ctx.rawCount }
    /// Uncompressed bytes handed to the tar parser so far.
    public var uncompressedCount: Int64 { ctx.plainCount }

    private func error(_ a: OpaquePointer, _ op: String) -> ArchiveError {
        // A failure of the outer (decompression) side surfaces in the inner reader as a failed
        // read callback; its own message is the useful one.
        let msg = ctx.failure ?? archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
        return ArchiveError(operation: op, archive: name, message: msg, entry: current)
    }

    /// The next entry's header, or nil at the end of the archive. Data of the previous entry that
    /// was not read is skipped.
    public func next() throws(ArchiveError) -> ArchiveEntry? {
        var e: OpaquePointer?
        let r = archive_read_next_header(inner, &e)
        if r == ARCHIVE_EOF { current = nil; return nil }
        guard r >= ARCHIVE_WARN, let e else { throw error(inner, "read header") }
        let entry = Self.convert(e)
        current = entry.path
        return entry
    }

    private static func string(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    private static func convert(_ e: OpaquePointer) -> ArchiveEntry {
        let path = string(archive_entry_pathname(e)) ?? string(archive_entry_pathname_utf8(e)) ?? ""
        let hard = string(archive_entry_hardlink(e))
        let ft = archive_entry_filetype(e)
        let type: EntryType
        if hard != nil { type = .hardlink } else {
            switch ft & UInt32(Glibc.S_IFMT) {
            case UInt32(Glibc.S_IFDIR): type = .directory
            case UInt32(Glibc.S_IFLNK): type = .symlink
            case UInt32(Glibc.S_IFCHR): type = .characterDevice
            case UInt32(Glibc.S_IFBLK): type = .blockDevice
            case UInt32(Glibc.S_IFIFO): type = .fifo
            case UInt32(Glibc.S_IFSOCK): type = .socket
            default: type = .regular
            }
        }
        var entry = ArchiveEntry(
            path: path, type: type, mode: UInt32(archive_entry_perm(e)) & 0o7777,
            uid: UInt32(truncatingIfNeeded: archive_entry_uid(e)), gid: UInt32(truncatingIfNeeded: archive_entry_gid(e)),
            size: archive_entry_size_is_set(e) != 0 ? archive_entry_size(e) : 0,
            mtime: Timestamp(seconds: Int(archive_entry_mtime(e)), nanoseconds: Int(archive_entry_mtime_nsec(e))),
            symlinkTarget: type == .symlink ? string(archive_entry_symlink(e)) ?? "" : nil,
            hardlinkTarget: hard,
            deviceMajor: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(e)),
            deviceMinor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(e)))
        entry.userName = string(archive_entry_uname(e))
        entry.groupName = string(archive_entry_gname(e))
        if archive_entry_atime_is_set(e) != 0 {
            entry.atime = Timestamp(seconds: Int(archive_entry_atime(e)), nanoseconds: Int(archive_entry_atime_nsec(e)))
        }
        if archive_entry_xattr_reset(e) > 0 {
            var n: UnsafePointer<CChar>?
            var v: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(e, &n, &v, &size) == ARCHIVE_OK {
                guard let n else { continue }
                let value = v.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                entry.xattrs.append(Xattr(name: String(cString: n), value: value))
            }
        }
        return entry
    }

    /// Reads the current entry's data in the blocks libarchive decodes, calling `body` with each
    /// block and its offset in the file (offsets jump over holes of sparse files). The buffer is
    /// only valid during the call.
    public func readData<E: Error>(_ body: (UnsafeRawBufferPointer, Int64) throws(E) -> Void) throws(ArchiveDataError<E>) {
        while true {
            var buf: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let r = archive_read_data_block(inner, &buf, &size, &offset)
            if r == ARCHIVE_EOF { return }
            if r < ARCHIVE_WARN { throw .archive(error(inner, "read data")) }
            if size == 0 { continue }
            do { try body(UnsafeRawBufferPointer(start: buf, count: size), offset) } catch { throw .consumer(error) }
        }
    }

    /// Writes the current entry's data to `fd` (at the block offsets, so sparse files keep their
    /// holes) and returns the number of data bytes written.
    public func copyData(to fd: Int32, path: String) throws(ArchiveDataError<OSError>) -> Int64 {
        var total: Int64 = 0
        try readData { (chunk, offset) throws(OSError) in
            try FD.pwriteAll(fd, chunk, offset: offset, path: path)
            total += Int64(chunk.count)
        }
        return total
    }

    /// The current entry's data as bytes (at most `limit`).
    public func readAll(limit: Int = 64 << 20) throws(ArchiveError) -> [UInt8] {
        var out: [UInt8] = []
        do {
            try readData { (chunk, offset) throws(ArchiveError) in
                let end = Int(offset) + chunk.count
                if end > limit { throw ArchiveError(operation: "read data", archive: name, message: "entry larger than \(limit) bytes", entry: current) }
                if out.count < Int(offset) { out.append(contentsOf: repeatElement(0, count: Int(offset) - out.count)) }
                out.append(contentsOf: chunk)
            }
        } catch {
            switch error {
            case .archive(let e), .consumer(let e): throw e
            }
        }
        return out
    }

    /// Reads whatever is left after the end-of-archive marker (padding, trailing blocks) and the
    /// rest of the fd, so the hash callbacks have seen the complete input. Idempotent.
    public func finish() throws(ArchiveError) {
        if finished { return }
        finished = true
        while !ctx.outerDone {
            var buf: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let r = archive_read_data_block(outer, &buf, &size, &offset)
            if r == ARCHIVE_EOF { break }
            if r < ARCHIVE_WARN { throw error(outer, "decompress") }
            if size > 0, let onU = ctx.onUncompressed { onU(UnsafeRawBufferPointer(start: buf, count: size)) }
            ctx.plainCount += Int64(size)
        }
        ctx.outerDone = true
        // Bytes after the end of the compressed stream (libarchive stops at its end).
        while !ctx.fdDone {
            let n = ctx.fill()
            if n < 0 { throw ArchiveError(operation: "read", archive: name, message: ctx.failure ?? "read failed") }
            if n == 0 { break }
        }
    }
}

/// Failure of `ArchiveReader.readData`: the archive (corrupt, truncated) or the consumer's closure.
public enum ArchiveDataError<E: Error>: Error {
    case archive(ArchiveError)
    case consumer(E)
}

/// State shared with the C callbacks (passed as their client data).
private final class ReadContext {
    let fd: Int32
    let outer: OpaquePointer
    let onCompressed: ((UnsafeRawBufferPointer) -> Void)?
    let onUncompressed: ((UnsafeRawBufferPointer) -> Void)?
    let buffer: UnsafeMutableRawBufferPointer
    var rawCount: Int64 = 0
    var plainCount: Int64 = 0
    var outerDone = false
    var fdDone = false
    var failure: String?

    init(fd: Int32, outer: OpaquePointer, onCompressed: ((UnsafeRawBufferPointer) -> Void)?, onUncompressed: ((UnsafeRawBufferPointer) -> Void)?) {
        self.fd = fd; self.outer = outer; self.onCompressed = onCompressed; self.onUncompressed = onUncompressed
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Reads the next chunk of the fd into `buffer`, hashing it. Returns the count, 0 at EOF, -1 on error.
    func fill() -> Int {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { failure = OSError("read", nil).description; return -1 }
            if n == 0 { fdDone = true; return 0 }
            rawCount += Int64(n)
            onCompressed?(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
            return n
        }
    }
}

/// Outer reader's source: the fd.
private func readFD(_ a: OpaquePointer?, _ client: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t {
    guard let client else { return -1 }
    let ctx = Unmanaged<ReadContext>.fromOpaque(client).takeUnretainedValue()
    let n = ctx.fill()
    if n < 0 {
        return -1
    }
    out?.pointee = UnsafeRawPointer(ctx.buffer.baseAddress)
    return n
}

/// Inner reader's source: the outer reader's decompressed blocks, handed over without a copy.
private func readOuter(_ a: OpaquePointer?, _ client: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t {
    guard let client else { return -1 }
    let ctx = Unmanaged<ReadContext>.fromOpaque(client).takeUnretainedValue()
    if ctx.outerDone { return 0 }
    var buf: UnsafeRawPointer?
    var size = 0
    var offset: la_int64_t = 0
    while true {
        let r = archive_read_data_block(ctx.outer, &buf, &size, &offset)
        if r == ARCHIVE_EOF { ctx.outerDone = true; return 0 }
        if r < ARCHIVE_WARN {
            let msg = archive_error_string(ctx.outer).map { String(cString: $0) } ?? "decompression failed"
            ctx.failure = msg
            return -1
        }
        if size == 0 { continue }
        break
    }
    ctx.plainCount += Int64(size)
    ctx.onUncompressed?(UnsafeRawBufferPointer(start: buf, count: size))
    out?.pointee = buf
    return size
}
