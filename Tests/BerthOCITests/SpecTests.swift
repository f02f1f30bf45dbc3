import Testing
import FoundationEssentials
import Glibc
@testable import BerthOCI

/// Samples from the runtime-spec's schema test suite, copied into Samples/.
enum Samples {
    static let dir: String = {
        let here = #filePath
        return String(here[..<here.lastIndex(of: "/")!]) + "/Samples"
    }()

    static func files(_ sub: String) -> [String] {
        guard let d = opendir(dir + "/" + sub) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name.hasSuffix(".json") { out.append(dir + "/" + sub + "/" + name) }
        }
        return out.sorted()
    }

    static func data(_ path: String) throws -> Data {
        guard let f = fopen(path, "r") else { throw CocoaLikeError(path) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true { let n = fread(&buf, 1, buf.count, f); if n == 0 { break }; bytes += buf[0..<n] }
        return Data(bytes)
    }
}

struct CocoaLikeError: Error { var path: String; init(_ p: String) { path = p } }

@Suite struct SpecSampleTests {
    @Test(arguments: Samples.files("config/good"))
    func goodConfigsDecode(path: String) throws {
        var spec = try JSONDecoder().decode(Spec.self, from: try Samples.data(path))
        #expect(!spec.ociVersion.isEmpty)
        // Linux samples must also pass validation (z/OS ones have no linux section to run).
        // The schema's example predates 1.0 ("0.5.0-dev"): its structure is what is checked here.
        if spec.linux != nil, spec.process != nil {
            if spec.ociVersion.hasPrefix("0.") { spec.ociVersion = Spec.version }
            try spec.validate()
        }
    }

    @Test(arguments: Samples.files("config/bad"))
    func badConfigsAreRejected(path: String) throws {
        let rejected: Bool
        do {
            let spec = try JSONDecoder().decode(Spec.self, from: try Samples.data(path))
            do { try spec.validate(requireProcess: false); rejected = false } catch { rejected = true }
        } catch {
            rejected = true
        }
        #expect(rejected, "\(path) should be rejected")
    }

    @Test func stateSamples() throws {
        for p in Samples.files("state/good") {
            let s = try JSONDecoder().decode(State.self, from: try Samples.data(p))
            #expect(!s.id.isEmpty)
        }
        for p in Samples.files("state/bad") {
            #expect(throws: (any Error).self) { try JSONDecoder().decode(State.self, from: try Samples.data(p)) }
        }
    }

    @Test func featuresSamples() throws {
        for p in Samples.files("features/good") {
            _ = try JSONDecoder().decode(Features.self, from: try Samples.data(p))
        }
        for p in Samples.files("features/bad") {
            #expect(throws: (any Error).self) { try JSONDecoder().decode(Features.self, from: try Samples.data(p)) }
        }
    }

    @Test func specExampleFieldsSurviveRoundTrip() throws {
        let path = Samples.dir + "/config/good/spec-example.json"
        let spec = try JSONDecoder().decode(Spec.self, from: try Samples.data(path))
        let again = try JSONDecoder().decode(Spec.self, from: try JSONEncoder().encode(spec))
        #expect(spec == again)
        #expect(spec.linux?.seccomp?.syscalls?.isEmpty == false)
        #expect(spec.hooks?.prestart?.first?.path != nil)
    }
}

@Suite struct ValidationTests {
    func base() -> Spec {
        var s = Spec.defaultSpec()
        s.process?.terminal = false
        return s
    }

    func field(_ s: Spec) -> String? {
        do { try s.validate(); return nil } catch { return error.field }
    }

    @Test func defaultSpecIsValid() throws { try base().validate() }

    @Test func versionChecks() {
        var s = base(); s.ociVersion = "2.0.0"
        #expect(field(s) == "ociVersion")
        s.ociVersion = "banana"
        #expect(field(s) == "ociVersion")
        s.ociVersion = "1.0.2-dev"
        #expect(field(s) == nil)
    }

    @Test func eachBadFieldIsNamed() {
        var s = base(); s.root = nil
        #expect(field(s) == "root")
        s = base(); s.process?.args = []
        #expect(field(s) == "process.args")
        s = base(); s.process?.cwd = "relative"
        #expect(field(s) == "process.cwd")
        s = base(); s.linux?.namespaces?.append(Namespace(type: "bogus"))
        #expect(field(s) == "linux.namespaces[5].type")
        s = base(); s.linux?.namespaces?.append(Namespace(type: "pid"))
        #expect(field(s) == "linux.namespaces[5].type")
        s = base(); s.mounts?[0].destination = "proc"
        #expect(field(s) == "mounts[0].destination")
        s = base(); s.process?.rlimits = [Rlimit(type: "RLIMIT_BOGUS", soft: 1, hard: 1)]
        #expect(field(s) == "process.rlimits[0].type")
        s = base(); s.process?.rlimits = [Rlimit(type: "RLIMIT_NOFILE", soft: 2, hard: 1)]
        #expect(field(s) == "process.rlimits[0]")
        // Unknown capabilities are warned about and skipped at run time (runc), not refused.
        s = base(); s.process?.capabilities?.bounding = ["CAP_BOGUS"]
        #expect(field(s) == nil)
        s = base(); s.hooks = Hooks(prestart: [Hook(path: "relative")])
        #expect(field(s) == "hooks.prestart[0].path")
        s = base(); s.linux?.namespaces?.removeAll { $0.type == "uts" }
        #expect(field(s) == "hostname")
        s = base(); s.linux?.namespaces?.append(Namespace(type: "user"))
        #expect(field(s) == "linux.uidMappings")
        s = base(); s.linux?.sysctl = ["kernel.panic": "1"]
        #expect(field(s) == "linux.sysctl.kernel.panic")
        s = base(); s.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
        #expect(field(s) == nil)
        s = base(); s.linux?.seccomp = Seccomp(defaultAction: "SCMP_ACT_MAYBE")
        #expect(field(s) == "linux.seccomp.defaultAction")
        s = base(); s.linux?.cgroupsPath = "/a/../../b"
        #expect(field(s) == "linux.cgroupsPath")
        s = base(); s.linux?.devices = [Device(type: "c", path: "/dev/x")]
        #expect(field(s) == "linux.devices[0]")
        s = base(); s.process?.env = ["NOEQUALS"]
        #expect(field(s) == "process.env[0]")
    }

    @Test func errorMessageNamesFieldAndReason() {
        var s = base(); s.linux?.namespaces?.append(Namespace(type: "bogus"))
        do { try s.validate(); Issue.record("expected an error") } catch {
            #expect(error.description == "config.json: linux.namespaces[5].type: unknown namespace type \"bogus\"")
        }
    }
}
