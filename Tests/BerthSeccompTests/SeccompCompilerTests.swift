import BerthOCI
import CSeccomp
import Glibc
import Testing
@testable import BerthSeccomp

/// An allow-all profile with one rule, on the native architecture.
private func profile(_ calls: [Syscall], default action: String = "SCMP_ACT_ALLOW", flags: [String]? = nil,
                     architectures: [String]? = nil) -> Seccomp {
    Seccomp(defaultAction: action, architectures: architectures, flags: flags, syscalls: calls)
}

/// The error compiling `s` throws, or nil when it compiles.
private func compileError(_ s: Seccomp) -> SeccompError? {
    do throws(SeccompError) {
        _ = try SeccompCompiler.compile(s)
        return nil
    } catch {
        return error
    }
}

@Suite struct SeccompCompilerTests {
    @Test func allowAllWithOneErrnoRuleCompiles() throws {
        let s = profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13)],
                        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"])
        let compiled = try SeccompCompiler.compile(s)
        #expect(compiled.count > 0)
        #expect(compiled.count == compiled.instructions.count)
        #expect(compiled.flags == 1 | 2)
        #expect(compiled.skippedSyscalls.isEmpty)
        // The program starts by loading seccomp_data.arch (BPF_LD|BPF_W|BPF_ABS, k = offsetof(arch) = 4)…
        let program = compiled.decoded
        #expect(program.first == CompiledSeccomp.Instruction(code: 0x20, jt: 0, jf: 0, k: 4))
        // …returns ERRNO(13) somewhere (BPF_RET|BPF_K, SECCOMP_RET_ERRNO | 13)…
        #expect(program.contains(CompiledSeccomp.Instruction(code: 0x06, jt: 0, jf: 0, k: 0x0005_000D)))
        // …and ALLOW as the default.
        #expect(program.contains(CompiledSeccomp.Instruction(code: 0x06, jt: 0, jf: 0, k: 0x7FFF_0000)))
        #expect(program.allSatisfy { $0.code != 0 || $0.k != 0 }, "no all-zero padding instructions")
    }

    @Test func flagsMapToKernelBits() throws {
        let all = profile([], flags: SeccompCompiler.supportedFlags + ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
        let expected = SeccompCompiler.supportedFlags.reduce(UInt32(0)) { $0 | (SeccompCompiler.flagBits[$1] ?? 0) }
        #expect(try SeccompCompiler.compile(all).flags == expected)
        #expect(try SeccompCompiler.compile(profile([])).flags == 0)
    }

    @Test func pfcMentionsSyscallAndErrno() throws {
        let s = profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13)])
        let text = try SeccompCompiler.pfc(s)
        #expect(text.contains("mkdir"))
        #expect(text.contains("ERRNO(13)"))
        #expect(text.contains("ALLOW"))
    }

    @Test func errnoDefaultsToEPERMAndDefaultErrnoRetApplies() throws {
        let rule = try SeccompCompiler.pfc(profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO")]))
        #expect(rule.contains("ERRNO(1)"))
        var s = profile([Syscall(names: ["getpid"], action: "SCMP_ACT_ALLOW")], default: "SCMP_ACT_ERRNO")
        s.defaultErrnoRet = 38
        #expect(try SeccompCompiler.pfc(s).contains("action ERRNO(38)"))
    }

    @Test func argsOnDifferentIndexesAreANDed() throws {
        let args = [SeccompArg(index: 0, value: 1, op: "SCMP_CMP_EQ"), SeccompArg(index: 1, value: 2, op: "SCMP_CMP_EQ")]
        let text = try SeccompCompiler.pfc(profile([Syscall(names: ["personality"], action: "SCMP_ACT_ERRNO", args: args)]))
        // One rule: the arg-1 test is nested inside the arg-0 test and a single ERRNO follows both.
        let lines = ruleLines(text, syscall: "personality")
        #expect(lines.filter { $0.contains("action ERRNO") }.count == 1, "\(text)")
        let a0 = try #require(lines.firstIndex { $0.contains("$a0.lo32 == 1") })
        let a1 = try #require(lines.firstIndex { $0.contains("$a1.lo32 == 2") })
        #expect(a0 < a1)
        #expect(indent(lines[a1]) > indent(lines[a0]), "arg 1 is checked only when arg 0 matched")
    }

    @Test func argsSharingAnIndexAreORed() throws {
        let args = [SeccompArg(index: 0, value: 1, op: "SCMP_CMP_EQ"), SeccompArg(index: 0, value: 2, op: "SCMP_CMP_EQ")]
        let text = try SeccompCompiler.pfc(profile([Syscall(names: ["personality"], action: "SCMP_ACT_ERRNO", args: args)]))
        // Two rules: each value is tested on its own, at the same depth, each with its own ERRNO.
        let lines = ruleLines(text, syscall: "personality")
        #expect(lines.filter { $0.contains("action ERRNO") }.count == 2, "\(text)")
        let one = try #require(lines.first { $0.contains("$a0.lo32 == 1") })
        let two = try #require(lines.first { $0.contains("$a0.lo32 == 2") })
        #expect(indent(one) == indent(two))
        #expect(!lines.contains { $0.contains("$a1") })
    }

    @Test func maskedEqualUsesValueAsMaskAndValueTwoAsDatum() throws {
        let args = [SeccompArg(index: 0, value: 0xF0, valueTwo: 0x30, op: "SCMP_CMP_MASKED_EQ")]
        let text = try SeccompCompiler.pfc(profile([Syscall(names: ["personality"], action: "SCMP_ACT_ERRNO", args: args)]))
        #expect(text.contains("$a0.lo32 & 0x000000f0 == 48"), "\(text)")
    }

    @Test func unknownSyscallNamesAreSkipped() throws {
        let s = profile([Syscall(names: ["mkdir", "no_such_syscall_berth", "rmdir"], action: "SCMP_ACT_ERRNO")])
        let compiled = try SeccompCompiler.compile(s)
        #expect(compiled.skippedSyscalls == ["no_such_syscall_berth"])
        let text = try SeccompCompiler.pfc(s)
        #expect(text.contains("mkdir") && text.contains("rmdir"))
        #expect(!text.contains("no_such_syscall_berth"))
    }

    @Test func rulesRepeatingTheDefaultActionAreSkipped() throws {
        let s = profile([Syscall(names: ["getpid"], action: "SCMP_ACT_ALLOW"),
                         Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO")])
        let text = try SeccompCompiler.pfc(s)
        #expect(!text.contains("getpid"))
        #expect(text.contains("mkdir"))
    }

    @Test func syscallsOnlyOtherArchitecturesHaveAreAddedForThem() throws {
        // chown32 does not exist on x86_64; libseccomp resolves it to a pseudo number and places it
        // under the x86 section only.
        let s = profile([Syscall(names: ["chown32"], action: "SCMP_ACT_ERRNO")],
                        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #if arch(x86_64)
        let compiled = try SeccompCompiler.compile(s)
        #expect(compiled.skippedSyscalls.isEmpty)
        let text = try SeccompCompiler.pfc(s)
        #expect(text.contains("chown32"))
        #expect(text.contains("x86_64") && text.contains("x32"))
        #else
        _ = s
        #endif
    }

    @Test func errorsNameTheField() {
        let badAction = compileError(profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_BOGUS")]))
        #expect(badAction?.field == "linux.seccomp.syscalls[0].action")
        #expect(badAction?.description == "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_BOGUS\"")

        let badDefault = compileError(profile([], default: "SCMP_ACT_NOPE"))
        #expect(badDefault?.field == "linux.seccomp.defaultAction")

        let args = [SeccompArg(index: 0, value: 1, op: "SCMP_CMP_EQ"), SeccompArg(index: 1, value: 1, op: "SCMP_CMP_APPROX")]
        let badOp = compileError(profile([Syscall(names: ["getpid"], action: "SCMP_ACT_ALLOW"),
                                                     Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO", args: args)]))
        #expect(badOp?.description == "linux.seccomp.syscalls[1].args[1].op: unknown operator \"SCMP_CMP_APPROX\"")

        let badIndex = compileError(profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO",
                                                             args: [SeccompArg(index: 6, value: 0, op: "SCMP_CMP_EQ")])]))
        #expect(badIndex?.field == "linux.seccomp.syscalls[0].args[0].index")

        let badArch = compileError(profile([], architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]))
        #expect(badArch?.description == "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"")

        let badFlag = compileError(profile([], flags: ["SECCOMP_FILTER_FLAG_FAST"]))
        #expect(badFlag?.field == "linux.seccomp.flags[0]")

        let notify = compileError(profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_NOTIFY")]))
        #expect(notify?.field == "linux.seccomp.syscalls[0].action")
        #expect(notify?.reason.contains("not supported") == true)

        let bigErrno = compileError(profile([Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 70000)]))
        #expect(bigErrno?.field == "linux.seccomp.syscalls[0].errnoRet")

        let emptyName = compileError(profile([Syscall(names: ["mkdir", ""], action: "SCMP_ACT_ERRNO")]))
        #expect(emptyName?.field == "linux.seccomp.syscalls[0].names[1]")
    }

    @Test func libseccompFailuresNameTheCallAndErrno() throws {
        // Profiles that get past the checks above are ones libseccomp accepts, so drive the context
        // directly: libseccomp cannot AND two conditions on one argument (hence runc's OR fallback).
        let filter = try FilterContext(defaultAction: SCMP_ACT_ALLOW)
        let sameArgTwice = [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: 1, datum_b: 0),
                            scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: 2, datum_b: 0)]
        let rc = filter.addRule(action: SCMP_ACT_KILL_THREAD, syscall: seccomp_syscall_resolve_name("mkdir"),
                                conditions: sameArgTwice)
        #expect(rc == -EINVAL)
        let e = SeccompError.libseccomp("seccomp_rule_add_array(mkdir)", rc: rc, field: "linux.seccomp.syscalls[1].names[1]")
        #expect(e.errno == EINVAL)
        #expect(e.description == "linux.seccomp.syscalls[1].names[1]: seccomp_rule_add_array(mkdir): EINVAL (Invalid argument)")
    }

    @Test func unsupportedArchitectureIsAnError() {
        // Known to the spec but not to every libseccomp (LoongArch arrived in 2.6).
        guard let missing = SeccompCompiler.knownArchitectures.first(where: { !SeccompCompiler.supportedArchitectures.contains($0) })
        else { return }
        let e = compileError(profile([], architectures: [missing]))
        #expect(e?.field == "linux.seccomp.architectures[0]")
        #expect(e?.reason.contains("not supported by libseccomp") == true)
    }

    @Test func features() {
        let f = SeccompCompiler.features
        #expect(f.enabled == true)
        #expect(f.actions?.contains("SCMP_ACT_NOTIFY") == false)
        #expect(f.operators?.count == 7)
        #expect(f.archs?.contains("SCMP_ARCH_X86_64") == true)
        #expect(f.archs?.contains("SCMP_ARCH_AARCH64") == true)
        #expect(f.knownFlags?.count == 4)
        #expect(Set(f.supportedFlags ?? []).isSubset(of: Set(f.knownFlags ?? [])))
        #expect(SeccompCompiler.libseccompVersion.hasPrefix("2."))
    }
}

/// The PFC lines of the native-architecture section that belong to `syscall`'s rule block.
private func ruleLines(_ pfc: String, syscall: String) -> [String] {
    let lines = pfc.split(separator: "\n").map(String.init)
    // `# filter for syscall "name" (nr)` is followed by `if ($syscall == nr)`, whose body is the rule.
    guard let comment = lines.firstIndex(where: { $0.contains("filter for syscall \"\(syscall)\"") }),
          comment + 1 < lines.count else { return [] }
    let start = comment + 1
    let base = indent(lines[start])
    var block: [String] = []
    for line in lines[(start + 1)...] {
        if indent(line) <= base { break }
        block.append(line)
    }
    return block
}

private func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
