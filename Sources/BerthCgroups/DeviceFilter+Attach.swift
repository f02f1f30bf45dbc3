import BerthOS
import Glibc

// Loading and attaching the device filter with bpf(2). Glibc's `syscall` is variadic, which
// Swift cannot call, so it is looked up once and called through a fixed-arity pointer; on
// x86_64 and arm64 Linux the integer arguments travel in the same registers either way.
// This is the module's only unsafe code and is kept to raw byte buffers for `union bpf_attr`.

enum DeviceFilterLoader {
    private static let progLoad = 5          // BPF_PROG_LOAD
    private static let progAttach = 8        // BPF_PROG_ATTACH
    private static let progDetach = 9        // BPF_PROG_DETACH
    private static let progGetFdByID = 13    // BPF_PROG_GET_FD_BY_ID
    private static let progQuery = 16        // BPF_PROG_QUERY
    private static let progTypeCgroupDevice: UInt32 = 15  // BPF_PROG_TYPE_CGROUP_DEVICE
    private static let attachCgroupDevice: UInt32 = 6     // BPF_CGROUP_DEVICE
    private static let allowMulti: UInt32 = 2             // BPF_F_ALLOW_MULTI
    /// Larger than every `union bpf_attr` member used here; the kernel requires the tail to be zero.
    private static let attrSize = 128


