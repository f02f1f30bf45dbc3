import Testing
import Glibc
import BerthOCI
import BerthOS
import CBerthInit
@testable import BerthRuntime

@Suite struct MountOptionsTests {
    @Test func flagsPropagationAndData() throws {
        let o = try MountOptions(["nosuid", "noexec", "ro", "rslave", "mode=755", "size=64k"], field: "m")
        #expect(o.flags == UInt(MS_NOSUID) | UInt(MS_NOEXEC) | UInt(MS_RDONLY))
        #expect(o.propagation == UInt(MS_SLAVE) | UInt(MS_REC))
        #expect(o.data == ["mode=755", "size=64k"])
    }

    @Test func laterOptionsWin() throws {
        let o = try MountOptions(["ro", "rw", "nosuid", "suid"], field: "m")
        #expect(o.flags == 0)
    }

    @Test func rbindIsRecursiveBind() throws {
        let o = try MountOptions(["rbind"], field: "m")
        #expect(o.isBind)
        #expect(o.flags & UInt(MS_REC) != 0)
    }

    @Test func unsupportedRecursiveOptionsNameTheField() {
        #expect(throws: SpecError(field: "mounts[2].options", "mount option \"idmap\" is not supported")) {
            _ = try MountOptions(["idmap"], field: "mounts[2].options")
        }
    }
}

@Suite struct PlannerTests {
    func spec(_ f: (inout Spec) -> Void = { _ in }) -> Spec {
        var s = Spec.defaultSpec()
        s.process?.terminal = false
        s.process?.args = ["true"]
        f(&s)
        return s
    }

    func plan(_ s: Spec, gate: InitPlan.StartGate = .none, configure: (inout Planner) -> Void = { _ in }) throws -> InitPlan {
        var p = Planner(spec: s, bundle: "/b")
        p.cgroups = [Planner.CgroupView(name: "memory", options: "memory", hostDir: "/sys/fs/cgroup/memory/berth/x"),
                     Planner.CgroupView(name: "cpu,cpuacct", options: "cpu,cpuacct", hostDir: "/sys/fs/cgroup/cpu,cpuacct/berth/x")]
        configure(&p)
        return try p.initPlan(gate: gate)
    }

    @Test func namespacesBecomeCloneFlags() throws {
        let p = try plan(spec { $0.linux?.namespaces?.append(Namespace(type: "cgroup")) })
        let want = BERTH_CLONE_NEWPID | BERTH_CLONE_NEWNET | BERTH_CLONE_NEWIPC | BERTH_CLONE_NEWUTS | BERTH_CLONE_NEWNS
        #expect(p.cloneFlags == want)
        #expect(p.unshareCgroupNS)   // after the parent placed the child in its cgroup
        #expect(p.joins.isEmpty)
    }

    @Test func namespacePathsAreJoinedUserFirstAndPidByParent() throws {
        let s = spec {
            $0.linux?.namespaces = [Namespace(type: "mount"), Namespace(type: "network", path: "/var/run/netns/x"),
                                    Namespace(type: "pid", path: "/proc/1/ns/pid")]
        }
        let p = try plan(s)
        #expect(p.joins.map(\.path) == ["/var/run/netns/x"])
        #expect(p.joinPIDNamespace == "/proc/1/ns/pid")
        #expect(p.cloneFlags == BERTH_CLONE_NEWNS)
    }

    @Test func mountNamespaceIsRequired() {
        let s = spec { $0.linux?.namespaces?.removeAll { $0.type == "mount" } }
        #expect(throws: SpecError.self) { _ = try plan(s) }
    }

    @Test func rootfsIsResolvedAgainstTheBundle() throws {
        #expect(try plan(spec()).rootfs == "/b/rootfs")
        #expect(try plan(spec { $0.root?.path = "/abs/root/" }).rootfs == "/abs/root")
        #expect(try plan(spec { $0.root?.readonly = true }).readonlyRoot)
    }

    @Test func mountDestinationsAreCleaned() throws {
        let s = spec { $0.mounts = [Mount(destination: "/a/../../b/./c", type: "tmpfs", source: "tmpfs")] }
        #expect(try plan(s).mounts.map(\.destination) == ["/b/c"])
    }

    @Test func bindMountsGetARemountForTheirFlags() throws {
        let s = spec { $0.mounts = [Mount(destination: "/data", type: "bind", source: "data", options: ["rbind", "ro", "nosuid"])] }
        let m = try #require(try plan(s).mounts.first)
        #expect(m.bind)
        #expect(m.source == "/b/data")
        #expect(m.flags == UInt(MS_BIND) | UInt(MS_REC))
        #expect(m.remountFlags == UInt(MS_RDONLY) | UInt(MS_NOSUID))
    }

