import Foundation
import Glibc
import Testing
import BerthTestSupport

/// A bounded schemathesis run (PyPI, installed by `make fuzz-deps` into <build>/fuzz-venv) of
/// Specs/engine-api.yaml against a berthd listening on TCP: every error is Docker's JSON
/// `message`, no server error but a reported 500, and berthd neither crashes nor hangs.
@Suite(.serialized, .enabled(if: BerthdHarness.available && Schemathesis.binary != nil), .timeLimit(.minutes(6)))
struct EngineAPIFuzzTests {
    var repo: String { Schemathesis.repo }
}

/// Where schemathesis is installed.
enum Schemathesis {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `st` from $BERTH_FUZZ_VENV, the repo's .build/fuzz-venv, or the venv beside the test binaries' build dir.
    static var binary: String? {
        var venvs: [String] = []
        if let v = getenv("BERTH_FUZZ_VENV") { venvs.append(String(cString: v)) }
        venvs.append(repo + "/.build/fuzz-venv")
        let products = (LifecycleHarness.siblingBinary("berthd") as NSString).deletingLastPathComponent
        venvs += [products + "/../fuzz-venv", products + "/../../fuzz-venv"]
        return venvs.map { $0 + "/bin/st" }.first { access($0, X_OK) == 0 }
    }
}

extension EngineAPIFuzzTests {
    @Test func schemathesisFindsNoBrokenErrorsCrashesOrHangs() async throws {
        let st = try #require(Schemathesis.binary)
        let port = try TestRegistry.freePort()
        try await BerthdHarness.with(extraArgs: ["-H", "tcp://127.0.0.1:\(port)"], report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let pid = try #require(h.process?.pid)
            let run = try Command.run(st, [
                "run", repo + "/Specs/engine-api.yaml", "--base-url", "http://127.0.0.1:\(port)/v1.43",
                "--checks", "error_has_json_message,server_error_is_a_reported_failure",
                // Streams that never end by themselves, and pulls and logins that reach out to registries.
                "--exclude-path-regex", "/(events|images/create|auth)$", "--hypothesis-phases", "generate",
                "--hypothesis-max-examples", "40", "--data-generation-method", "all", "--hypothesis-derandomize", "--hypothesis-suppress-health-check", "all",
                "--generation-allow-x00", "false", "--request-timeout", "30000", "--workers", "2", "--validate-schema", "false",
            ], env: ["PATH=/usr/bin:/bin", "HOME=\(h.dir)", "SCHEMATHESIS_HOOKS=berth_checks", "PYTHONPATH=\(repo)/scripts/fuzz",
                     "SCHEMATHESIS_TELEMETRY=false", "NO_COLOR=1",
                     // Hypothesis' caches go to the test's temp dir, not the checkout (derandomize keeps no example database).
                     "HYPOTHESIS_STORAGE_DIRECTORY=\(h.dir)/hypothesis"], timeout: 240)
            if let out = getenv("BERTH_FUZZ_OUTPUT") { try? (run.stdout + run.stderr).write(toFile: String(cString: out), atomically: true, encoding: .utf8) }
            #expect(run.status == 0, "schemathesis:\n\(run.stdout.suffix(8000))\n\(run.stderr.suffix(2000))")
            // Still up and answering, with its berth-lifecycled.
            #expect(kill(pid, 0) == 0, "berthd died")
            #expect(try h.http("GET", "/_ping").status == 200)
            let r = try h.docker(["run", "--rm", "busybox", "echo", "alive"])
            #expect(r.status == 0 && r.stdout == "alive\n", "\(r)")
        }
    }
}
