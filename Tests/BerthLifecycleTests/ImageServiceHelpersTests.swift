import Testing
import BerthTestSupport
import BerthImage
import BerthRegistry
import BerthWire
@testable import BerthLifecycle

@Suite("ImageService filters and formatting")
struct ImageServiceHelpersTests {
    @Test(arguments: [
        ("busybox", "busybox:latest", true),
        ("busybox", "busybox:1.36", true),
        ("busybox", "busyboxx:latest", false),
        ("busy*", "busybox:latest", true),
        ("busy*", "alpine:3", false),
        ("busybox:1*", "busybox:1.36", true),
        ("busybox:1*", "busybox:latest", false),
        ("busybox:latest", "busybox:latest", true),
        ("*/team/*", "registry.example.com/team/app:1", true),
        ("*/team/*", "team/app:1", false),
        ("team/*", "team/app:1", true),
        ("localhost:5000/app", "localhost:5000/app:2", true),
        ("localhost:5000/*", "localhost:5000/app:2", true),
        ("app", "localhost:5000/app:2", false),
    ])
    func referenceFilterGlobs(pattern: String, name: String, matches: Bool) {
        #expect(ImageService.referenceMatches(pattern: pattern, name: name) == matches)
    }

    @Test func referenceFilterStarDoesNotCrossSlash() {
        // Docker matches with Go's path.Match, whose `*` stops at `/`: `--filter reference='*'`
        // lists only images without a repository path (busybox, not team/app).
        #expect(ImageService.referenceMatches(pattern: "*", name: "team/app:1") == false)
        #expect(ImageService.referenceMatches(pattern: "*:1", name: "team/app:1") == false)
        #expect(ImageService.referenceMatches(pattern: "*", name: "busybox:latest"))
    }

    @Test func labelFilter() {
        let labels = ["team": "core", "empty": "", "k=v": "x"]
        #expect(ImageService.labelMatches("team", labels))
        #expect(ImageService.labelMatches("team=core", labels))
        #expect(!ImageService.labelMatches("team=other", labels))
        #expect(!ImageService.labelMatches("missing", labels))
        #expect(!ImageService.labelMatches("missing=", labels))
        #expect(ImageService.labelMatches("empty", labels))
        #expect(ImageService.labelMatches("empty=", labels))
        #expect(!ImageService.labelMatches("empty=x", labels))
        #expect(!ImageService.labelMatches("team=core=x", labels))
        #expect(!ImageService.labelMatches("team", [:]))
    }

    @Test func unixTimeParsesRFC3339() {
        #expect(ImageService.unixTime("2024-01-02T03:04:05Z") == 1_704_164_645)
        #expect(ImageService.unixTime("2024-01-02T03:04:05.5Z") == 1_704_164_645)
        #expect(ImageService.unixTime("2024-01-02T03:04:05.123Z") == 1_704_164_645)
        #expect(ImageService.unixTime("2024-01-02T05:04:05+02:00") == 1_704_164_645)
        #expect(ImageService.unixTime("1970-01-01T00:00:00Z") == 0)
        #expect(ImageService.unixTime(nil) == nil)
        #expect(ImageService.unixTime("") == nil)
        #expect(ImageService.unixTime("yesterday") == nil)
        #expect(ImageService.unixTime("2024-01-02") == nil)
    }

    @Test func unixTimeParsesDockerNanoseconds() {
        // Docker and BuildKit write nanosecond timestamps into image configs.
        #expect(ImageService.unixTime("2023-05-19T20:49:50.193535291Z") == 1_684_529_390)
        #expect(ImageService.unixTime("2024-01-02T03:04:05.000000001Z") == 1_704_164_645)
    }

    @Test func splitSeparatesTagsAndDigests() {
        let d = fakeDigest("manifest")
        let names: [(name: String, kind: String)] = [
            ("docker.io/library/busybox:latest", "tag"),
            ("docker.io/library/busybox@\(d)", "digest"),
            ("127.0.0.1:5000/app:1", "tag"),
            ("docker.io/team/app:2", "tag"),
            ("NOT A REFERENCE", "tag"),
        ]
        let (tags, digests) = ImageService.split(names)
        #expect(tags == ["busybox:latest", "127.0.0.1:5000/app:1", "team/app:2"])
        #expect(digests == ["busybox@\(d)"])
        let (t0, d0) = ImageService.split([])
        #expect(t0.isEmpty && d0.isEmpty)
    }
}

@Suite("Errors as they cross the wire")
struct LifecycleErrorTests {
    @Test func lifecycleErrorCodes() {
        #expect(LifecycleError.noSuchImage("nope:latest").wireError == WireError(code: 404, message: "No such image: nope:latest"))
        #expect(LifecycleError.notFound("gone").wireError.code == 404)
        #expect(LifecycleError.conflict("in use").wireError == WireError(code: 409, message: "in use"))
        #expect(LifecycleError.invalidArgument("bad").wireError == WireError(code: 400, message: "bad"))
        #expect(LifecycleError.unauthorized("who?").wireError.code == 401)
        #expect(LifecycleError.internalError("boom").wireError == WireError(code: 500, message: "boom"))
    }

    @Test func imageErrorCodes() {
        let bad = ImageError.invalidReference("UPPER", reason: "uppercase")
        #expect(LifecycleError.image(bad).wireError == WireError(code: 400, message: bad.description))
        #expect(LifecycleError.image(.invalidDigest("sha256:x")).wireError.code == 400)
        #expect(LifecycleError.image(.blobNotFound("sha256:abc")).wireError.code == 404)
        #expect(LifecycleError.image(.noMatchingPlatform(reference: "r", platform: "linux/s390x", available: ["linux/amd64"])).wireError.code == 404)
        #expect(LifecycleError.image(.io(operation: "open", path: "/x", reason: "EIO")).wireError.code == 500)
    }

    @Test func parseFailuresAre400() throws {
        #expect {
            _ = try Parse.reference("Not/A:Valid:Ref")
        } throws: { e in
            guard case LifecycleError.image(.invalidReference) = e else { return false }
            return (e as? LifecycleError)?.wireError.code == 400
        }
        #expect(throws: LifecycleError.self) { _ = try Parse.platform("not a platform!") }
        #expect(try Parse.platform(nil) == nil)
        #expect(try Parse.reference("busybox").description == "docker.io/library/busybox:latest")
    }

    @Test func registryErrorMapping() {
        func code(_ e: RegistryError) -> Int { e.lifecycleError.wireError.code }
        #expect(code(.unauthorized(host: "h", resource: "r", message: "denied")) == 401)
        #expect(code(.manifestUnknown(reference: "busybox:nope", message: "unknown")) == 404)
        #expect(code(.blobUnknown(repository: "r", digest: "sha256:x")) == 404)
        #expect(code(.insecureRefused(host: "example.com")) == 400)
        #expect(code(.invalidAuthFile(path: "/auth.json", reason: "bad json")) == 400)
        #expect(code(.tooManyRequests(host: "h", resource: "r")) == 500)
        #expect(code(.transport(host: "h", resource: "r", reason: "refused")) == 500)
        #expect(code(.httpStatus(host: "h", method: "GET", resource: "r", status: 502, body: "")) == 500)
        #expect(code(.digestMismatch(resource: "r", expected: "a", actual: "b")) == 500)
        // The message is the registry error's own.
        let e = RegistryError.manifestUnknown(reference: "busybox:nope", message: "manifest unknown")
        #expect(e.lifecycleError.description == e.description)
        #expect(e.lifecycleError.wireError.message == e.description)
    }
}
