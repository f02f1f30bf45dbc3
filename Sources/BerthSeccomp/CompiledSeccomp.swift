/// A compiled filter ready for `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`.
///
/// Layout of `instructions`: each element is one `struct sock_filter` (`u16 code; u8 jt; u8 jf; u32 k`)
/// exactly as it lies in memory on this host, so the array's storage *is* the `sock_filter[]` the
/// kernel wants — build the `sock_fprog` as `{ len: UInt16(count), filter: instructions.withUnsafeBufferPointer(\.baseAddress) }`.
/// On little-endian hosts (x86_64, aarch64) that means `code` = bits 0–15, `jt` = 16–23, `jf` = 24–31,
/// `k` = 32–63 of each `UInt64`. `decoded` gives the fields without caring about byte order.
public struct CompiledSeccomp: Sendable, Equatable {
    /// The BPF program, one `struct sock_filter` per element (see the type's documentation).
    public var instructions: [UInt64]
    /// `SECCOMP_FILTER_FLAG_*` bits for the `flags` argument of seccomp(2), from `linux.seccomp.flags`:
    /// TSYNC = 1, LOG = 2, SPEC_ALLOW = 4. `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` is accepted but not
    /// set: it only qualifies a notification listener (the kernel rejects it without
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`), and SCMP_ACT_NOTIFY is not supported yet.
    public var flags: UInt32
    /// Number of instructions (the `len` of `struct sock_fprog`).
    public var count: Int
    /// Syscall names from the profile that this libseccomp does not know, skipped as runc does
    /// (profiles name syscalls newer than the library). Each name appears once; for debug logging.
    public var skippedSyscalls: [String]

    public init(instructions: [UInt64], flags: UInt32, skippedSyscalls: [String] = []) {
        self.instructions = instructions; self.flags = flags; self.count = instructions.count
        self.skippedSyscalls = skippedSyscalls
    }

    /// One BPF instruction, field by field.
    public struct Instruction: Sendable, Equatable, CustomStringConvertible {
        public var code: UInt16
        public var jt: UInt8
        public var jf: UInt8
        public var k: UInt32
        public init(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32) {
            self.code = code; self.jt = jt; self.jf = jf; self.k = k
        }
        public var description: String {
            "{ 0x\(String(code, radix: 16)), \(jt), \(jf), 0x\(String(k, radix: 16)) }"
        }
    }

    /// `instructions` split into their `sock_filter` fields.
    public var decoded: [Instruction] {
        instructions.map { word in
            withUnsafeBytes(of: word) { raw in
                Instruction(code: raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self),
                            jt: raw[2], jf: raw[3],
                            k: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            }
        }
    }
}
