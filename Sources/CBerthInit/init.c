// The container's init, from clone() to execve(). See berth_init.h.
//
// Rules for this file: the child is a fork of a multi-threaded process, so it
// may only use async-signal-safe calls: raw syscalls, no malloc, no stdio, no
// locks. Every failure reports "<step> <path>: <reason>" to the parent over
// the sync socket and exits.
#define _GNU_SOURCE
#include "berth_init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// ---------------------------------------------------------------------------
// Tiny async-signal-safe string helpers.

static char msgbuf[8192];
static size_t msglen;

static void m_reset(void) { msglen = 0; msgbuf[0] = 0; }
static void m_raw(const char *s) {
    while (s && *s && msglen + 1 < sizeof(msgbuf)) msgbuf[msglen++] = *s++;
    msgbuf[msglen] = 0;
}
// Appends s escaped for a JSON string.
static void m_esc(const char *s) {
    static const char hex[] = "0123456789abcdef";
    for (; s && *s && msglen + 7 < sizeof(msgbuf); s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { msgbuf[msglen++] = '\\'; msgbuf[msglen++] = (char)c; }
        else if (c < 0x20) {
            msgbuf[msglen++] = '\\'; msgbuf[msglen++] = 'u'; msgbuf[msglen++] = '0';
            msgbuf[msglen++] = '0'; msgbuf[msglen++] = hex[c >> 4]; msgbuf[msglen++] = hex[c & 15];
        } else msgbuf[msglen++] = (char)c;
    }
    msgbuf[msglen] = 0;
}
static void fmt_int(char *out, long v) {
    char tmp[24]; int n = 0; bool neg = v < 0;
    unsigned long u = neg ? (unsigned long)(-v) : (unsigned long)v;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    int i = 0;
    if (neg) out[i++] = '-';
    while (n) out[i++] = tmp[--n];
    out[i] = 0;
}
static size_t s_len(const char *s) { size_t n = 0; while (s && s[n]) n++; return n; }
// Copies a, b (and c) into out (size cap); returns false if it does not fit.
static bool s_cat3(char *out, size_t cap, const char *a, const char *b, const char *c) {
    size_t la = s_len(a), lb = s_len(b), lc = s_len(c);
    if (la + lb + lc + 1 > cap) return false;
    memcpy(out, a, la); memcpy(out + la, b, lb); memcpy(out + la + lb, c, lc);
    out[la + lb + lc] = 0;
    return true;
}

static const struct berth_plan *P;
static int sync_fd = -1;

