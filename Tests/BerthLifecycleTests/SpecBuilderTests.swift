import Foundation
import Testing
import BerthImage
import BerthOCI
import BerthWire
@testable import BerthLifecycle

// SpecBuilder against a fake file system: each rule of dockerd 20.10's spec generation, no root.

/// An image's /etc files and a few host device nodes, in memory.
struct FakeSpecFiles: SpecFiles {
    var rootfs: [String: String] = [
        "/etc/passwd": """
            root:x:0:0:root:/root:/bin/sh
            daemon:x:1:1:daemon:/usr/sbin:/bin/false
            nobody:x:65534:65534:nobody:/:/bin/false
            alice:x:1000:1000:Alice:/home/alice:/bin/sh
            """,
        "/etc/group": """
            root:x:0:
            wheel:x:10:root,alice
            staff:x:50:alice
            audio:x:29:
            alice:x:1000:
            nogroup:x:65534:
            """,
    ]
    var host: [String: String] = [:]
    var nodes: [String: HostNode] = [
        "/dev": HostNode(kind: .directory),
        "/dev/null": HostNode(kind: .characterDevice, major: 1, minor: 3, mode: 0o666),
        "/dev/fuse": HostNode(kind: .characterDevice, major: 10, minor: 229, mode: 0o666),
        "/dev/console": HostNode(kind: .characterDevice, major: 5, minor: 1, mode: 0o600),
        "/dev/pts": HostNode(kind: .directory),
        "/dev/pts/0": HostNode(kind: .characterDevice, major: 136, minor: 0, mode: 0o620),
        "/dev/snd": HostNode(kind: .directory),
        "/dev/snd/timer": HostNode(kind: .characterDevice, major: 116, minor: 33, mode: 0o660, gid: 29),
        "/dev/sda": HostNode(kind: .blockDevice, major: 8, minor: 0, mode: 0o660, gid: 6),
        "/dev/stdin": HostNode(kind: .symlink),
    ]

    struct Missing: Error {}

    func readRootfsFile(rootfs root: String, _ path: String) throws -> String? { rootfs[path] }
    func readHostFile(_ path: String) throws -> String {
        guard let t = host[path] else { throw Missing() }
        return t
    }
    func hostNode(_ path: String) throws -> HostNode? { nodes[path] }
    func hostDirectory(_ path: String) throws -> [String] {
        nodes.keys.filter { $0.hasPrefix(path + "/") && !$0.dropFirst(path.count + 1).contains("/") }
            .map { String($0.dropFirst(path.count + 1)) }
    }
    func resolveHostSymlinks(_ path: String) -> String? { path }
}

private let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
private let busybox: ContainerConfig = {
    var c = ContainerConfig()
    c.cmd = ["sh"]
    c.env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    return c
}()

private func build(_ params: ContainerCreateParams, image: ContainerConfig = busybox, files: FakeSpecFiles = FakeSpecFiles(),
                   host: SpecHost = SpecHost(lastCap: 40, cpuCount: 2), input: (inout ContainerSpecInput) -> Void = { _ in }) throws -> Spec {
    var i = ContainerSpecInput(id: id, params: params, image: image, rootfs: "/var/lib/berth/rootfs/\(id)")
    input(&i)
    return try SpecBuilder(host: host, files: files).build(i)
}

private func hc(_ body: (inout HostConfig) -> Void) -> ContainerCreateParams {
    var h = HostConfig()
    body(&h)
    return ContainerCreateParams(hostConfig: h)
}

private func error(_ body: () throws -> Spec) -> SpecBuildError? {
    do { _ = try body(); return nil } catch let e as SpecBuildError { return e } catch { return nil }
}

@Suite struct SpecBuilderArgsTests {
    @Test func imageCmdByDefault() throws {
        #expect(try build(ContainerCreateParams()).process?.args == ["sh"])
    }

    @Test func cmdReplacesImageCmdAndKeepsEntrypoint() throws {
        var image = busybox
        image.entrypoint = ["/entry.sh"]
        image.cmd = ["serve"]
        #expect(try build(ContainerCreateParams(), image: image).process?.args == ["/entry.sh", "serve"])
        #expect(try build(ContainerCreateParams(cmd: ["echo", "hi"]), image: image).process?.args == ["/entry.sh", "echo", "hi"])
    }

    @Test func entrypointReplacesBoth() throws {
        var image = busybox
        image.entrypoint = ["/entry.sh"]
        image.cmd = ["serve"]
        #expect(try build(ContainerCreateParams(entrypoint: ["/bin/true"]), image: image).process?.args == ["/bin/true"])
        #expect(try build(ContainerCreateParams(cmd: ["x"], entrypoint: ["env"]), image: image).process?.args == ["env", "x"])
    }