    @Test func cgroupV1MountIsATmpfsWithOneMountPerHierarchy() throws {
        let p = try plan(spec { $0.linux?.namespaces?.append(Namespace(type: "cgroup")) })
        let cg = p.mounts.filter { $0.destination.hasPrefix("/sys/fs/cgroup") }
        #expect(cg.first?.type == "tmpfs")
        #expect(cg.contains { $0.destination == "/sys/fs/cgroup/memory" && $0.type == "cgroup" && $0.data == "memory" })
        // A combined hierarchy is also reachable under each subsystem's name.
        #expect(cg.contains { $0.destination == "/sys/fs/cgroup/cpu" && $0.symlink && $0.source == "cpu,cpuacct" })
        // "ro" makes a final read-only remount of the tmpfs.
        #expect(cg.last.map { $0.flags & UInt(MS_REMOUNT) != 0 && $0.flags & UInt(MS_RDONLY) != 0 } == true)
    }

    @Test func cgroupMountWithoutCgroupNamespaceBindsTheContainersDirs() throws {
        let s = spec { $0.linux?.namespaces?.removeAll { $0.type == "cgroup" } }
        let p = try plan(s)
        let mem = try #require(p.mounts.first { $0.destination == "/sys/fs/cgroup/memory" })
        #expect(mem.bind)
        #expect(mem.source == "/sys/fs/cgroup/memory/berth/x")
    }

    @Test func cgroupV2MountsCgroup2() throws {
        let p = try plan(spec { $0.linux?.namespaces?.append(Namespace(type: "cgroup")) }) { $0.cgroupsV2 = true; $0.cgroups = [Planner.CgroupView(name: "", options: "", hostDir: "/sys/fs/cgroup/berth/x")] }
        let found = p.mounts.contains { $0.destination == "/sys/fs/cgroup" && $0.type == "cgroup2" }
        #expect(found)
    }

    @Test func defaultDevicesAndLinksForAFreshDev() throws {
        let p = try plan(spec { $0.linux?.devices = [Device(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o600)] })
        #expect(p.devLinks)
        #expect(Set(p.devices.map(\.path)).isSuperset(of: ["/dev/null", "/dev/zero", "/dev/tty", "/dev/urandom", "/dev/fuse"]))
        let fuse = try #require(p.devices.first { $0.path == "/dev/fuse" })
        #expect(fuse.mode == UInt32(S_IFCHR) | 0o600)
        #expect(!fuse.bind)
    }

    @Test func devicesAreBindMountedInAUserNamespace() throws {
        let s = spec {
            $0.linux?.namespaces?.append(Namespace(type: "user"))
            $0.linux?.uidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
            $0.linux?.gidMappings = [IDMapping(containerID: 0, hostID: 100000, size: 65536)]
        }
        let p = try plan(s)
        let allBound = p.devices.allSatisfy { $0.bind }
        #expect(allBound)
        #expect(p.cloneFlags & BERTH_CLONE_NEWUSER != 0)
    }

    @Test func processFields() throws {
        let s = spec {
            $0.process?.user = User(uid: 1000, gid: 1001, umask: 0o027, additionalGids: [5, 6])
            $0.process?.cwd = "/tmp"
            $0.process?.env = ["PATH=/bin", "A=b"]
            $0.process?.rlimits = [Rlimit(type: "RLIMIT_NPROC", soft: 10, hard: 20)]
            $0.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
        }
        let p = try plan(s)
        #expect(p.uid == 1000 && p.gid == 1001 && p.additionalGids == [5, 6] && p.umask == 0o027)
        #expect(p.cwd == "/tmp" && p.pathEnv == "/bin")
        #expect(p.rlimits.first.map { $0.resource == 6 && $0.soft == 10 && $0.hard == 20 } == true)
        #expect(p.sysctls.first.map { $0.key == "net/ipv4/ip_forward" && $0.value == "1" } == true)
        #expect(p.hostname == "runc")
    }

