// berth-monitor: the per-container monitor (the role of containerd's shim or conmon).
//
// One monitor per container. It creates and starts the container through the OCI runtime,
// holds the container's stdio, writes its output to a Docker json-file log (with rotation),
// reaps the container's init as a child subreaper, records the exit status in exit.json and
// serves a small control socket (resize, stdin). In exec mode (--exec-process) it does the same
// for one process run in an existing container with `runtime exec --detach` (docker exec).
// The contract is in Specs/monitor.md.
//
// Plain C, POSIX + Linux syscalls, no dependencies, single-threaded, one poll() loop.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define LINE_MAX_BYTES (16 * 1024)   // Docker's copier buffer: longer lines are split into partials
#define OUTBUF_BYTES (64 * 1024)
#define MAX_CLIENTS 8
#define MAX_RUNTIME_ARGS 32

// ---------------------------------------------------------------------------------------------
// Options

static struct {
    const char *id, *bundle, *runtime, *runtime_root, *state_dir, *log_path;
    const char *exec_process;   // exec mode: the OCI process JSON for `runtime exec --process`
    int terminal, open_stdin;
    long long log_max_size;   // <= 0: no rotation
    int log_max_files;
    const char *runtime_args[MAX_RUNTIME_ARGS];
    int n_runtime_args;
} opt = { .log_max_size = -1, .log_max_files = 1 };

static void usage_exit(const char *why) {
    fprintf(stderr, "berth-monitor: %s\n"
            "usage: berth-monitor --id ID (--bundle DIR | --exec-process FILE) --runtime PATH\n"
            "                     --runtime-root DIR --state-dir DIR --log-path FILE [--terminal] [--stdin]\n"
            "                     [--log-max-size BYTES] [--log-max-files N] [--runtime-arg ARG]...\n", why);
    exit(2);
}

static long long parse_size(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0) return -2;
    switch (*end) {
    case 0: return v;
    case 'k': case 'K': v *= 1024LL; break;
    case 'm': case 'M': v *= 1024LL * 1024; break;
    case 'g': case 'G': v *= 1024LL * 1024 * 1024; break;
    default: return -2;
    }
    if (end[1] && !((end[1] == 'b' || end[1] == 'B') && !end[2])) return -2;
    return v;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

static char state_path_buf[PATH_MAX];
static const char *state_file(const char *name) {
    snprintf(state_path_buf, sizeof state_path_buf, "%s/%s", opt.state_dir, name);
    return state_path_buf;
}

// Writes all of buf, retrying on EINTR and partial writes. Returns 0 or -1 (errno set).
static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

// Errors after detaching go to <state-dir>/monitor.log (stderr is /dev/null then).
static int detached = 0;
static void note(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof msg - 2) n = sizeof msg - 2;
    msg[n++] = '\n';
    if (!detached) { write_all(2, "berth-monitor: ", 15); write_all(2, msg, n); return; }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/monitor.log", opt.state_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) return;
    write_all(fd, msg, n);
    close(fd);
}

// Writes a state file atomically: <name>.tmp, rename. No fsync: the state dir lives in the run
// root, which does not outlive a reboot, and readers only need never to see a partial file; an
// fsync here sat on every container start (the run root is not always a tmpfs).
static int write_state_file(const char *name, const char *content) {
    char tmp[PATH_MAX], dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/%s", opt.state_dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", opt.state_dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) return -1;
    if (write_all(fd, content, strlen(content)) < 0) {
        int e = errno; close(fd); unlink(tmp); errno = e; return -1;
    }
    close(fd);
    if (rename(tmp, dst) < 0) { int e = errno; unlink(tmp); errno = e; return -1; }
    return 0;
}

static void format_time(char out[40], const struct timespec *ts) {
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%09ldZ", ts->tv_nsec);
}

static int mkdir_p(const char *path) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) return -1;
    return 0;
}

