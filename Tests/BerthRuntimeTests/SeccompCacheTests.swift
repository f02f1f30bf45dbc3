import Testing
import Glibc
import BerthOCI
import BerthOS
import BerthSeccomp
@testable import BerthRuntime

@Suite struct SeccompCacheTests {
    func tempDir() -> String {
        var t = Array("/tmp/berth-test-cache-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&t)!)
    }

    let profile = Seccomp(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
                          syscalls: [Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])

    @Test func secondCompileComesFromTheCacheAndIsIdentical() throws {
        let dir = tempDir(); defer { try? FS.removeAll(dir) }
        let cache = SeccompCache(dir: dir + "/c")
        let first = try cache.compile(profile)
        let path = "\(dir)/c/seccomp-\(SeccompCache.key(profile)).bpf"
        #expect(FS.exists(path))
        let second = try #require(cache.load(path))
        #expect(second.instructions == first.instructions && second.flags == first.flags)
        #expect(first.instructions == (try SeccompCompiler.compile(profile)).instructions)
    }

    @Test func differentProfilesHaveDifferentKeys() {
        var other = profile
        other.syscalls?[0].errnoRet = 2
        #expect(SeccompCache.key(profile) != SeccompCache.key(other))
    }

    @Test func aCorruptCacheFileIsIgnored() throws {
        let dir = tempDir(); defer { try? FS.removeAll(dir) }
        let cache = SeccompCache(dir: dir)
        let path = "\(dir)/seccomp-\(SeccompCache.key(profile)).bpf"
        try FS.write(path, Array("BERTHBPF1\n\u{1}\u{0}\u{0}\u{0}abc".utf8))
        #expect(cache.load(path) == nil)
        let c = try cache.compile(profile)
        #expect(c.instructions == (try SeccompCompiler.compile(profile)).instructions)
    }
}
