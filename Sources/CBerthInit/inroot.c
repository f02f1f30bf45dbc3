// Thin wrappers for syscalls Glibc does not expose to Swift (openat2, the new mount API) and xattrs. Used by BerthOS/InRoot.swift and the snapshotter's overlay mounts. Each
// returns -1 with errno set on failure, like the syscall itself.
#define _GNU_SOURCE
#include "berth_init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = {.flags = flags | O_CLOEXEC, .mode = mode, .resolve = resolve};
    long fd;
    do { fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how)); } while (fd < 0 && errno == EINTR);
    return (int)fd;
}

int berth_fsopen(const char *fsname, unsigned int flags) { return (int)syscall(SYS_fsopen, fsname, flags); }

int berth_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux) {
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

int berth_fsmount(int fd, unsigned int flags, unsigned int attr_flags) {
    return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}

int berth_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags) {
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

// <sys/xattr.h> is not part of the Glibc module Swift sees.
#include <sys/xattr.h>

int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

int berth_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

long berth_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return (long)lgetxattr(path, name, value, size);
}

// rename(2) that fails with EEXIST instead of replacing (renameat2 RENAME_NOREPLACE), so two
// processes committing the same snapshot cannot swap one for the other under a mount.
int berth_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
}
