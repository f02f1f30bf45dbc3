import Foundation
import Testing
import BerthTestSupport
@testable import BerthLifecycle

/// A one-shot signal an async task can wait on.
actor Gate {
    private var open = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if open { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        open = true
        for w in waiters { w.resume() }
        waiters.removeAll()
    }
}

/// Counts how many bodies are inside the lock at once and logs what happened in which order.
actor LockProbe {
    private(set) var shared = 0, exclusive = 0, maxShared = 0
    private(set) var violations: [String] = []
    private(set) var log: [String] = []

    func enterShared(_ name: String) {
        if exclusive > 0 { violations.append("\(name) shared while exclusive held") }
        shared += 1
        maxShared = max(maxShared, shared)
        log.append("+\(name)")
    }

    func leaveShared(_ name: String) { shared -= 1; log.append("-\(name)") }

    func enterExclusive(_ name: String) {
        if exclusive > 0 || shared > 0 { violations.append("\(name) exclusive while \(shared) shared, \(exclusive) exclusive") }
        exclusive += 1
        log.append("+\(name)")
    }

    func leaveExclusive(_ name: String) { exclusive -= 1; log.append("-\(name)") }
}

func eventually(_ seconds: Double = 5, _ cond: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await cond() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await cond()
}

@Suite("AsyncRWLock")
struct AsyncRWLockTests {
    @Test func sharedReadersRunConcurrently() async throws {
        let lock = AsyncRWLock(), probe = LockProbe(), gate = Gate()
        let readers = (0..<3).map { i in
            Task {
                await lock.withShared {
                    await probe.enterShared("r\(i)")
                    await gate.wait()
                    await probe.leaveShared("r\(i)")
                }
            }
        }
        // All three get in while none has left: they hold the lock together.
        #expect(await eventually { await probe.shared == 3 })
        await gate.release()
        for r in readers { await r.value }
        #expect(await probe.maxShared == 3)
        #expect(await probe.violations.isEmpty)
    }

    @Test func exclusiveExcludesShared() async throws {
        let lock = AsyncRWLock(), probe = LockProbe(), gate = Gate()
        let writer = Task {
            await lock.withExclusive {
                await probe.enterExclusive("w")
                await gate.wait()
                await probe.leaveExclusive("w")
            }
        }
        #expect(await eventually { await probe.exclusive == 1 })
        let reader = Task {
            await lock.withShared {
                await probe.enterShared("r")
                await probe.leaveShared("r")
            }
        }
        // The reader waits while the writer holds the lock.
        try await Task.sleep(for: .milliseconds(100))
        #expect(await probe.log == ["+w"])
        await gate.release()
        await writer.value
        await reader.value
        #expect(await probe.log == ["+w", "-w", "+r", "-r"])
        #expect(await probe.violations.isEmpty)
    }

    @Test func exclusiveWaitsForReadersAndBlocksNewOnes() async throws {
        let lock = AsyncRWLock(), probe = LockProbe(), firstGate = Gate()
        let first = Task {
            await lock.withShared {
                await probe.enterShared("r1")
                await firstGate.wait()
                await probe.leaveShared("r1")
            }
        }
        #expect(await eventually { await probe.shared == 1 })
        let writer = Task {
            await lock.withExclusive {
                await probe.enterExclusive("w")
                await probe.leaveExclusive("w")
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        // A reader arriving while a writer waits queues behind it, so GC cannot starve.
        let second = Task {
            await lock.withShared {
                await probe.enterShared("r2")
                await probe.leaveShared("r2")
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(await probe.log == ["+r1"])
        await firstGate.release()
        await first.value
        await writer.value
        await second.value
        #expect(await probe.log == ["+r1", "-r1", "+w", "-w", "+r2", "-r2"])
        #expect(await probe.violations.isEmpty)
    }

    @Test func writersAreSerialised() async throws {
        let lock = AsyncRWLock(), probe = LockProbe()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    if i % 3 == 0 {
                        await lock.withExclusive {
                            await probe.enterExclusive("w\(i)")
                            await Task.yield()
                            await probe.leaveExclusive("w\(i)")
                        }
                    } else {
                        await lock.withShared {
                            await probe.enterShared("r\(i)")
                            await Task.yield()
                            await probe.leaveShared("r\(i)")
                        }
                    }
                }
            }
        }
        #expect(await probe.violations.isEmpty)
        #expect(await probe.log.count == 40)
    }

    @Test func errorsReleaseTheLock() async throws {
        struct Boom: Error {}
        let lock = AsyncRWLock()
        await #expect(throws: Boom.self) { try await lock.withExclusive { throw Boom() } }
        await #expect(throws: Boom.self) { try await lock.withShared { throw Boom() } }
        // Both kinds can still be taken.
        #expect(await lock.withExclusive { 1 } == 1)
        #expect(await lock.withShared { 2 } == 2)
    }
}
