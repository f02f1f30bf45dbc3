import NIOPosix

/// Runs file-system-heavy work (unpacking layers, copying archives, deleting snapshots) on NIO's
/// blocking thread pool, not on Swift's cooperative pool: with two cores that pool has two
/// threads, and an unpack holding one for seconds would stall every other request and download.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
