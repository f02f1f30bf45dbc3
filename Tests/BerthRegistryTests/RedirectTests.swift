import Foundation
import Testing
import BerthRegistry
import BerthImage
import BerthTestSupport

/// A fake registry whose blob GETs redirect to "storage" on another origin (localhost vs
/// 127.0.0.1), recording which requests carried an Authorization header, and whose storage ignores
/// Range on the first request after a cut-short response (to exercise resume and restart).
private let fakeRegistryScript = #"""
import sys, http.server
port, blob_path, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
blob = open(blob_path, "rb").read()
state = {"cut": 0}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def record(self):
        with open(log, "a") as f:
            f.write("%s %s auth=%s range=%s\n" % (self.command, self.path, self.headers.get("Authorization") is not None, self.headers.get("Range")))
    def do_GET(self):
        self.record()
        if self.path == "/v2/":
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers(); return
        if self.path.startswith("/v2/") and "/blobs/" in self.path:
            self.send_response(307)
            self.send_header("Location", "http://localhost:%d/storage/%s" % (port, self.path.split("/")[-1]))
            self.send_header("Content-Length", "0"); self.end_headers(); return
        if self.path.startswith("/storage/"):
            mode = self.path.split("?")[0]
            rng = self.headers.get("Range")
            if "cut" in blob_path and state["cut"] == 0:
                # First download: promise everything, send half, hang up.
                state["cut"] = 1
                self.send_response(200); self.send_header("Content-Length", str(len(blob))); self.end_headers()
                self.wfile.write(blob[: len(blob) // 2]); self.wfile.flush()
                self.close_connection = True
                return
            if rng and "norange" not in blob_path:
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(blob) - 1, len(blob)))
                self.send_header("Content-Length", str(len(blob) - start)); self.end_headers()
                self.wfile.write(blob[start:]); return
            self.send_response(200); self.send_header("Content-Length", str(len(blob))); self.end_headers()
            self.wfile.write(blob); return
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"""#

@Suite(.serialized) struct RedirectTests {
    /// Runs the fake registry serving `blob` (the file name selects behaviour: `cut`, `norange`).
    func withFake(_ name: String, _ body: (Int, Descriptor, String, [UInt8]) async throws -> Void) async throws {
        try await withTempDir { dir in
            var bytes = [UInt8](repeating: 0, count: 300_000)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 7919 &+ i >> 8) }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
            try Fixtures.write(dir + "/fake.py", fakeRegistryScript)
            let port = try TestRegistry.freePort()
            let server = try BackgroundProcess("/usr/bin/python3", [dir + "/fake.py", String(port), "\(dir)/\(name)", dir + "/requests.log"],
                                               log: dir + "/fake.log")
            defer { server.stop() }
            try server.waitForHTTP(port: port, path: "/v2/")
            let d = Descriptor(mediaType: MediaType.ociLayer, digest: Digest.sha256(of: bytes), size: Int64(bytes.count))
            try await body(port, d, dir + "/requests.log", bytes)
        }
    }

    @Test func authorizationIsNotForwardedToAnotherOrigin() async throws {
        try await withFake("blob") { port, d, log, bytes in
            try await RegistryClient.withClient(configuration: testConfig) { client in
                let r = try ref("127.0.0.1:\(port)/app:latest")
                let got = try await download(client, r, d, credentials: .registryToken("secret-token"))
                #expect(got.bytes == bytes)
            }
            let lines = try Fixtures.read(log).split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("GET /v2/app/blobs/") && $0.contains("auth=True") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("GET /storage/") && $0.contains("auth=False") }, "\(lines)")
            #expect(!lines.contains { $0.hasPrefix("GET /storage/") && $0.contains("auth=True") }, "\(lines)")
        }
    }

    @Test func cutShortDownloadResumesWithRange() async throws {
        try await withFake("cut") { port, d, log, bytes in
            try await RegistryClient.withClient(configuration: testConfig) { client in
                let got = try await download(client, try ref("127.0.0.1:\(port)/app:latest"), d)
                #expect(got.restarts == 0)
                #expect(got.bytes == bytes)
            }
            let lines = try Fixtures.read(log).split(separator: "\n")
            // Resumed from wherever the cut left it (how much arrived before the hang-up varies).
            #expect(lines.contains { $0.hasPrefix("GET /storage/") && $0.contains("range=bytes=") && !$0.contains("range=bytes=0-") },
                    "\(lines)")
        }
    }

    @Test func cutShortDownloadRestartsWhenRangeIsIgnored() async throws {
        try await withFake("cut-norange") { port, d, _, bytes in
            try await RegistryClient.withClient(configuration: testConfig) { client in
                let got = try await download(client, try ref("127.0.0.1:\(port)/app:latest"), d)
                #expect(got.restarts == 1)
                #expect(got.bytes == bytes)
                #expect(Digest.sha256(of: got.bytes) == d.digest)
            }
        }
    }
}
