import Foundation
import Testing
@testable import BerthCLI

@Suite struct RegistryAuthTests {
    func decode(_ header: String) -> [String: String] {
        var b64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        return (try? JSONSerialization.jsonObject(with: Data(base64Encoded: b64)!) as? [String: String]) ?? [:]
    }

    func withConfig(_ body: (String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "berth-cli-config-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir + "/config.json")
    }

    @Test func headerIsBase64URLOfDockersAuthConfig() throws {
        try withConfig { path in
            var c = CLIConfig.load(path: path)
            c.store(.init(username: "me", password: "p?>?>/+"), for: "http://127.0.0.1:5000/v2/")
            let h = RegistryAuth.header(for: "127.0.0.1:5000/team/app", config: c)
            #expect(!h.contains("+") && !h.contains("/"))
            #expect(decode(h) == ["username": "me", "password": "p?>?>/+", "serveraddress": "127.0.0.1:5000"])
            // Another registry gets no credentials.
            #expect(decode(RegistryAuth.header(for: "busybox", config: c)) == [:])
            #expect(RegistryAuth.header(for: "busybox", config: c) == "e30=")
        }
    }

    @Test func hubNamesShareDockersKey() {
        for s in ["", "docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"] {
            #expect(RegistryAuth.serverKey(s) == "https://index.docker.io/v1/")
        }
        #expect(RegistryAuth.registryOf("busybox") == "docker.io")
        #expect(RegistryAuth.registryOf("me/app") == "docker.io")
        #expect(RegistryAuth.registryOf("localhost/app") == "localhost")
        #expect(RegistryAuth.registryOf("reg.example.com:443/a/b") == "reg.example.com:443")
    }

    @Test func configFileIsDockersFormatWithMode0600() throws {
        try withConfig { path in
            var c = CLIConfig.load(path: path)
            c.object["credsStore"] = "keep-me"
            c.store(.init(username: "u", password: "pw:with:colons"), for: "docker.io")
            try c.save()
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            let auths = json?["auths"] as? [String: [String: String]]
            #expect(auths == ["https://index.docker.io/v1/": ["auth": Data("u:pw:with:colons".utf8).base64EncodedString()]])
            #expect(json?["credsStore"] as? String == "keep-me")
            var again = CLIConfig.load(path: path)
            #expect(again.credentials(for: "index.docker.io") == .init(username: "u", password: "pw:with:colons"))
            let removed = again.remove("docker.io"), removedTwice = again.remove("docker.io")
            #expect(removed && !removedTwice)
            try again.save()
            #expect(CLIConfig.load(path: path).credentials(for: "docker.io") == nil)
        }
    }

    @Test func configPathFollowsBerthConfig() {
        #expect(CLIConfig.defaultPath(environment: ["BERTH_CONFIG": "/x/y", "HOME": "/h"]) == "/x/y/config.json")
        #expect(CLIConfig.defaultPath(environment: ["HOME": "/h"]) == "/h/.berth/config.json")
    }
}
