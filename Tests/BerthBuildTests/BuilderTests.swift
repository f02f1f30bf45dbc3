import BerthArchive
import BerthImage
import Foundation
import Synchronization
import Testing
@testable import BerthBuild

/// An in-memory engine: images by name, a cache table, and a record of every container, put
/// and commit, so the builder's decisions can be checked without a daemon.
final class FakeBackend: BuildBackend {
    struct State {
        var images: [String: BuildImage] = [:]
        var cache: [String: String] = [:]
        var commits: [BuildCommit] = []
        var containers: [BuildContainerSpec] = []
        var removed: [String] = []
        /// Paths of the entries of every tar put into a container.
        var puts: [[String]] = []
        var existingDirs: Set<String> = ["/", "/etc", "/bin", "/existing"]
        var exitCode = 0
    }
    let state = Mutex(State())

    init() {
        var c = BuildConfig()
        c.env = ["PATH=/usr/bin:/bin"]
        c.cmd = ["sh"]
        state.withLock { $0.images["busybox"] = BuildImage(id: "sha256:" + String(repeating: "b", count: 64), config: c) }
    }

    func image(_ reference: String) async throws -> BuildImage? {
        state.withLock { s in s.images[reference] ?? s.images.values.first { $0.id == reference } }
    }
    func pull(_ reference: String, platform: String?, output: BuildOutput) async throws -> BuildImage {
        throw BuildError("pull access denied for \(reference)")
    }
    func cachedImage(key: String) async throws -> String? { state.withLock { $0.cache[key] } }
    func createContainer(_ spec: BuildContainerSpec) async throws -> String {
        state.withLock { s in
            s.containers.append(spec)
            return String(format: "%064x", s.containers.count)
        }
    }
    func run(container: String, output: BuildOutput) async throws -> Int {
        output.text("output of \(container.prefix(12))\n")
        return state.withLock { $0.exitCode }
    }
    func stat(container: String, path: String) async throws -> BuildPathStat? {
        state.withLock { $0.existingDirs.contains(path) } ? BuildPathStat(isDirectory: true) : nil
    }
    func put(container: String, path: String, tar: String) async throws {
        let reader = try ArchiveReader(path: tar)
        var paths: [String] = []
        while let e = try reader.next() { paths.append(e.path + (e.type == .directory && !e.path.hasSuffix("/") ? "/" : "") + (e.uid != 0 ? " \(e.uid):\(e.gid)" : "")) }
        state.withLock { $0.puts.append(paths) }
    }
    func get(container: String, path: String, tar: String) async throws {
        guard path == "/etc/passwd" || path == "/etc/group" else { throw BuildError("no such file \(path)") }
        let w = try ArchiveWriter(path: tar)
        let text = path == "/etc/passwd" ? "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n" : "root:x:0:\nstaff:x:50:\napp:x:1001:\n"
        try w.add(ArchiveEntry(path: path == "/etc/passwd" ? "passwd" : "group", type: .regular), data: Array(text.utf8))
        try w.finish()
    }
    func removeContainer(_ id: String) async { state.withLock { $0.removed.append(id) } }
    func commit(_ commit: BuildCommit) async throws -> String {
        state.withLock { s in
            s.commits.append(commit)
            let id = "sha256:" + String(format: "%064x", 0xc0 + s.commits.count)
            s.images[id] = BuildImage(id: id, config: commit.config)
            if let key = commit.cacheKey { s.cache[key] = id }
            return id
        }
    }
    func tag(image: String, reference: String) async throws {
        try state.withLock { s in
            guard let img = s.images[image] else { throw BuildError("no image \(image)") }
            s.images[reference] = img
        }
    }
}

/// Collects a build's text output.
final class Transcript: Sendable {
    let text = Mutex("")
    var output: BuildOutput { BuildOutput(text: { t in self.text.withLock { $0 += t } }) }
    var value: String { text.withLock { $0 } }
}

/// A class, so `deinit` removes the test's directory whatever the test did.
@Suite final class BuilderTests {
    let dir: String

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    init() throws {
        dir = NSTemporaryDirectory() + "berth-build-unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/ctx", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/scratch", withIntermediateDirectories: true)
    }

    func write(_ files: [String: String]) throws {
        for (p, t) in files {
            let full = dir + "/ctx/" + p
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try t.write(toFile: full, atomically: false, encoding: .utf8)
        }
    }

