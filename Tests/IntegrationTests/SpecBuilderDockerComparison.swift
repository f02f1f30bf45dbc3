import Testing
import Glibc
import FoundationEssentials
import BerthImage
import BerthOCI
import BerthWire
import BerthLifecycle
import BerthTestSupport

// The test of truth for SpecBuilder: for a handful of `docker run -d` option sets, the config.json
// that a private dockerd 20.10 + containerd wrote for a busybox container (runc runtime) against the
// spec SpecBuilder builds from the equivalent create request and the same image config.
//
// Compared: process args, env (as a set), cwd, user, all five capability sets, noNewPrivileges,
// rlimits, oomScoreAdj, terminal; hostname; mounts (destination, type, options, in order; sources
// are host paths and differ); masked and read-only paths; namespaces; cgroups path; sysctls;
// resources (memory, cpu, pids, device rules); device nodes; seccomp default action, errno,
// architectures and the syscall names per action; root read-only.
// Differences listed in `accepted` are known and explained; any other fails the test.

@Suite("SpecBuilderDockerComparison", .serialized, .enabled(if: DockerEnvironment.available), DockerEnvironmentScope())
struct SpecBuilderDockerComparison {
    let env: DockerEnvironment

    init() throws {
        env = try DockerEnvironment.required()
    }

    /// Differences that remain, each with the reason it is accepted.
    /// The seccomp ones come from the profile: berth embeds moby's current default.json, while
    /// dockerd 20.10 compiles in the profile of its time (io_uring allowed, socket unrestricted,
    /// no defaultErrnoRet, none of the syscalls added to kernels since).
    static let accepted: [String: String] = [
        "linux.seccomp.allowed": "berth's profile is moby's current one, newer than dockerd 20.10's built-in profile",
        "linux.seccomp.allowedWithArgs": "socket: the current profile refuses AF_VSOCK (args), 20.10's allows every family",
        "linux.seccomp.defaultErrnoRet": "the current profile says errnoRet 1 (EPERM), what runtimes use when 20.10 leaves it out",
    ]

    struct Case: Sendable {
        var name: String
        var dockerArgs: [String]
        var params: ContainerCreateParams
        /// Differences accepted for this case only, with the reason.
        var accepted: [String: String] = [:]
    }

    static let cases: [Case] = [
        Case(name: "default", dockerArgs: [], params: ContainerCreateParams()),
        Case(name: "user-workdir-env-hostname", dockerArgs: ["--user", "nobody", "--workdir", "/tmp", "-e", "A=b", "--hostname", "h"],
             params: ContainerCreateParams(env: ["A=b"], workingDir: "/tmp", user: "nobody", hostname: "h")),
        Case(name: "caps", dockerArgs: ["--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN"],
             params: ContainerCreateParams(hostConfig: HostConfig(capAdd: ["NET_ADMIN"], capDrop: ["CHOWN"]))),
        Case(name: "readonly-limits", dockerArgs: ["--read-only", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
                                                   "--ulimit", "nofile=1024:2048"],
             params: ContainerCreateParams(hostConfig: HostConfig(memory: 64 << 20, nanoCpus: 500_000_000, pidsLimit: 50,
                                                                  ulimits: [Ulimit(name: "nofile", soft: 1024, hard: 2048)],
                                                                  readonlyRootfs: true))),
        Case(name: "privileged", dockerArgs: ["--privileged"], params: ContainerCreateParams(hostConfig: HostConfig(privileged: true)),
             accepted: Dictionary(uniqueKeysWithValues: ["bounding", "effective", "permitted"].map {
                 ("process.capabilities." + $0, "dockerd 20.10's capability list (gocapability) ends at CAP_AUDIT_READ; "
                     + "berth grants every capability the kernel has (CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE too), as Docker 23+")
             })),
        Case(name: "no-new-privileges", dockerArgs: ["--security-opt", "no-new-privileges"],
             params: ContainerCreateParams(hostConfig: HostConfig(securityOpt: ["no-new-privileges"]))),
    ]