    @Test func capabilitiesBecomeMasks() throws {
        let s = spec { $0.process?.capabilities = Capabilities(bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"]) }
        let caps = try #require(try plan(s).caps)
        #expect(caps.bounding == (1 << 0) | (1 << 5))
        #expect(caps.effective == 1 << 5)
        #expect(caps.permitted == 0 && caps.ambient == 0)
    }

    @Test func terminalNeedsAConsole() throws {
        let s = spec { $0.process?.terminal = true }
        #expect(throws: SpecError.self) { _ = try plan(s) }
        let p = try plan(s) { $0.hasConsoleSocket = true }
        #expect(p.terminal && p.devConsole)
    }

    @Test func seccompIsCompiledIntoTheFilter() throws {
        let s = spec {
            $0.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO")])
        }
        #expect(!(try plan(s).seccompFilter.isEmpty))
    }

    @Test func hooksInTheContainerAndRuntimeHooksRequest() throws {
        let s = spec {
            $0.hooks = Hooks(prestart: [Hook(path: "/bin/true")], createContainer: [Hook(path: "/bin/cc", args: ["cc", "x"], timeout: 3)])
        }
        let p = try plan(s)
        #expect(p.wantRuntimeHooks)
        #expect(p.createContainerHooks == [InitPlan.HookOp(path: "/bin/cc", args: ["cc", "x"], env: [], timeout: 3)])
    }

    @Test func execJoinsEveryNamespaceOfTheInit() throws {
        var p = Planner(spec: spec(), bundle: "/b")
        p.hasConsoleSocket = false
        let ep = try p.execPlan(process: Process(args: ["sh"]), initPID: 42,
                                containerNamespaces: ["pid", "network", "ipc", "uts", "mount", "cgroup"])
        #expect(ep.joins.map(\.path) == ["/proc/42/ns/mnt", "/proc/42/ns/ipc", "/proc/42/ns/uts", "/proc/42/ns/net", "/proc/42/ns/cgroup"])
        #expect(ep.joinPIDNamespace == "/proc/42/ns/pid")
        #expect(ep.execRoot == "/proc/42/root")
        #expect(ep.isExec && ep.gate == .none)
    }
}

@Suite struct CLIParsingTests {
    @Test func globalFlagsAreSplitOffBeforeTheCommand() throws {
        let (g, rest) = try GlobalOptions.split(["--root", "/r", "--log=/l", "--log-format", "json", "--debug", "create", "--bundle", "b", "id"])
        #expect(g.root == "/r" && g.log == "/l" && g.logFormat == "json" && g.debug)
        #expect(rest == ["create", "--bundle", "b", "id"])
        #expect(throws: RuntimeError.self) { _ = try GlobalOptions.split(["--log-format", "xml", "list"]) }
    }

    @Test func systemdCgroupIsRefusedClearly() throws {
        let (g, _) = try GlobalOptions.split(["--systemd-cgroup", "list"])
        #expect(throws: RuntimeError.self) { _ = try g.runtime() }
    }

    @Test func signals() {
        #expect(Signals.parse("KILL") == SIGKILL)
        #expect(Signals.parse("SIGTERM") == SIGTERM)
        #expect(Signals.parse("9") == 9)
        #expect(Signals.parse("sigusr1") == SIGUSR1)
        #expect(Signals.parse("NOPE") == nil)
        #expect(Signals.parse("0") == nil)
    }

    @Test func containerIDs() {
        #expect((try? StateStore.validate(id: "abc-1.2_3+x")) != nil)
        for bad in ["", "..", "a/b", "a b", "../x"] {
            #expect(throws: RuntimeError.self) { try StateStore.validate(id: bad) }
        }
    }

    @Test func sizes() {
        #expect(Update.parseSize("64m") == 64 << 20)
        #expect(Update.parseSize("1G") == 1 << 30)
        #expect(Update.parseSize("-1") == -1)
        #expect(Update.parseSize("12x") == nil)
    }

    @Test func rfc3339() {
        let t = Clock.rfc3339Nano()
        #expect(t.count == 30 && t.hasSuffix("Z") && t.contains("T"))
    }

    @Test func defaultDeviceRulesFollowTheSpecsRules() {
        let r = Resources(devices: [DeviceCgroup(allow: false, access: "rwm")])
        let out = Runtime.withDefaultDeviceRules(r, spec: Spec.defaultSpec())
        #expect(out.devices?.first == DeviceCgroup(allow: false, access: "rwm"))
        #expect(out.devices?.contains(DeviceCgroup(allow: true, type: "c", major: 1, minor: 3, access: "rwm")) == true)
        #expect(Runtime.withDefaultDeviceRules(Resources(), spec: Spec.defaultSpec()).devices == nil)
    }
}

@Suite struct EnvironmentTests {
    @Test func lastValueWinsAtTheFirstPlace() {
        let env = Planner.environment(["ONE=two", "PATH=/bin", "ONE=", "HOME=/h"], uid: 0, passwd: nil)
        #expect(env == ["ONE=", "PATH=/bin", "HOME=/h"])
    }

    @Test func homeComesFromPasswdWhenMissingOrEmpty() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n"
        #expect(Planner.environment(["PATH=/bin"], uid: 0, passwd: passwd) == ["PATH=/bin", "HOME=/root"])
        #expect(Planner.environment(["HOME=", "A=b"], uid: 1000, passwd: passwd) == ["HOME=/home/user", "A=b"])
        #expect(Planner.environment([], uid: 42, passwd: passwd) == ["HOME=/"])
    }
}

@Suite struct RecursiveMountOptionTests {
    @Test func recursiveAttributesAreCollected() throws {
        let o = try MountOptions(["rbind", "rro", "rnosuid", "rnoatime"], field: "m")
        #expect(o.recursiveSet == 0x1 | 0x2 | 0x10)
        #expect(o.recursiveClear == 0x70)
        #expect(o.isBind)
    }
}