    @Test func emptyEntrypointClearsTheImages() throws {
        var image = busybox
        image.entrypoint = ["/entry.sh"]
        #expect(try build(ContainerCreateParams(cmd: ["ls"], entrypoint: [""]), image: image).process?.args == ["ls"])
        // As dockerd: [""] does not inherit the image's Cmd either, so nothing is left to run.
        #expect(error { try build(ContainerCreateParams(entrypoint: [""]), image: image) }
            == SpecBuildError(field: "Cmd", message: "No command specified"))
    }

    @Test func initWrapsTheCommand() throws {
        let s = try build(hc { $0.`init` = true }, host: SpecHost(initBinary: "/usr/libexec/berth-init"))
        #expect(s.process?.args == ["/sbin/docker-init", "--", "sh"])
        #expect(s.mounts?.last == Mount(destination: "/sbin/docker-init", type: "bind", source: "/usr/libexec/berth-init", options: ["bind", "ro"]))
        #expect(error { try build(hc { $0.`init` = true }) }?.field == "HostConfig.Init")
    }
}

@Suite struct SpecBuilderEnvTests {
    @Test func defaults() throws {
        let s = try build(ContainerCreateParams(image: "busybox"), image: ContainerConfig().with { $0.cmd = ["sh"] })
        #expect(s.process?.env == ["PATH=" + SpecBuilder.defaultPath, "HOSTNAME=0123456789ab"])
    }

    @Test func requestOverridesImageAndTTYAddsTerm() throws {
        var image = busybox
        image.env = ["PATH=/opt/bin", "A=image", "B=image"]
        let s = try build(ContainerCreateParams(env: ["A=request", "C=c"], hostname: "h", tty: true), image: image)
        #expect(s.process?.env == ["PATH=/opt/bin", "HOSTNAME=h", "TERM=xterm", "A=request", "C=c", "B=image"])
        #expect(s.process?.terminal == true)
    }

    @Test func aKeyWithoutValueUnsetsADefault() throws {
        let s = try build(ContainerCreateParams(env: ["HOSTNAME", "X=1"]), image: ContainerConfig().with { $0.cmd = ["sh"] })
        #expect(s.process?.env == ["PATH=" + SpecBuilder.defaultPath, "X=1"])
    }
}

@Suite struct SpecBuilderCwdAndHostnameTests {
    @Test func workingDirectory() throws {
        #expect(try build(ContainerCreateParams()).process?.cwd == "/")
        #expect(try build(ContainerCreateParams(), image: busybox.with { $0.workingDir = "/srv" }).process?.cwd == "/srv")
        #expect(try build(ContainerCreateParams(workingDir: "/tmp/../var//x/"), image: busybox.with { $0.workingDir = "/srv" }).process?.cwd == "/var/x")
        #expect(error { try build(ContainerCreateParams(workingDir: "tmp")) }
            == SpecBuildError(field: "WorkingDir", message: "the working directory 'tmp' is invalid, it needs to be an absolute path"))
    }

    @Test func hostname() throws {
        #expect(try build(ContainerCreateParams()).hostname == "0123456789ab")
        let s = try build(ContainerCreateParams(hostname: "web", domainname: "example.org"))
        #expect(s.hostname == "web" && s.domainname == "example.org")
        #expect(s.process?.env?.contains("HOSTNAME=web") == true)
        let hostNet = try build(hc { $0.networkMode = "host" }, host: SpecHost(hostname: "box"))
        #expect(hostNet.hostname == "box")
        #expect(hostNet.linux?.namespaces?.contains { $0.type == "network" } == false)
    }
}

@Suite struct SpecBuilderUserTests {
    func user(_ spec: String, groupAdd: [String]? = nil, files: FakeSpecFiles = FakeSpecFiles()) throws -> User? {
        var p = ContainerCreateParams(user: spec)
        p.hostConfig = HostConfig(groupAdd: groupAdd)
        return try build(p, files: files).process?.user
    }

    @Test func rootByDefault() throws {
        #expect(try user("") == User(uid: 0, gid: 0, additionalGids: [0, 10]))
        #expect(try build(ContainerCreateParams(), image: busybox.with { $0.user = "alice" }).process?.user.uid == 1000)
    }