    /// The facts dockerd bases its spec on, read from this host.
    func host() throws -> SpecHost {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let hostname = withUnsafeBytes(of: u.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let kernel = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
        let lastCap = Int(try Fixtures.read("/proc/sys/kernel/cap_last_cap").trimmed) ?? 40
        let v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
        let swap = v2 || access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0
        return SpecHost(lastCap: lastCap, kernelVersion: kernel, cpuCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                        swapLimit: swap, cgroupV2: v2, hostname: hostname, cgroupParent: env.cgroupParent)
    }

    @Test(arguments: SpecBuilderDockerComparison.cases.map(\.name))
    func sameSpecAsDocker(_ caseName: String) throws {
        guard let c = Self.cases.first(where: { $0.name == caseName }) else { return }
        let name = "berth-spec-" + c.name
        let args = ["create", "--runtime", "runc", "--name", name] + c.dockerArgs + ["busybox", "sleep", "30"]
        let create = try env.docker(args)
        try #require(create.status == 0, "\(create)\n\(env.diagnostics())")
        defer { _ = try? env.docker(["rm", "-f", name]) }
        let id = create.stdout.trimmed
        let config = try startCapturingConfig(id: id)
        let docker = try JSONDecoder().decode(Spec.self, from: Data(config.utf8))

        let inspect = try env.docker(["image", "inspect", "-f", "{{json .Config}}", "busybox"])
        try #require(inspect.status == 0, "\(inspect)")
        let image = try JSONDecoder().decode(ContainerConfig.self, from: Data(inspect.stdout.utf8))

        var params = c.params
        params.image = "busybox"
        params.cmd = ["sleep", "30"]
        var networkFiles: [String: String] = [:]
        for m in docker.mounts ?? [] where ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"].contains(m.destination) {
            networkFiles[m.destination] = m.source
        }
        let netns = docker.linux?.namespaces?.first { $0.type == "network" }?.path
        let input = ContainerSpecInput(id: id, params: params, image: image, rootfs: docker.root?.path ?? "",
                                       networkNamespace: netns, networkFiles: networkFiles)
        let berth = try SpecBuilder(host: host(), files: LocalSpecFiles()).build(withRootfs(input, docker: docker))

        let diffs = Self.differences(docker: docker, berth: berth)
        let accepted = Self.accepted.merging(c.accepted) { a, _ in a }
        let unexpected = diffs.filter { accepted[$0.key] == nil }
        var report = "--- \(c.name): \(diffs.count) differences, \(unexpected.count) unexpected\n"
        for (k, v) in diffs.sorted(by: { $0.key < $1.key }) {
            report += "\(accepted[k] == nil ? "UNEXPECTED" : "accepted") \(k): \(v)\n"
        }
        print(report)
        if let out = ProcessInfo.processInfo.environment["BERTH_SPEC_COMPARISON_REPORT"] {
            let old = (try? Fixtures.read(out)) ?? ""
            try? Fixtures.write(out, old + report)
        }
        #expect(unexpected.isEmpty, "\(report)")
    }

    /// Starts the container and returns the config.json containerd wrote for it. A copy is taken
    /// while the start is under way: runc can't start a privileged container where the test itself
    /// lacks a capability (this VM drops CAP_SYS_RESOURCE), and the bundle is removed on failure.
    func startCapturingConfig(id: String) throws -> String {
        let bundle = env.dir + "/containerd/state/io.containerd.runtime.v2.task/moby/\(id)"
        let copy = env.dir + "/config-\(id).json"
        let script = """
            i=0; while [ $i -lt 200000 ]; do
              if [ -s '\(bundle)/config.json' ] && cp '\(bundle)/config.json' '\(copy).tmp' 2>/dev/null && [ -s '\(copy).tmp' ]; then
                mv '\(copy).tmp' '\(copy)'; exit 0; fi
              i=$((i+1)); done &
            \(DockerEnvironment.dockerPath) -H unix://\(env.socket) start \(id); echo "start status $?" >&2; wait
            """
        let r = try Command.run("/bin/sh", ["-c", script], env: env.env, timeout: 120)
        guard let text = try? Fixtures.read(copy), text.hasSuffix("}") || text.hasSuffix("}\n") else {
            throw HarnessError("no config.json captured for \(id): \(r)\n\(env.diagnostics())")
        }
        if !r.stderr.contains("start status 0") { print("SpecBuilderDockerComparison: \(id) did not start (config.json compared anyway): \(r.stderr)") }
        return text
    }

    /// The user lookup reads the container's rootfs: docker's, mounted while the container runs.
    func withRootfs(_ input: ContainerSpecInput, docker: Spec) -> ContainerSpecInput {
        var i = input
        let root = docker.root?.path ?? ""
        i.rootfs = root.hasPrefix("/") ? root
            : env.dir + "/containerd/state/io.containerd.runtime.v2.task/moby/\(input.id)/" + root
        return i
    }

    // MARK: comparison

