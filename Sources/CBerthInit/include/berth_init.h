// The part of berth-runtime that must run single-threaded: the child of clone().
//
// The Swift parent is multi-threaded, so everything after clone() in the child
// runs here, in C, using only raw syscalls on memory prepared by the parent
// (no malloc, no locks, no stdio). The parent fills a berth_plan, calls
// berth_spawn, and talks to the child over a SOCK_SEQPACKET socketpair with
// small JSON messages (see Documentation/runtime.md).
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum berth_mount_kind {
    BERTH_MOUNT_NORMAL = 0,   // mount(source, dest, fstype, flags, data)
    BERTH_MOUNT_BIND = 1,     // bind (or rbind with MS_REC) of a host path
};

struct berth_mount {
    const char *source;        // host path for binds; fs source name otherwise
    const char *dest;          // absolute path inside the container root (already cleaned)
    const char *fstype;        // NULL for binds
    const char *data;          // fs options ("mode=755,size=65536k"), or NULL
    unsigned long flags;       // MS_* for the first mount (MS_BIND|MS_REC for rbind)
    unsigned long remount_flags; // for binds: MS_RDONLY/NOSUID/... applied by a bind remount; 0 if none
    unsigned long propagation; // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC), 0 if none
    int kind;                  // berth_mount_kind
    int source_fd;             // binds: a detached copy of the source (open_tree) made by the parent, or -1
    int dest_is_file;          // create a file (not a directory) as the mount point
    int dest_is_symlink;       // create dest as a symlink to source instead of mounting
    uint64_t rec_attr_set;     // mount_setattr(AT_RECURSIVE) attributes ("rro" …), 0 = none
    uint64_t rec_attr_clr;
};

struct berth_device {
    const char *path;          // absolute in the container
    const char *host_path;     // for bind mode (user namespaces): the host node to bind
    mode_t mode;               // S_IFCHR/S_IFBLK/S_IFIFO | permission bits
    dev_t dev;                 // makedev(major, minor)
    uid_t uid;
    gid_t gid;
    int bind;                  // bind mount the host node instead of mknod
};

struct berth_hook {
    const char *path;
    char *const *argv;         // NULL-terminated
    char *const *envp;         // NULL-terminated
    int timeout;               // seconds; 0 = none
};

struct berth_kv {
    const char *key;
    const char *value;
};

struct berth_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

struct berth_plan {
    // Namespaces.
    unsigned long clone_flags;   // CLONE_NEW* created by clone() itself
    int unshare_cgroupns;        // unshare(CLONE_NEWCGROUP) after the parent placed us in the cgroup
    unsigned long unshare_flags; // CLONE_NEW* to unshare after the joins (joined user namespace);
                                 // with CLONE_NEWPID the child forks and reports {"type":"pid"}
    int join_fds[8];             // namespace fds to setns() into, in order (user first)
    int join_types[8];
    const char *join_paths[8];   // for error messages
    int n_join;
    int sync_fd;                 // child's end of the socketpair
    int is_exec;                 // exec into a running container: no rootfs set-up
    int exec_root_fd;            // exec: O_PATH fd of /proc/<init>/root to chroot into, or -1

    // Root filesystem.
    int setup_rootfs;            // 1 when the container has its own mount namespace
    const char *rootfs;          // absolute host path of the bundle's root
    unsigned long root_propagation;   // applied to "/" before anything (MS_SLAVE|MS_REC by default)
    unsigned long rootfs_propagation; // rootfsPropagation applied after pivot_root, 0 if unset
    int readonly_root;
    int no_pivot;
    const struct berth_mount *mounts; int n_mounts;
    const struct berth_device *devices; int n_devices;
    int dev_links;               // make /dev/fd, stdin, stdout, stderr, ptmx links (a fresh /dev)
    int dev_console;             // create /dev/console for the terminal
    unsigned long dev_readonly_flags; // MS_RDONLY|… to remount /dev with once populated, 0 = leave
    const char *const *masked; int n_masked;
    const char *const *readonly_paths; int n_readonly;

    // Identity and limits.
    const char *hostname;        // NULL = leave alone
    const char *domainname;
    const struct berth_kv *sysctls; int n_sysctls;   // key = "net/ipv4/ip_forward"
    const struct berth_rlimit *rlimits; int n_rlimits;
    unsigned long personality; int set_personality;

    // Credentials.
    uint32_t uid, gid;
    const uint32_t *groups; int n_groups; int set_groups;
    int umask;                   // -1 = leave alone
    int set_caps;
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    int last_cap;                // highest capability number the kernel knows
    int no_new_privs;

    // Seccomp (compiled by the parent with libseccomp).
    const void *seccomp_filter;  // struct sock_filter[]
    unsigned short seccomp_len;  // number of instructions, 0 = no filter
    unsigned int seccomp_flags;

    // What to run.
    const char *cwd;
    char *const *argv;           // NULL-terminated, argv[0] as given
    char *const *envp;
    const char *path_env;        // PATH to search when argv[0] has no slash
    int dmz_fd;                  // sealed memfd of the tiny exec trampoline, or -1
    int preserve_fds;            // fds 3 .. 3+n-1 survive
    int reset_sigmask;

