// The exec trampoline ("dmz"): a 181-byte static ELF that does
//     execve(argv[1], &argv[2], envp)
// and exits 127 if that fails.
//
// Why: the container's init is a clone of berth-runtime, so until it execs,
// /proc/self/exe is the host's berth-runtime binary. A container binary that is
// really a script with "#!/proc/self/exe" would then run (and could rewrite) the
// host binary (CVE-2019-5736). The init therefore first execs this trampoline
// from a sealed memfd, so at the moment the container's program is exec'd,
// /proc/self/exe is an immutable copy of these few bytes. This costs one extra
// execve of a tiny static binary instead of copying the whole runtime into a
// memfd on every start.
#define _GNU_SOURCE
#include "berth_init.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#if defined(__x86_64__)
// argv = [BERTH_DMZ_MAGIC, path, arg0, arg1, ...]. The magic argv[0] means a container program
// that names the trampoline as its interpreter ("#!/proc/self/exe") gets exit 127 instead of
// re-executing itself forever.
static const unsigned char dmz_elf[] = {
    // ELF header
    0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0,                   // e_type = ET_EXEC
    0x3e, 0,                // e_machine = x86-64
    1, 0, 0, 0,             // e_version
    0x78, 0, 0x40, 0, 0, 0, 0, 0,   // e_entry = 0x400078
    64, 0, 0, 0, 0, 0, 0, 0,        // e_phoff
    0, 0, 0, 0, 0, 0, 0, 0,         // e_shoff
    0, 0, 0, 0,             // e_flags
    64, 0,                  // e_ehsize
    56, 0,                  // e_phentsize
    1, 0,                   // e_phnum
    0, 0, 0, 0, 0, 0,       // e_shentsize, e_shnum, e_shstrndx
    // Program header: one PT_LOAD, R+X, the whole file at 0x400000
    1, 0, 0, 0,             // p_type = PT_LOAD
    5, 0, 0, 0,             // p_flags = R|X
    0, 0, 0, 0, 0, 0, 0, 0,         // p_offset
    0, 0, 0x40, 0, 0, 0, 0, 0,      // p_vaddr
    0, 0, 0x40, 0, 0, 0, 0, 0,      // p_paddr
    181, 0, 0, 0, 0, 0, 0, 0,       // p_filesz
    181, 0, 0, 0, 0, 0, 0, 0,       // p_memsz
    0, 0x10, 0, 0, 0, 0, 0, 0,      // p_align
    // Code at 0x400078
    0x48, 0x8b, 0x44, 0x24, 0x08,   // mov rax, [rsp+8]         ; argv[0]
    0x48, 0x8b, 0x00,               // mov rax, [rax]           ; its first 8 bytes
    0x48, 0xb9, 'b', 'E', 'r', 'T', 'h', 'D', 'z', 0,  // mov rcx, "bErThDz\0"
    0x48, 0x39, 0xc8,               // cmp rax, rcx
    0x75, 0x1a,                     // jne fail
    0x48, 0x8b, 0x7c, 0x24, 0x10,   // mov rdi, [rsp+16]        ; path = argv[1]
    0x48, 0x8d, 0x74, 0x24, 0x18,   // lea rsi, [rsp+24]        ; &argv[2]
    0x48, 0x8b, 0x04, 0x24,         // mov rax, [rsp]           ; argc
    0x48, 0x8d, 0x54, 0xc4, 0x10,   // lea rdx, [rsp+rax*8+16]  ; envp
    0xb8, 0x3b, 0, 0, 0,            // mov eax, SYS_execve
    0x0f, 0x05,                     // syscall
    0xbf, 0x7f, 0, 0, 0,            // fail: mov edi, 127
    0xb8, 0xe7, 0, 0, 0,            // mov eax, SYS_exit_group
    0x0f, 0x05,                     // syscall
};
_Static_assert(sizeof(dmz_elf) == 181, "dmz size must match p_filesz");
#endif

int berth_memfd_create(const char *name, unsigned int flags) {
    int fd = (int)syscall(SYS_memfd_create, name, flags);
    return fd < 0 ? -errno : fd;
}

int berth_dmz_fd(void) {
#if defined(__x86_64__)
    unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int fd = (int)syscall(SYS_memfd_create, "berth-dmz", flags | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = (int)syscall(SYS_memfd_create, "berth-dmz", flags);
    if (fd < 0) return -errno;
    size_t off = 0;
    while (off < sizeof(dmz_elf)) {
        ssize_t n = write(fd, dmz_elf + off, sizeof(dmz_elf) - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno; close(fd); return -e;
        }
        off += (size_t)n;
    }
    int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 && fcntl(fd, F_ADD_SEALS, seals) < 0) {
        int e = errno; close(fd); return -e;
    }
    return fd;
#else
    return -ENOTSUP;
#endif
}
