import BerthOCI
import FoundationEssentials
import Testing
import BerthTestSupport
@testable import BerthSeccomp

@Suite struct DockerProfileTests {
    @Test func resolutionFollowsDockerd() throws {
        let s = try DockerSeccompProfile.hostDefault()
        let names = Set((s.syscalls ?? []).flatMap(\.names))
        #expect(names.contains("chroot"), "CAP_SYS_CHROOT is a default cap")
        #expect(!names.contains("mount"), "CAP_SYS_ADMIN is not")
        #expect(!names.contains("reboot"))
        let clone3 = (s.syscalls ?? []).first { $0.names == ["clone3"] }
        #expect(clone3?.errnoRet == 38, "clone3 answers ENOSYS without CAP_SYS_ADMIN")
        #if arch(x86_64)
        #expect(s.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #expect(names.contains("arch_prctl"))
        #endif
    }

    @Test func dockerDefaultProfileCompiles() throws {
        let s = try DockerSeccompProfile.hostDefault()
        let clock = ContinuousClock()
        var compiled: CompiledSeccomp?
        var times: [Duration] = []
        for _ in 0..<5 {
            let elapsed = try clock.measure { compiled = try SeccompCompiler.compile(s) }
            times.append(elapsed)
        }
        let result = try #require(compiled)
        times.sort()
        print("docker default profile: \(result.count) BPF instructions, \(result.skippedSyscalls.count) syscall names "
              + "unknown to libseccomp \(SeccompCompiler.libseccompVersion) skipped \(result.skippedSyscalls); "
              + "compile min \(times[0]) median \(times[2]) max \(times[4]) over 5 runs")
        #expect(result.count > 100)
        #expect(result.count <= SeccompCompiler.maxInstructions)
        #expect(result.flags == 0)

        let pfc = try SeccompCompiler.pfc(s)
        #expect(pfc.contains("action ERRNO(38)"), "clone3 → ENOSYS")
        #expect(pfc.contains("filter for syscall \"mkdirat\""))
        #expect(pfc.contains("action ERRNO(1)"), "defaultErrnoRet 1")
    }
}