    @Test func byNameAndNumber() throws {
        #expect(try user("nobody") == User(uid: 65534, gid: 65534, additionalGids: [65534]))
        #expect(try user("alice") == User(uid: 1000, gid: 1000, additionalGids: [1000, 10, 50]))
        #expect(try user("1000") == User(uid: 1000, gid: 1000, additionalGids: [1000, 10, 50]))
        #expect(try user("4242") == User(uid: 4242, gid: 0, additionalGids: [0]))
        #expect(try user("4242:4343") == User(uid: 4242, gid: 4343, additionalGids: [4343]))
    }

    @Test func explicitGroupReplacesSupplementaryGroups() throws {
        #expect(try user("alice:staff") == User(uid: 1000, gid: 50, additionalGids: [50]))
        #expect(try user("nobody:29") == User(uid: 65534, gid: 29, additionalGids: [29]))
        #expect(try user("alice:4000") == User(uid: 1000, gid: 4000, additionalGids: [4000]))
    }

    @Test func groupAdd() throws {
        #expect(try user("nobody", groupAdd: ["audio", "50", "777", "audio"]) == User(uid: 65534, gid: 65534, additionalGids: [65534, 29, 50, 777]))
        #expect(try user("alice", groupAdd: ["audio"]) == User(uid: 1000, gid: 1000, additionalGids: [1000, 10, 50, 29]))
        #expect(throws: SpecBuildError(field: "HostConfig.GroupAdd", message: "Unable to find group video")) { try user("", groupAdd: ["video"]) }
    }

    @Test func errorsInDockersWords() throws {
        #expect(throws: SpecBuildError(field: "User", message: "unable to find user nobody2: no matching entries in passwd file")) { try user("nobody2") }
        #expect(throws: SpecBuildError(field: "User", message: "unable to find group nogroup2: no matching entries in group file")) { try user("nobody:nogroup2") }
        #expect(throws: SpecBuildError(field: "User", message: "uids and gids must be in range 0-2147483647")) { try user("4294967296") }
    }

    @Test func noUserDatabase() throws {
        var files = FakeSpecFiles()
        files.rootfs = [:]
        #expect(try user("", files: files) == User(uid: 0, gid: 0, additionalGids: [0]))
        #expect(try user("123:456", files: files) == User(uid: 123, gid: 456, additionalGids: [456]))
        #expect(throws: SpecBuildError(field: "User", message: "unable to find user nobody: no matching entries in passwd file")) { try user("nobody", files: files) }
    }
}

@Suite struct SpecBuilderCapabilityTests {
    @Test func dockersDefaultSetForRoot() throws {
        let caps = try build(ContainerCreateParams()).process?.capabilities
        #expect(caps == Capabilities(bounding: SpecBuilder.defaultCapabilities, effective: SpecBuilder.defaultCapabilities,
                                     permitted: SpecBuilder.defaultCapabilities))
        #expect(Set(SpecBuilder.defaultCapabilities) == Set(Spec.defaultCapabilities))
    }

    @Test func nonRootGetsOnlyTheBoundingSet() throws {
        let caps = try build(ContainerCreateParams(user: "nobody")).process?.capabilities
        #expect(caps == Capabilities(bounding: SpecBuilder.defaultCapabilities))
    }

    @Test func addAndDrop() throws {
        let caps = try build(hc { $0.capAdd = ["net_admin"]; $0.capDrop = ["CAP_CHOWN", "kill"] }).process?.capabilities?.bounding
        #expect(caps == SpecBuilder.defaultCapabilities.filter { $0 != "CAP_CHOWN" && $0 != "CAP_KILL" } + ["CAP_NET_ADMIN"])
    }

    @Test func all() throws {
        let dropAll = try build(hc { $0.capAdd = ["SYS_PTRACE"]; $0.capDrop = ["ALL"] }).process?.capabilities?.bounding
        #expect(dropAll == ["CAP_SYS_PTRACE"])
        let addAll = try build(hc { $0.capAdd = ["all"]; $0.capDrop = ["NET_RAW"] }).process?.capabilities?.bounding
        #expect(addAll?.count == 40 && addAll?.contains("CAP_NET_RAW") == false && addAll?.first == "CAP_CHOWN")
        // A host with an older kernel knows fewer capabilities.
        let old = try build(hc { $0.capAdd = ["ALL"] }, host: SpecHost(lastCap: 37)).process?.capabilities?.bounding
        #expect(old?.last == "CAP_AUDIT_READ" && old?.count == 38)
    }

    @Test func unknownCapability() {
        #expect(error { try build(hc { $0.capAdd = ["NET_WIZARD"] }) }
            == SpecBuildError(field: "HostConfig.CapAdd", message: "unknown capability: \"CAP_NET_WIZARD\""))
        #expect(error { try build(hc { $0.capDrop = ["bogus"] }) }?.field == "HostConfig.CapDrop")
    }
}

