import Foundation
import Testing
import BerthOS
@testable import BerthImage

@Suite struct ContentStoreTests {
    @Test func writeReadVerify() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let store = try ContentStore(root: t.sub("content"))
        let bytes = Array("hello blob".utf8)
        let info = try store.write(bytes)
        #expect(info.digest == Digest.sha256(of: bytes) && info.size == Int64(bytes.count))
        #expect(store.has(info.digest))
        #expect(store.size(of: info.digest) == Int64(bytes.count))
        #expect(try store.read(info.digest) == bytes)
        #expect(try store.list() == [info.digest])
        // A blob corrupted on disk is reported, not returned.
        try FS.write(store.path(for: info.digest), "tampered")
        #expect(throws: ImageError.self) { try store.read(info.digest) }
        try store.delete(info.digest)
        #expect(!store.has(info.digest))
        #expect(throws: ImageError.blobNotFound(info.digest.description)) { try store.read(info.digest) }
    }

    @Test func mismatchLeavesNothing() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let store = try ContentStore(root: t.sub("content"))
        let wrong = Digest.sha256(of: Array("other".utf8))
        #expect {
            try store.write(Array("data".utf8), expected: wrong)
        } throws: { error in
            if case .digestMismatch(let e, _, let size) = error as? ImageError { return e == wrong.description && size == 4 }
            return false
        }
        let d = Digest.sha256(of: Array("data".utf8))
        let ing = try store.ingest(expected: d, size: 10)
        try ing.append(Array("data".utf8))
        #expect(throws: ImageError.sizeMismatch(digest: d.description, expected: 10, actual: 4)) { try ing.commit() }
        let tooBig = try store.ingest(expected: d, size: 2)
        #expect(throws: ImageError.self) { try tooBig.append(Array("data".utf8)) }
        #expect(try store.list().isEmpty)
        #expect(try FS.list(t.sub("content/ingest")).isEmpty)
        #expect(try FS.list(t.sub("content/blobs/sha256")).isEmpty)
    }

    @Test func abortAndClean() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let store = try ContentStore(root: t.sub("content"))
        let d = Digest.sha256(of: Array("x".utf8))
        let ing = try store.ingest(expected: d, size: nil)
        try ing.append(Array("x".utf8))
        ing.abort()
        #expect(try FS.list(t.sub("content/ingest")).isEmpty)
        try FS.write(t.sub("content/ingest/stale"), "junk")
        store.cleanIngest()
        #expect(try FS.list(t.sub("content/ingest")).isEmpty)
    }

    @Test func concurrentWritersOfSameBlob() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let store = try ContentStore(root: t.sub("content"))
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let d = Digest.sha256(of: bytes)
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let ing = try store.ingest(expected: d, size: Int64(bytes.count))
                for chunk in stride(from: 0, to: bytes.count, by: 65536) {
                    try ing.append(Array(bytes[chunk..<min(chunk + 65536, bytes.count)]))
                }
                try ing.commit()
            } catch { failures.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try store.read(d) == bytes)
        #expect(try store.list() == [d])
        #expect(try FS.list(t.sub("content/ingest")).isEmpty)
    }
}

import Synchronization
