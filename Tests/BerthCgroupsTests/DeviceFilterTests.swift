@testable import BerthCgroups
import BerthOCI
import Testing

@Suite struct DeviceFilterTests {
    static let prologue = [
        "LdXMemW dst: r2 src: r1 off: 0 imm: 0",
        "AndImm32 dst: r2 imm: 65535",
        "LdXMemW dst: r3 src: r1 off: 0 imm: 0",
        "RShImm32 dst: r3 imm: 16",
        "LdXMemW dst: r4 src: r1 off: 4 imm: 0",
        "LdXMemW dst: r5 src: r1 off: 8 imm: 0",
    ]

    /// The listing with jump offsets shown as absolute targets (`-> 12`), as runc's tests
    /// show them as block labels.
    static func listing(_ program: [BPFInsn]) -> [String] {
        program.enumerated().map { index, insn in
            guard insn.code == BPF.jneImm || insn.code == BPF.jneReg else { return insn.description }
            return insn.description.replacing(" off: \(insn.off)", with: "") + " -> \(index + 1 + Int(insn.off))"
        }
    }

    @Test func noRulesDenyEverything() throws {
        let program = try deviceFilterProgram([])
        #expect(Self.listing(program) == Self.prologue + ["MovImm32 dst: r0 imm: 0", "Exit"])
    }

    @Test func allowAllReturnsOne() throws {
        let program = try deviceFilterProgram([DeviceCgroup(allow: true, access: "rwm")])
        #expect(program.count == 8)
        #expect(Self.listing(program).suffix(2) == ["MovImm32 dst: r0 imm: 1", "Exit"])
        #expect(run(program, type: "b", major: 8, minor: 0, access: "rwm") == 1)
    }

    /// runc's TestDeviceFilter_BuiltInAllowList, same rules, same program.
    @Test func runcBuiltInAllowList() throws {
        let rules = [
            DeviceCgroup(allow: true, type: "c", access: "m"),
            DeviceCgroup(allow: true, type: "b", access: "m"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 136, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 10, minor: 200, access: "rwm"),
        ]
        let program = try deviceFilterProgram(rules)
        #expect(program.count == 64)
        func device(_ start: Int, _ major: Int, _ minor: Int) -> [String] {
            ["JNEImm dst: r2 imm: 2 -> \(start + 5)", "JNEImm dst: r4 imm: \(major) -> \(start + 5)",
             "JNEImm dst: r5 imm: \(minor) -> \(start + 5)", "MovImm32 dst: r0 imm: 1", "Exit"]
        }
        var expected = Self.prologue
        expected += ["JNEImm dst: r2 imm: 1 -> 12", "MovReg32 dst: r1 src: r3", "AndImm32 dst: r1 imm: 1",
                     "JNEReg dst: r1 src: r3 -> 12", "MovImm32 dst: r0 imm: 1", "Exit"]
        expected += ["JNEImm dst: r2 imm: 2 -> 18", "MovReg32 dst: r1 src: r3", "AndImm32 dst: r1 imm: 1",
                     "JNEReg dst: r1 src: r3 -> 18", "MovImm32 dst: r0 imm: 1", "Exit"]
        expected += device(18, 1, 3) + device(23, 1, 5) + device(28, 1, 7) + device(33, 1, 8) + device(38, 1, 9)
        expected += device(43, 5, 0) + device(48, 5, 2) + device(53, 10, 200)
        expected += ["JNEImm dst: r2 imm: 2 -> 62", "JNEImm dst: r4 imm: 136 -> 62", "MovImm32 dst: r0 imm: 1", "Exit"]
        expected += ["MovImm32 dst: r0 imm: 0", "Exit"]
        #expect(Self.listing(program) == expected)

        #expect(run(program, type: "c", major: 1, minor: 3, access: "rw") == 1)
        #expect(run(program, type: "c", major: 136, minor: 4, access: "rw") == 1)
        #expect(run(program, type: "b", major: 8, minor: 0, access: "m") == 1)
        #expect(run(program, type: "b", major: 8, minor: 0, access: "r") == 0)
        #expect(run(program, type: "c", major: 4, minor: 1, access: "rw") == 0)
    }