// An absolute version of path (relative to the current directory), malloc'd.
static const char *absolute(const char *path) {
    if (path[0] == '/') return path;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return path;
    char *out = malloc(strlen(cwd) + strlen(path) + 2);
    if (!out) return path;
    sprintf(out, "%s/%s", cwd, path);
    return out;
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Reads a whole small file into buf (NUL-terminated). Returns length or -1.
static ssize_t read_small_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

// Trims trailing whitespace; turns inner newlines into "; " so a message stays one line.
static void one_line(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
    for (char *p = s; *p; p++) if (*p == '\n') *p = ' ';
}

// ---------------------------------------------------------------------------------------------
// Docker json-file log

static int log_fd = -1;
static long long log_size = 0;       // bytes in the current file (written + buffered)
static char outbuf[OUTBUF_BYTES];
static size_t outlen = 0;
static int log_error_noted = 0;

static void log_error_once(const char *what, int err) {
    if (log_error_noted) return;
    log_error_noted = 1;
    note("write log %s: %s (output is dropped until writes succeed again)", what, strerror(err));
}

static int open_log(void) {
    log_fd = open(opt.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
    if (log_fd < 0) return -1;
    struct stat st;
    log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

static void flush_log(void) {
    if (outlen == 0) return;
    if (log_fd >= 0 && write_all(log_fd, outbuf, outlen) < 0) {
        // Disk full or I/O error: drop this batch (never block the container) and say so once.
        // Cut off a partly written entry so the file stays one JSON object per line.
        log_error_once(opt.log_path, errno);
        log_size -= (long long)outlen;
        if (log_size < 0) log_size = 0;
        if (ftruncate(log_fd, log_size) < 0) { /* nothing more to do */ }
        if (log_size < 0) log_size = 0;
    }
    outlen = 0;
}

// Docker's rotation: FILE → FILE.1 → … → FILE.(max-files - 1); with max-files 1, truncate.
static void rotate_log(void) {
    flush_log();
    char from[PATH_MAX], to[PATH_MAX];
    if (opt.log_max_files <= 1) {
        if (log_fd >= 0 && ftruncate(log_fd, 0) < 0) log_error_once("truncate", errno);
        log_size = 0;
        return;
    }
    if (log_fd >= 0) close(log_fd);
    log_fd = -1;
    snprintf(to, sizeof to, "%s.%d", opt.log_path, opt.log_max_files - 1);
    unlink(to);
    for (int i = opt.log_max_files - 2; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%d", opt.log_path, i);
        snprintf(to, sizeof to, "%s.%d", opt.log_path, i + 1);
        if (rename(from, to) < 0 && errno != ENOENT) log_error_once("rotate", errno);
    }
    snprintf(to, sizeof to, "%s.1", opt.log_path);
    if (rename(opt.log_path, to) < 0 && errno != ENOENT) log_error_once("rotate", errno);
    if (open_log() < 0) log_error_once("reopen", errno);
    log_size = 0;
}

static const char hexdigits[] = "0123456789abcdef";

// Appends s as a JSON string body escaped the way Docker's jsonlog does (HTML-safe <>&, \n and \r
// short forms, other controls as \u00XX, invalid UTF-8 as \ufffd, U+2028/2029 escaped).
// dst must have room for 6 * len bytes.
static size_t json_escape(char *dst, const unsigned char *s, size_t len) {
    char *d = dst;
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        if (b < 0x80) {
            if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') { *d++ = (char)b; i++; continue; }
            if (b == '\\' || b == '"') { *d++ = '\\'; *d++ = (char)b; }
            else if (b == '\n') { *d++ = '\\'; *d++ = 'n'; }
            else if (b == '\r') { *d++ = '\\'; *d++ = 'r'; }
            else { memcpy(d, "\\u00", 4); d += 4; *d++ = hexdigits[b >> 4]; *d++ = hexdigits[b & 15]; }
            i++;
            continue;
        }
        // UTF-8 sequence: validate (shortest form, no surrogates, <= U+10FFFF).
        size_t n = 0;
        uint32_t cp = 0;
        if (b >= 0xC2 && b <= 0xDF) { n = 2; cp = b & 0x1F; }
        else if (b >= 0xE0 && b <= 0xEF) { n = 3; cp = b & 0x0F; }
        else if (b >= 0xF0 && b <= 0xF4) { n = 4; cp = b & 0x07; }
        int ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) ok = 0;
            else cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) ok = 0;
        if (!ok) { memcpy(d, "\\ufffd", 6); d += 6; i++; continue; }
        if (cp == 0x2028 || cp == 0x2029) { memcpy(d, "\\u202", 5); d += 5; *d++ = hexdigits[cp & 15]; }
        else { memcpy(d, s + i, n); d += n; }
        i += n;
    }
    return (size_t)(d - dst);
}

static char entry_buf[LINE_MAX_BYTES * 6 + 128];

// Writes one log entry; `line` includes its '\n' unless it is a partial line.
static void log_entry(const char *stream, const unsigned char *line, size_t len, const struct timespec *ts) {
    char t[40];
    format_time(t, ts);
    char *d = entry_buf;
    memcpy(d, "{\"log\":\"", 8); d += 8;
    d += json_escape(d, line, len);
    d += sprintf(d, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, t);
    size_t n = (size_t)(d - entry_buf);
    if (opt.log_max_size > 0 && log_size >= opt.log_max_size) rotate_log();
    if (outlen + n > sizeof outbuf) flush_log();
    if (n > sizeof outbuf) {   // cannot happen with the sizes above, but stay correct
        if (log_fd >= 0 && write_all(log_fd, entry_buf, n) < 0) log_error_once(opt.log_path, errno);
        else log_size += (long long)n;
        return;
    }
    memcpy(outbuf + outlen, entry_buf, n);
    outlen += n;
    log_size += (long long)n;
}

// ---------------------------------------------------------------------------------------------
// Output streams (pipes or the pty master)

struct stream {
    const char *name;   // "stdout" / "stderr"
    int fd;             // -1 once at EOF
    unsigned char buf[LINE_MAX_BYTES];
    size_t len;         // bytes of an unfinished line
};

#define PARTIAL_FLUSH_MS 100
static long long partial_deadline_ms = 0;   // when a pipe's unfinished line is written; 0: none

static long long monotonic_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct stream out_stream = { .name = "stdout", .fd = -1 };
static struct stream err_stream = { .name = "stderr", .fd = -1 };
static int stdin_fd = -1;     // write end of the container's stdin pipe, or the pty master
static int stdin_is_pty = 0;
static int pty_master = -1;

