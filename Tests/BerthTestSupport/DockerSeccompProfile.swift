import FoundationEssentials
import BerthOCI

/// Docker's profile format: OCI `Seccomp` plus `archMap` and per-rule `includes`/`excludes`, which
/// dockerd resolves against the host architecture and the container's capabilities before handing
/// the runtime a plain OCI profile. Shared by the seccomp unit tests and the conformance tests.
public struct DockerSeccompProfile: Decodable, Sendable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var archMap: [ArchMap]?
    public var syscalls: [Rule]

    public struct ArchMap: Decodable, Sendable {
        public var architecture: String
        public var subArchitectures: [String]?
    }

    public struct Rule: Decodable, Sendable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SeccompArg]?
        public var includes: Filter?
        public var excludes: Filter?
    }

    public struct Filter: Decodable, Sendable {
        public var caps: [String]?
        public var arches: [String]?
        public var minKernel: String?
    }


    /// The OCI profile dockerd produces for a container on `goArch` whose native seccomp
    /// architecture is `nativeArch`, holding `caps`. Every kernel this runs on is newer than any
    /// `minKernel` in the profile (4.8), so `includes.minKernel` is taken as met.
    public func resolved(goArch: String, nativeArch: String, caps: Set<String>) -> Seccomp {
        var architectures: [String] = []
        for entry in archMap ?? [] where entry.architecture == nativeArch {
            architectures = [entry.architecture] + (entry.subArchitectures ?? [])
        }
        let calls = syscalls.filter { rule in
            if let ex = rule.excludes {
                if ex.arches?.contains(goArch) == true { return false }
                if ex.caps?.contains(where: caps.contains) == true { return false }
                if ex.minKernel != nil { return false }
            }
            if let inc = rule.includes {
                if let arches = inc.arches, !arches.isEmpty, !arches.contains(goArch) { return false }
                if let needed = inc.caps, !needed.allSatisfy(caps.contains) { return false }
            }
            return true
        }.map { Syscall(names: $0.names, action: $0.action, errnoRet: $0.errnoRet, args: $0.args) }
        return Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet,
                       architectures: architectures, syscalls: calls)
    }

    /// Docker's default profile for this host and Docker's default capabilities.
    public static func hostDefault(caps: [String] = Spec.defaultCapabilities) throws -> Seccomp {
        let profile = try JSONDecoder().decode(DockerSeccompProfile.self, from: Data(dockerDefaultProfileJSON.utf8))
        #if arch(arm64)
        return profile.resolved(goArch: "arm64", nativeArch: "SCMP_ARCH_AARCH64", caps: Set(caps))
        #else
        return profile.resolved(goArch: "amd64", nativeArch: "SCMP_ARCH_X86_64", caps: Set(caps))
        #endif
    }
}