    func build(_ backend: FakeBackend, _ options: BuildOptions = BuildOptions()) async throws -> (String, String) {
        let t = Transcript()
        let b = try Builder(contextDir: dir + "/ctx", scratchDir: dir + "/scratch", options: options, backend: backend, output: t.output)
        let id = try await b.run()
        return (id, t.value)
    }

    @Test func secondBuildIsAllCacheHitsAndAnEditRerunsFromThere() async throws {
        try write(["Dockerfile": "FROM busybox\nENV A=1\nCOPY a.txt /a.txt\nRUN echo hi\nCMD [\"x\"]\n", "a.txt": "one"])
        let backend = FakeBackend()
        let (first, out1) = try await build(backend)
        #expect(out1.contains("Step 1/5 : FROM busybox\n ---> bbbbbbbbbbbb\nStep 2/5 : ENV A=1\n"), "\(out1)")
        #expect(out1.contains(" ---> Running in ") && out1.contains("output of ") && out1.contains("Removing intermediate container "), "\(out1)")
        #expect(out1.hasSuffix("Successfully built \(first.dropFirst(7).prefix(12))\n"), "\(out1)")
        let commits1 = backend.state.withLock { $0.commits.count }
        #expect(commits1 == 4)

        let (second, out2) = try await build(backend)
        #expect(second == first)
        #expect(out2.components(separatedBy: " ---> Using cache\n").count - 1 == 4, "\(out2)")
        #expect(backend.state.withLock { $0.commits.count } == commits1, "a cached build commits nothing")

        try write(["a.txt": "two"])
        let (third, out3) = try await build(backend)
        #expect(third != first)
        #expect(out3.components(separatedBy: " ---> Using cache\n").count - 1 == 1, "only ENV is cached: \(out3)")

        var options = BuildOptions()
        options.noCache = true
        let (_, out4) = try await build(backend, options)
        #expect(!out4.contains("Using cache"), "\(out4)")
    }

    @Test func copyDestinationsFollowDockersRules() async throws {
        try write([
            "Dockerfile": """
                FROM busybox
                COPY f.txt /existing
                COPY f.txt /newname
                COPY f.txt /dir/
                COPY d /into
                COPY --chown=app f.txt g*.txt /multi/
                WORKDIR /existing/sub
                COPY f.txt rel
                """,
            "f.txt": "f", "g1.txt": "1", "g2.txt": "2", "d/x/y.txt": "y",
        ])
        let backend = FakeBackend()
        _ = try await build(backend)
        let puts = backend.state.withLock { $0.puts }
        #expect(puts.count == 7, "\(puts)")
        #expect(puts[0] == ["existing/f.txt"])
        #expect(puts[1] == ["newname"])
        #expect(puts[2] == ["dir/", "dir/f.txt"])
        #expect(puts[3] == ["into/", "into/x/", "into/x/y.txt"])
        #expect(puts[4] == ["multi/ 1000:1001", "multi/f.txt 1000:1001", "multi/g1.txt 1000:1001", "multi/g2.txt 1000:1001"])
        #expect(puts[5] == ["existing/sub/"], "WORKDIR creates the directory")
        #expect(puts[6] == ["existing/sub/rel"])
        let workdir = backend.state.withLock { $0.commits.last?.config.workingDir }
        #expect(workdir == "/existing/sub")
    }

