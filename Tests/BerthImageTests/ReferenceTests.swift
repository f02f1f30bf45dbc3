import Testing
@testable import BerthImage

@Suite struct ReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("team/app", "docker.io/team/app:latest", "team/app:latest"),
        ("127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app:1.2"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("index.docker.io/library/alpine:3", "docker.io/library/alpine:3", "alpine:3"),
        ("quay.io/a/b/c:v1-x.y_z", "quay.io/a/b/c:v1-x.y_z", "quay.io/a/b/c:v1-x.y_z"),
    ])
    func normalises(input: String, full: String, familiar: String) throws {
        let r = try Reference(parsing: input)
        #expect(r.description == full)
        #expect(r.familiar == familiar)
    }

    @Test func digestReference() throws {
        let hex = String(repeating: "ab", count: 32)
        let r = try Reference(parsing: "busybox@sha256:\(hex)")
        #expect(r.tag == nil)
        #expect(r.digest?.encoded == hex)
        #expect(r.description == "docker.io/library/busybox@sha256:\(hex)")
        let both = try Reference(parsing: "reg:5000/x:1@sha256:\(hex)")
        #expect(both.domain == "reg:5000" && both.tag == "1" && both.digest != nil)
    }

    @Test(arguments: ["", "Busybox", "busybox:", "busybox:-x", "a//b", "/a", "a/", "busybox@sha256:1234",
                      "bad_/x", "x:" + String(repeating: "t", count: 129), "reg:port/app", "a..b", "a___b"])
    func rejects(input: String) {
        #expect(throws: ImageError.self) { try Reference(parsing: input) }
    }

    @Test func chainIDs() throws {
        let a = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
        let b = try Digest(parsing: "sha256:" + String(repeating: "b", count: 64))
        let ids = ChainID.of([a, b])
        #expect(ids[0] == a)
        #expect(ids[1] == Digest.sha256(of: Array("\(a) \(b)".utf8)))
    }
}