@Suite struct SpecBuilderPrivilegedTests {
    @Test func privileged() throws {
        let s = try build(hc { $0.privileged = true })
        #expect(s.process?.capabilities?.bounding?.count == 41)
        #expect(s.process?.capabilities?.effective == s.process?.capabilities?.bounding)
        #expect(s.linux?.seccomp == nil)
        #expect(s.linux?.maskedPaths == nil && s.linux?.readonlyPaths == nil)
        #expect(s.mounts?.first { $0.destination == "/sys" }?.options == ["nosuid", "noexec", "nodev"])
        #expect(s.mounts?.first { $0.destination == "/sys/fs/cgroup" }?.options == ["nosuid", "noexec", "nodev"])
        #expect(s.linux?.resources?.devices == [DeviceCgroup(allow: true, access: "rwm")])
        // Every host device but the console and the pts/shm/mqueue/fd trees; symlinks are not devices.
        #expect(s.linux?.devices?.map(\.path) == ["/dev/fuse", "/dev/null", "/dev/sda", "/dev/snd/timer"])
        #expect(s.linux?.devices?.first { $0.path == "/dev/sda" } == Device(type: "b", path: "/dev/sda", major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6))
    }
}

@Suite struct SpecBuilderMountTests {
    @Test func dockersDefaults() throws {
        let s = try build(ContainerCreateParams())
        #expect(s.mounts?.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"])
        #expect(s.mounts?.last == Mount(destination: "/dev/shm", type: "tmpfs", source: "shm",
                                        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]))
        #expect(s.root == Root(path: "/var/lib/berth/rootfs/\(id)", readonly: false))
        let shm = try build(hc { $0.shmSize = 1 << 30 }).mounts?.last?.options?.last
        #expect(shm == "size=1073741824")
        #expect(try build(hc { $0.ipcMode = "none" }).mounts?.contains { $0.destination == "/dev/shm" } == false)
    }

    @Test func bindsVolumesAndTmpfs() throws {
        var p = hc {
            $0.binds = ["/srv/data:/data:ro", "/srv/logs:/var/log/app:rshared", "cache:/cache"]
            $0.mounts = [MountSpec(type: "bind", source: "/etc/ssl", target: "/etc/ssl", readOnly: true,
                                   bindOptions: .init(propagation: "rslave")),
                         MountSpec(type: "tmpfs", target: "/scratch", tmpfsOptions: .init(sizeBytes: 64 << 20, mode: 0o1777))]
            $0.tmpfs = ["/run": "rw,exec,size=65536k"]
        }
        p.volumes = ["/anon": EmptyObject()]
        let s = try build(p) {
            $0.volumes = ["cache": "/var/lib/berth/volumes/cache/_data"]
            $0.anonymousVolumes = ["/anon": "/var/lib/berth/volumes/abc/_data"]
            $0.networkFiles = ["/etc/hosts": "/run/berth/c/hosts"]
        }
        let user = Array((s.mounts ?? []).dropFirst(7))
        #expect(user == [
            Mount(destination: "/anon", type: "bind", source: "/var/lib/berth/volumes/abc/_data", options: ["rbind"]),
            Mount(destination: "/cache", type: "bind", source: "/var/lib/berth/volumes/cache/_data", options: ["rbind"]),
            Mount(destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro", "rprivate"]),
            Mount(destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "rprivate", "rw", "exec", "size=65536k"]),
            Mount(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["noexec", "nosuid", "nodev", "rprivate", "mode=1777", "size=64m"]),
            Mount(destination: "/etc/ssl", type: "bind", source: "/etc/ssl", options: ["rbind", "ro", "rslave"]),
            Mount(destination: "/etc/hosts", type: "bind", source: "/run/berth/c/hosts", options: ["rbind", "rprivate"]),
            Mount(destination: "/var/log/app", type: "bind", source: "/srv/logs", options: ["rbind", "rshared"]),
        ])
        #expect(s.linux?.rootfsPropagation == "shared")
        let needed = try SpecBuilder.requiredVolumes(SpecBuilder.merge(p, image: busybox))
        #expect(needed.named == ["cache"] && needed.anonymous == ["/anon"])
    }

    @Test func imageVolumesAndErrors() throws {
        let image = busybox.with { $0.volumes = ["/var/lib/db": EmptyObject()] }
        let needed = try SpecBuilder.requiredVolumes(SpecBuilder.merge(ContainerCreateParams(), image: image))
        #expect(needed.anonymous == ["/var/lib/db"] && needed.named.isEmpty)
        #expect(error { try build(ContainerCreateParams(), image: image) }?.field == "Volumes")
        // A bind on the same destination replaces the anonymous volume.
        let s = try build(hc { $0.binds = ["/host/db:/var/lib/db"] }, image: image)
        #expect(s.mounts?.last?.source == "/host/db")
        #expect(error { try build(hc { $0.binds = ["/a:/x", "/b:/x/"] }) }
            == SpecBuildError(field: "HostConfig.Binds", message: "Duplicate mount point: /x"))
        #expect(error { try build(hc { $0.binds = ["/a:rel"] }) }?.field == "HostConfig.Binds")
        #expect(error { try build(hc { $0.binds = ["/a:/b:rx"] }) }
            == SpecBuildError(field: "HostConfig.Binds", message: "invalid mode: rx"))
        #expect(error { try build(hc { $0.tmpfs = ["/t": "bogus=1"] }) }?.field == "HostConfig.Tmpfs")
    }

    @Test func readOnlyRootfs() throws {
        let s = try build(hc { $0.readonlyRootfs = true; $0.binds = ["/srv:/srv"] })
        #expect(s.root?.readonly == true)
        let ro = Dictionary(uniqueKeysWithValues: (s.mounts ?? []).map { ($0.destination, $0.options?.contains("ro") == true) })
        #expect(ro == ["/proc": false, "/dev": false, "/dev/pts": false, "/sys": true, "/sys/fs/cgroup": true,
                       "/dev/mqueue": false, "/dev/shm": false, "/srv": false])
    }

    @Test func userDevReplacesEverythingUnderIt() throws {
        let s = try build(hc { $0.binds = ["/dev:/dev"] })
        #expect(s.mounts?.map(\.destination) == ["/proc", "/sys", "/sys/fs/cgroup", "/dev"])
    }
}

