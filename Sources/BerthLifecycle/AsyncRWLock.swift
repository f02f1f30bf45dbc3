/// A readers-writer lock for async code: pulls share it, garbage collection takes it alone, so GC
/// never deletes a blob or snapshot between a pull's "it exists" and its use.
actor AsyncRWLock {
    private var readers = 0
    private var writer = false
    private var waitingReaders: [CheckedContinuation<Void, Never>] = []
    private var waitingWriters: [CheckedContinuation<Void, Never>] = []

    func withShared<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await lockShared()
        do {
            let r = try await body()
            unlockShared()
            return r
        } catch {
            unlockShared()
            throw error
        }
    }

    func withExclusive<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await lockExclusive()
        do {
            let r = try await body()
            unlockExclusive()
            return r
        } catch {
            unlockExclusive()
            throw error
        }
    }

    private func lockShared() async {
        if !writer && waitingWriters.isEmpty { readers += 1; return }
        await withCheckedContinuation { waitingReaders.append($0) }
    }

    private func unlockShared() {
        readers -= 1
        if readers == 0, !waitingWriters.isEmpty {
            writer = true
            waitingWriters.removeFirst().resume()
        }
    }

    private func lockExclusive() async {
        if !writer && readers == 0 { writer = true; return }
        await withCheckedContinuation { waitingWriters.append($0) }
    }

    private func unlockExclusive() {
        if !waitingWriters.isEmpty, waitingReaders.isEmpty {
            waitingWriters.removeFirst().resume()
            return
        }
        writer = false
        readers += waitingReaders.count
        let r = waitingReaders
        waitingReaders.removeAll()
        for c in r { c.resume() }
    }
}
