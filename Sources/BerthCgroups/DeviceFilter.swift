import BerthOCI

// cgroup v2 has no devices.allow/deny files: access is decided by an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. This file builds the same program as
// runc's libcontainer/cgroups/devices/devicefilter.go, including its v1 emulation, so a rule
// list means the same thing on both cgroup versions.

/// One eBPF instruction, laid out like the kernel's `struct bpf_insn`.
public struct BPFInsn: Sendable, Equatable, CustomStringConvertible {
    /// Opcode: instruction class | operation | source.
    public var code: UInt8
    /// Destination register (0-10).
    public var dst: UInt8
    /// Source register (0-10).
    public var src: UInt8
    /// Jump offset, relative to the next instruction; or memory offset for loads.
    public var off: Int16
    /// Immediate operand.
    public var imm: Int32

    /// An instruction; registers and offsets default to 0.
    public init(code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) {
        self.code = code; self.dst = dst; self.src = src; self.off = off; self.imm = imm
    }

    /// The 8 bytes the kernel reads: code, dst/src nibbles, off, imm, in little-endian order
    /// (the byte order of every Linux host Swift targets here).
    public var bytes: [UInt8] {
        let offset = UInt16(bitPattern: off)
        let immediate = UInt32(bitPattern: imm)
        return [code, (src << 4) | (dst & 0x0f),
                UInt8(offset & 0xff), UInt8(offset >> 8),
                UInt8(immediate & 0xff), UInt8((immediate >> 8) & 0xff),
                UInt8((immediate >> 16) & 0xff), UInt8(immediate >> 24)]
    }

    /// A listing in the style of cilium/ebpf's `asm`, which runc's tests use.
    public var description: String {
        switch code {
        case BPF.loadWord: return "LdXMemW dst: r\(dst) src: r\(src) off: \(off) imm: \(imm)"
        case BPF.andImm32: return "AndImm32 dst: r\(dst) imm: \(imm)"
        case BPF.rshImm32: return "RShImm32 dst: r\(dst) imm: \(imm)"
        case BPF.movImm32: return "MovImm32 dst: r\(dst) imm: \(imm)"
        case BPF.movReg32: return "MovReg32 dst: r\(dst) src: r\(src)"
        case BPF.jneImm: return "JNEImm dst: r\(dst) off: \(off) imm: \(imm)"
        case BPF.jneReg: return "JNEReg dst: r\(dst) off: \(off) src: r\(src)"
        case BPF.exit: return "Exit"
        default: return "Op(\(code)) dst: r\(dst) src: r\(src) off: \(off) imm: \(imm)"
        }
    }
}

/// Opcodes and kernel constants the device filter uses (linux/bpf.h, linux/bpf_common.h).
enum BPF {
    static let loadWord: UInt8 = 0x61   // BPF_LDX | BPF_MEM | BPF_W
    static let andImm32: UInt8 = 0x54   // BPF_ALU | BPF_AND | BPF_K
    static let rshImm32: UInt8 = 0x74   // BPF_ALU | BPF_RSH | BPF_K
    static let movImm32: UInt8 = 0xb4   // BPF_ALU | BPF_MOV | BPF_K
    static let movReg32: UInt8 = 0xbc   // BPF_ALU | BPF_MOV | BPF_X
    static let jneImm: UInt8 = 0x55     // BPF_JMP | BPF_JNE | BPF_K
    static let jneReg: UInt8 = 0x5d     // BPF_JMP | BPF_JNE | BPF_X
    static let exit: UInt8 = 0x95       // BPF_JMP | BPF_EXIT

    // struct bpf_cgroup_dev_ctx.access_type: type in the low 16 bits, access in the high 16.
    static let devBlock: Int32 = 1      // BPF_DEVCG_DEV_BLOCK
    static let devChar: Int32 = 2       // BPF_DEVCG_DEV_CHAR
    static let accessMknod: UInt8 = 1   // BPF_DEVCG_ACC_MKNOD
    static let accessRead: UInt8 = 2    // BPF_DEVCG_ACC_READ
    static let accessWrite: UInt8 = 4   // BPF_DEVCG_ACC_WRITE
    static let accessAll: UInt8 = 7
}

