import BerthOCI
import CSeccomp
import Glibc
import Testing
@testable import BerthSeccomp

/// `long syscall(long nr, ...)`, called through a fixed-arity pointer. Swift cannot call C variadic
/// functions, and neither `prctl` nor seccomp(2) has a non-variadic wrapper in glibc. On the x86_64
/// and aarch64 Linux ABIs integer variadic arguments travel in the same registers as fixed ones, and
/// glibc's `syscall` is assembly that reads exactly those registers, so this is a faithful call.
/// All six argument registers are passed, as zeros where unused: prctl rejects garbage in unused ones.
private typealias RawSyscall = @convention(c) (Int, Int, Int, Int, Int, Int, Int) -> Int

@Suite struct FilterBehaviourTests {
    /// Loads a compiled filter into a forked child the way the runtime's init will (no_new_privs, then
    /// seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)) and checks that mkdir now fails with EPERM.
    ///
    /// The child runs in a copy of this multi-threaded test process, so between fork and _exit it only
    /// makes raw calls on memory prepared beforehand: no allocation, no locks, no Swift runtime work.
    @Test func appliedFilterMakesMkdirFailWithEPERM() throws {
        let s = Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                        syscalls: [Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO")])
        let compiled = try SeccompCompiler.compile(s)

        let symbol = try #require(dlsym(nil, "syscall"))
        let raw = unsafeBitCast(symbol, to: RawSyscall.self)
        let nrPrctl = Int(seccomp_syscall_resolve_name("prctl"))
        let nrSeccomp = Int(seccomp_syscall_resolve_name("seccomp"))
        try #require(nrPrctl >= 0 && nrSeccomp >= 0)
        let prSetNoNewPrivs = 38, seccompSetModeFilter = 1

        // struct sock_filter[] and struct sock_fprog { unsigned short len; struct sock_filter *filter; }.
        let program = UnsafeMutablePointer<UInt64>.allocate(capacity: compiled.count)
        program.initialize(from: compiled.instructions, count: compiled.count)
        defer { program.deallocate() }
        let fprog = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
        defer { fprog.deallocate() }
        fprog.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
        fprog.storeBytes(of: UInt16(compiled.count), as: UInt16.self)
        fprog.storeBytes(of: UnsafeRawPointer(program), toByteOffset: MemoryLayout<UnsafeRawPointer>.stride, as: UnsafeRawPointer.self)

        let dir = "/tmp/berth-seccomp-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let path = try #require(strdup(dir))
        defer { free(path) }
        defer { rmdir(path) }  // Whichever process managed to create it.
        let flags = Int(compiled.flags)
        let fprogAddress = Int(bitPattern: fprog)

        let pid = fork()
        if pid == 0 {
            if raw(nrPrctl, prSetNoNewPrivs, 1, 0, 0, 0, 0) != 0 { _exit(3) }
            if raw(nrSeccomp, seccompSetModeFilter, flags, fprogAddress, 0, 0, 0) != 0 { _exit(2) }
            if mkdir(path, 0o700) == 0 { _exit(1) }
            _exit(errno == EPERM ? 0 : 4)
        }
        try #require(pid > 0, "fork: errno \(errno)")

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            try #require(errno == EINTR, "waitpid: errno \(errno)")
        }
        let signal = status & 0x7F
        let exitCode = (status >> 8) & 0xFF
        let meaning = [0: "mkdir failed with EPERM", 1: "mkdir succeeded", 2: "seccomp(2) failed",
                       3: "prctl(PR_SET_NO_NEW_PRIVS) failed", 4: "mkdir failed with another errno"]
        #expect(signal == 0, "child killed by signal \(signal)")
        #expect(exitCode == 0, "child: \(meaning[Int(exitCode)] ?? "exit \(exitCode)")")

        // The filter stayed in the child: here the same mkdir works (so EPERM came from the filter).
        #expect(mkdir(path, 0o700) == 0, "parent mkdir: errno \(errno)")
    }
}
