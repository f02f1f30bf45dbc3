import BerthWire
import Foundation
import Testing
@testable import BerthLifecycle

@Suite struct WaiterTests {
    /// `stop -t 0` waits 0 s for the exit: that timer often fires before the wait has parked, and
    /// the wait must still end (it hung for good, and the container's lock with it).
    @Test func zeroSecondWaitsAlwaysEnd() async throws {
        for _ in 0..<100 {
            let w = ContainerService.Waiter()
            let r = await w.wait(seconds: 0)
            #expect(r == nil)
            // A second wait on the same waiter gets its own timeout, not the first one's.
            let start = Date()
            #expect(await w.wait(seconds: 0.05) == nil)
            #expect(Date().timeIntervalSince(start) >= 0.04)
        }
    }

    @Test func aResultEndsTheWaitAndStays() async throws {
        let w = ContainerService.Waiter()
        Task { try? await Task.sleep(nanoseconds: 20_000_000); w.resolve(ContainerWaitResult(statusCode: 3)) }
        #expect(await w.wait(seconds: 10)?.statusCode == 3)
        #expect(await w.wait(seconds: 0)?.statusCode == 3)
    }
}