static void stream_close(struct stream *s) {
    if (s->fd < 0) return;
    if (s->fd == pty_master) { pty_master = -1; if (stdin_is_pty) stdin_fd = -1; }
    close(s->fd);
    s->fd = -1;
}

// Splits what is buffered into lines like Docker's copier: every complete line is an entry; a
// full buffer without a newline is written as a partial entry; at EOF the rest is a partial.
static void stream_emit(struct stream *s, int eof, const struct timespec *ts) {
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            log_entry(s->name, s->buf + start, i + 1 - start, ts);
            start = i + 1;
        }
    }
    if (start == 0 && s->len == sizeof s->buf) { log_entry(s->name, s->buf, s->len, ts); start = s->len; }
    if (eof && start < s->len) { log_entry(s->name, s->buf + start, s->len - start, ts); start = s->len; }
    if (start > 0) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
}

// Reads what is available (the fd is non-blocking). Returns 1 if data was read, 0 if nothing.
static int stream_read(struct stream *s) {
    int got = 0;
    for (int rounds = 0; s->fd >= 0 && rounds < 64; rounds++) {
        ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (n > 0) {
            s->len += (size_t)n;
            stream_emit(s, 0, &ts);
            got = 1;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        // EOF, or EIO on a pty master once every slave is closed.
        stream_emit(s, 1, &ts);
        stream_close(s);
    }
    // An unfinished line (a shell's prompt, `printf 'name: '`) must reach attached clients, which
    // read the log: a terminal's at once, a pipe's after PARTIAL_FLUSH_MS without its newline.
    if (s->fd >= 0 && s->len > 0) {
        if (s->fd == pty_master) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            stream_emit(s, 1, &ts);
        } else if (partial_deadline_ms == 0) {
            partial_deadline_ms = monotonic_ms() + PARTIAL_FLUSH_MS;
        }
    }
    flush_log();
    return got;
}

// Writes the unfinished lines of the pipes once their deadline has passed.
static void flush_partials_due(void) {
    if (partial_deadline_ms == 0 || monotonic_ms() < partial_deadline_ms) return;
    partial_deadline_ms = 0;
    struct stream *ss[2] = { &out_stream, &err_stream };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < 2; i++) if (ss[i]->fd >= 0 && ss[i]->len > 0) stream_emit(ss[i], 1, &ts);
    flush_log();
}

// ---------------------------------------------------------------------------------------------
// Running the runtime

static int devnull_fd(int flags) { return open("/dev/null", flags | O_CLOEXEC | O_NOCTTY); }

// fork + exec of the runtime with the given stdio. In the child: default signal dispositions
// and an empty mask, every fd above 2 closed.
static pid_t spawn_runtime(char *const argv[], int in, int out, int err) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Move the stdio fds above 2 first so dup2 never clobbers one with another.
    int fds[3] = { in, out, err };
    for (int i = 0; i < 3; i++) {
        int f = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (f < 0) _exit(127);
        fds[i] = f;
    }
    for (int i = 0; i < 3; i++) if (dup2(fds[i], i) < 0) _exit(127);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        for (int fd = 3; fd < 4096; fd++) close(fd);
    }
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int wait_for(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

static void describe_status(char *out, size_t cap, int status) {
    if (status < 0) snprintf(out, cap, "lost the runtime process");
    else if (WIFEXITED(status)) snprintf(out, cap, "runtime exited with status %d", WEXITSTATUS(status));
    else snprintf(out, cap, "runtime killed by signal %d", WTERMSIG(status));
}

// argv for `<runtime> --root R [runtime args] <words...>`
static char **runtime_argv(const char *const *words) {
    static char *argv[MAX_RUNTIME_ARGS + 24];
    int n = 0;
    argv[n++] = (char *)opt.runtime;
    argv[n++] = "--root";
    argv[n++] = (char *)opt.runtime_root;
    for (int i = 0; i < opt.n_runtime_args; i++) argv[n++] = (char *)opt.runtime_args[i];
    for (int i = 0; words[i] && n < (int)(sizeof argv / sizeof *argv) - 1; i++) argv[n++] = (char *)words[i];
    argv[n] = NULL;
    return argv;
}

// Runs a short runtime command (start, delete) with stdout/stdin on /dev/null and stderr captured
// into errbuf through a file in the state dir (a pipe could be held open by the container).
static int run_runtime_capture(const char *const *words, char *errbuf, size_t cap) {
    errbuf[0] = 0;
    char errpath[PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/.runtime-%s.err", opt.state_dir, words[0]);
    int errfd = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
    int nul = devnull_fd(O_RDWR);
    if (errfd < 0 || nul < 0) {
        snprintf(errbuf, cap, "open %.3000s: %s", errfd < 0 ? errpath : "/dev/null", strerror(errno));
        if (errfd >= 0) close(errfd);
        if (nul >= 0) close(nul);
        return -1;
    }
    pid_t pid = spawn_runtime(runtime_argv(words), nul, nul, errfd);
    close(nul);
    close(errfd);
    if (pid < 0) { snprintf(errbuf, cap, "fork: %s", strerror(errno)); unlink(errpath); return -1; }
    int status = wait_for(pid);
    read_small_file(errpath, errbuf, cap);
    unlink(errpath);
    one_line(errbuf);
    if (status == 0) return 0;
    if (!errbuf[0]) describe_status(errbuf, cap, status);
    return -1;
}

// ---------------------------------------------------------------------------------------------
// Console socket: receive the pty master with SCM_RIGHTS

static int recv_fd(int sock) {
    char byte[256];
    struct iovec iov = { .iov_base = byte, .iov_len = sizeof byte };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int) * 4)]; } ctl;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int fds[4];
        memcpy(fds, CMSG_DATA(c), sizeof(int) * (nfds > 4 ? 4 : nfds));
        for (int i = 0; i < nfds && i < 4; i++) {
            if (fd < 0) fd = fds[i]; else close(fds[i]);
        }
    }
    if (fd < 0) errno = EBADMSG;
    return fd;
}

