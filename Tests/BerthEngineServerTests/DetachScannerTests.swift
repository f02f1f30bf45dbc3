import BerthEngineAPI
import Testing
@testable import BerthEngineServer

/// Docker's detach keys in hijacked input (attach, exec start).
struct DetachScannerTests {
    @Test func forwardsEverythingUntilTheSequence() {
        var s = DetachScanner(keys: [16, 17])
        #expect(s.feed(Array("hello".utf8)) == (Array("hello".utf8), false))
        let r = s.feed([0x61, 16, 17, 0x62])
        #expect(r.forward == [0x61] && r.detached)
    }

    @Test func sequenceSplitAcrossChunks() {
        var s = DetachScanner(keys: [16, 17])
        let a = s.feed([0x61, 16])
        #expect(a.forward == [0x61] && !a.detached && s.held == [16])
        let b = s.feed([17])
        #expect(b.forward == [] && b.detached)
    }

    @Test func aBrokenMatchIsForwarded() {
        var s = DetachScanner(keys: [16, 17])
        #expect(s.feed([16]) == ([], false))
        #expect(s.feed([0x78]) == ([16, 0x78], false))
        // A byte that breaks a match may start the next one.
        #expect(s.feed([16, 16, 17]) == ([16], true))
    }

    @Test func noKeysForwardsAll() {
        var s = DetachScanner(keys: [])
        #expect(s.feed([16, 17]) == ([16, 17], false))
    }

    @Test func parsesDockersSyntax() throws {
        #expect(try DetachScanner.parse(nil) == [16, 17])
        #expect(try DetachScanner.parse("") == [16, 17])
        #expect(try DetachScanner.parse("ctrl-a,x") == [1, 0x78])
        #expect(try DetachScanner.parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == [0, 27, 28, 29, 30, 31])
        let e = #expect(throws: EngineError.self) { try DetachScanner.parse("ctrl-1") }
        #expect(e?.message == "Invalid detach keys (ctrl-1) provided" && e?.status.code == 400)
        #expect(throws: EngineError.self) { try DetachScanner.parse("ab") }
    }
}
