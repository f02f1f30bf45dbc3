import Foundation
import Glibc
import Testing
import BerthArchive
import BerthOS
@testable import BerthImage

/// A temp dir under /tmp (prefix berth-test-), removed by `cleanup()` (unmounting nothing: tests
/// unmount their own mounts first, in `defer`).
final class TempDir {
    let path: String
    init() throws {
        var template = Array("/tmp/berth-test-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw OSError("mkdtemp", "/tmp")
        }
        path = String(cString: p)
    }
    func cleanup() { try? FS.removeAll(path) }
    func sub(_ name: String) -> String { path + "/" + name }
    func mkdir(_ name: String) throws -> String {
        try FS.mkdirAll(sub(name))
        return sub(name)
    }
}

/// Builds a layer blob from entries and returns its path and descriptor.
func makeLayer(_ path: String, compression: ArchiveWriter.Compression = .gzip, format: ArchiveWriter.Format = .paxRestricted,
               _ entries: [(ArchiveEntry, [UInt8])]) throws -> Descriptor {
    let w = try ArchiveWriter(path: path, format: format, compression: compression)
    for (e, data) in entries { try w.add(e, data: data) }
    try w.finish()
    return try descriptor(of: path)
}

func descriptor(of path: String) throws -> Descriptor {
    let bytes = try FS.readBytes(path, limit: Int.max)
    return Descriptor(mediaType: MediaType.ociLayerGzip, digest: Digest.sha256(of: bytes), size: Int64(bytes.count))
}

func file(_ path: String, _ content: String = "data", mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
          mtime: Int = 1_600_000_000, xattrs: [Xattr] = []) -> (ArchiveEntry, [UInt8]) {
    (ArchiveEntry(path: path, type: .regular, mode: mode, uid: uid, gid: gid, mtime: Timestamp(seconds: mtime), xattrs: xattrs), Array(content.utf8))
}

func dir(_ path: String, mode: UInt32 = 0o755, mtime: Int = 1_600_000_000) -> (ArchiveEntry, [UInt8]) {
    (ArchiveEntry(path: path, type: .directory, mode: mode, mtime: Timestamp(seconds: mtime)), [])
}

func symlink(_ path: String, _ target: String) -> (ArchiveEntry, [UInt8]) {
    (ArchiveEntry(path: path, type: .symlink, mode: 0o777, symlinkTarget: target), [])
}

func hardlink(_ path: String, _ target: String) -> (ArchiveEntry, [UInt8]) {
    (ArchiveEntry(path: path, type: .hardlink, mode: 0o644, hardlinkTarget: target), [])
}

func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

func contents(_ path: String) -> String? {
    (try? FS.readBytes(path)).map { String(decoding: $0, as: UTF8.self) }
}

/// Runs a program; returns its exit status.
@discardableResult
func run(_ args: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// A sentinel directory outside the layer with one file; `untouched()` checks it is exactly as made.
struct Sentinel {
    let path: String
    init(_ t: TempDir) throws {
        path = try t.mkdir("outside")
        try FS.write(path + "/keep", "original")
    }
    func untouched() -> Bool {
        let names = (try? FS.list(path)) ?? []
        guard names == ["keep"], let st = lstatOf(path + "/keep") else { return false }
        return contents(path + "/keep") == "original" && (st.st_mode & S_IFMT) == S_IFREG && st.st_nlink == 1
    }
}