static void send_msg(const char *json) {
    if (sync_fd < 0) return;
    ssize_t r;
    do { r = send(sync_fd, json, s_len(json), MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
}

// Reports "<step> <arg>: <reason>" and exits. After the sync socket is gone
// (the container has started) the message goes to the container's stderr.
__attribute__((noreturn)) static void die(const char *step, const char *arg, int err) {
    char line[4096]; size_t n = 0;
    const char *parts[5] = {step, arg ? " " : "", arg ? arg : "", err ? ": " : "", err ? strerrordesc_np(err) : ""};
    for (int i = 0; i < 5; i++) for (const char *s = parts[i]; s && *s && n + 2 < sizeof(line); s++) line[n++] = *s;
    line[n] = 0;
    if (sync_fd >= 0) {
        m_reset(); m_raw("{\"type\":\"error\",\"message\":\""); m_esc(line); m_raw("\"}");
        send_msg(msgbuf);
    } else {
        const char *pre = "berth-runtime: ";
        (void)!write(2, pre, s_len(pre)); line[n++] = '\n';
        (void)!write(2, line, n);
    }
    _exit(err == ENOENT ? 127 : (err == EACCES ? 126 : 1));
}

// Waits for a message of the given type; stores "hookstate" payloads on the way.
static void wait_msg(const char *type) {
    static char buf[65536];
    char want[64];
    s_cat3(want, sizeof(want), "\"type\":\"", type, "\"");
    for (;;) {
        ssize_t n;
        do { n = recv(sync_fd, buf, sizeof(buf) - 1, 0); } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            // The parent is gone: nothing sensible left to do.
            _exit(1);
        }
        buf[n] = 0;
        if (strstr(buf, want)) return;
        const char *key = "\"state\":";
        char *st = strstr(buf, "\"type\":\"hookstate\"") ? strstr(buf, key) : NULL;
        if (st && P->state_buf && P->state_cap) {
            st += s_len(key);
            size_t len = s_len(st);
            if (len > 0 && st[len - 1] == '}') len--;   // drop the envelope's closing brace
            if (len >= P->state_cap) len = P->state_cap - 1;
            memcpy(P->state_buf, st, len);
            P->state_buf[len] = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// Paths resolved inside the container root.

static int rootfd = -1;

static int open_in_root(const char *path, int flags) {
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = 0,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/') path++;
    if (!*path) path = ".";
    long fd;
    do { fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how)); } while (fd < 0 && errno == EINTR);
    return (int)fd;
}

static void proc_fd_path(char *out, int fd) {
    char num[24]; fmt_int(num, fd);
    s_cat3(out, 64, "/proc/self/fd/", num, "");
}

static int open_in_root_nofollow(const char *path) { return open_in_root(path, O_PATH | O_NOFOLLOW); }

// Like mkdir -p inside the root (the last component is a file when as_file). Symlinks met on
// the way are followed by hand, always relative to the root, so a link to "/tmp/x" creates
// <rootfs>/tmp/x and never a host path. Returns an O_PATH fd of the result.
static int mkdirall_in_root(const char *path, bool as_file) {
    int fd = open_in_root(path, O_PATH);
    if (fd >= 0 || errno != ENOENT) return fd;
    static char cur[4096], rest[8192], cand[4096], target[4096], tmp[8192];
    cur[0] = 0;
    if (s_len(path) >= sizeof(rest)) { errno = ENAMETOOLONG; return -1; }
    memcpy(rest, path, s_len(path) + 1);
    int links = 0;
    for (;;) {
        char *p = rest;
        while (*p == '/') p++;
        if (!*p) break;
        char *end = strchr(p, '/');
        size_t clen = end ? (size_t)(end - p) : s_len(p);
        char comp[256];
        if (clen >= sizeof(comp)) { errno = ENAMETOOLONG; return -1; }
        memcpy(comp, p, clen); comp[clen] = 0;
        memmove(rest, p + clen, s_len(p + clen) + 1);
        const char *q = rest; while (*q == '/') q++;
        bool last = !*q;
        if (strcmp(comp, ".") == 0) continue;
        if (strcmp(comp, "..") == 0) { char *sl = strrchr(cur, '/'); if (sl) *sl = 0; else cur[0] = 0; continue; }
        if (!s_cat3(cand, sizeof(cand), cur, "/", comp)) { errno = ENAMETOOLONG; return -1; }
        int cfd = open_in_root_nofollow(cand);
        if (cfd < 0) {
            if (errno != ENOENT) return -1;
            int pfd = open_in_root(cur[0] ? cur : "/", O_PATH | O_DIRECTORY);
            if (pfd < 0) return -1;
            int r;
            if (last && as_file) {
                r = openat(pfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (r >= 0) close(r);
            } else {
                r = mkdirat(pfd, comp, 0755);
            }
            int e = errno;
            close(pfd);
            if (r < 0 && e != EEXIST) { errno = e; return -1; }
            memcpy(cur, cand, s_len(cand) + 1);
            continue;
        }
        struct stat st;
        if (fstat(cfd, &st) < 0) { int e = errno; close(cfd); errno = e; return -1; }
        if (S_ISLNK(st.st_mode)) {
            if (++links > 40) { close(cfd); errno = ELOOP; return -1; }
            ssize_t n = readlinkat(cfd, "", target, sizeof(target) - 1);
            close(cfd);
            if (n < 0) return -1;
            target[n] = 0;
            if (target[0] == '/') cur[0] = 0;
            if (!s_cat3(tmp, sizeof(tmp), target, "/", rest)) { errno = ENAMETOOLONG; return -1; }
            memcpy(rest, tmp, s_len(tmp) + 1);
            continue;
        }
        close(cfd);
        memcpy(cur, cand, s_len(cand) + 1);
    }
    return open_in_root(cur[0] ? cur : "/", O_PATH);
}

// Creates the parent directory of `path` inside the root and returns an O_PATH fd of it; *base
// is set to the last component (pointing into the static buffer). `what` names the step on error.
static int open_parent_in_root(const char *path, const char **base, const char *what) {
    static char parent[4096];
    size_t len = s_len(path);
    if (len >= sizeof(parent)) die(what, path, ENAMETOOLONG);
    memcpy(parent, path, len + 1);
    char *slash = strrchr(parent, '/');
    if (!slash) die(what, path, EINVAL);
    *slash = 0;
    *base = path + (slash - parent) + 1;
    int pfd = mkdirall_in_root(parent[0] ? parent : "/", false);
    if (pfd < 0) die("mkdir", parent, errno);
    return pfd;
}

// Current mount flags of the mount holding fd, as MS_* bits that a bind remount must keep.
static unsigned long locked_flags(int fd) {
    struct statfs st;
    if (fstatfs(fd, &st) < 0) return 0;
    unsigned long f = 0;
    if (st.f_flags & ST_NOSUID) f |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) f |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) f |= MS_NOEXEC;
    if (st.f_flags & ST_RDONLY) f |= MS_RDONLY;
    if (st.f_flags & ST_NOATIME) f |= MS_NOATIME;
    if (st.f_flags & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (st.f_flags & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

static void bind_remount(const char *what, const char *dest, unsigned long flags) {
    int fd = open_in_root(dest, O_PATH);
    if (fd < 0) die("open", dest, errno);
    char p[64]; proc_fd_path(p, fd);
    if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0) {
        // Flags locked by a less privileged owner (user namespaces) must be kept.
        unsigned long keep = locked_flags(fd) & ~(unsigned long)MS_RDONLY;
        if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | flags | keep, NULL) < 0) die(what, dest, errno);
    }
    close(fd);
}

static void do_mount(const struct berth_mount *m) {
    if (m->dest_is_symlink) {
        const char *base;
        int pfd = open_parent_in_root(m->dest, &base, "symlink");
        if (symlinkat(m->source, pfd, base) < 0 && errno != EEXIST) die("symlink", m->dest, errno);
        close(pfd);
        return;
    }
    if (m->fstype && (strcmp(m->fstype, "proc") == 0 || strcmp(m->fstype, "sysfs") == 0)) {
        // A symlinked /proc or /sys in the image could redirect the mount elsewhere in the rootfs.
        int lfd = open_in_root_nofollow(m->dest);
        struct stat st;
        if (lfd >= 0 && fstat(lfd, &st) == 0 && !S_ISDIR(st.st_mode)) {
            char what[160]; s_cat3(what, sizeof(what), "mount ", m->fstype, " on");
            char msg[4200]; s_cat3(msg, sizeof(msg), m->dest, ": must be mounted on ordinary directory", "");
            die(what, msg, 0);
        }
        if (lfd >= 0) close(lfd);
    }
    bool as_file = m->dest_is_file;
    int srcfd = -1;
    if (m->kind == BERTH_MOUNT_BIND) {
        // The parent opened the source in the host's user namespace (it may not be reachable
        // from ours); a bind of a file gets a file mount point.
        srcfd = m->source_fd >= 0 ? m->source_fd : open(m->source, O_PATH | O_CLOEXEC);
        if (srcfd < 0) die("bind mount source", m->source, errno);
        struct stat st;
        if (fstat(srcfd, &st) == 0) as_file = !S_ISDIR(st.st_mode);
    }
    // A tmpfs over an existing directory keeps that directory's mode unless given one (runc).
    int keep_mode = -1;
    if (m->kind == BERTH_MOUNT_NORMAL && m->fstype && strcmp(m->fstype, "tmpfs") == 0 && !(m->flags & MS_REMOUNT) &&
        !(m->data && strstr(m->data, "mode="))) {
        int efd = open_in_root(m->dest, O_PATH);
        struct stat st;
        if (efd >= 0 && fstat(efd, &st) == 0 && S_ISDIR(st.st_mode)) keep_mode = (int)(st.st_mode & 07777);
        if (efd >= 0) close(efd);
    }
    int fd = mkdirall_in_root(m->dest, as_file);
    if (fd < 0) die("mkdir mount point", m->dest, errno);
    char target[64]; proc_fd_path(target, fd);
    if (m->kind == BERTH_MOUNT_BIND && m->source_fd >= 0) {
        // A detached copy of the source made by the parent with open_tree(): attach it here.
        if (syscall(SYS_move_mount, srcfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            die("bind mount", m->dest, errno);
        close(srcfd);
        if (m->remount_flags) bind_remount("remount", m->dest, m->remount_flags);
    } else if (m->kind == BERTH_MOUNT_BIND) {
        char src[64]; proc_fd_path(src, srcfd);
        if (mount(src, target, NULL, m->flags | MS_BIND, NULL) < 0) die("bind mount", m->dest, errno);
        close(srcfd);
        if (m->remount_flags) bind_remount("remount", m->dest, m->remount_flags);
    } else {
        if (mount(m->source, target, m->fstype, m->flags, m->data) < 0) {
            int e = errno;
            // mqueue/sysfs can't be mounted without owning the net/ipc namespace: runc binds the host's.
            if ((e == EPERM || e == EBUSY) && m->fstype && strcmp(m->fstype, "sysfs") == 0) {
                if (mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) < 0) die("mount sysfs", m->dest, e);
                bind_remount("remount", m->dest, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
            } else {
                char what[128];
                s_cat3(what, sizeof(what), "mount ", m->fstype ? m->fstype : "", " on");
                die(what, m->dest, e);
            }
        }
    }
    close(fd);
    if (keep_mode >= 0) {
        int dfd = open_in_root(m->dest, O_RDONLY | O_DIRECTORY);
        if (dfd < 0 || fchmod(dfd, (mode_t)keep_mode) < 0) die("chmod tmpfs", m->dest, errno);
        close(dfd);
    }
    if (m->rec_attr_set || m->rec_attr_clr) {
        int dfd = open_in_root(m->dest, O_PATH);
        if (dfd < 0) die("open", m->dest, errno);
        struct mount_attr attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
        if (syscall(SYS_mount_setattr, dfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
            die("set recursive mount attributes of", m->dest, errno);
        close(dfd);
    }
    if (m->propagation) {
        int pfd = open_in_root(m->dest, O_PATH);
        if (pfd < 0) die("open", m->dest, errno);
        char p[64]; proc_fd_path(p, pfd);
        if (mount(NULL, p, NULL, m->propagation, NULL) < 0) die("set propagation of", m->dest, errno);
        close(pfd);
    }
}

static void make_device(const struct berth_device *d) {
    const char *base;
    int pfd = open_parent_in_root(d->path, &base, "mknod");
    if (d->bind) {
        int f = openat(pfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f >= 0) close(f);
        int fd = open_in_root(d->path, O_PATH);
        if (fd < 0) die("create device mount point", d->path, errno);
        char p[64]; proc_fd_path(p, fd);
        if (mount(d->host_path, p, NULL, MS_BIND, NULL) < 0) die("bind mount device", d->path, errno);
        close(fd);
    } else {
        if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT && errno != EISDIR) die("replace", d->path, errno);
        if (mknodat(pfd, base, d->mode, d->dev) < 0) die("mknod", d->path, errno);
        if (fchownat(pfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) die("chown", d->path, errno);
    }
    close(pfd);
}

static void dev_links(void) {
    int devfd = open_in_root("/dev", O_PATH | O_DIRECTORY);
    if (devfd < 0) die("open", "/dev", errno);
    static const char *links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (unsigned i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST) die("symlink /dev/", links[i][1], errno);
    }
    if (access("/proc/kcore", F_OK) == 0) (void)symlinkat("/proc/kcore", devfd, "core");
    // /dev/ptmx must be the container's devpts instance, not a host node.
    (void)unlinkat(devfd, "ptmx", 0);
    if (symlinkat("pts/ptmx", devfd, "ptmx") < 0) die("symlink", "/dev/ptmx", errno);
    if (P->dev_console) {
        int f = openat(devfd, "console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0 && errno != EEXIST) die("create", "/dev/console", errno);
        if (f >= 0) close(f);
    }
    close(devfd);
}

// ---------------------------------------------------------------------------
// Hooks that run inside the container's namespaces (createContainer, startContainer).

// "error running <kind> hook #<i>: <path>: <what>", the way runc words it.
__attribute__((noreturn)) static void hook_failed(const char *kind, int i, const char *path, const char *what) {
    char head[160], num[24], msg[4400];
    fmt_int(num, i);
    s_cat3(head, sizeof(head), "error running ", kind, " hook #");
    s_cat3(head + s_len(head), sizeof(head) - s_len(head), num, ": ", "");
    s_cat3(msg, sizeof(msg), head, path, ": ");
    s_cat3(msg + s_len(msg), sizeof(msg) - s_len(msg), what, "", "");
    die(msg, NULL, 0);
}

static void run_hooks(const struct berth_hook *hooks, int n, const char *kind) {
    for (int i = 0; i < n; i++) {
        const struct berth_hook *h = &hooks[i];
        int pfd[2];
        // A socket, not a pipe: send(MSG_NOSIGNAL) can't kill us if the hook ignores its stdin.
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pfd) < 0) die("socketpair for hook", h->path, errno);
        pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid < 0) die("fork hook", h->path, errno);
        if (pid == 0) {
            dup2(pfd[0], 0);
            // Before pivot_root hooks start in the rootfs, as with runc; after it, in "/".
            if (chdir(rootfd >= 0 && P->rootfs && !strcmp(kind, "createContainer") ? P->rootfs : "/") < 0) _exit(126);
            syscall(SYS_execve, h->path, h->argv, h->envp);
            _exit(127);
        }
        close(pfd[0]);
        const char *st = P->state_buf ? P->state_buf : "{}";
        size_t len = s_len(st), off = 0;
        while (off < len) {
            ssize_t n = send(pfd[1], st + off, len - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            off += (size_t)n;
        }
        close(pfd[1]);
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0 && h->timeout > 0) {
            struct pollfd pf = {.fd = pidfd, .events = POLLIN};
            int r;
            do { r = poll(&pf, 1, h->timeout * 1000); } while (r < 0 && errno == EINTR);
            if (r == 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                char num[24], what[64]; fmt_int(num, h->timeout);
                s_cat3(what, sizeof(what), "timed out after ", num, "s");
                hook_failed(kind, i, h->path, what);
            }
        }
        if (pidfd >= 0) close(pidfd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            char num[24], what[64]; fmt_int(num, WEXITSTATUS(status));
            s_cat3(what, sizeof(what), "exit status ", num, "");
            hook_failed(kind, i, h->path, what);
        } else if (WIFSIGNALED(status)) {
            // Go's wording: "signal: bad system call".
            const char *d = sigdescr_np(WTERMSIG(status));
            char what[128]; s_cat3(what, sizeof(what), "signal: ", d ? d : "unknown", "");
            if (what[8] >= 'A' && what[8] <= 'Z') what[8] = (char)(what[8] - 'A' + 'a');
            hook_failed(kind, i, h->path, what);
        }
    }
}

// ---------------------------------------------------------------------------
// Root filesystem.

// mountinfo fields are space-separated with \NNN octal escapes.
static void unescape_octal(char *s) {
    char *r = s, *w = s;
    while (*r) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 4;
        } else *w++ = *r++;
    }
    *w = 0;
}

