import BerthOCI
import BerthWire

// Capabilities, seccomp and --security-opt, as dockerd 20.10 (daemon/oci_linux.go WithCapabilities,
// WithSeccomp; daemon/create.go parseSecurityOpt; oci/caps).

/// HostConfig.SecurityOpt, parsed.
struct SecurityOptions {
    var noNewPrivileges = false
    /// nil: the default profile; "unconfined"; or a profile's JSON (or the host path of one).
    var seccomp: String?
    var apparmor: String?

    init(_ opts: [String]) throws(SpecBuildError) {
        for opt in opts {
            if opt == "no-new-privileges" { noNewPrivileges = true; continue }
            if opt == "disable" { continue }
            let sep: Character? = opt.contains("=") ? "=" : (opt.contains(":") ? ":" : nil)
            guard let sep, let i = opt.firstIndex(of: sep) else {
                throw SpecBuildError(field: "HostConfig.SecurityOpt", message: "invalid --security-opt 1: \"\(opt)\"")
            }
            let key = String(opt[..<i]), value = String(opt[opt.index(after: i)...])
            switch key {
            case "label": continue
            case "apparmor": apparmor = value
            case "seccomp": seccomp = value
            case "no-new-privileges":
                switch value.lowercased() {
                case "1", "t", "true": noNewPrivileges = true
                case "0", "f", "false": noNewPrivileges = false
                default: throw SpecBuildError(field: "HostConfig.SecurityOpt", message: "invalid --security-opt 2: \"\(opt)\"")
                }
            default:
                throw SpecBuildError(field: "HostConfig.SecurityOpt", message: "invalid --security-opt 2: \"\(opt)\"")
            }
        }
    }
}

extension SpecBuilder {
    /// Docker's default capability set, in Docker's order (oci/caps/defaults.go).
    public static let defaultCapabilities = Spec.defaultCapabilities

    /// Every capability by number (linux/capability.h).
    public static let capabilityNames = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// The capabilities this host knows, in number order (a privileged container's set).
    public var allCapabilities: [String] {
        Array(Self.capabilityNames.prefix(max(0, min(host.lastCap, Self.capabilityNames.count - 1) + 1)))
    }

    /// `CapAdd`/`CapDrop` applied to the default set, `ALL` included (caps.TweakCapabilities).
    func capabilities(_ hc: HostConfig) throws(SpecBuildError) -> [String] {
        if hc.privileged == true { return allCapabilities }
        let adds = hc.capAdd ?? [], drops = hc.capDrop ?? []
        if adds.isEmpty && drops.isEmpty { return Self.defaultCapabilities }
        let drop = try normalize(drops, field: "HostConfig.CapDrop")
        let add = try normalize(adds, field: "HostConfig.CapAdd")
        if add.contains("ALL") { return allCapabilities.filter { !drop.contains($0) } }
        if drop.contains("ALL") { return add }
        return Self.defaultCapabilities.filter { !drop.contains($0) } + add
    }

    private func normalize(_ caps: [String], field: String) throws(SpecBuildError) -> [String] {
        let valid = Set(allCapabilities)
        var out: [String] = []
        for c in caps {
            var name = c.uppercased()
            if name == "ALL" { out.append(name); continue }
            if !name.hasPrefix("CAP_") { name = "CAP_" + name }
            guard valid.contains(name) else {
                throw SpecBuildError(field: field, message: "unknown capability: \"\(name)\"")
            }
            out.append(name)
        }
        return out
    }

    /// The seccomp profile for `option` (nil: Docker's default), resolved for the bounding set.
    func seccomp(_ option: String?, bounding: [String]) throws(SpecBuildError) -> Seccomp? {
        if !host.seccompEnabled {
            if let o = option, o != "unconfined" {
                throw SpecBuildError(field: "HostConfig.SecurityOpt", message: "seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
            }
            return nil
        }
        let profile: DockerSeccompProfile
        switch option {
        case nil: profile = DockerSeccompProfile.dockerDefault()
        case "unconfined"?: return nil
        case let text?:
            // docker's CLI sends the file's text; a path is read here for other clients.
            var json = text
            if !text.trimmingPrefixWhitespace.hasPrefix("{") {
                do { json = try files.readHostFile(text) } catch {
                    throw SpecBuildError(field: "HostConfig.SecurityOpt", message: "opening seccomp profile (\(text)) failed: \(error)")
                }
            }
            profile = try DockerSeccompProfile.decode(json)
        }
        if profile.defaultAction.isEmpty && (profile.syscalls ?? []).isEmpty { return nil }
        let kernel = host.kernelVersion.flatMap { $0.count >= 2 ? ($0[0], $0[1]) : nil }
        return try profile.resolved(goArch: host.goArch, nativeArch: host.nativeArch, caps: Set(bounding), kernel: kernel)
    }
}

extension String {
    fileprivate var trimmingPrefixWhitespace: Substring { drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" } }
}