/// A device rule with the OCI defaults filled in: no type means `a`, no number means any
/// (`-1`, runc's wildcard), no access means `rwm`.
struct DeviceRule: Equatable {
    var allow: Bool
    var type: Character
    var major: Int64
    var minor: Int64
    /// `BPF.access*` bits.
    var access: UInt8

    init(_ rule: DeviceCgroup, field: String) throws(CgroupError) {
        allow = rule.allow
        switch rule.type ?? "a" {
        case "a": type = "a"
        case "b": type = "b"
        case "c": type = "c"
        default: throw .invalid(field + ".type", "\"\(rule.type ?? "")\" is not a, b or c")
        }
        for (name, number) in [("major", rule.major), ("minor", rule.minor)] {
            if let number, number > Int64(UInt32.max) {
                throw .invalid("\(field).\(name)", "\(number) does not fit in 32 bits")
            }
        }
        major = max(rule.major ?? -1, -1)
        minor = max(rule.minor ?? -1, -1)
        let letters = rule.access ?? ""
        var access: UInt8 = 0
        for letter in letters {
            switch letter {
            case "r": access |= BPF.accessRead
            case "w": access |= BPF.accessWrite
            case "m": access |= BPF.accessMknod
            default: throw .invalid(field + ".access", "\"\(letters)\" may only contain r, w and m")
            }
        }
        self.access = access == 0 ? BPF.accessAll : access
    }

    /// The line cgroup v1's devices.allow / devices.deny take: `c 1:3 rwm`, `a *:* rwm`.
    var v1Line: String {
        let majorText = major < 0 ? "*" : String(major)
        let minorText = minor < 0 ? "*" : String(minor)
        return "\(type) \(majorText):\(minorText) \(DeviceRule.letters(access))"
    }

    static func letters(_ access: UInt8) -> String {
        var text = ""
        if access & BPF.accessRead != 0 { text += "r" }
        if access & BPF.accessWrite != 0 { text += "w" }
        if access & BPF.accessMknod != 0 { text += "m" }
        return text
    }
}

/// Replays rules the way the v1 devices controller does, reducing any list to a default
/// (allow or deny all) plus exceptions that all have the opposite verdict. Port of runc's
/// devices.Emulator.
struct DeviceRuleEmulator {
    struct Key: Hashable {
        var type: Character
        var major: Int64
        var minor: Int64
    }

    /// Like runc, a list without an `a` rule starts from deny-all (container specs begin with
    /// one anyway; an absent or empty list is never turned into a program).
    private(set) var defaultAllow = false
    private(set) var exceptions: [Key: UInt8] = [:]

    mutating func apply(_ rule: DeviceRule) throws(CgroupError) {
        // An `a` rule resets the list whatever its numbers and access say, as in the kernel.
        if rule.type == "a" {
            defaultAllow = rule.allow
            exceptions = [:]
            return
        }
        let key = Key(type: rule.type, major: rule.major, minor: rule.minor)
        if rule.allow == defaultAllow {
            try remove(key, rule.access, rule: rule)
        } else {
            exceptions[key, default: 0] |= rule.access
        }
    }

    private mutating func remove(_ key: Key, _ access: UInt8, rule: DeviceRule) throws(CgroupError) {
        // v1 silently ignores removing part of a wildcard exception; runc refuses rather than
        // give a false sense of security, and so do we.
        let wildcards = [Key(type: key.type, major: -1, minor: key.minor),
                         Key(type: key.type, major: key.major, minor: -1),
                         Key(type: key.type, major: -1, minor: -1)]
        for wildcard in wildcards where wildcard != key {
            if let existing = exceptions[wildcard], existing & access != 0 {
                let held = DeviceRule.letters(existing)
                throw .invalid("linux.resources.devices",
                               "rule \"\(rule.v1Line)\" would punch a hole in the wildcard rule \"\(wildcard.type) \(wildcard.major < 0 ? "*" : String(wildcard.major)):\(wildcard.minor < 0 ? "*" : String(wildcard.minor)) \(held)\", which the devices cgroup cannot express")
            }
        }
        let remaining = (exceptions[key] ?? 0) & ~access
        exceptions[key] = remaining == 0 ? nil : remaining
    }