    /// runc's TestDeviceFilter_PrivilegedExceptSingleDevice.
    @Test func allowAllExceptOneDevice() throws {
        let program = try deviceFilterProgram([
            DeviceCgroup(allow: true, type: "a", major: -1, minor: -1, access: "rwm"),
            DeviceCgroup(allow: false, type: "b", major: 8, minor: 0, access: "rwm"),
        ])
        #expect(Self.listing(program) == Self.prologue + [
            "JNEImm dst: r2 imm: 1 -> 11", "JNEImm dst: r4 imm: 8 -> 11", "JNEImm dst: r5 imm: 0 -> 11",
            "MovImm32 dst: r0 imm: 0", "Exit", "MovImm32 dst: r0 imm: 1", "Exit",
        ])
        #expect(run(program, type: "b", major: 8, minor: 0, access: "r") == 0)
        #expect(run(program, type: "b", major: 8, minor: 1, access: "r") == 1)
    }

    /// runc's TestDeviceFilter_Weird: an `a` rule resets everything before it (last match wins).
    @Test func allRuleResetsEarlierRules() throws {
        let program = try deviceFilterProgram([
            DeviceCgroup(allow: false, type: "b", major: 8, minor: 1, access: "rwm"),
            DeviceCgroup(allow: true, type: "a", major: -1, minor: -1, access: "rwm"),
            DeviceCgroup(allow: false, type: "b", major: 8, minor: 2, access: "rwm"),
        ])
        #expect(program.count == 13)
        #expect(run(program, type: "b", major: 8, minor: 1, access: "rwm") == 1)
        #expect(run(program, type: "b", major: 8, minor: 2, access: "r") == 0)
    }

    @Test func laterRulesRemovePermissions() throws {
        let program = try deviceFilterProgram([
            DeviceCgroup(allow: false, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            DeviceCgroup(allow: false, type: "c", major: 1, minor: 3, access: "w"),
        ])
        #expect(run(program, type: "c", major: 1, minor: 3, access: "r") == 1)
        #expect(run(program, type: "c", major: 1, minor: 3, access: "m") == 1)
        #expect(run(program, type: "c", major: 1, minor: 3, access: "w") == 0)
        #expect(run(program, type: "c", major: 1, minor: 3, access: "rw") == 0)
    }

    @Test func punchingAHoleInAWildcardIsRefused() {
        let error = #expect(throws: CgroupError.self) {
            try deviceFilterProgram([
                DeviceCgroup(allow: false, access: "rwm"),
                DeviceCgroup(allow: true, type: "c", major: 136, access: "rwm"),
                DeviceCgroup(allow: false, type: "c", major: 136, minor: 1, access: "r"),
            ])
        }
        #expect(error?.description.contains("c 136:* rwm") == true)
    }

    @Test func badRulesNameTheirIndex() {
        let error = #expect(throws: CgroupError.self) {
            try deviceFilterProgram([DeviceCgroup(allow: true), DeviceCgroup(allow: true, type: "c", access: "x")])
        }
        #expect(error?.description.hasPrefix("invalid linux.resources.devices[1].access") == true)
    }

    @Test func encodesKernelLayout() {
        let insn = BPFInsn(code: BPF.jneImm, dst: 4, src: 1, off: -2, imm: 0x0102_0304)
        #expect(insn.bytes == [0x55, 0x14, 0xfe, 0xff, 0x04, 0x03, 0x02, 0x01])
    }

    @Test func v1LinesUseStarsForWildcards() throws {
        #expect(try DeviceRule(DeviceCgroup(allow: true), field: "f").v1Line == "a *:* rwm")
        #expect(try DeviceRule(DeviceCgroup(allow: true, type: "b", major: 8, access: "mr"), field: "f").v1Line == "b 8:* rm")
        #expect(try DeviceRule(DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "w"), field: "f").v1Line == "c 1:3 w")
    }
}

/// Runs a device filter the way the kernel does for one access: `struct bpf_cgroup_dev_ctx`
/// is {access_type = type | access << 16, major, minor}. Only the opcodes the filter emits.
func run(_ program: [BPFInsn], type: Character, major: UInt32, minor: UInt32, access: String) -> UInt64? {
    var accessBits: UInt32 = 0
    for letter in access {
        accessBits |= letter == "m" ? 1 : letter == "r" ? 2 : 4
    }
    let context: [UInt32] = [(type == "b" ? 1 : 2) | (accessBits << 16), major, minor]
    var registers = [UInt64](repeating: 0, count: 11)
    var pc = 0
    for _ in 0..<1000 {
        guard pc < program.count else { return nil }
        let insn = program[pc]
        let dst = Int(insn.dst), src = Int(insn.src)
        let imm64 = UInt64(bitPattern: Int64(insn.imm))
        pc += 1
        switch insn.code {
        case BPF.loadWord: registers[dst] = UInt64(context[Int(insn.off) / 4])  // R1 is the context
        case BPF.andImm32: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[dst]) & UInt32(bitPattern: insn.imm))
        case BPF.rshImm32: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[dst]) >> UInt32(insn.imm))
        case BPF.movImm32: registers[dst] = UInt64(UInt32(bitPattern: insn.imm))
        case BPF.movReg32: registers[dst] = UInt64(UInt32(truncatingIfNeeded: registers[src]))
        case BPF.jneImm: if registers[dst] != imm64 { pc += Int(insn.off) }
        case BPF.jneReg: if registers[dst] != registers[src] { pc += Int(insn.off) }
        case BPF.exit: return registers[0]
        default: return nil
        }
    }
    return nil
}
