import BerthArchive
import BerthOS
import Foundation
import Glibc

/// The tars the builder writes for COPY, ADD and WORKDIR: paths relative to the image root.
enum LayerTar {
    struct Entry {
        /// Absolute path in the image.
        var path: String
        var kind: FileInfo.Kind
        var mode: UInt32
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var mtime: Int = 0
        var size: Int64 = 0
        /// The host file a regular entry's bytes come from.
        var source: String?
        /// Inline bytes (heredocs), used when `source` is nil.
        var data: [UInt8]?
        var linkTarget: String?
    }

    static func write(_ path: String, entries: [Entry]) throws {
        let w = try ArchiveWriter(path: path)
        for e in entries {
            let name = String(e.path.drop(while: { $0 == "/" }))
            guard !name.isEmpty else { continue }
            let type: EntryType
            switch e.kind {
            case .directory: type = .directory
            case .symlink: type = .symlink
            case .regular: type = .regular
            default: continue  // devices, FIFOs and sockets do not travel in a build context
            }
            let entry = ArchiveEntry(path: name, type: type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size,
                                     mtime: Timestamp(seconds: e.mtime), symlinkTarget: e.linkTarget)
            if type == .regular, let src = e.source {
                let fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else { throw BuildError("open \(src): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                try w.add(entry, contentsOf: fd)
            } else {
                var inline = entry
                inline.size = Int64(e.data?.count ?? 0)
                try w.add(inline, data: e.data ?? [])
            }
        }
        try w.finish()
    }
}
