import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS
import BerthSeccomp

/// Compiled seccomp filters kept in the state root, keyed by a hash of the profile: compiling
/// Docker's default profile with libseccomp takes ~10 ms, longer than the rest of a container
/// start. The state root is root-only (0700), so the cache is as trusted as the state itself.
struct SeccompCache: Sendable {
    var dir: String

    static let magic: [UInt8] = Array("BERTHBPF1\n".utf8)

    func compile(_ s: Seccomp) throws(SpecError) -> CompiledSeccomp {
        let key = SeccompCache.key(s)
        let path = "\(dir)/seccomp-\(key).bpf"
        if let cached = load(path) { return cached }
        let compiled: CompiledSeccomp
        do { compiled = try SeccompCompiler.compile(s) } catch { throw SpecError(field: "linux.seccomp", "\(error)") }
        store(compiled, path: path)
        return compiled
    }

    /// FNV-1a over the canonical JSON of the profile plus what changes the output.
    static func key(_ s: Seccomp) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var bytes = [UInt8]((try? enc.encode(s)) ?? Data())
        bytes += Array("|libseccomp \(SeccompCompiler.libseccompVersion)|\(SeccompCompiler.supportedFlags.joined(separator: ","))".utf8)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func load(_ path: String) -> CompiledSeccomp? {
        guard let bytes = try? FS.readBytes(path, limit: 1 << 20), bytes.count >= SeccompCache.magic.count + 4,
              Array(bytes.prefix(SeccompCache.magic.count)) == SeccompCache.magic else { return nil }
        var off = SeccompCache.magic.count
        var flags: UInt32 = 0
        for i in 0..<4 { flags |= UInt32(bytes[off + i]) << (8 * UInt32(i)) }
        off += 4
        let body = bytes.count - off
        guard body > 0, body % 8 == 0 else { return nil }
        var insns: [UInt64] = []
        insns.reserveCapacity(body / 8)
        while off < bytes.count {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[off + i]) << (8 * UInt64(i)) }
            insns.append(v)
            off += 8
        }
        return CompiledSeccomp(instructions: insns, flags: flags)
    }

    func store(_ c: CompiledSeccomp, path: String) {
        var bytes = SeccompCache.magic
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: c.flags >> (8 * UInt32(i)))) }
        for v in c.instructions { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        // Best effort: a cache that can't be written only costs time.
        try? FS.mkdirAll(dir, mode: 0o700)
        try? FS.write(path, bytes, mode: 0o600, atomic: true)
    }
}