static int listen_unix(const char *path) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    unlink(path);
    mode_t old = umask(0077);
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

// ---------------------------------------------------------------------------------------------
// Control socket clients

struct client {
    int fd;              // -1: free slot
    int is_stdin;        // after "stdin": bytes go to the container's stdin
    int keep_stdin;      // after "detach" from another client: this one's EOF leaves stdin open
    char buf[4096];
    size_t len;          // command bytes (before "stdin") or pending stdin bytes (after)
};

static struct client clients[MAX_CLIENTS];
static void client_close(struct client *c) {
    if (c->fd < 0) return;
    close(c->fd);
    c->fd = -1;
    // Docker's attach with stdin-once: the attached client's EOF closes the container's stdin.
    if (c->is_stdin && !c->keep_stdin && stdin_fd >= 0 && !stdin_is_pty) { close(stdin_fd); stdin_fd = -1; }
    c->is_stdin = 0;
    c->keep_stdin = 0;
    c->len = 0;
}

static void client_reply(struct client *c, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n > 0) send(c->fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int stdin_client_active(void) {
    for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0 && clients[i].is_stdin) return 1;
    return 0;
}

// Handles complete command lines in c->buf. Returns 0, or -1 if the client was closed.
static int client_commands(struct client *c) {
    while (!c->is_stdin) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (!nl) {
            if (c->len == sizeof c->buf) { client_reply(c, "error command too long\n"); client_close(c); return -1; }
            return 0;
        }
        *nl = 0;
        if (nl > c->buf && nl[-1] == '\r') nl[-1] = 0;
        char *line = c->buf;
        size_t used = (size_t)(nl + 1 - c->buf);
        unsigned rows, cols;
        if (sscanf(line, "resize %u %u", &rows, &cols) == 2) {
            struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
            if (pty_master < 0) client_reply(c, "error no terminal\n");
            else if (ioctl(pty_master, TIOCSWINSZ, &ws) < 0) client_reply(c, "error resize: %s\n", strerror(errno));
            else client_reply(c, "ok\n");
        } else if (strcmp(line, "stdin") == 0) {
            if (stdin_fd < 0) client_reply(c, "error stdin is not open\n");
            else if (stdin_client_active()) client_reply(c, "error stdin is already attached\n");
            else { client_reply(c, "ok\n"); c->is_stdin = 1; }
        } else if (strcmp(line, "detach") == 0) {
            // Docker's detach keys: the attached client goes away and the container keeps its stdin.
            for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0 && clients[i].is_stdin) clients[i].keep_stdin = 1;
            client_reply(c, "ok\n");
        } else if (strcmp(line, "ping") == 0) {
            client_reply(c, "ok\n");
        } else {
            client_reply(c, "error unknown command\n");
        }
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
    return 0;
}

// Copies pending stdin bytes to the container. Non-blocking: what does not fit stays pending.
static void client_flush_stdin(struct client *c) {
    while (c->len > 0 && stdin_fd >= 0) {
        ssize_t n = write(stdin_fd, c->buf, c->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) {   // EPIPE: the container closed its stdin; drop the rest
            c->len = 0;
            return;
        }
        memmove(c->buf, c->buf + n, c->len - (size_t)n);
        c->len -= (size_t)n;
    }
    if (stdin_fd < 0) c->len = 0;
}

// Undoes a successful create or exec after a later start-up step failed: a created container is
// deleted (`delete --force`); an exec'd process is killed and reaped if it is our child. In exec
// mode the container itself is never touched.
static void undo_launch(pid_t pid) {
    if (!opt.exec_process) {
        char e[512];
        run_runtime_capture((const char *[]){ "delete", "--force", opt.id, NULL }, e, sizeof e);
        return;
    }
    int st;
    if (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {   // alive and ours (so the pid is not reused)
        kill(pid, SIGKILL);
        wait_for(pid);
    }
}

// ---------------------------------------------------------------------------------------------
// OOM kills: the oom_kill counter of the process's memory cgroup (v2 memory.events, v1
// memory.oom_control), read when the process starts and when it has exited.

static int oom_fd = -1;
static long long oom_base = -1;

static long long oom_count(void) {
    if (oom_fd < 0) return -1;
    char buf[1024];
    ssize_t n;
    do n = pread(oom_fd, buf, sizeof buf - 1, 0); while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    buf[n] = 0;
    for (char *p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, "oom_kill ", 9)) return strtoll(p + 9, NULL, 10);
    }
    return -1;
}

