extension Spec {
    /// The capabilities Docker and runc grant a container by default.
    public static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// The paths runc's default spec masks and makes read-only.
    public static let defaultMaskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi",
    ]
    public static let defaultReadonlyPaths = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    /// The spec `spec` writes: the same as `runc spec` (hostname "runc", no cgroup namespace), so
    /// bundles and scripts made for one work with the other.
    public static func defaultSpec(rootless: Bool = false) -> Spec {
        let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var spec = Spec(
            process: Process(
                terminal: true, user: User(uid: 0, gid: 0), args: ["sh"],
                env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                cwd: "/",
                capabilities: Capabilities(bounding: caps, effective: caps, permitted: caps, ambient: caps),
                rlimits: [Rlimit(type: "RLIMIT_NOFILE", soft: 1024, hard: 1024)],
                noNewPrivileges: true),
            root: Root(path: "rootfs", readonly: true),
            hostname: "runc",
            mounts: [
                Mount(destination: "/proc", type: "proc", source: "proc"),
                Mount(destination: "/dev", type: "tmpfs", source: "tmpfs",
                      options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
                      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
                Mount(destination: "/dev/shm", type: "tmpfs", source: "shm",
                      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
                      options: ["nosuid", "noexec", "nodev"]),
                Mount(destination: "/sys", type: "sysfs", source: "sysfs",
                      options: ["nosuid", "noexec", "nodev", "ro"]),
                Mount(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                      options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            ],
            linux: Linux(
                resources: Resources(devices: [DeviceCgroup(allow: false, access: "rwm")]),
                namespaces: [
                    Namespace(type: "pid"), Namespace(type: "network"), Namespace(type: "ipc"),
                    Namespace(type: "uts"), Namespace(type: "mount"),
                ],
                maskedPaths: defaultMaskedPaths,
                readonlyPaths: defaultReadonlyPaths))
        if rootless {
            spec.linux?.namespaces?.append(Namespace(type: "user"))
            spec.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 1000, size: 1)]
            spec.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 1000, size: 1)]
            spec.linux?.resources = nil
        }
        return spec
    }
}