@Suite struct SpecBuilderPathsAndNamespacesTests {
    @Test func maskedAndReadonlyPaths() throws {
        let s = try build(ContainerCreateParams())
        #expect(s.linux?.maskedPaths == SpecBuilder.maskedPaths)
        #expect(s.linux?.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        var p = ContainerCreateParams()
        p.hostConfig = HostConfig()
        p.hostConfig?.maskedPaths = []
        p.hostConfig?.readonlyPaths = []
        let unconfined = try build(p)
        #expect(unconfined.linux?.maskedPaths == [] && unconfined.linux?.readonlyPaths == [])
    }

    @Test func namespacesAndCgroup() throws {
        let s = try build(ContainerCreateParams()) { $0.networkNamespace = "/run/berth/netns/c1" }
        #expect(s.linux?.namespaces == [Namespace(type: "mount"), Namespace(type: "network", path: "/run/berth/netns/c1"),
                                        Namespace(type: "uts"), Namespace(type: "pid"), Namespace(type: "ipc")])
        #expect(s.linux?.cgroupsPath == "/berth/\(id)")
        let v2 = try build(hc { $0.pidMode = "host"; $0.ipcMode = "host"; $0.cgroupParent = "custom" }, host: SpecHost(cgroupV2: true))
        #expect(v2.linux?.namespaces?.map(\.type) == ["mount", "network", "uts", "cgroup"])
        #expect(v2.linux?.cgroupsPath == "/custom/\(id)")
        let uts = try build(hc { $0.utsMode = "host" })
        #expect(uts.hostname == nil && uts.linux?.namespaces?.contains { $0.type == "uts" } == false)
    }

    @Test func sysctlsOomAndAnnotations() throws {
        var p = hc { $0.sysctls = ["net.ipv4.ip_forward": "1", "kernel.shmmax": "1000"]; $0.oomScoreAdj = 500 }
        p.hostConfig?.annotations = ["org.example/a": "b"]
        let s = try build(p)
        #expect(s.linux?.sysctl == ["net.ipv4.ip_forward": "1", "kernel.shmmax": "1000",
                                    "net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0"])
        #expect(try build(hc { $0.sysctls = ["net.ipv4.ping_group_range": "1 1"] }).linux?.sysctl?["net.ipv4.ping_group_range"] == "1 1")
        #expect(try build(ContainerCreateParams(), host: SpecHost(kernelVersion: [4, 9])).linux?.sysctl == ["net.ipv4.ping_group_range": "0 2147483647"])
        #expect(try build(hc { $0.networkMode = "host" }).linux?.sysctl == nil)
        #expect(s.process?.oomScoreAdj == 500)
        #expect(s.annotations == ["org.example/a": "b"])
        #expect(try build(ContainerCreateParams()).process?.oomScoreAdj == 0)
        #expect(error { try build(hc { $0.sysctls = ["kernel.hostname": "x"] }) }?.field == "HostConfig.Sysctls")
        #expect(error { try build(hc { $0.sysctls = ["net.core.somaxconn": "1"]; $0.networkMode = "host" }) }?.field == "HostConfig.Sysctls")
        #expect(error { try build(hc { $0.oomScoreAdj = 1001 }) }?.field == "HostConfig.OomScoreAdj")
    }
}