static void oom_watch(pid_t pid) {
    char path[64], buf[4096], file[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (read_small_file(path, buf, sizeof buf) <= 0) return;
    // Lines "ID:CONTROLLERS:PATH". A v1 hierarchy with the memory controller wins (a hybrid host
    // has no memory controller in its v2 hierarchy); otherwise the v2 line "0::PATH".
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *ctrls = c1 + 1, *cg = c2 + 1;
        if (!strcmp(cg, "/")) cg = "";
        int memory = 0;
        for (const char *w = ctrls; *w; ) {
            size_t len = strcspn(w, ",");
            if (len == 6 && !strncmp(w, "memory", 6)) memory = 1;
            w += len + (w[len] == ',');
        }
        if (memory) { snprintf(file, sizeof file, "/sys/fs/cgroup/%s%s/memory.oom_control", ctrls, cg); break; }
        if (!*ctrls && !strcmp(line, "0")) snprintf(file, sizeof file, "/sys/fs/cgroup%s/memory.events", cg);
    }
    if (!file[0]) return;
    oom_fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    oom_base = oom_count();
    if (oom_base < 0 && oom_fd >= 0) { close(oom_fd); oom_fd = -1; }
}

// Whether the process was OOM-killed: it died of SIGKILL and its cgroup counted an OOM kill since
// it started.
static int oom_killed(int exit_status) {
    if (oom_fd < 0 || !WIFSIGNALED(exit_status) || WTERMSIG(exit_status) != SIGKILL) return 0;
    long long now = oom_count();
    return now > oom_base;
}

// ---------------------------------------------------------------------------------------------
// Main

static int report_fd = -1;   // to the waiting original process until start-up is reported

static void report(int ok, const char *msg) {
    if (report_fd < 0) return;
    char buf[4200];
    int n = snprintf(buf, sizeof buf, "%c%s", ok ? '0' : '1', msg ? msg : "");
    write_all(report_fd, buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
    close(report_fd);
    report_fd = -1;
}

// A start-up failure: tell the caller and exit.
static void fail(const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    one_line(msg);
    note("%s", msg);
    report(0, msg);
    unlink(state_file("monitor.sock"));
    unlink(state_file("console.sock"));
    unlink(state_file("monitor.pid"));
    unlink(state_file("init.pid"));
    exit(1);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE() do { if (!v) { char m[128]; snprintf(m, sizeof m, "%s needs a value", a); usage_exit(m); } i++; } while (0)
        if (!strcmp(a, "--id")) { VALUE(); opt.id = v; }
        else if (!strcmp(a, "--bundle")) { VALUE(); opt.bundle = v; }
        else if (!strcmp(a, "--exec-process")) { VALUE(); opt.exec_process = v; }
        else if (!strcmp(a, "--runtime")) { VALUE(); opt.runtime = v; }
        else if (!strcmp(a, "--runtime-root")) { VALUE(); opt.runtime_root = v; }
        else if (!strcmp(a, "--state-dir")) { VALUE(); opt.state_dir = v; }
        else if (!strcmp(a, "--log-path")) { VALUE(); opt.log_path = v; }
        else if (!strcmp(a, "--terminal")) opt.terminal = 1;
        else if (!strcmp(a, "--stdin")) opt.open_stdin = 1;
        else if (!strcmp(a, "--log-max-size")) {
            VALUE();
            if ((opt.log_max_size = parse_size(v)) < -1) usage_exit("--log-max-size: not a size");
        } else if (!strcmp(a, "--log-max-files")) {
            VALUE();
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000) usage_exit("--log-max-files: not a number from 1 to 1000");
            opt.log_max_files = (int)n;
        } else if (!strcmp(a, "--runtime-arg")) {
            VALUE();
            if (opt.n_runtime_args == MAX_RUNTIME_ARGS) usage_exit("too many --runtime-arg");
            opt.runtime_args[opt.n_runtime_args++] = v;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage_exit("help");
        else { char m[256]; snprintf(m, sizeof m, "unknown argument %s", a); usage_exit(m); }
#undef VALUE
    }
    if (!opt.id || !opt.runtime || !opt.runtime_root || !opt.state_dir || !opt.log_path)
        usage_exit("--id, --runtime, --runtime-root, --state-dir and --log-path are required");
    if (!opt.bundle && !opt.exec_process) usage_exit("--bundle (create a container) or --exec-process (exec in one) is required");
    if (opt.exec_process) opt.bundle = NULL;   // exec mode: the container exists; a --bundle is ignored
    if (opt.bundle) opt.bundle = absolute(opt.bundle);
    if (opt.exec_process) opt.exec_process = absolute(opt.exec_process);
    opt.runtime = absolute(opt.runtime);
    opt.runtime_root = absolute(opt.runtime_root);
    opt.state_dir = absolute(opt.state_dir);
    opt.log_path = absolute(opt.log_path);
}

