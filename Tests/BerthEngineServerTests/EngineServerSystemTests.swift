import Foundation
import Testing
import BerthEngineAPI
@testable import BerthEngineServer
import BerthTestSupport
import BerthWire

extension EngineServerTests {
    /// `POST /auth` and `GET /system/df` against a fake berth-lifecycled. Nested in
    /// EngineServerTests to run serially with it (see EngineServerTests.Networks).
    @Suite("EngineServerTests.System")
    struct System {
        final class LastLogin: @unchecked Sendable {
            private let lock = NSLock()
            private var value: RegistryAuth?
            func set(_ a: RegistryAuth) { lock.withLock { value = a } }
            var get: RegistryAuth? { lock.withLock { value } }
        }

        static func fakeLifecycle(_ last: LastLogin, volumeDir: String) -> WireRouter {
            var r = EngineServerTests.fakeLifecycle()
            r.register("registry.login", RegistryAuth.self) { p, _ in
                last.set(p)
                if p.serverAddress == "127.0.0.1:1" { throw WireError(code: 500, message: "Get \"http://127.0.0.1:1/v2/\": connection refused") }
                guard p.password == "good" else {
                    throw WireError(code: 401, message: "unauthorized: access to http://r/v2/ on registry r denied: incorrect username or password")
                }
                return RegistryLoginResult()
            }
            r.register("image.list", RawJSON.self) { _, _ in
                [ImageSummary(id: "sha256:aa", repoTags: ["busybox:latest"], repoDigests: [], created: 1, size: 1000, labels: [:], containers: 1),
                 ImageSummary(id: "sha256:bb", repoTags: [], repoDigests: [], created: 2, size: 500, labels: [:], containers: 0)]
            }
            r.register("container.list", RawJSON.self) { _, _ in
                RawJSON(#"[{"Id":"c1","Names":["/web"],"Image":"busybox","ImageID":"sha256:aa","State":"running","Mounts":[{"Type":"volume","Name":"data","Destination":"/data"}]}]"#)
            }
            r.register("volume.list", RawJSON.self) { _, _ in
                RawJSON(#"{"Volumes":[{"Name":"data","Driver":"local","Mountpoint":"\#(volumeDir)","Scope":"local"},{"Name":"gone","Driver":"local","Mountpoint":"/nonexistent/berth","Scope":"local"}],"Warnings":[]}"#)
            }
            return r
        }

        let http = EngineServerTests()

        func json(_ bytes: [UInt8]) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

        @Test func authAsksTheRegistryThroughTheWire() async throws {
            let last = LastLogin()
            try await withTempDir(prefix: "berth-auth-test") { dir in
                try await http.withServer(router: Self.fakeLifecycle(last, volumeDir: dir)) { s in
                    let ok = try http.get(s, "POST", "/v1.43/auth", body: #"{"username":"u","password":"good","serveraddress":"127.0.0.1:5000","email":""}"#)
                    #expect(ok.status == 200)
                    #expect(try json(ok.body) == .object(["Status": .string("Login Succeeded"), "IdentityToken": .string("")]))
                    #expect(last.get == RegistryAuth(username: "u", password: "good", serverAddress: "127.0.0.1:5000"))

                    let refused = try http.get(s, "POST", "/auth", body: #"{"username":"u","password":"bad","serveraddress":"r"}"#)
                    #expect(refused.status == 401)
                    #expect(String(decoding: refused.body, as: UTF8.self).contains("unauthorized"))
                    let unreachable = try http.get(s, "POST", "/auth", body: #"{"username":"u","password":"x","serveraddress":"127.0.0.1:1"}"#)
                    #expect(unreachable.status == 500)
                    http.expectCode(try http.code(s, "POST", "/auth", body: #"{"password":"x"}"#), 400)   // no username
                    http.expectCode(try http.code(s, "POST", "/auth", body: "{"), 400)                     // not JSON
                }
            }
        }

        @Test func systemDFSumsImagesContainersAndVolumes() async throws {
            let last = LastLogin()
            try await withTempDir(prefix: "berth-df-test") { dir in
                try Data(count: 1234).write(to: URL(fileURLWithPath: dir + "/a"))
                try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
                try Data(count: 66).write(to: URL(fileURLWithPath: dir + "/sub/b"))
                link(dir + "/a", dir + "/sub/hardlink")
                try await http.withServer(router: Self.fakeLifecycle(last, volumeDir: dir)) { s in
                    let r = try http.get(s, "GET", "/v1.43/system/df")
                    #expect(r.status == 200)
                    guard case .object(let o) = try json(r.body), case .array(let images)? = o["Images"],
                          case .array(let containers)? = o["Containers"], case .array(let volumes)? = o["Volumes"] else {
                        Issue.record("not Docker's disk usage: \(String(decoding: r.body, as: UTF8.self))"); return
                    }
                    #expect(o["LayersSize"] == .int(1500) && o["BuildCache"] == .array([]))
                    #expect(images.count == 2)
                    if case .object(let i) = images[0] {
                        #expect(i["Containers"] == .int(1) && i["SharedSize"] == .int(0) && i["Size"] == .int(1000))
                    }
                    // No upper dir in the fake inspect: an empty writable layer.
                    if case .object(let c) = containers.first {
                        #expect(c["SizeRw"] == .int(0) && c["SizeRootFs"] == .int(1000) && c["Names"] == .array([.string("/web")]))
                    }
                    #expect(volumes.count == 2)
                    if case .object(let v) = volumes[0] {
                        // Hard links count once.
                        #expect(v["UsageData"] == .object(["Size": .int(1300), "RefCount": .int(1)]))
                    }
                    if case .object(let v) = volumes[1] {
                        #expect(v["UsageData"] == .object(["Size": .int(-1), "RefCount": .int(0)]))
                    }
                    let onlyImages = try http.get(s, "GET", "/system/df?type=image")
                    if case .object(let o) = try json(onlyImages.body) { #expect(o["Containers"] == nil && o["Images"] != nil) }
                }
            }
        }
    }
}