@Suite struct SpecBuilderRlimitTests {
    @Test func noneByDefault() throws {
        #expect(try build(ContainerCreateParams()).process?.rlimits == nil)
    }

    @Test func ulimitsOverDaemonDefaults() throws {
        let host = SpecHost(defaultUlimits: [Ulimit(name: "nofile", soft: 1_048_576, hard: 1_048_576), Ulimit(name: "nproc", soft: 100, hard: 200)])
        let s = try build(hc { $0.ulimits = [Ulimit(name: "nofile", soft: 1024, hard: 2048), Ulimit(name: "core", soft: -1, hard: -1)] }, host: host)
        #expect(s.process?.rlimits == [Rlimit(type: "RLIMIT_NOFILE", soft: 1024, hard: 2048),
                                       Rlimit(type: "RLIMIT_CORE", soft: .max, hard: .max),
                                       Rlimit(type: "RLIMIT_NPROC", soft: 100, hard: 200)])
    }

    @Test func invalidUlimits() {
        #expect(error { try build(hc { $0.ulimits = [Ulimit(name: "nofiles", soft: 1, hard: 1)] }) }
            == SpecBuildError(field: "HostConfig.Ulimits", message: "invalid ulimit type: nofiles"))
        #expect(error { try build(hc { $0.ulimits = [Ulimit(name: "nofile", soft: 2048, hard: 1024)] }) }
            == SpecBuildError(field: "HostConfig.Ulimits", message: "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"))
    }
}

@Suite struct SpecBuilderSeccompTests {
    func allowed(_ s: Seccomp?) -> Set<String> {
        Set((s?.syscalls ?? []).filter { $0.action == "SCMP_ACT_ALLOW" && $0.args == nil }.flatMap(\.names))
    }

    @Test func dockersDefaultFilteredByCapabilities() throws {
        let s = try build(ContainerCreateParams()).linux?.seccomp
        #expect(s?.defaultAction == "SCMP_ACT_ERRNO")
        #expect(s?.defaultErrnoRet == 1)
        #expect(allowed(s).contains("chroot") && !allowed(s).contains("mount") && !allowed(s).contains("kcmp"))
        #if arch(x86_64)
        #expect(s?.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        #endif
        // The same as the converter the seccomp tests use.
        #expect(s == (try DockerSeccompProfile.hostDefault()))
        let admin = try build(hc { $0.capAdd = ["SYS_ADMIN", "SYS_PTRACE"] }).linux?.seccomp
        #expect(allowed(admin).contains("mount") && allowed(admin).contains("kcmp"))
        #expect(admin?.syscalls?.contains { $0.names == ["clone3"] } == false)
    }

    @Test func minKernel() throws {
        // ptrace is allowed without CAP_SYS_PTRACE only from kernel 4.8.
        let old = try build(ContainerCreateParams(), host: SpecHost(kernelVersion: [4, 4])).linux?.seccomp
        let new = try build(ContainerCreateParams(), host: SpecHost(kernelVersion: [6, 1])).linux?.seccomp
        #expect(!allowed(old).contains("ptrace") && allowed(new).contains("ptrace"))
    }

    @Test func securityOptions() throws {
        #expect(try build(hc { $0.securityOpt = ["seccomp=unconfined"] }).linux?.seccomp == nil)
        #expect(try build(hc { $0.securityOpt = ["seccomp:unconfined"] }).linux?.seccomp == nil)
        let custom = #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO"}]}"#
        let s = try build(hc { $0.securityOpt = ["seccomp=" + custom] }).linux?.seccomp
        #expect(s == Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO")]))
        var files = FakeSpecFiles()
        files.host["/etc/berth/profile.json"] = custom
        #expect(try build(hc { $0.securityOpt = ["seccomp=/etc/berth/profile.json"] }, files: files).linux?.seccomp == s)
        #expect(error { try build(hc { $0.securityOpt = ["seccomp={not json"] }) }?.field == "HostConfig.SecurityOpt")

        #expect(try build(ContainerCreateParams()).process?.noNewPrivileges == nil)
        #expect(try build(hc { $0.securityOpt = ["no-new-privileges"] }).process?.noNewPrivileges == true)
        #expect(try build(hc { $0.securityOpt = ["no-new-privileges:true"] }).process?.noNewPrivileges == true)
        #expect(try build(hc { $0.securityOpt = ["no-new-privileges=false"] }).process?.noNewPrivileges == nil)
        #expect(error { try build(hc { $0.securityOpt = ["no-new-privileges=maybe"] }) }
            == SpecBuildError(field: "HostConfig.SecurityOpt", message: "invalid --security-opt 2: \"no-new-privileges=maybe\""))
        #expect(error { try build(hc { $0.securityOpt = ["bogus"] }) }?.message == "invalid --security-opt 1: \"bogus\"")
    }
}