    /// Exceptions sorted like runc's orderedEntries: by major, minor, then type.
    var orderedExceptions: [(key: Key, access: UInt8)] {
        exceptions.map { (key: $0.key, access: $0.value) }.sorted { a, b in
            if a.key.major != b.key.major { return a.key.major < b.key.major }
            if a.key.minor != b.key.minor { return a.key.minor < b.key.minor }
            return a.key.type < b.key.type
        }
    }
}

/// The cgroup v2 device filter for `rules`, matching runc's devicefilter: the rules are first
/// reduced like the v1 controller would (`a` rules reset, last rule wins), then each exception
/// becomes a block that returns its verdict when type, access, major and minor match; the
/// program ends by returning the default (1 = allow, 0 = deny). An empty list denies all.
///
/// Registers: R1 is `struct bpf_cgroup_dev_ctx *`; R2 = device type, R3 = requested access,
/// R4 = major, R5 = minor.
public func deviceFilterProgram(_ rules: [DeviceCgroup]) throws(CgroupError) -> [BPFInsn] {
    var emulator = DeviceRuleEmulator()
    for (index, rule) in rules.enumerated() {
        try emulator.apply(DeviceRule(rule, field: "linux.resources.devices[\(index)]"))
    }

    var program: [BPFInsn] = [
        BPFInsn(code: BPF.loadWord, dst: 2, src: 1, off: 0),
        BPFInsn(code: BPF.andImm32, dst: 2, imm: 0xFFFF),
        BPFInsn(code: BPF.loadWord, dst: 3, src: 1, off: 0),
        BPFInsn(code: BPF.rshImm32, dst: 3, imm: 16),
        BPFInsn(code: BPF.loadWord, dst: 4, src: 1, off: 4),
        BPFInsn(code: BPF.loadWord, dst: 5, src: 1, off: 8),
    ]
    for (key, access) in emulator.orderedExceptions {
        // Every failed check skips to the next block; offsets are patched once its start is known.
        var jumps: [Int] = []
        jumps.append(program.count)
        program.append(BPFInsn(code: BPF.jneImm, dst: 2, imm: key.type == "b" ? BPF.devBlock : BPF.devChar))
        if access != BPF.accessAll {
            // if (R3 & access) != R3: the request asks for something this rule does not cover.
            program.append(BPFInsn(code: BPF.movReg32, dst: 1, src: 3))
            program.append(BPFInsn(code: BPF.andImm32, dst: 1, imm: Int32(access)))
            jumps.append(program.count)
            program.append(BPFInsn(code: BPF.jneReg, dst: 1, src: 3))
        }
        if key.major >= 0 {
            jumps.append(program.count)
            program.append(BPFInsn(code: BPF.jneImm, dst: 4, imm: Int32(truncatingIfNeeded: key.major)))
        }
        if key.minor >= 0 {
            jumps.append(program.count)
            program.append(BPFInsn(code: BPF.jneImm, dst: 5, imm: Int32(truncatingIfNeeded: key.minor)))
        }
        program.append(BPFInsn(code: BPF.movImm32, dst: 0, imm: emulator.defaultAllow ? 0 : 1))
        program.append(BPFInsn(code: BPF.exit))
        let next = program.count
        for jump in jumps {
            program[jump].off = Int16(next - jump - 1)
        }
    }
    program.append(BPFInsn(code: BPF.movImm32, dst: 0, imm: emulator.defaultAllow ? 1 : 0))
    program.append(BPFInsn(code: BPF.exit))
    return program
}