    static func differences(docker d: Spec, berth b: Spec) -> [String: String] {
        var out: [String: String] = [:]
        func check<T: Equatable>(_ key: String, _ x: T, _ y: T) {
            if x != y { out[key] = "docker \(x) | berth \(y)" }
        }
        func set(_ key: String, _ x: [String]?, _ y: [String]?) {
            let sx = Set(x ?? []), sy = Set(y ?? [])
            if sx != sy {
                out[key] = "only docker: \(sx.subtracting(sy).sorted()) | only berth: \(sy.subtracting(sx).sorted())"
            }
        }
        let dp = d.process, bp = b.process
        check("process.args", dp?.args, bp?.args)
        set("process.env", dp?.env, bp?.env)
        check("process.cwd", dp?.cwd, bp?.cwd)
        check("process.terminal", dp?.terminal ?? false, bp?.terminal ?? false)
        check("process.user.uid", dp?.user.uid, bp?.user.uid)
        check("process.user.gid", dp?.user.gid, bp?.user.gid)
        check("process.user.additionalGids", Set(dp?.user.additionalGids ?? []), Set(bp?.user.additionalGids ?? []))
        check("process.capabilities.bounding", dp?.capabilities?.bounding ?? [], bp?.capabilities?.bounding ?? [])
        check("process.capabilities.effective", dp?.capabilities?.effective ?? [], bp?.capabilities?.effective ?? [])
        check("process.capabilities.permitted", dp?.capabilities?.permitted ?? [], bp?.capabilities?.permitted ?? [])
        check("process.capabilities.inheritable", dp?.capabilities?.inheritable ?? [], bp?.capabilities?.inheritable ?? [])
        check("process.capabilities.ambient", dp?.capabilities?.ambient ?? [], bp?.capabilities?.ambient ?? [])
        check("process.noNewPrivileges", dp?.noNewPrivileges ?? false, bp?.noNewPrivileges ?? false)
        check("process.rlimits", dp?.rlimits ?? [], bp?.rlimits ?? [])
        check("process.oomScoreAdj", dp?.oomScoreAdj, bp?.oomScoreAdj)
        check("process.apparmorProfile", dp?.apparmorProfile, bp?.apparmorProfile)
        check("hostname", d.hostname, b.hostname)
        check("domainname", d.domainname ?? "", b.domainname ?? "")
        check("root.readonly", d.root?.readonly ?? false, b.root?.readonly ?? false)

        func mounts(_ s: Spec) -> [String] {
            (s.mounts ?? []).map { "\($0.destination) \($0.type ?? "-") \(($0.options ?? []).joined(separator: ","))" }
        }
        if mounts(d) != mounts(b) { out["mounts"] = "docker \(mounts(d))\n  berth  \(mounts(b))" }

        let dl = d.linux, bl = b.linux
        check("linux.maskedPaths", dl?.maskedPaths ?? [], bl?.maskedPaths ?? [])
        check("linux.readonlyPaths", dl?.readonlyPaths ?? [], bl?.readonlyPaths ?? [])
        check("linux.namespaces", (dl?.namespaces ?? []).map(\.type), (bl?.namespaces ?? []).map(\.type))
        check("linux.cgroupsPath", dl?.cgroupsPath, bl?.cgroupsPath)
        check("linux.sysctl", dl?.sysctl ?? [:], bl?.sysctl ?? [:])
        check("linux.rootfsPropagation", dl?.rootfsPropagation ?? "", bl?.rootfsPropagation ?? "")
        check("linux.resources.memory", dl?.resources?.memory, bl?.resources?.memory)
        check("linux.resources.cpu", dl?.resources?.cpu, bl?.resources?.cpu)
        check("linux.resources.pids", dl?.resources?.pids, bl?.resources?.pids)
        check("linux.resources.devices", dl?.resources?.devices ?? [], bl?.resources?.devices ?? [])
        check("linux.resources.blockIO", dl?.resources?.blockIO, bl?.resources?.blockIO)
        set("linux.devices", (dl?.devices ?? []).map { "\($0.path) \($0.type) \($0.major ?? -1):\($0.minor ?? -1)" },
            (bl?.devices ?? []).map { "\($0.path) \($0.type) \($0.major ?? -1):\($0.minor ?? -1)" })

        let ds = dl?.seccomp, bs = bl?.seccomp
        check("linux.seccomp.present", ds != nil, bs != nil)
        check("linux.seccomp.defaultAction", ds?.defaultAction, bs?.defaultAction)
        check("linux.seccomp.defaultErrnoRet", ds?.defaultErrnoRet, bs?.defaultErrnoRet)
        check("linux.seccomp.architectures", ds?.architectures ?? [], bs?.architectures ?? [])
        func names(_ s: Seccomp?, unconditional: Bool) -> [String] {
            (s?.syscalls ?? []).filter { $0.action == "SCMP_ACT_ALLOW" && ($0.args == nil || $0.args?.isEmpty == true) == unconditional }
                .flatMap(\.names)
        }
        set("linux.seccomp.allowed", names(ds, unconditional: true), names(bs, unconditional: true))
        set("linux.seccomp.allowedWithArgs", names(ds, unconditional: false), names(bs, unconditional: false))
        func other(_ s: Seccomp?) -> [String] {
            (s?.syscalls ?? []).filter { $0.action != "SCMP_ACT_ALLOW" }.flatMap { r in r.names.map { "\($0) \(r.action) \(r.errnoRet ?? 0)" } }
        }
        set("linux.seccomp.other", other(ds), other(bs))
        return out
    }
}

private extension String {
    var trimmed: String { String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()) }
}