@Suite struct SpecBuilderResourceTests {
    @Test func defaults() throws {
        let r = try build(ContainerCreateParams()).linux?.resources
        #expect(r?.memory == Memory(disableOOMKiller: false))
        #expect(r?.cpu == CPU(shares: 0))
        #expect(r?.pids == nil)
        #expect(r?.devices == SpecBuilder.defaultDeviceRules)
        #expect(r?.devices?.count == 8 && r?.devices?.last == DeviceCgroup(allow: false, type: "c", major: 10, minor: 229, access: "rwm"))
        #expect(r?.blockIO == BlockIO(weight: 0))
    }

    @Test func limits() throws {
        let r = try build(hc {
            $0.memory = 64 << 20; $0.memoryReservation = 32 << 20; $0.nanoCpus = 500_000_000; $0.cpuShares = 512
            $0.cpusetCpus = "0-1"; $0.cpusetMems = "0"; $0.pidsLimit = 50; $0.oomKillDisable = true
        }).linux?.resources
        #expect(r?.memory == Memory(limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, disableOOMKiller: true))
        #expect(r?.cpu == CPU(shares: 512, quota: 50_000, period: 100_000, cpus: "0-1", mems: "0"))
        #expect(r?.pids == Pids(limit: 50))
        #expect(try build(hc { $0.pidsLimit = 0 }).linux?.resources?.pids == Pids(limit: -1))
        #expect(try build(hc { $0.memory = 64 << 20; $0.memorySwap = -1 }).linux?.resources?.memory?.swap == nil)
        #expect(try build(hc { $0.memory = 64 << 20 }, host: SpecHost(swapLimit: false)).linux?.resources?.memory?.swap == nil)
        #expect(try build(hc { $0.cpuPeriod = 50_000; $0.cpuQuota = 25_000 }).linux?.resources?.cpu == CPU(shares: 0, quota: 25_000, period: 50_000))
    }

    @Test func invalid() {
        #expect(error { try build(hc { $0.memory = -1 }) } == SpecBuildError(field: "HostConfig.Memory", message: "Minimum memory limit allowed is 6MB"))
        #expect(error { try build(hc { $0.memory = 1 << 20 }) }?.field == "HostConfig.Memory")
        #expect(error { try build(hc { $0.memory = 64 << 20; $0.memorySwap = 32 << 20 }) }?.field == "HostConfig.MemorySwap")
        #expect(error { try build(hc { $0.memoryReservation = 128 << 20; $0.memory = 64 << 20 }) }?.field == "HostConfig.MemoryReservation")
        #expect(error { try build(hc { $0.nanoCpus = 3_000_000_000 }) }
            == SpecBuildError(field: "HostConfig.NanoCpus", message: "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"))
        #expect(error { try build(hc { $0.nanoCpus = 1_000_000_000; $0.cpuQuota = 5000 }) }?.field == "HostConfig.NanoCpus")
        #expect(error { try build(hc { $0.cpuShares = -2 }) }?.field == "HostConfig.CpuShares")
        #expect(error { try build(hc { $0.cpusetCpus = "0-a" }) }?.field == "HostConfig.CpusetCpus")
        #expect(error { try build(hc { $0.shmSize = -1 }) }?.field == "HostConfig.ShmSize")
    }

    @Test func devices() throws {
        let s = try build(hc {
            $0.devices = [DeviceMapping(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse", cgroupPermissions: "rwm"),
                          DeviceMapping(pathOnHost: "/dev/snd", pathInContainer: "/dev/sound", cgroupPermissions: "r")]
            $0.deviceCgroupRules = ["c 1:3 rwm", "b *:* m"]
        })
        #expect(s.linux?.devices == [
            Device(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0),
            Device(type: "c", path: "/dev/sound/timer", major: 116, minor: 33, fileMode: 0o660, uid: 0, gid: 29),
        ])
        #expect(s.linux?.resources?.devices == SpecBuilder.defaultDeviceRules + [
            DeviceCgroup(allow: true, type: "c", major: 10, minor: 229, access: "rwm"),
            DeviceCgroup(allow: true, type: "c", major: 116, minor: 33, access: "r"),
            DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            DeviceCgroup(allow: true, type: "b", access: "m"),
        ])
        #expect(error { try build(hc { $0.devices = [DeviceMapping(pathOnHost: "/dev/nope")] }) }
            == SpecBuildError(field: "HostConfig.Devices", message: "error gathering device information while adding custom device \"/dev/nope\": no such file or directory"))
        #expect(error { try build(hc { $0.deviceCgroupRules = ["x 1:3 rwm"] }) }?.field == "HostConfig.DeviceCgroupRules")
    }
}