// `berth-monitor netwait FIFO`: a createRuntime hook that holds the container's start until
// berth-lifecycled has set up its network (it writes '1'; anything else, or EOF, fails the start).
// The runtime runs it after the namespaces exist and before the container's process does, so the
// network is set up while the runtime works instead of before it starts.
static int netwait(const char *path) {
    alarm(120);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "berth-monitor netwait %s: %s\n", path, strerror(errno)); return 1; }
    char c = 0;
    ssize_t n;
    do { n = read(fd, &c, 1); } while (n < 0 && errno == EINTR);
    close(fd);
    if (n == 1 && c == '1') return 0;
    fprintf(stderr, "berth-monitor: the container's network could not be set up\n");
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "netwait") == 0) return netwait(argv[2]);
    // Nothing the caller leaked (an fd without O_CLOEXEC) may be held by a long-lived monitor or
    // reach the container; and a caller waiting for EOF on a pipe must not wait for us.
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        for (int fd = 3; fd < 4096; fd++) close(fd);
    }
    parse_args(argc, argv);

    if (mkdir_p(opt.state_dir) < 0) { note("create state dir %s: %s", opt.state_dir, strerror(errno)); return 1; }
    unlink(state_file("exit.json"));

    // Detach: the original process waits on a pipe for the start-up result and exits with it.
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0) { note("pipe: %s", strerror(errno)); return 1; }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) { note("fork: %s", strerror(errno)); return 1; }
    if (child > 0) {
        close(rp[1]);
        char buf[4200];
        size_t len = 0;
        for (;;) {
            ssize_t n = read(rp[0], buf + len, sizeof buf - 1 - len);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            len += (size_t)n;
            if (len == sizeof buf - 1) break;
        }
        buf[len] = 0;
        if (len > 0 && buf[0] == '0') return 0;
        if (len > 1) fprintf(stderr, "berth-monitor: %s\n", buf + 1);
        else fprintf(stderr, "berth-monitor: container %s: the monitor died during start-up\n", opt.id);
        return 1;
    }
    close(rp[0]);
    report_fd = rp[1];

    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    if (chdir("/") < 0) { /* not fatal */ }
    {
        int nul = devnull_fd(O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0); dup2(nul, 1); dup2(nul, 2);
            if (nul > 2) close(nul);
        }
    }
    detached = 1;
    unlink(state_file("monitor.log"));

    // SIGCHLD through a signalfd.
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) fail("container %s: signalfd: %s", opt.id, strerror(errno));

    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d\n", (int)getpid());
    if (write_state_file("monitor.pid", pidbuf) < 0) fail("container %s: write %s: %s", opt.id, state_file("monitor.pid"), strerror(errno));

    if (open_log() < 0) fail("container %s: open log %s: %s", opt.id, opt.log_path, strerror(errno));

    int ctl = listen_unix(state_file("monitor.sock"));
    if (ctl < 0) fail("container %s: listen on %s: %s", opt.id, state_file("monitor.sock"), strerror(errno));
    set_nonblock(ctl);
    for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;

    // The container's stdio.
    int c_in = -1, c_out = -1, c_err = -1;   // the container's ends (given to the runtime)
    int console = -1;
    char console_path[PATH_MAX];
    snprintf(console_path, sizeof console_path, "%s", state_file("console.sock"));
    if (opt.terminal) {
        console = listen_unix(console_path);
        if (console < 0) fail("container %s: listen on %s: %s", opt.id, console_path, strerror(errno));
        c_in = devnull_fd(O_RDONLY);
        c_out = devnull_fd(O_WRONLY);
        char errpath[PATH_MAX];
        snprintf(errpath, sizeof errpath, "%s/.runtime-%s.err", opt.state_dir, opt.exec_process ? "exec" : "create");
        c_err = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (c_in < 0 || c_out < 0 || c_err < 0) fail("container %s: open stdio for the runtime: %s", opt.id, strerror(errno));
    } else {
        int p[2];
        if (opt.open_stdin) {
            if (pipe2(p, O_CLOEXEC) < 0) fail("container %s: pipe: %s", opt.id, strerror(errno));
            c_in = p[0]; stdin_fd = p[1];
        } else if ((c_in = devnull_fd(O_RDONLY)) < 0) fail("container %s: open /dev/null: %s", opt.id, strerror(errno));
        if (pipe2(p, O_CLOEXEC) < 0) fail("container %s: pipe: %s", opt.id, strerror(errno));
        out_stream.fd = p[0]; c_out = p[1];
        if (pipe2(p, O_CLOEXEC) < 0) fail("container %s: pipe: %s", opt.id, strerror(errno));
        err_stream.fd = p[0]; c_err = p[1];
    }

    // create (or, in exec mode, exec --detach)
    const int exec_mode = opt.exec_process != NULL;
    const char *what = exec_mode ? "exec in container" : "create container";   // for messages
    const char *launch[16];
    int nw = 0;
    char pidfile[PATH_MAX];
    snprintf(pidfile, sizeof pidfile, "%s", state_file("init.pid"));
    unlink(pidfile);
    if (exec_mode) {
        launch[nw++] = "exec";
        launch[nw++] = "--process"; launch[nw++] = opt.exec_process;
        launch[nw++] = "--detach";
    } else {
        // One runtime process instead of `create` + `start`: each runtime start-up costs
        // several milliseconds on the container's start path.
        launch[nw++] = "run";
        launch[nw++] = "--detach";
        launch[nw++] = "--bundle"; launch[nw++] = opt.bundle;
    }
    launch[nw++] = "--pid-file"; launch[nw++] = pidfile;
    if (opt.terminal) { launch[nw++] = "--console-socket"; launch[nw++] = console_path; }
    launch[nw++] = opt.id;
    launch[nw] = NULL;
    pid_t rt = spawn_runtime(runtime_argv(launch), c_in, c_out, c_err);
    if (rt < 0) fail("%s %s: fork: %s", what, opt.id, strerror(errno));
    int status = wait_for(rt);
    if (status != 0) {
        // The runtime's message is on the container's stderr (pipe) or in the capture file.
        // Nothing to undo: a failed create leaves no container and a failed exec no process (by
        // the runtime's contract); in exec mode the container is never deleted.
        char msg[4096] = "";
        if (opt.terminal) {
            lseek(c_err, 0, SEEK_SET);
            ssize_t n = read(c_err, msg, sizeof msg - 1);
            msg[n > 0 ? n : 0] = 0;
        } else {
            close(c_err); c_err = -1;
            set_nonblock(err_stream.fd);
            ssize_t n = read(err_stream.fd, msg, sizeof msg - 1);
            msg[n > 0 ? n : 0] = 0;
        }
        one_line(msg);
        if (!msg[0]) describe_status(msg, sizeof msg, status);
        fail("%s %s: %s", what, opt.id, msg);
    }
    // The container holds its ends now; ours must go so EOF arrives when it exits.
    close(c_in); close(c_out); close(c_err);
    if (opt.terminal) unlink(state_file(exec_mode ? ".runtime-exec.err" : ".runtime-create.err"));

    // From here on a failure must undo what the runtime did: `delete --force` a created
    // container; kill an exec'd process (never the container).
    char ibuf[64];
    pid_t init_pid = 0;
    if (read_small_file(pidfile, ibuf, sizeof ibuf) > 0) init_pid = (pid_t)atoi(ibuf);
    if (init_pid <= 0) {
        undo_launch(0);
        fail("%s %s: the runtime wrote no pid to %s", what, opt.id, pidfile);
    }
    if (opt.terminal) {
        struct pollfd pfd = { .fd = console, .events = POLLIN };
        if (poll(&pfd, 1, 10000) != 1) {
            undo_launch(init_pid);
            fail("%s %s: no terminal received on the console socket", what, opt.id);
        }
        int conn = accept4(console, NULL, NULL, SOCK_CLOEXEC);
        if (conn >= 0) pty_master = recv_fd(conn);
        if (conn < 0 || pty_master < 0) {
            int e = errno;
            undo_launch(init_pid);
            // EBADMSG: the runtime closed the connection without sending a pty (process.terminal
            // is not set although --terminal was given).
            if (conn >= 0 && e == EBADMSG) fail("%s %s: no terminal received on the console socket", what, opt.id);
            fail("%s %s: %s: %s", what, opt.id, conn < 0 ? "accept on the console socket" : "receive the terminal", strerror(e));
        }
        close(conn);
        close(console);
        unlink(console_path);
        out_stream.fd = pty_master;
        if (opt.open_stdin) { stdin_fd = pty_master; stdin_is_pty = 1; }
    }

    // The OOM-kill counter of the process's memory cgroup, as soon as the process runs (a process
    // OOM-killed before this read, within its first moments, is not reported as such).
    oom_watch(init_pid);

    report(1, NULL);

    // The event loop: output, control socket, SIGCHLD.
    if (out_stream.fd >= 0) set_nonblock(out_stream.fd);
    if (err_stream.fd >= 0) set_nonblock(err_stream.fd);
    if (stdin_fd >= 0) set_nonblock(stdin_fd);

    int exited = 0, exit_status = 0;
    struct timespec exited_at = { 0 };
    time_t quiet_since = 0;   // after the exit: when output last flowed
    // The init (or exec'd process) is normally our child: the runtime forks it and it is
    // reparented to this subreaper when `create` (`exec --detach`) exits. If it is not (an
    // unusual runtime), fall back to watching for the pid to vanish, status unknown.
    int init_is_child = 1;
    {
        int st;
        pid_t p = waitpid(init_pid, &st, WNOHANG);
        if (p == init_pid) { exited = 1; exit_status = st; clock_gettime(CLOCK_REALTIME, &exited_at); quiet_since = time(NULL); }
        else if (p < 0 && errno == ECHILD) { init_is_child = 0; note("container %s: %s %d is not a child of the monitor; its exit status will be unknown", opt.id, exec_mode ? "exec process" : "init", (int)init_pid); }
    }
    for (;;) {
        int outputs_open = out_stream.fd >= 0 || err_stream.fd >= 0;
        if (exited && !outputs_open) break;

        struct pollfd pfds[4 + MAX_CLIENTS];
        int roles[4 + MAX_CLIENTS];   // 0 sig, 1 out, 2 err, 3 ctl, 10+i client i (in), 30+i client i (stdin out)
        int np = 0;
        pfds[np] = (struct pollfd){ .fd = sigfd, .events = POLLIN }; roles[np++] = 0;
        if (out_stream.fd >= 0) { pfds[np] = (struct pollfd){ .fd = out_stream.fd, .events = POLLIN }; roles[np++] = 1; }
        if (err_stream.fd >= 0) { pfds[np] = (struct pollfd){ .fd = err_stream.fd, .events = POLLIN }; roles[np++] = 2; }
        if (!exited) { pfds[np] = (struct pollfd){ .fd = ctl, .events = POLLIN }; roles[np++] = 3; }
        for (int i = 0; i < MAX_CLIENTS && !exited; i++) {
            struct client *c = &clients[i];
            if (c->fd < 0) continue;
            if (c->is_stdin && c->len > 0 && stdin_fd >= 0) {
                // Pending stdin bytes: wait until the container can take them (no more reading).
                pfds[np] = (struct pollfd){ .fd = stdin_fd, .events = POLLOUT }; roles[np++] = 30 + i;
            } else {
                pfds[np] = (struct pollfd){ .fd = c->fd, .events = POLLIN }; roles[np++] = 10 + i;
            }
        }
        int timeout = exited ? 200 : init_is_child ? -1 : 500;
        if (partial_deadline_ms) {
            long long left = partial_deadline_ms - monotonic_ms();
            if (left < 0) left = 0;
            if (timeout < 0 || left < timeout) timeout = (int)left;
        }
        if (!exited && !init_is_child && kill(init_pid, 0) < 0 && errno == ESRCH) {
            exited = 1;
            exit_status = 255 << 8;
            clock_gettime(CLOCK_REALTIME, &exited_at);
            quiet_since = time(NULL);
            continue;
        }
        int n = poll(pfds, (nfds_t)np, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            note("poll: %s", strerror(errno));
            sleep(1);
            continue;
        }
        int flowed = 0;
        for (int k = 0; k < np; k++) {
            if (!pfds[k].revents) continue;
            int r = roles[k];
            if (r == 0) {
                struct signalfd_siginfo si;
                while (read(sigfd, &si, sizeof si) > 0) {}
                int st;
                pid_t p;
                while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                    if (p == init_pid && !exited) {
                        exited = 1;
                        exit_status = st;
                        clock_gettime(CLOCK_REALTIME, &exited_at);
                        quiet_since = time(NULL);
                    }
                    // Anything else reparented to us (orphans of the container) is just reaped.
                }
            } else if (r == 1) {
                flowed |= stream_read(&out_stream);
            } else if (r == 2) {
                flowed |= stream_read(&err_stream);
            } else if (r == 3) {
                int fd;
                while ((fd = accept4(ctl, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                    int slot = -1;
                    for (int i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd < 0) { slot = i; break; }
                    if (slot < 0) { send(fd, "error busy\n", 11, MSG_NOSIGNAL | MSG_DONTWAIT); close(fd); continue; }
                    clients[slot] = (struct client){ .fd = fd };
                }
            } else if (r >= 10 && r < 10 + MAX_CLIENTS) {
                struct client *c = &clients[r - 10];
                if (c->fd < 0) continue;
                ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
                if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                if (got <= 0) { client_close(c); continue; }
                c->len += (size_t)got;
                if (c->is_stdin) client_flush_stdin(c);
                else if (client_commands(c) == 0 && c->is_stdin) client_flush_stdin(c);
            } else if (r >= 30) {
                struct client *c = &clients[r - 30];
                if (c->fd >= 0) client_flush_stdin(c);
            }
        }
        flush_partials_due();
        if (flowed) quiet_since = time(NULL);
        // The init has exited: anything still holding the output pipes (an orphan outside a pid
        // namespace) must not keep the monitor forever. Once nothing flowed for 2 s, stop.
        if (exited && outputs_open && !flowed && time(NULL) - quiet_since >= 2) {
            struct stream *ss[2] = { &out_stream, &err_stream };
            for (int i = 0; i < 2; i++) {
                if (ss[i]->fd < 0) continue;
                stream_read(ss[i]);
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                stream_emit(ss[i], 1, &ts);
                stream_close(ss[i]);
            }
            flush_log();
        }
    }
    flush_log();

    int code, sig = 0;
    if (WIFEXITED(exit_status)) code = WEXITSTATUS(exit_status);
    else { sig = WTERMSIG(exit_status); code = 128 + sig; }
    char finished[40];
    format_time(finished, &exited_at);
    char sigtext[16];
    if (sig) snprintf(sigtext, sizeof sigtext, "%d", sig); else strcpy(sigtext, "null");
    char json[256];
    snprintf(json, sizeof json, "{\"exitCode\": %d, \"signal\": %s, \"finishedAt\": \"%s\", \"oomKilled\": %s}\n",
             code, sigtext, finished, oom_killed(exit_status) ? "true" : "false");
    // exit.json first: a client learns of the exit from its connection closing and then reads it.
    int rc = 0;
    if (write_state_file("exit.json", json) < 0) { note("write %s: %s", state_file("exit.json"), strerror(errno)); rc = 1; }
    unlink(state_file("monitor.sock"));
    for (int i = 0; i < MAX_CLIENTS; i++) client_close(&clients[i]);
    close(ctl);
    return rc;
}