    /// Loads `program`, attaches it to `cgroupDirectory` with BPF_F_ALLOW_MULTI, then detaches
    /// the device filters attached before, as runc does, so an update replaces the old rules
    /// instead of adding to them (attached filters must all allow an access).
    static func loadAndAttach(_ program: [BPFInsn], cgroupDirectory: String) throws(CgroupError) {
        let dirFD = open(cgroupDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD < 0 { throw .syscall("open cgroup directory", cgroupDirectory, errno: errno) }
        defer { close(dirFD) }

        let oldPrograms = try attachedPrograms(dirFD, cgroupDirectory)
        let programFD = try load(program, cgroupDirectory)
        defer { close(programFD) }

        var attr = [UInt8](repeating: 0, count: attrSize)
        put(&attr, UInt32(dirFD), at: 0)
        put(&attr, UInt32(programFD), at: 4)
        put(&attr, attachCgroupDevice, at: 8)
        put(&attr, allowMulti, at: 12)
        if try bpf(progAttach, &attr) < 0 {
            throw .syscall("attach device filter (BPF_PROG_ATTACH) to", cgroupDirectory, errno: errno)
        }

        for id in oldPrograms {
            var byID = [UInt8](repeating: 0, count: attrSize)
            put(&byID, id, at: 0)
            let oldFD = try bpf(progGetFdByID, &byID)
            if oldFD < 0 {
                // Gone already, or hidden from us by an LSM; runc skips those too.
                if errno == ENOENT || errno == EPERM || errno == EACCES { continue }
                throw .syscall("open old device filter \(id) of", cgroupDirectory, errno: errno)
            }
            defer { close(Int32(oldFD)) }
            var detach = [UInt8](repeating: 0, count: attrSize)
            put(&detach, UInt32(dirFD), at: 0)
            put(&detach, UInt32(oldFD), at: 4)
            put(&detach, attachCgroupDevice, at: 8)
            if try bpf(progDetach, &detach) < 0 && errno != ENOENT {
                throw .syscall("detach old device filter \(id) (BPF_PROG_DETACH) from", cgroupDirectory, errno: errno)
            }
        }
    }

    /// Loads `program` and returns its fd. On failure the load is repeated with the verifier
    /// log enabled so the error says why the kernel refused it.
    static func load(_ program: [BPFInsn], _ path: String) throws(CgroupError) -> Int32 {
        let code = program.flatMap(\.bytes)
        let license = Array("Apache".utf8CString)
        var log = [UInt8](repeating: 0, count: 64 * 1024)
        for verbose in [false, true] {
            var attr = [UInt8](repeating: 0, count: attrSize)
            put(&attr, progTypeCgroupDevice, at: 0)
            put(&attr, UInt32(program.count), at: 4)
            let result: Int = code.withUnsafeBytes { codeBytes in
                license.withUnsafeBytes { licenseBytes in
                    log.withUnsafeMutableBytes { logBytes in
                        put(&attr, UInt64(UInt(bitPattern: codeBytes.baseAddress)), at: 8)
                        put(&attr, UInt64(UInt(bitPattern: licenseBytes.baseAddress)), at: 16)
                        if verbose {
                            put(&attr, UInt32(1), at: 24)
                            put(&attr, UInt32(logBytes.count), at: 28)
                            put(&attr, UInt64(UInt(bitPattern: logBytes.baseAddress)), at: 32)
                        }
                        return rawBPF(progLoad, &attr)
                    }
                }
            }
            if result >= 0 { return Int32(result) }
            let failure = errno
            if result == -2 {
                throw CgroupError.unsupported("load device filter for \(path)", "bpf(2) is not available on this architecture")
            }
            // Without the verifier's words the first error is all there is to say.
            if verbose || failure != EACCES && failure != EINVAL {
                let text = String(decoding: log.prefix(while: { $0 != 0 }), as: UTF8.self).trimmed
                return try fail(failure, path, verifierLog: text)
            }
        }
        return try fail(EINVAL, path, verifierLog: "")
    }

    private static func fail(_ code: Int32, _ path: String, verifierLog: String) throws(CgroupError) -> Int32 {
        var error = CgroupError.syscall("load device filter (BPF_PROG_LOAD) for", path, errno: code)
        if !verifierLog.isEmpty {
            error.reason = "\(errnoText(code)); verifier: \(abbreviated(String(verifierLog.suffix(400))))"
        }
        throw error
    }

    /// IDs of the device filters attached to `cgroupDirectory` now.
    static func attachedProgramIDs(of cgroupDirectory: String) throws(CgroupError) -> [UInt32] {
        let dirFD = open(cgroupDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD < 0 { throw .syscall("open cgroup directory", cgroupDirectory, errno: errno) }
        defer { close(dirFD) }
        return try attachedPrograms(dirFD, cgroupDirectory)
    }

    /// IDs of the device filters attached to the cgroup now.
    private static func attachedPrograms(_ dirFD: Int32, _ path: String) throws(CgroupError) -> [UInt32] {
        var ids = [UInt32](repeating: 0, count: 64)  // the kernel allows at most 64 per cgroup
        var attr = [UInt8](repeating: 0, count: attrSize)
        put(&attr, UInt32(dirFD), at: 0)
        put(&attr, attachCgroupDevice, at: 4)
        put(&attr, UInt32(ids.count), at: 24)
        let result: Int = ids.withUnsafeMutableBytes { idBytes in
            put(&attr, UInt64(UInt(bitPattern: idBytes.baseAddress)), at: 16)
            return rawBPF(progQuery, &attr)
        }
        if result == -2 {
            throw CgroupError.unsupported("query device filters of \(path)", "bpf(2) is not available on this architecture")
        }
        if result < 0 { throw .syscall("query device filters (BPF_PROG_QUERY) of", path, errno: errno) }
        let count = attr.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt32.self) }
        return Array(ids.prefix(Int(min(count, UInt32(ids.count)))))
    }

    private static func bpf(_ command: Int, _ attr: inout [UInt8]) throws(CgroupError) -> Int {
        let result = rawBPF(command, &attr)
        if result == -2 {
            throw CgroupError.unsupported("bpf(2)", "not available on this architecture")
        }
        return result
    }

    /// The bpf(2) result, -1 with errno set on failure, or -2 when the syscall does not exist.
    private static func rawBPF(_ command: Int, _ attr: inout [UInt8]) -> Int {
        let r = Syscalls.bpf(Int32(command), &attr)
        if r == -Int(ENOSYS) { return -2 }
        if r < 0 { errno = Int32(-r); return -1 }
        return r
    }

    private static func put<T: FixedWidthInteger>(_ attr: inout [UInt8], _ value: T, at offset: Int) {
        attr.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}