@Suite struct SpecBuilderCreateParamsWireTests {
    @Test func decodesDockersBody() throws {
        let body = #"""
        {"Hostname":"","Domainname":"","User":"nobody","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,
         "Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=b"],"Cmd":["sleep","30"],"Image":"busybox",
         "Volumes":{"/data":{}},"WorkingDir":"/tmp","Entrypoint":null,"OnBuild":null,"Labels":{"k":"v"},
         "StopTimeout":5,"ExposedPorts":{"80/tcp":{}},
         "HostConfig":{"Binds":["/a:/b:ro"],"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{}},
           "NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},
           "RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,
           "CapAdd":["NET_ADMIN"],"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],
           "ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"",
           "Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":true,"SecurityOpt":["no-new-privileges"],
           "UTSMode":"","UsernsMode":"","ShmSize":0,"ConsoleSize":[0,0],"Isolation":"","CpuShares":0,
           "Memory":67108864,"NanoCpus":500000000,"CgroupParent":"","BlkioWeight":0,"CpuPeriod":0,"CpuQuota":0,
           "CpusetCpus":"","CpusetMems":"","Devices":[{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}],
           "DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,
           "OomKillDisable":false,"PidsLimit":50,"Ulimits":[{"Name":"nofile","Hard":2048,"Soft":1024}],
           "Mounts":[{"Type":"tmpfs","Target":"/run","TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}},
                     {"Type":"bind","Source":"/srv","Target":"/srv","ReadOnly":true,"BindOptions":{"Propagation":"rslave"}}],
           "Tmpfs":{"/tmp":"size=1m"},"Sysctls":{"net.ipv4.ip_forward":"1"},"Init":true,"MaskedPaths":null},
         "NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["web"]}}}}
        """#
        let p = try JSONDecoder().decode(ContainerCreateParams.self, from: Data(body.utf8))
        #expect(p.user == "nobody" && p.cmd == ["sleep", "30"] && p.image == "busybox" && p.workingDir == "/tmp")
        #expect(p.entrypoint == nil && p.labels == ["k": "v"] && p.stopTimeout == 5 && p.volumes?.keys.first == "/data")
        let h = try #require(p.hostConfig)
        #expect(h.binds == ["/a:/b:ro"] && h.capAdd == ["NET_ADMIN"] && h.readonlyRootfs == true && h.autoRemove == true)
        #expect(h.memory == 67_108_864 && h.nanoCpus == 500_000_000 && h.pidsLimit == 50 && h.`init` == true)
        #expect(h.ulimits == [Ulimit(name: "nofile", soft: 1024, hard: 2048)])
        #expect(h.devices == [DeviceMapping(pathOnHost: "/dev/fuse", pathInContainer: "/dev/fuse", cgroupPermissions: "rwm")])
        #expect(h.mounts?.first?.tmpfsOptions == MountSpec.TmpfsOptions(sizeBytes: 1 << 20, mode: 0o1777))
        #expect(h.mounts?.last?.bindOptions?.propagation == "rslave")
        #expect(h.restartPolicy == RestartPolicy(name: "no", maximumRetryCount: 0))
        #expect(h.portBindings?["80/tcp"]??.first?.hostPort == "8080")
        #expect(p.networkingConfig?.endpointsConfig?["bridge"]?.aliases == ["web"])

        // It encodes back with Docker's keys.
        let again = try JSONDecoder().decode(ContainerCreateParams.self, from: JSONEncoder().encode(p))
        #expect(again == p)
        let keys = try JSONSerialization.jsonObject(with: JSONEncoder().encode(p)) as? [String: Any]
        #expect(keys?["HostConfig"] != nil && keys?["Cmd"] != nil && keys?["cmd"] == nil)
    }
}

extension ContainerConfig {
    fileprivate func with(_ body: (inout ContainerConfig) -> Void) -> ContainerConfig {
        var c = self
        body(&c)
        return c
    }
}
