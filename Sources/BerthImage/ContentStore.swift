import Glibc
import BerthOS

/// The digest and size of a blob in the store.
public struct BlobInfo: Sendable, Hashable {
    public var digest: Digest
    public var size: Int64
    public init(digest: Digest, size: Int64) { self.digest = digest; self.size = size }
}

/// Content-addressed blob storage: `<root>/blobs/sha256/<hex>`, written through temp files in
/// `<root>/ingest/` that are verified (digest and size) before being renamed into place, so a
/// blob in `blobs/` is always complete and correct. Several writers of the same blob may race:
/// each writes its own temp file and the renames replace identical content.
public final class ContentStore: Sendable {
    public let root: String
    private let blobs: String
    private let ingestDir: String

    /// Opens (creating if needed) the store at `root`.
    public init(root: String) throws(ImageError) {
        self.root = root
        blobs = root + "/blobs"
        ingestDir = root + "/ingest"
        do {
            try FS.mkdirAll(blobs + "/sha256", mode: 0o700)
            try FS.mkdirAll(ingestDir, mode: 0o700)
        } catch {
            throw .io(operation: "create content store", path: root, reason: error.description)
        }
    }

    /// Where the blob `digest` lives (whether or not it exists).
    public func path(for digest: Digest) -> String { "\(blobs)/\(digest.algorithm)/\(digest.encoded)" }

    public func has(_ digest: Digest) -> Bool { FS.exists(path(for: digest)) }

    /// The stored size of a blob, or nil when it is absent.
    public func size(of digest: Digest) -> Int64? {
        var st = stat()
        return stat(path(for: digest), &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Reads a whole (small) blob, checking that its content still matches its digest (a
    /// corrupted file is reported, not returned).
    public func read(_ digest: Digest, limit: Int = 16 << 20) throws(ImageError) -> [UInt8] {
        let p = path(for: digest)
        let bytes: [UInt8]
        do { bytes = try FS.readBytes(p, limit: limit) } catch {
            if error.code == ENOENT { throw .blobNotFound(digest.description) }
            throw .io(operation: "read blob", path: p, reason: error.description)
        }
        let actual = Digest.sha256(of: bytes)
        if digest.algorithm == "sha256" && actual != digest {
            throw .digestMismatch(expected: digest.description, actual: actual.description, size: Int64(bytes.count))
        }
        return bytes
    }

    /// Stores `bytes`; with `expected`, fails (storing nothing) unless they hash to it.
    @discardableResult
    public func write(_ bytes: [UInt8], expected: Digest? = nil) throws(ImageError) -> BlobInfo {
        let digest = expected ?? Digest.sha256(of: bytes)
        if has(digest), expected == nil { return BlobInfo(digest: digest, size: Int64(bytes.count)) }
        let ing = try ingest(expected: digest, size: Int64(bytes.count))
        try ing.append(bytes)
        return try ing.commit()
    }

    /// Starts writing the blob `expected` (of `size` bytes, when known). Nothing is visible in
    /// `blobs/` until `commit()` has verified it. With `expected` nil (a local import), the
    /// blob is stored under whatever digest its content has.
    public func ingest(expected: Digest?, size: Int64?) throws(ImageError) -> Ingestion {
        if let expected, expected.algorithm != "sha256" { throw .invalidDigest(expected.description) }
        let tmp = "\(ingestDir)/\(expected?.encoded ?? "unknown")-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw .io(operation: "create", path: tmp, reason: OSError("open", tmp).description) }
        return Ingestion(fd: fd, temp: tmp, blobDir: "\(blobs)/sha256", expected: expected, size: size)
    }

    /// Removes a blob (absent is not an error).
    public func delete(_ digest: Digest) throws(ImageError) {
        do { try FS.unlink(path(for: digest)) } catch {
            throw .io(operation: "delete blob", path: path(for: digest), reason: error.description)
        }
    }

    /// Every blob in the store.
    public func list() throws(ImageError) -> [Digest] {
        let dir = blobs + "/sha256"
        let names: [String]
        do { names = try FS.list(dir) } catch { throw .io(operation: "list", path: dir, reason: error.description) }
        return names.compactMap { try? Digest(parsing: "sha256:" + $0) }.sorted()
    }

    /// Removes temp files left by writers that died mid-blob. Call at startup, before any
    /// ingestion of this process starts.
    public func cleanIngest() {
        for name in (try? FS.list(ingestDir)) ?? [] { try? FS.removeAll(ingestDir + "/" + name) }
    }
}

/// One blob being written to the store. Not thread-safe; `abort()` (or deinit) discards it.
public final class Ingestion {
    private var fd: Int32
    private let temp: String
    private let blobDir: String
    public let expected: Digest?
    public let expectedSize: Int64?
    private var hasher = DigestHasher()

    init(fd: Int32, temp: String, blobDir: String, expected: Digest?, size: Int64?) {
        self.fd = fd; self.temp = temp; self.blobDir = blobDir
        self.expected = expected; expectedSize = size
    }

    private var name: String { expected?.description ?? temp }

    /// Starts over from zero bytes (a download restarted from the beginning).
    public func reset() throws(ImageError) {
        guard fd >= 0 else { throw .io(operation: "reset", path: temp, reason: "ingestion already finished") }
        if ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 {
            throw .io(operation: "truncate", path: temp, reason: OSError("truncate", temp).description)
        }
        hasher = DigestHasher()
    }

    deinit { abort() }

    /// Bytes written so far.
    public var written: Int64 { hasher.count }

    public func append(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard fd >= 0 else { throw .io(operation: "write", path: temp, reason: "ingestion already finished") }
        if let expectedSize, hasher.count + Int64(bytes.count) > expectedSize {
            let actual = hasher.count + Int64(bytes.count)
            abort()
            throw .sizeMismatch(digest: name, expected: expectedSize, actual: actual)
        }
        do { try FD.writeAll(fd, bytes, path: temp) } catch {
            abort()
            throw .io(operation: "write", path: temp, reason: error.description)
        }
        hasher.update(bytes)
    }

    public func append(_ bytes: [UInt8]) throws(ImageError) {
        // withUnsafeBytes only rethrows untyped errors: carry ours out by hand.
        let failure = bytes.withUnsafeBytes { b -> ImageError? in
            do throws(ImageError) { try append(b); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Verifies size and digest, then fsyncs and renames the blob into place. On a mismatch the
    /// temp file is removed and nothing appears in `blobs/`.
    @discardableResult
    public func commit() throws(ImageError) -> BlobInfo {
        guard fd >= 0 else { throw .io(operation: "commit", path: temp, reason: "ingestion already finished") }
        let size = hasher.count
        if let expectedSize, size != expectedSize {
            abort()
            throw .sizeMismatch(digest: name, expected: expectedSize, actual: size)
        }
        let actual = hasher.finalize()
        if let expected, actual != expected {
            abort()
            throw .digestMismatch(expected: expected.description, actual: actual.description, size: size)
        }
        // fsync before rename: after a crash a blob name must never point at partial content.
        do { try FD.fsync(fd, path: temp) } catch {
            abort()
            throw .io(operation: "fsync", path: temp, reason: error.description)
        }
        close(fd)
        fd = -1
        let final = "\(blobDir)/\(actual.encoded)"
        if rename(temp, final) != 0 {
            let e = OSError("rename", final)
            unlink(temp)
            throw .io(operation: "commit blob", path: final, reason: e.description)
        }
        let dfd = open(blobDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return BlobInfo(digest: actual, size: size)
    }

    /// Discards the temp file. Idempotent.
    public func abort() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temp)
    }
}