// Without pivot_root the host's own /proc and /sys stay mounted (outside the chroot) in the
// container's mount namespace, and the kernel would then allow a fresh procfs mount inside it.
// Like runc, hide every full proc/sysfs mount outside the rootfs before the move.
static void hide_host_proc_and_sys(void) {
    static char buf[1 << 20];
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", "/proc/self/mountinfo", errno);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= sizeof(buf) - 1) break;
    }
    close(fd);
    buf[len] = 0;
    size_t rlen = s_len(P->rootfs);
    // Walk lines backwards so mounts stacked later go first.
    char *lines[4096]; int nlines = 0;
    for (char *p = buf; *p && nlines < 4096;) {
        lines[nlines++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0; p = nl + 1;
    }
    for (int i = nlines - 1; i >= 0; i--) {
        char *f[6] = {0}; int nf = 0;
        char *p = lines[i];
        while (nf < 6 && p && *p) { f[nf++] = p; p = strchr(p, ' '); if (p) *p++ = 0; }
        if (nf < 6 || !p) continue;
        // Optional fields may be absent: then the separator is the first thing left.
        char *fstype = NULL;
        if (strncmp(p, "- ", 2) == 0) fstype = p + 2;
        else { char *sep = strstr(p, " - "); if (sep) fstype = sep + 3; }
        if (!fstype) continue;
        char *end = strchr(fstype, ' ');
        if (end) *end = 0;
        char *root = f[3], *mp = f[4];
        unescape_octal(mp);
        if (strcmp(root, "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0)) continue;
        if (strncmp(mp, P->rootfs, rlen) == 0 && (mp[rlen] == '/' || mp[rlen] == 0)) continue;
        if (mount(NULL, mp, NULL, MS_SLAVE | MS_REC, NULL) < 0) { if (errno == ENOENT) continue; die("make rslave", mp, errno); }
        if (umount2(mp, MNT_DETACH) < 0) {
            if (errno != EINVAL && errno != EPERM) die("unmount", mp, errno);
            if (mount("tmpfs", mp, "tmpfs", 0, NULL) < 0) die("cover", mp, errno);
        }
    }
}

static void pivot(void) {
    if (P->no_pivot) {
        hide_host_proc_and_sys();
        if (chdir(P->rootfs) < 0) die("chdir", P->rootfs, errno);
        if (mount(P->rootfs, "/", NULL, MS_MOVE, NULL) < 0) die("move mount", P->rootfs, errno);
        if (chroot(".") < 0) die("chroot", P->rootfs, errno);
        if (chdir("/") < 0) die("chdir", "/", errno);
        return;
    }
    int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (oldroot < 0) die("open", "/", errno);
    if (fchdir(rootfd) < 0) die("chdir", P->rootfs, errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root", P->rootfs, errno);
    if (fchdir(oldroot) < 0) die("fchdir", "old root", errno);
    // Keep the host's mounts from seeing our unmount of the old root.
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("make old root rslave", "/", errno);
    if (umount2(".", MNT_DETACH) < 0) die("unmount old root", "/", errno);
    if (chdir("/") < 0) die("chdir", "/", errno);
    close(oldroot);
}

static void mask_paths(void) {
    for (int i = 0; i < P->n_masked; i++) {
        const char *path = P->masked[i];
        int fd = open_in_root(path, O_PATH | O_NOFOLLOW);
        if (fd < 0) { if (errno == ENOENT || errno == ELOOP) continue; die("open masked path", path, errno); }
        struct stat st;
        if (fstat(fd, &st) < 0) die("stat", path, errno);
        char p[64]; proc_fd_path(p, fd);
        int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
                                    : mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0 && errno != ENOENT) die("mask", path, errno);
        close(fd);
    }
}

static void readonly_paths(void) {
    for (int i = 0; i < P->n_readonly; i++) {
        const char *path = P->readonly_paths[i];
        int fd = open_in_root(path, O_PATH);
        if (fd < 0) { if (errno == ENOENT) continue; die("open read-only path", path, errno); }
        char p[64]; proc_fd_path(p, fd);
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind read-only path", path, errno);
        close(fd);
        bind_remount("make read-only", path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
}

static void setup_rootfs(void) {
    if (mount(NULL, "/", NULL, P->root_propagation ? P->root_propagation : (MS_SLAVE | MS_REC), NULL) < 0)
        die("set propagation of", "/", errno);
    if (mount(P->rootfs, P->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind mount rootfs", P->rootfs, errno);
    rootfd = open(P->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) die("open rootfs", P->rootfs, errno);
    for (int i = 0; i < P->n_mounts; i++) do_mount(&P->mounts[i]);
    for (int i = 0; i < P->n_devices; i++) make_device(&P->devices[i]);
    if (P->dev_links) dev_links();
    if (P->dev_readonly_flags) {
        // A read-only /dev is made so only once its nodes and links exist (runc does the same).
        int fd = open_in_root("/dev", O_PATH);
        if (fd < 0) die("open", "/dev", errno);
        char p[64]; proc_fd_path(p, fd);
        if (mount(NULL, p, NULL, MS_REMOUNT | P->dev_readonly_flags, NULL) < 0) die("make read-only", "/dev", errno);
        close(fd);
    }
    if (P->want_runtime_hooks) { send_msg("{\"type\":\"hooks\"}"); wait_msg("continue"); }
    run_hooks(P->create_container_hooks, P->n_create_container, "createContainer");
    pivot();
    close(rootfd);
    rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) die("open", "/", errno);
}

static void finish_rootfs(void) {
    mask_paths();
    readonly_paths();
    if (P->readonly_root) {
        if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
            unsigned long keep = locked_flags(rootfd);
            if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
                die("make rootfs read-only", "/", errno);
        }
    }
    if (P->rootfs_propagation && mount(NULL, "/", NULL, P->rootfs_propagation, NULL) < 0)
        die("set rootfs propagation", "/", errno);
}

// ---------------------------------------------------------------------------
// Terminal.

static void setup_console(void) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) die("open", "/dev/ptmx", errno);
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("unlock pty", "/dev/ptmx", errno);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) die("open pty peer", "/dev/ptmx", errno);
    // The terminal belongs to the process's user (its group stays devpts' tty group).
    if (fchown(slave, P->uid, (gid_t)-1) < 0) die("chown pty", "/dev/ptmx", errno);
    if (P->cols && P->rows) {
        struct winsize ws = {.ws_row = P->rows, .ws_col = P->cols};
        ioctl(master, TIOCSWINSZ, &ws);
    }
    if (P->dev_console) {
        unsigned int n = 0;
        if (ioctl(master, TIOCGPTN, &n) < 0) die("get pty number", "/dev/ptmx", errno);
        char num[24], path[64]; fmt_int(num, n);
        s_cat3(path, sizeof(path), "/dev/pts/", num, "");
        if (mount(path, "/dev/console", NULL, MS_BIND, NULL) < 0) die("bind mount", "/dev/console", errno);
    }
    int r = berth_send_fd(P->console_fd, master, "/dev/ptmx");
    if (r < 0) die("send pty master to console socket", NULL, -r);
    close(master);
    close(P->console_fd);
    if (setsid() < 0 && errno != EPERM) die("setsid", NULL, errno);
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("set controlling terminal", NULL, errno);
    for (int i = 0; i < 3; i++) if (dup3(slave, i, 0) < 0) die("dup pty to stdio", NULL, errno);
    if (slave > 2) close(slave);
}

// ---------------------------------------------------------------------------
// Credentials.

static void apply_caps(void) {
    if (!P->set_caps) return;
    for (int c = 0; c <= P->last_cap; c++) {
        if (!(P->cap_bounding & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            die("drop capability from bounding set", NULL, errno);
    }
}

static void apply_user(void) {
    if (P->set_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("keep capabilities", NULL, errno);
    if (P->set_groups && syscall(SYS_setgroups, (size_t)P->n_groups, P->groups) < 0) die("setgroups", NULL, errno);
    if (syscall(SYS_setresgid, P->gid, P->gid, P->gid) < 0) die("setgid", NULL, errno);
    if (syscall(SYS_setresuid, P->uid, P->uid, P->uid) < 0) die("setuid", NULL, errno);
    if (!P->set_caps) return;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)P->cap_effective; data[1].effective = (uint32_t)(P->cap_effective >> 32);
    data[0].permitted = (uint32_t)P->cap_permitted; data[1].permitted = (uint32_t)(P->cap_permitted >> 32);
    data[0].inheritable = (uint32_t)P->cap_inheritable; data[1].inheritable = (uint32_t)(P->cap_inheritable >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0) die("capset", NULL, errno);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c <= P->last_cap; c++) {
        if ((P->cap_ambient & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
            die("raise ambient capability", NULL, errno);
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

static void apply_seccomp(void) {
    if (!P->seccomp_len) return;
    struct sock_fprog prog = {.len = P->seccomp_len, .filter = (struct sock_filter *)P->seccomp_filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, P->seccomp_flags, &prog) < 0) die("load seccomp filter", NULL, errno);
}

// ---------------------------------------------------------------------------
// What to exec.

static char exec_path[4096];

static bool is_executable(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static void resolve_exec(void) {
    const char *name = P->argv[0];
    if (strchr(name, '/')) {
        if (s_len(name) >= sizeof(exec_path)) die("exec", name, ENAMETOOLONG);
        memcpy(exec_path, name, s_len(name) + 1);
        struct stat st;
        if (stat(exec_path, &st) < 0) {
            // runc's wording, with Go's lower-case errno text: Docker's CLI looks for
            // "no such file or directory" to exit 127 rather than 125.
            const char *desc = strerrordesc_np(errno);
            char reason[128]; s_cat3(reason, sizeof(reason), desc ? desc : "unknown error", "", "");
            if (reason[0] >= 'A' && reason[0] <= 'Z') reason[0] = (char)(reason[0] - 'A' + 'a');
            char head[4200], what[8600];
            s_cat3(head, sizeof(head), "exec: \"", name, "\": stat ");
            s_cat3(what, sizeof(what), head, name, ": ");
            s_cat3(what + s_len(what), sizeof(what) - s_len(what), reason, "", "");
            die(what, NULL, 0);
        }
        if (S_ISDIR(st.st_mode)) {
            char what[4200]; s_cat3(what, sizeof(what), "exec: \"", name, "\": is a directory");
            die(what, NULL, 0);
        }
        if (!(st.st_mode & 0111)) {
            // Like runc (Go's exec.LookPath): reported before start, not as a silent 127 from the
            // trampoline; Docker's CLI maps "permission denied" to exit 126.
            char what[4200]; s_cat3(what, sizeof(what), "exec: \"", name, "\": permission denied");
            die(what, NULL, 0);
        }
        return;
    }
    const char *path = P->path_env ? P->path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t dlen = end ? (size_t)(end - path) : s_len(path);
        char dir[4096];
        if (dlen == 0) { dir[0] = '.'; dir[1] = 0; }
        else if (dlen < sizeof(dir)) { memcpy(dir, path, dlen); dir[dlen] = 0; }
        else dir[0] = 0;
        if (dir[0] && s_cat3(exec_path, sizeof(exec_path), dir, "/", name) && is_executable(exec_path)) return;
        if (!end) break;
        path = end + 1;
    }
    char what[4200]; s_cat3(what, sizeof(what), "exec: \"", name, "\": executable file not found in $PATH");
    die(what, NULL, 0);
}

static char *dmz_argv[8192];
static char dmz_magic[] = BERTH_DMZ_MAGIC;

__attribute__((noreturn)) static void do_exec(void) {
    int argc = 0;
    while (P->argv[argc]) argc++;
    if (P->dmz_fd >= 0 && argc + 3 <= (int)(sizeof(dmz_argv) / sizeof(dmz_argv[0]))) {
        dmz_argv[0] = dmz_magic;
        dmz_argv[1] = exec_path;
        for (int i = 0; i < argc; i++) dmz_argv[i + 2] = P->argv[i];
        dmz_argv[argc + 2] = NULL;
        syscall(SYS_execveat, P->dmz_fd, "", dmz_argv, P->envp, AT_EMPTY_PATH);
        // A seccomp profile that forbids execveat: fall through to a plain execve.
    }
    syscall(SYS_execve, exec_path, P->argv, P->envp);
    char what[4200]; s_cat3(what, sizeof(what), "exec \"", exec_path, "\"");
    die(what, NULL, errno);
}

// ---------------------------------------------------------------------------

static void write_proc_sys(const char *key, const char *value) {
    char path[512];
    if (!s_cat3(path, sizeof(path), "/proc/sys/", key, "")) die("sysctl", key, ENAMETOOLONG);
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) die("sysctl", key, errno);
    if (write(fd, value, s_len(value)) < 0) die("sysctl", key, errno);
    close(fd);
}

static void wait_for_start(void) {
    if (P->fifo_fd == -2) return;
    if (P->fifo_fd == -1) { wait_msg("start"); return; }
    // Reopen exec.fifo for writing through the host's /proc: this blocks until `start` opens it.
    char rel[64], num[24];
    fmt_int(num, P->fifo_fd);
    s_cat3(rel, sizeof(rel), "self/fd/", num, "");
    int fd;
    do { fd = openat(P->host_proc_fd, rel, O_WRONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
    if (fd < 0) die("open exec fifo", NULL, errno);
    if (write(fd, "0", 1) != 1) die("write exec fifo", NULL, errno);
    close(fd);
    close(P->fifo_fd);
    close(P->host_proc_fd);
}

static int child_main(void) {
    sync_fd = P->sync_fd;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (P->reset_sigmask) {
        sigset_t none; sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    // Nothing of the runtime's beyond stdio and --preserve-fds may reach the container.
    if (syscall(SYS_close_range, 3 + P->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) die("close_range", NULL, errno);
    for (int fd = 3; fd < 3 + P->preserve_fds; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
    umask(0);
    wait_msg("continue");

    for (int i = 0; i < P->n_join; i++) {
        if (setns(P->join_fds[i], P->join_types[i]) < 0) die("join namespace", P->join_paths[i], errno);
        if (P->join_types[i] == CLONE_NEWUSER) {
            if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
                die("become root in joined user namespace", NULL, errno);
        }
    }
    if (P->clone_flags & CLONE_NEWUSER) {
        if (syscall(SYS_setresgid, 0, 0, 0) < 0) die("setgid 0 in the new user namespace", NULL, errno);
        if (syscall(SYS_setresuid, 0, 0, 0) < 0) die("setuid 0 in the new user namespace", NULL, errno);
    }
    if (P->unshare_flags) {
        // Namespaces owned by a joined user namespace can only be made after joining it.
        if (unshare((int)P->unshare_flags) < 0) die("unshare namespaces", NULL, errno);
        if (P->unshare_flags & CLONE_NEWPID) {
            long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
            if (pid < 0) die("fork into the new pid namespace", NULL, errno);
            if (pid > 0) {
                char num[24]; fmt_int(num, pid);
                m_reset(); m_raw("{\"type\":\"pid\",\"pid\":"); m_raw(num); m_raw("}");
                send_msg(msgbuf);
                _exit(0);
            }
        }
    }
    if (P->unshare_cgroupns && unshare(CLONE_NEWCGROUP) < 0) die("unshare cgroup namespace", NULL, errno);

    if (P->setup_rootfs) {
        setup_rootfs();
    } else if (P->exec_root_fd >= 0) {
        if (fchdir(P->exec_root_fd) < 0 || chroot(".") < 0) die("enter container root", NULL, errno);
        close(P->exec_root_fd);
    }
    if (P->hostname && sethostname(P->hostname, s_len(P->hostname)) < 0) die("sethostname", P->hostname, errno);
    if (P->domainname && setdomainname(P->domainname, s_len(P->domainname)) < 0) die("setdomainname", P->domainname, errno);
    // Like runc: sysctls are written before masked/read-only paths are applied, since
    // Docker makes /proc/sys read-only and also sets sysctls (net.ipv4.ip_unprivileged_port_start).
    for (int i = 0; i < P->n_sysctls; i++) write_proc_sys(P->sysctls[i].key, P->sysctls[i].value);
    if (P->setup_rootfs) finish_rootfs();

    if (P->terminal && P->console_fd >= 0) setup_console();
    else if (!P->is_exec && setsid() < 0) die("setsid", NULL, errno);

    for (int i = 0; i < P->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = P->rlimits[i].soft, .rlim_max = P->rlimits[i].hard};
        if (setrlimit(P->rlimits[i].resource, &rl) < 0) die("setrlimit", NULL, errno);
    }
    if (P->set_personality && personality(P->personality) < 0) die("personality", NULL, errno);

    bool cwd_done = false;
    if (P->cwd && chdir(P->cwd) == 0) cwd_done = true;
    else if (P->cwd) {
        // Like runc, a missing cwd is created (inside the new root) before the user switch.
        if (errno == ENOENT && !P->is_exec && rootfd >= 0) {
            int fd = mkdirall_in_root(P->cwd, false);
            if (fd < 0) die("create cwd", P->cwd, errno);
            close(fd);
            if (chdir(P->cwd) == 0) cwd_done = true;
            else if (errno != EACCES) die("chdir to cwd", P->cwd, errno);
        } else if (errno != EACCES) {
            die("chdir to cwd", P->cwd, errno);
        }
    }
    resolve_exec();

    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it before dropping caps.
    if (!P->no_new_privs) apply_seccomp();
    apply_caps();
    apply_user();
    umask(P->umask >= 0 ? P->umask : 022);
    // Root could not enter cwd (root-squashed or 0700 elsewhere): the process's user may.
    if (P->cwd && !cwd_done && chdir(P->cwd) < 0) die("chdir to cwd", P->cwd, errno);

    send_msg("{\"type\":\"ready\"}");
    wait_for_start();
    close(sync_fd);
    sync_fd = -1;
    // startContainer hooks run under the container's seccomp profile, as with runc.
    if (P->no_new_privs) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("set no_new_privs", NULL, errno);
        apply_seccomp();
    }
    run_hooks(P->start_container_hooks, P->n_start_container, "startContainer");
    do_exec();
}

pid_t berth_spawn(const struct berth_plan *plan) {
    P = plan;
    // A raw clone() behaves like fork(): the child continues here on a copy of our stack,
    // and none of glibc's atfork handlers (which may take locks) run.
    long pid = syscall(SYS_clone, (unsigned long)(plan->clone_flags | SIGCHLD), 0, 0, 0, 0);
    if (pid < 0) return -errno;
    if (pid == 0) _exit(child_main());
    return (pid_t)pid;
}

// ---------------------------------------------------------------------------
// Small wrappers for the Swift side.

int berth_send_fd(int sock, int fd, const char *name) {
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = {.iov_base = (void *)name, .iov_len = s_len(name) ? s_len(name) : 1};
    if (!s_len(name)) iov.iov_base = (void *)"\0";
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

int berth_recv_fd(int sock) {
    char buf[4096];
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -EBADMSG;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

int berth_setns(int fd, int nstype) { return setns(fd, nstype) < 0 ? -errno : 0; }
int berth_pidfd_open(pid_t pid) { long r = syscall(SYS_pidfd_open, pid, 0); return r < 0 ? -errno : (int)r; }
int berth_pidfd_send_signal(int pidfd, int sig) {
    long r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return r < 0 ? -errno : 0;
}
int berth_close_range_cloexec(unsigned int first) {
    long r = syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
    return r < 0 ? -errno : 0;
}

int berth_pipe2(int fds[2], int flags) { return pipe2(fds, flags) < 0 ? -errno : 0; }
dev_t berth_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
int berth_set_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0; }
int berth_ns_type(int fd) { int r = ioctl(fd, NS_GET_NSTYPE); return r < 0 ? -errno : r; }

int berth_eventfd(unsigned int initval, int flags) { long r = syscall(SYS_eventfd2, initval, flags); return r < 0 ? -errno : (int)r; }
int berth_inotify_init1(int flags) { long r = syscall(SYS_inotify_init1, flags); return r < 0 ? -errno : (int)r; }
int berth_inotify_add_watch(int fd, const char *path, uint32_t mask) {
    long r = syscall(SYS_inotify_add_watch, fd, path, mask);
    return r < 0 ? -errno : (int)r;
}
long berth_bpf(int cmd, void *attr, unsigned int size) { long r = syscall(SYS_bpf, cmd, attr, size); return r < 0 ? -errno : r; }
int berth_open_tree_clone(const char *path, int recursive) {
    long r = syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    return r < 0 ? -errno : (int)r;
}

long berth_read_in_root(const char *root, const char *path, char *buf, size_t cap) {
    int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY, .mode = 0,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    while (*path == '/') path++;
    long fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
    int e = errno;
    close(dfd);
    if (fd < 0) return -e;
    size_t off = 0;
    while (off < cap) {
        ssize_t n = read((int)fd, buf + off, cap - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    close((int)fd);
    return (long)off;
}
