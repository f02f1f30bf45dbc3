import BerthOCI
import FoundationEssentials
import Testing
@testable import BerthSeccomp

/// Docker's profile format: OCI `Seccomp` plus `archMap` and per-rule `includes`/`excludes`, which
/// dockerd resolves against the host architecture and the container's capabilities before handing
/// runc a plain OCI profile. This is a test-only copy of that resolution (moby profiles/seccomp).
struct DockerProfile: Decodable {
    var defaultAction: String
    var defaultErrnoRet: UInt32?
    var archMap: [ArchMap]?
    var syscalls: [Rule]

    struct ArchMap: Decodable {
        var architecture: String
        var subArchitectures: [String]?
    }

    struct Rule: Decodable {
        var names: [String]
        var action: String
        var errnoRet: UInt32?
        var args: [SeccompArg]?
        var includes: Filter?
        var excludes: Filter?
    }

    struct Filter: Decodable {
        var caps: [String]?
        var arches: [String]?
        var minKernel: String?
    }

    /// Docker's default capability set.
    static let defaultCaps: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// The OCI profile dockerd would produce for a container on `goArch` (`amd64`, `arm64`) whose
    /// native seccomp architecture is `nativeArch`, holding `caps`. Every kernel this runs on is newer
    /// than any `minKernel` in the profile (4.8), so `includes.minKernel` is taken as met.
    func resolved(goArch: String, nativeArch: String, caps: Set<String> = defaultCaps) -> Seccomp {
        var architectures: [String] = []
        for entry in archMap ?? [] where entry.architecture == nativeArch {
            architectures = [entry.architecture] + (entry.subArchitectures ?? [])
        }
        let calls = syscalls.filter { rule in
            if let ex = rule.excludes {
                if ex.arches?.contains(goArch) == true { return false }
                if ex.caps?.contains(where: caps.contains) == true { return false }
                if ex.minKernel != nil { return false }
            }
            if let inc = rule.includes {
                if let arches = inc.arches, !arches.isEmpty, !arches.contains(goArch) { return false }
                if let needed = inc.caps, !needed.allSatisfy(caps.contains) { return false }
            }
            return true
        }.map { Syscall(names: $0.names, action: $0.action, errnoRet: $0.errnoRet, args: $0.args) }
        var s = Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet,
                        architectures: architectures, syscalls: calls)
        s.flags = nil
        return s
    }

    static func hostDefault() throws -> Seccomp {
        let profile = try JSONDecoder().decode(DockerProfile.self, from: Data(dockerDefaultProfileJSON.utf8))
        #if arch(arm64)
        return profile.resolved(goArch: "arm64", nativeArch: "SCMP_ARCH_AARCH64")
        #else
        return profile.resolved(goArch: "amd64", nativeArch: "SCMP_ARCH_X86_64")
        #endif
    }
}

@Suite struct DockerProfileTests {
    @Test func resolutionFollowsDockerd() throws {
        let s = try DockerProfile.hostDefault()
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
        let s = try DockerProfile.hostDefault()
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