    // Terminal.
    int terminal;
    int console_fd;              // connected console socket, -1 if none
    unsigned short cols, rows;

    // Start gate: created containers block opening the exec fifo until `start`.
    int fifo_fd;                 // O_PATH fd of exec.fifo, -1 = wait for "start" on sync_fd instead (run), -2 = no wait (exec)
    int host_proc_fd;            // O_PATH fd of the host /proc (to reopen fifo_fd after pivot_root)

    // Hooks run inside the container's namespaces.
    const struct berth_hook *create_container_hooks; int n_create_container;
    const struct berth_hook *start_container_hooks; int n_start_container;
    int want_runtime_hooks;      // ask the parent to run prestart/createRuntime hooks before pivot_root
    char *state_buf; size_t state_cap; // receives the container state for hooks' stdin
};

// GNU constants Swift's Glibc module does not expose.
#define BERTH_O_PATH 010000000
#define BERTH_CLONE_NEWNS 0x00020000
#define BERTH_CLONE_NEWCGROUP 0x02000000
#define BERTH_CLONE_NEWUTS 0x04000000
#define BERTH_CLONE_NEWIPC 0x08000000
#define BERTH_CLONE_NEWUSER 0x10000000
#define BERTH_CLONE_NEWPID 0x20000000
#define BERTH_CLONE_NEWNET 0x40000000
#define BERTH_CLONE_NEWTIME 0x00000080
/// argv[0] the exec trampoline insists on (8 bytes with the NUL; see dmz.c).
#define BERTH_DMZ_MAGIC "bErThDz"
int berth_pipe2(int fds[2], int flags);
/// Reads up to cap bytes of path resolved inside root (openat2 RESOLVE_IN_ROOT): a file of a
/// container image read from the host without following its symlinks out. Bytes read or -errno.
long berth_read_in_root(const char *root, const char *path, char *buf, size_t cap);
/// open_tree(path, OPEN_TREE_CLONE): a detached copy of a mount tree to attach elsewhere. fd or -errno.
int berth_open_tree_clone(const char *path, int recursive);
// Syscalls Swift's Glibc module does not declare; each returns the result or -errno.
int berth_eventfd(unsigned int initval, int flags);
int berth_inotify_init1(int flags);
int berth_inotify_add_watch(int fd, const char *path, uint32_t mask);
long berth_bpf(int cmd, void *attr, unsigned int size);
/// The CLONE_NEW* type of a namespace fd (ioctl NS_GET_NSTYPE), or -errno.
int berth_ns_type(int fd);
/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants (a two-stage init) are reparented to us.
int berth_set_subreaper(void);
/// statfs(2) f_type of path, or -1 with errno set (Glibc's Swift module does not expose statfs).
long berth_fs_type(const char *path);

// Network namespaces (netns.c). Each returns 0 (or an fd) on success, -errno on failure with
// *stage naming the step: 0 create file, 1 unshare, 2 loopback up, 3 bind mount, 4 setns,
// 5 socket, 6 address, 7 bind, 8 listen, 9 thread.
int berth_netns_create(const char *path, int *stage);
// A socket (SOCK_STREAM listens with `backlog` unless it is negative) bound to addr:port inside
// the namespace at `path` (NULL: the caller's own), close-on-exec and non-blocking; `reuse` sets
// SO_REUSEADDR.
int berth_netns_socket(const char *path, int domain, int type, const char *addr, int port, int backlog, int reuse,
                       int *stage);
int berth_socket_port(int fd);
dev_t berth_makedev(unsigned int major, unsigned int minor);

/// clone()s the child with plan->clone_flags and runs the init in it.
/// Returns the child's pid (in the caller's pid namespace) or -errno.
pid_t berth_spawn(const struct berth_plan *plan);

/// Creates the sealed memfd holding the exec trampoline (see dmz.c); returns fd or -errno.
/// Returns -ENOTSUP on architectures without a trampoline.
int berth_dmz_fd(void);

/// Sends fd over a unix socket with SCM_RIGHTS, with `name` as payload. 0 or -errno.
int berth_send_fd(int sock, int fd, const char *name);
/// Receives one fd sent with SCM_RIGHTS. fd or -errno.
int berth_recv_fd(int sock);

/// setns() wrapper (glibc's is fine, but keeps the Swift side free of C macros).
int berth_setns(int fd, int nstype);
int berth_pidfd_open(pid_t pid);
int berth_pidfd_send_signal(int pidfd, int sig);
int berth_memfd_create(const char *name, unsigned int flags);
int berth_close_range_cloexec(unsigned int first);

// inroot.c: syscalls Glibc does not wrap for Swift. -1 with errno on failure.
int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int berth_fsopen(const char *fsname, unsigned int flags);
int berth_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux);
int berth_fsmount(int fd, unsigned int flags, unsigned int attr_flags);
int berth_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags);
int berth_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int berth_fsetxattr(int fd, const char *name, const void *value, size_t size);
long berth_lgetxattr(const char *path, const char *name, void *value, size_t size);
int berth_rename_noreplace(const char *from, const char *to);

#ifdef __cplusplus
}
#endif
#endif
