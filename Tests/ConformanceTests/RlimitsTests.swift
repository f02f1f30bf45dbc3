import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config "POSIX process" rlimits, checked through /proc/self/limits.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct RlimitsTests {
    /// "Max open files  512  1000  files" → (soft, hard) keyed by the limit's name.
    static func limits(_ text: String) -> [String: (String, String)] {
        var out: [String: (String, String)] = [:]
        for l in lines(text).dropFirst() {
            // Name is the first 26 columns; then soft, hard, units.
            let name = trimmed(String(l.prefix(26)))
            let rest = l.dropFirst(26).split(separator: " ").map(String.init)
            if rest.count >= 2 { out[name] = (rest[0], rest[1]) }
        }
        return out
    }

    @Test func configuredLimitsAreApplied() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = try h.shOK("cat /proc/self/limits") { spec in
            spec.process?.rlimits = [
                Rlimit(type: "RLIMIT_NOFILE", soft: 256, hard: 512),
                Rlimit(type: "RLIMIT_NPROC", soft: 1000, hard: 2000),
                Rlimit(type: "RLIMIT_CORE", soft: 0, hard: UInt64.max),
                Rlimit(type: "RLIMIT_STACK", soft: 4 << 20, hard: 16 << 20),
                Rlimit(type: "RLIMIT_MSGQUEUE", soft: 4096, hard: 8192),
                Rlimit(type: "RLIMIT_FSIZE", soft: 1 << 30, hard: 1 << 30),
            ]
        }
        let l = Self.limits(out)
        func check(_ name: String, _ soft: String, _ hard: String) {
            #expect(l[name]?.0 == soft && l[name]?.1 == hard, "\(name): \(String(describing: l[name]))")
        }
        check("Max open files", "256", "512")
        check("Max processes", "1000", "2000")
        check("Max core file size", "0", "unlimited")
        check("Max stack size", "\(4 << 20)", "\(16 << 20)")
        check("Max msgqueue size", "4096", "8192")
        check("Max file size", "\(1 << 30)", "\(1 << 30)")
    }

    @Test func fileSizeLimitIsEnforced() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let r = try h.sh("trap '' XFSZ; head -c 8192 /dev/zero > /tmp/big; stat -c %s /tmp/big") { spec in
            spec.process?.rlimits = [Rlimit(type: "RLIMIT_FSIZE", soft: 4096, hard: 4096)]
        }
        #expect(lines(r.stdout).last == "4096", "\(r)")
    }

    @Test func limitsNotConfiguredAreInherited() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let hostLimits = Self.limits(try Fixtures.read("/proc/self/limits"))
        let l = Self.limits(try h.shOK("cat /proc/self/limits"))
        // The default spec only sets NOFILE.
        #expect(l["Max open files"]?.0 == "1024" && l["Max open files"]?.1 == "1024")
        #expect(l["Max locked memory"]?.1 == hostLimits["Max locked memory"]?.1)
    }
}
