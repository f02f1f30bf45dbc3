import ArgumentParser
import BerthArchive
import struct BerthDockerfile.DockerIgnore
import enum BerthDockerfile.BuildContext
import BerthOS
import Foundation
import Glibc

/// `berth build`: the classic builder's client. The context directory, less what .dockerignore
/// excludes, goes to `POST /build` as a tar; the steps stream back and are shown as they come.
struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build an image from a Dockerfile", usage: "berth build [OPTIONS] PATH | -", helpNames: [.long])

    @Argument(help: "The build context: a directory, or - for a Dockerfile on stdin") var path: String
    @Option(name: [.short, .customLong("tag")], help: "Name and optionally a tag in the 'name:tag' format") var tags: [String] = []
    @Option(name: [.short, .customLong("file")], help: "Name of the Dockerfile (Default is 'PATH/Dockerfile')") var file: String?
    @Option(name: .customLong("build-arg"), help: "Set build-time variables") var buildArgs: [String] = []
    @Option(name: .customLong("label"), help: "Set metadata for an image") var labels: [String] = []
    @Option(name: .customLong("target"), help: "Set the target build stage to build.") var target: String?
    @Flag(name: .customLong("no-cache"), help: "Do not use cache when building the image") var noCache = false
    @Flag(name: .customLong("pull"), help: "Always attempt to pull a newer version of the image") var pull = false
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress the build output and print image ID on success") var quiet = false
    @Option(name: .customLong("network"), help: "Set the networking mode for the RUN instructions during build") var network: String?
    @Option(name: .customLong("rm"), help: "Remove intermediate containers after a successful build") var rm = true
    @Flag(name: .customLong("force-rm"), help: "Always remove intermediate containers") var forceRm = false
    @Option(name: .customLong("platform"), help: "Set platform if server is multi-platform capable") var platform: String?
    @Option(name: .customLong("iidfile"), help: "Write the image ID to the file") var iidfile: String?

    func run() throws {
        let tar = try BuildContextTar.make(path: path, dockerfile: file)
        // Held open and unlinked at once: an interrupted build (ctrl-c) leaves no file behind.
        let fd = open(tar.path, O_RDONLY | O_CLOEXEC)
        unlink(tar.path)
        guard fd >= 0 else { throw CLIError("open \(tar.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        if !quiet { writeAll(1, Array("Sending build context to Docker daemon  \(humanSize(Double(size), precision: 4))\n".utf8)) }

        var q: [(String, String)] = [("dockerfile", tar.dockerfile)]
        for t in tags { q.append(("t", t)) }
        if let target { q.append(("target", target)) }
        if noCache { q.append(("nocache", "1")) }
        if pull { q.append(("pull", "1")) }
        if quiet { q.append(("q", "1")) }
        if let network { q.append(("networkmode", network)) }
        q.append(("rm", rm ? "1" : "0"))
        if forceRm { q.append(("forcerm", "1")) }
        if let platform { q.append(("platform", platform)) }
        if !buildArgs.isEmpty { q.append(("buildargs", try Self.json(Self.buildArgs(buildArgs)))) }
        if !labels.isEmpty { q.append(("labels", try Self.json(Self.labels(labels)))) }

        let reader = try CLI.client().open("POST", "/build", query: q, bodyFile: "/proc/self/fd/\(fd)",
                                           headers: [("Content-Type", "application/x-tar"), ("X-Registry-Config", RegistryAuth.configHeader())])
        let renderer = ProgressRenderer(fd: 1, tty: isatty(1) == 1)
        var imageID: String?
        while let line = try reader.nextLine() {
            guard !line.isEmpty, let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let err = obj["error"] as? String ?? (obj["errorDetail"] as? [String: Any])?["message"] as? String {
                renderer.finish()
                throw CLIError(code: 1, err)
            }
            if let aux = obj["aux"] as? [String: Any], let id = aux["ID"] as? String { imageID = id; continue }
            if !quiet { renderer.show(obj) }
        }
        renderer.finish()
        if let iidfile, let imageID {
            guard FileManager.default.createFile(atPath: iidfile, contents: Data(imageID.utf8)) else { throw CLIError("write \(iidfile): \(String(cString: strerror(errno)))") }
        }
        if quiet, let imageID { writeAll(1, Array((imageID + "\n").utf8)) }
    }

    /// `--build-arg K=V`, or `K` alone: its value from this environment, or declared without one.
    static func buildArgs(_ args: [String]) -> [String: Any] {
        var out: [String: Any] = [:]
        for a in args {
            let p = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if p.count == 2 { out[p[0]] = p[1] } else { out[p[0]] = ProcessInfo.processInfo.environment[p[0]] ?? NSNull() }
        }
        return out
    }

    static func labels(_ list: [String]) -> [String: Any] {
        var out: [String: Any] = [:]
        for l in list {
            let p = l.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            out[p[0]] = p.count == 2 ? p[1] : ""
        }
        return out
    }

    static func json(_ obj: [String: Any]) throws -> String {
        let d = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        return String(decoding: d, as: UTF8.self)
    }
}

/// The context tar the docker CLI sends: the directory's files less .dockerignore's, with the
/// Dockerfile and .dockerignore always in; a Dockerfile from outside the context or from stdin
/// travels under a name of its own.
enum BuildContextTar {
    struct Made { var path: String; var dockerfile: String }

    static func make(path: String, dockerfile: String?) throws -> Made {
        let out = NSTemporaryDirectory() + "berth-build-context-\(getpid())-\(UUID().uuidString).tar"
        let writer = try ArchiveWriter(path: out)
        if path == "-" {
            // `berth build - < Dockerfile`: a context of the Dockerfile alone.
            let text = FileHandle.standardInput.readDataToEndOfFile()
            try writer.add(ArchiveEntry(path: "Dockerfile", type: .regular, mode: 0o644, size: Int64(text.count),
                                        mtime: Timestamp(seconds: Int(Date().timeIntervalSince1970))), data: [UInt8](text))
            try writer.finish()
            return Made(path: out, dockerfile: "Dockerfile")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("unable to prepare context: path \"\(path)\" not found")
        }
        let root = URL(fileURLWithPath: path).standardizedFileURL.path
        // The Dockerfile: -f relative to the current directory (docker's rule), else PATH/Dockerfile.
        var dfName = "Dockerfile", external: Data?
        if let dockerfile {
            if dockerfile == "-" {
                external = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                let abs = URL(fileURLWithPath: dockerfile).standardizedFileURL.path
                if abs.hasPrefix(root + "/") { dfName = String(abs.dropFirst(root.count + 1)) } else {
                    guard let d = FileManager.default.contents(atPath: abs) else { throw CLIError("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat \(abs): no such file or directory") }
                    external = d
                }
            }
            if external != nil { dfName = ".dockerfile." + String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(20)) }
        } else if !FileManager.default.fileExists(atPath: root + "/Dockerfile") {
            throw CLIError("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat \(root)/Dockerfile: no such file or directory")
        }
        let ignore: DockerIgnore?
        if let text = FileManager.default.contents(atPath: root + "/.dockerignore").map({ String(decoding: $0, as: UTF8.self) }) {
            do { ignore = try DockerIgnore(text) } catch { throw CLIError("error checking context: \(error.description)") }
        } else {
            ignore = nil
        }
        for rel in try BuildContext.files(root: root, ignore: ignore, alwaysInclude: [dfName, ".dockerignore"]) {
            let full = root + "/" + rel
            guard let info = try FS.info(full) else { continue }
            let mtime = Timestamp(seconds: info.mtime)
            switch info.kind {
            case .directory:
                try writer.add(ArchiveEntry(path: rel + "/", type: .directory, mode: info.mode, mtime: mtime))
            case .symlink:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: full)
                try writer.add(ArchiveEntry(path: rel, type: .symlink, mode: 0o777, mtime: mtime, symlinkTarget: target))
            case .regular:
                let fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else { throw CLIError("error checking context: can't stat '\(full)'") }
                defer { close(fd) }
                try writer.add(ArchiveEntry(path: rel, type: .regular, mode: info.mode, size: info.size, mtime: mtime), contentsOf: fd)
            default:
                continue
            }
        }
        if let external {
            try writer.add(ArchiveEntry(path: dfName, type: .regular, mode: 0o644, size: Int64(external.count),
                                        mtime: Timestamp(seconds: Int(Date().timeIntervalSince1970))), data: [UInt8](external))
        }
        try writer.finish()
        return Made(path: out, dockerfile: dfName)
    }
}
