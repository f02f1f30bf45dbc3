import Foundation
import Testing
@testable import BerthDockerfile

@Suite struct DockerIgnoreTests {
    @Test func patternsAreCleaned() throws {
        let ignore = try DockerIgnore("# comment\n\n/foo/../bar/\n ! keep \n*/temp*\n  # not a comment?\n./a//b\n")
        #expect(ignore.patterns == ["bar", "!keep", "*/temp*", "# not a comment?", "a/b"])
    }

    @Test func referenceExamples() throws {
        // The examples of Docker's .dockerignore documentation.
        let ignore = try DockerIgnore("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
        #expect(ignore.excludes("somedir/temporary.txt"))
        #expect(ignore.excludes("somedir/temp"))
        #expect(ignore.excludes("somedir/subdir/temporary.txt"))
        #expect(ignore.excludes("tempa"))
        #expect(!ignore.excludes("tempab"))
        #expect(!ignore.excludes("temporary.txt"))
        #expect(!ignore.excludes("a/b/c/temp"))
    }

    @Test func lastMatchWinsWithExceptions() throws {
        let ignore = try DockerIgnore("*.md\n!README*.md\nREADME-secret.md\n")
        #expect(ignore.excludes("CHANGELOG.md"))
        #expect(!ignore.excludes("README.md"))
        #expect(ignore.excludes("README-secret.md"))
        let flipped = try DockerIgnore("*.md\nREADME-secret.md\n!README*.md\n")
        #expect(!flipped.excludes("README-secret.md"))
    }

    @Test func doubleStarAndParents() throws {
        let ignore = try DockerIgnore("**/*.go\nnode_modules\nbuild/**\n")
        #expect(ignore.excludes("main.go"))
        #expect(ignore.excludes("a/b/c.go"))
        #expect(!ignore.excludes("a/b/c.gox"))
        #expect(ignore.excludes("node_modules"))
        #expect(ignore.excludes("node_modules/x/y.js"))
        #expect(!ignore.excludes("src/node_modules"))
        #expect(ignore.excludes("build/out/bin"))
        #expect(!ignore.excludes("buildx"))
        #expect(!ignore.excludes("."))
    }

    @Test func characterClassesAndEscapes() throws {
        let ignore = try DockerIgnore("file[0-9].txt\nx[^a]y\nlit\\*eral\n")
        #expect(ignore.excludes("file3.txt"))
        #expect(!ignore.excludes("filea.txt"))
        #expect(ignore.excludes("xby"))
        #expect(!ignore.excludes("xay"))
        #expect(ignore.excludes("lit*eral"))
        #expect(!ignore.excludes("litteral"))
    }

    @Test func badPatternsAreErrors() {
        #expect(throws: DockerfileError.self) { try DockerIgnore("ok\n[\n") }
        do {
            _ = try DockerIgnore("ok\n[\n")
        } catch {
            #expect(error.line == 2)
            #expect(error.message.contains("\"[\""))
        }
        #expect(throws: DockerfileError.self) { try DockerIgnore("a[]b") }
        #expect(throws: DockerfileError.self) { try DockerIgnore("trailing\\") }
        #expect(throws: DockerfileError(line: 1, "illegal exclusion pattern: \"!\"")) { try DockerIgnore("!") }
    }

    @Test func skippingDirectories() throws {
        let plain = try DockerIgnore("vendor\n")
        #expect(plain.canSkipDirectory("vendor"))
        #expect(!plain.canSkipDirectory("src"))
        let exception = try DockerIgnore("vendor\n!vendor/keep/*.txt\n")
        #expect(!exception.canSkipDirectory("vendor"))
        #expect(!exception.canSkipDirectory("vendor/keep"))
        #expect(exception.canSkipDirectory("vendor/other"))
        let wild = try DockerIgnore("*\n!**/keep\n")
        #expect(!wild.canSkipDirectory("anything"))
    }
}

@Suite struct BuildContextTests {
    /// A scratch context directory, removed after `body`.
    func withContext(_ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ctx-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try body(root)
    }

    func write(_ root: String, _ path: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(path.utf8).write(to: URL(fileURLWithPath: full))
    }

    @Test func filesSurviveIgnoreWithDirsAndSymlinks() throws {
        try withContext { root in
            for path in ["Dockerfile", ".dockerignore", "src/main.swift", "src/gen/x.o", "logs/a.log", "logs/keep.log", "docs/readme.md"] {
                try write(root, path)
            }
            try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "/etc")
            let ignore = try DockerIgnore("Dockerfile\n.dockerignore\n**/*.o\nlogs\n!logs/keep.log\ndocs\n")
            let files = try BuildContext.files(root: root, ignore: ignore, alwaysInclude: ["Dockerfile"])
            #expect(files == ["Dockerfile", "empty", "link", "logs", "logs/keep.log", "src", "src/gen", "src/main.swift"])
            let all = try BuildContext.files(root: root, ignore: nil, alwaysInclude: [])
            #expect(all.contains("docs/readme.md") && all.contains(".dockerignore") && !all.contains("link/passwd"))
        }
    }

    @Test func missingRootIsAnError() {
        #expect(throws: DockerfileError.self) {
            try BuildContext.files(root: "/nonexistent-berth-\(UUID().uuidString)", ignore: nil, alwaysInclude: [])
        }
    }
}