    @Test func errorsNameTheLine() async throws {
        try write(["Dockerfile": "FROM busybox\nCOPY a.txt b.txt /notadir\n", "a.txt": "", "b.txt": ""])
        await #expect(throws: BuildError("When using COPY with more than one source file, the destination must be a directory and end with a / (Dockerfile line 2: COPY)")) {
            _ = try await build(FakeBackend())
        }
        try write(["Dockerfile": "FROM busybox\nCOPY secret /\n", "secret": "", ".dockerignore": "secret\n"])
        await #expect(throws: BuildError("COPY failed: file not found in build context or excluded by .dockerignore: stat secret: file does not exist (Dockerfile line 2: COPY)")) {
            _ = try await build(FakeBackend())
        }
        try write(["Dockerfile": "FROM busybox\nRUN false\n"])
        let failing = FakeBackend()
        failing.state.withLock { $0.exitCode = 2 }
        await #expect(throws: BuildError("The command '/bin/sh -c false' returned a non-zero code: 2 (Dockerfile line 2: RUN)")) {
            _ = try await build(failing)
        }
        #expect(failing.state.withLock { $0.removed.isEmpty }, "a failed step's container stays, as in Docker")
        try write(["Dockerfile": "FROM nosuchimage\n"])
        await #expect(throws: BuildError("pull access denied for nosuchimage (Dockerfile line 1: FROM)")) {
            _ = try await build(FakeBackend())
        }
        #expect(throws: BuildError("failed to reach build target nope in Dockerfile", invalidInput: true)) {
            var o = BuildOptions()
            o.target = "nope"
            _ = try Builder(contextDir: dir + "/ctx", scratchDir: dir + "/scratch", options: o, backend: FakeBackend(), output: BuildOutput(text: { _ in }))
        }
    }

    @Test func argsEntrypointAndLabels() async throws {
        try write(["Dockerfile": """
            ARG TAG=latest
            FROM busybox
            ARG TAG
            ARG V=1
            RUN echo $V
            ENTRYPOINT ["/bin/app"]
            """])
        let backend = FakeBackend()
        var o = BuildOptions()
        o.buildArgs = ["V": "2", "UNUSED": "x"]
        o.labels = ["b": "2", "a": "1"]
        o.tags = ["example/app:1"]
        let (id, out) = try await build(backend, o)
        let commits = backend.state.withLock { $0.commits }
        #expect(commits.contains { $0.createdBy == "|2 TAG=latest V=2 /bin/sh -c echo $V" }, "\(commits.map(\.createdBy))")
        let env = backend.state.withLock { $0.containers.first?.env }
        #expect(env == ["PATH=/usr/bin:/bin", "TAG=latest", "V=2"])
        let final = try #require(backend.state.withLock { $0.images["example/app:1"] })
        #expect(final.id == id && final.config.cmd == nil && final.config.entrypoint == ["/bin/app"], "ENTRYPOINT clears the base image's CMD")
        #expect(final.config.labels == ["a": "1", "b": "2"])
        #expect(out.contains("Step 6/6 : LABEL \"a\"=\"1\" \"b\"=\"2\"\n"), "\(out)")
        #expect(out.contains("[Warning] One or more build-args [UNUSED] were not consumed\n"), "\(out)")
        #expect(out.hasSuffix("Successfully tagged example/app:1\n"), "\(out)")
    }

    @Test func ownersPortsAndTags() throws {
        let passwd = "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n", group = "root:x:0:\napp:x:1002:\nstaff:x:50:\n"
        #expect(try Builder.owner("1:2", passwd: nil, group: nil) == (1, 2))
        #expect(try Builder.owner("7", passwd: nil, group: nil) == (7, 7))
        #expect(try Builder.owner("app", passwd: passwd, group: group) == (1000, 1002))
        #expect(try Builder.owner("app:staff", passwd: passwd, group: group) == (1000, 50))
        #expect(throws: BuildError.self) { try Builder.owner("nobody", passwd: passwd, group: group) }
        #expect(try Builder.expandPorts("80") == ["80/tcp"])
        #expect(try Builder.expandPorts("8000-8002/udp") == ["8000/udp", "8001/udp", "8002/udp"])
        #expect(throws: BuildError.self) { try Builder.expandPorts("70000") }
        #expect(throws: BuildError.self) { _ = try Builder.checkTag("Bad/Name") }
        #expect(try Builder.checkTag("127.0.0.1:5000/team/app:1.0").familiar == "127.0.0.1:5000/team/app:1.0")
        #expect(try Builder.checkTag("app").familiar == "app:latest" && Builder.checkTag("host:5000/app").familiar == "host:5000/app:latest")
        #expect(Builder.cleanAbsolute("/a/./b/../c/") == "/a/c")
    }

    @Test func resolveInScopeNeverLeavesTheRoot() throws {
        let root = dir + "/ctx"
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../../../etc")
        try FileManager.default.createSymbolicLink(atPath: root + "/abs", withDestinationPath: "/real")
        #expect(try Builder.resolveInScope(root: root, ["up", "passwd"]) == ["etc", "passwd"])
        #expect(try Builder.resolveInScope(root: root, ["abs", "x"]) == ["real", "x"])
    }
}
