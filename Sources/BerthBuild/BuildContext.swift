import BerthImage
import Foundation
import Glibc

/// The build context as berthd receives it: a tar (plain or compressed) in the request body.
public enum BuildContextArchive {
    /// Unpacks the context tar into `dir` (created), with the same path checks as `docker cp`:
    /// no entry lands outside `dir`, whatever its name or the links before it.
    public static func unpack(tar: String, into dir: String) throws(BuildError) {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw BuildError("creating \(dir): \(error)")
        }
        let fd = open(tar, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BuildError("open build context \(tar): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // An empty body is an empty context (a Dockerfile given some other way would fail later).
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size == 0 { return }
        do { try LayerUnpacker.extract(fd: fd, root: dir, into: "/", noOverwriteDirNonDir: false, archive: "build context") } catch {
            throw BuildError("unpacking the build context: \(error)", invalidInput: true)
        }
    }
}
