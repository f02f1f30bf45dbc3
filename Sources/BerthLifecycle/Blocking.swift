import Foundation
import NIOPosix

/// Runs file-system-heavy work (unpacking layers, copying archives, deleting snapshots) on NIO's
/// blocking thread pool, not on Swift's cooperative pool: with two cores that pool has two
/// threads, and an unpack holding one for seconds would stall every other request and download.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// Runs work that may wait on other work of this daemon (a container launch whose netwait hook
    /// waits for the network set-up, itself on the pool) on a thread of its own, so a burst of
    /// them can't take every pool thread and wait forever.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            let t = Thread { cont.resume(with: Result { try body() }) }
            t.start()
        }
    }
}
