// Network namespaces for berth-lifecycled. A namespace is entered on a thread of its own (setns
// and unshare of CLONE_NEWNET act on the calling thread only), so the daemon's other threads never
// change namespace.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include "berth_init.h"

struct netns_job {
    const char *path;        // namespace file: created (create) or joined (socket)
    int domain, type, port, backlog, reuse;
    const char *addr;
    int result;              // fd or -errno
    int stage;               // which step failed
};

static int loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int err = rc < 0 ? -errno : 0;
    close(s);
    return err;
}

static void *create_thread(void *arg) {
    struct netns_job *j = arg;
    if (unshare(CLONE_NEWNET) < 0) { j->result = -errno; j->stage = 1; return NULL; }
    int rc = loopback_up();
    if (rc < 0) { j->result = rc; j->stage = 2; return NULL; }
    if (mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
        j->result = -errno; j->stage = 3; return NULL;
    }
    j->result = 0;
    return NULL;
}

static int bind_socket(struct netns_job *j) {
    int fd = socket(j->domain, j->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { j->stage = 5; return -errno; }
    int one = 1;
    if (j->reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (j->domain == AF_INET6) {
        struct sockaddr_in6 sa;
        memset(&sa, 0, sizeof sa);
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons((unsigned short)j->port);
        if (inet_pton(AF_INET6, j->addr, &sa.sin6_addr) != 1) { close(fd); j->stage = 6; return -EINVAL; }
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    } else {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((unsigned short)j->port);
        if (inet_pton(AF_INET, j->addr, &sa.sin_addr) != 1) { close(fd); j->stage = 6; return -EINVAL; }
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    if (rc < 0) { int e = errno; close(fd); j->stage = 7; return -e; }
    if (j->type == SOCK_STREAM && j->backlog >= 0 && listen(fd, j->backlog) < 0) {
        int e = errno; close(fd); j->stage = 8; return -e;
    }
    return fd;
}

static void *socket_thread(void *arg) {
    struct netns_job *j = arg;
    int ns = open(j->path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) { j->result = -errno; j->stage = 4; return NULL; }
    int rc = setns(ns, CLONE_NEWNET);
    int e = errno;
    close(ns);
    if (rc < 0) { j->result = -e; j->stage = 4; return NULL; }
    j->result = bind_socket(j);
    return NULL;
}

static int run_thread(void *(*fn)(void *), struct netns_job *j) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, fn, j);
    if (rc != 0) { j->stage = 9; return -rc; }
    pthread_join(t, NULL);
    return j->result;
}

int berth_netns_create(const char *path, int *stage) {
    int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) { *stage = 0; return -errno; }
    close(fd);
    struct netns_job j = { .path = path, .result = -EINVAL };
    int rc = run_thread(create_thread, &j);
    if (rc < 0) { unlink(path); *stage = j.stage; }
    return rc;
}

int berth_netns_socket(const char *path, int domain, int type, const char *addr, int port, int backlog, int reuse,
                       int *stage) {
    struct netns_job j = { .path = path, .domain = domain, .type = type, .addr = addr, .port = port,
                           .backlog = backlog, .reuse = reuse, .result = -EINVAL };
    int rc = path ? run_thread(socket_thread, &j) : bind_socket(&j);
    *stage = j.stage;
    return rc;
}

int berth_socket_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}
