import BerthWire
import Foundation
import NIOConcurrencyHelpers

/// berthd's link to berth-lifecycled: one shared connection for short calls, and a connection of
/// its own for each long call (wait, followed logs, attach, exec, events, pull), closed when the
/// API client goes away; closing it is how the lifecycle daemon learns to cancel that call.
final class LifecycleLink: Sendable {
    let socket: String
    private let shared = NIOLockedValueBox<WireClient?>(nil)

    init(socket: String) { self.socket = socket }

    private func client() async throws -> WireClient {
        if let c = shared.withLockedValue({ $0 }) { return c }
        let fresh = try await WireClient.connect(path: socket)
        // Two callers may connect at once: the first one stored wins, the other connection closes.
        let winner = shared.withLockedValue { s -> WireClient in
            if let s { return s }
            s = fresh
            return fresh
        }
        if winner !== fresh { await fresh.close() }
        return winner
    }

    /// A short call on the shared connection; a lost connection is dropped and retried once.
    func call<R: Decodable>(_ method: String, _ params: some Encodable & Sendable, returning: R.Type = RawJSON.self) async throws -> R {
        do {
            return try await client().call(method, params, returning: R.self)
        } catch let e as WireError where e.code == 503 {
            shared.withLockedValue { $0 = nil }
            return try await client().call(method, params, returning: R.self)
        }
    }

    /// A long call on a fresh connection, closed when the task is cancelled (the client left).
    func stream<R: Decodable, E: Decodable & SendableMetatype>(
        _ method: String, _ params: some Encodable & Sendable, returning: R.Type = RawJSON.self,
        progress: E.Type, onProgress: @escaping @Sendable (E) -> Void
    ) async throws -> R {
        let c = try await WireClient.connect(path: socket)
        defer { Task { await c.close() } }
        return try await withTaskCancellationHandler {
            try await c.call(method, params, returning: R.self, progress: E.self, onProgress: onProgress)
        } onCancel: {
            Task { await c.close() }
        }
    }
}
