import Foundation
import Glibc
import Testing
@testable import BerthRegistry
import BerthImage

@Suite struct RegistryPolicyTests {
    @Test func plainHTTPOnlyForLoopbackAndInsecure() throws {
        let config = RegistryConfiguration(insecureRegistries: ["registry.lan:5000", "http://10.0.0.7"])
        for host in ["127.0.0.1:5000", "127.9.8.7", "localhost:5000", "localhost", "[::1]:5000", "::1", "registry.lan:5000", "10.0.0.7:443"] {
            #expect(config.allowsPlainHTTP(host: host), "\(host)")
        }
        for host in ["10.255.255.1", "10.255.255.1:5000", "registry.lan", "registry.lan:5001", "docker.io", "128.0.0.1", "localhost.evil.com"] {
            #expect(!config.allowsPlainHTTP(host: host), "\(host)")
        }
        #expect(throws: RegistryError.insecureRefused(host: "10.255.255.1:5000")) {
            try config.checkPlainHTTP(host: "10.255.255.1:5000")
        }
        #expect(RegistryError.insecureRefused(host: "10.255.255.1:5000").description
            == "registry 10.255.255.1:5000 is not loopback and not configured as insecure: refusing plain HTTP")
    }

    @Test func redirectToPlainHTTPIsRefusedWithoutContact() async throws {
        try await RegistryClient.withClient { client in
            // A registry (or token realm, or redirect) pointing at plain HTTP on a non-loopback host is
            // refused before any connection is opened.
            #expect(throws: RegistryError.insecureRefused(host: "10.255.255.1:5000")) {
                _ = try client.checkedURL("http://10.255.255.1:5000/v2/", relativeTo: nil)
            }
            #expect(throws: RegistryError.insecureRefused(host: "10.255.255.1")) {
                _ = try client.checkedURL("http://10.255.255.1/storage/blob", relativeTo: "https://registry.example/v2/x/blobs/y")
            }
            let ok = try client.checkedURL("/v2/app/blobs/uploads/abc?_state=x", relativeTo: "http://127.0.0.1:5000/v2/")
            #expect(ok.url == "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=x")
            #expect(ok.host == "127.0.0.1:5000")
            // The base URL of a non-loopback host is always https.
            #expect(try await client.baseURL(for: "10.255.255.1:5000") == "https://10.255.255.1:5000")
        }
    }

    @Test func parsesChallenges() throws {
        let c = try #require(AuthChallenge(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull",error="insufficient_scope""#))
        #expect(c.scheme == "bearer")
        #expect(c.parameters["realm"] == "https://auth.docker.io/token")
        #expect(c.parameters["service"] == "registry.docker.io")
        #expect(c.parameters["scope"] == "repository:library/busybox:pull")
        let b = try #require(AuthChallenge(#"Basic realm="berth-test""#))
        #expect(b.scheme == "basic")
        #expect(b.parameters["realm"] == "berth-test")
    }

    @Test func parsesAuthFiles() throws {
        let json = """
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "\(Data("hub:secret".utf8).base64EncodedString())"},
          "127.0.0.1:5000": {"username": "u", "password": "p:with:colons"},
          "https://registry.example:8443/v2/": {"identitytoken": "refresh-me"},
          "empty.example": {}
        }}
        """
        let file = try AuthFile.parse(Array(json.utf8))
        #expect(file.credentials(for: "docker.io") == .basic(username: "hub", password: "secret"))
        #expect(file.credentials(for: "registry-1.docker.io") == .basic(username: "hub", password: "secret"))
        #expect(file.credentials(for: "127.0.0.1:5000") == .basic(username: "u", password: "p:with:colons"))
        #expect(file.credentials(for: "registry.example:8443") == .identityToken("refresh-me"))
        #expect(file.credentials(for: "empty.example") == nil)
        #expect(AuthFile.defaultPath(environment: ["DOCKER_CONFIG": "/etc/dc", "HOME": "/root"]) == "/etc/dc/config.json")
        #expect(AuthFile.defaultPath(environment: ["HOME": "/home/x"]) == "/home/x/.docker/config.json")
        #expect(try AuthFile.load(path: "/nonexistent/berth/config.json").entries.isEmpty)
        #expect(throws: RegistryError.self) { try AuthFile.parse(Array(#"{"auths": {"h": {"auth": "%%%"}}}"#.utf8)) }
        #expect(!RegistryCredentials.basic(username: "u", password: "hunter2").description.contains("hunter2"))
    }

    @Test func errorMessages() {
        #expect(RegistryError.manifestUnknown(reference: "127.0.0.1:5000/app:nope", message: "manifest unknown").description
            == "manifest for 127.0.0.1:5000/app:nope not found: manifest unknown")
        #expect(RegistryErrorBody.summary(Array(#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#.utf8))
            == "unauthorized: authentication required")
        #expect(manifestMediaType(header: "application/json", bytes: Array(#"{"schemaVersion":2,"manifests":[]}"#.utf8)) == MediaType.ociIndex)
        #expect(manifestMediaType(header: "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8", bytes: [])
            == MediaType.dockerManifest)
    }
}

@Suite struct RegistryUnreachableTests {
    /// A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not listening.
    func refusingPort() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(fd >= 0 && rc)
        return (fd, Int(UInt16(bigEndian: sa.sin_port)))
    }

    /// A refused connection fails the call after the client's own few retries, not at the
    /// request's deadline (it used to take minutes).
    @Test func refusedConnectionFailsFast() async throws {
        let (fd, port) = try refusingPort()
        defer { close(fd) }
        let start = ContinuousClock.now
        try await RegistryClient.withClient(configuration: RegistryConfiguration()) { client in
            await #expect(throws: RegistryError.self) { _ = try await client.ping("127.0.0.1:\(port)") }
        }
        #expect(ContinuousClock.now - start < .seconds(15))
    }
}
