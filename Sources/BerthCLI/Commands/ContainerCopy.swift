import ArgumentParser
import BerthEngineClient
import Foundation
import Glibc

/// `berth cp`: files between a container and the local filesystem, over the archive endpoints
/// (GET/HEAD/PUT /containers/{id}/archive). The placement rules are docker's (pkg/archive's
/// CopyInfoDestinationPath and PrepareArchiveCopy): into an existing directory, as a new name,
/// over an existing file; `dir/.` copies a directory's contents; `-` is a tar stream on
/// stdin/stdout. Tar streams are made and unpacked by /bin/tar.
struct Cp: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy files/folders between a container and the local filesystem",
        usage: "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        helpNames: [.long])
    @Flag(name: [.short, .customLong("archive")], help: "Archive mode (copy all uid/gid information)") var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH") var followLink = false
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress progress output during copy") var quiet = false
    @Argument(help: "Source") var source: String
    @Argument(help: "Destination") var destination: String

    func run() throws {
        let src = CopyPath.split(source), dst = CopyPath.split(destination)
        if src.path.isEmpty { throw CLIError("source can not be empty") }
        if dst.path.isEmpty { throw CLIError("destination can not be empty") }
        switch (src.container, dst.container) {
        case (let c?, nil): try fromContainer(c, src.path, dst.path)
        case (nil, let c?): try toContainer(src.path, c, dst.path)
        case (_?, _?): throw CLIError("copying between containers is not supported")
        case (nil, nil): throw CLIError("must specify at least one container source")
        }
    }

    private func progress(_ bytes: Int, _ to: String) {
        if !quiet && isatty(2) == 1 {
            FileHandle.standardError.write(Data("Successfully copied \(humanSize(Int64(bytes))) to \(to)\n".utf8))
        }
    }

    private func fromContainer(_ container: String, _ srcPath: String, _ dstPath: String) throws {
        let client = try CLI.client()
        var path = srcPath
        var rebaseName: String?
        if followLink, let stat = try? CopyPath.stat(client, container, srcPath), stat.isSymlink {
            var target = stat.linkTarget
            if !target.hasPrefix("/") { target = CopyPath.splitDirEntry(srcPath).dir + "/" + target }
            let base = CopyPath.splitDirEntry(srcPath).base, targetBase = CopyPath.splitDirEntry(target).base
            if base != targetBase { rebaseName = base }
            path = target
        }
        let reader = try client.open("GET", "/containers/\(container)/archive", query: [("path", path)])
        if dstPath == "-" {
            while let b = try reader.next() { writeAll(1, b) }
            return
        }
        let info = CopyPath.Stat(header: reader.head.header("X-Docker-Container-Path-Stat"))
        var dstIsDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: dstPath, isDirectory: &dstIsDir)
        if !exists {
            let parent = CopyPath.splitDirEntry(dstPath).dir
            var parentIsDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &parentIsDir) else {
                throw CLIError("stat \(CopyPath.absolute(parent)): no such file or directory")
            }
            guard parentIsDir.boolValue else { throw CLIError("not a directory") }
        }
        let plan = try CopyPath.prepare(srcPath: path, srcIsDir: info?.isDir ?? false, rebaseName: rebaseName, dstPath: dstPath,
                                        dstExists: exists, dstIsDir: exists && dstIsDir.boolValue)
        let copied = try CopyPath.extract(reader, plan)
        progress(copied, CopyPath.absolute(dstPath))
    }

    private func toContainer(_ srcPath: String, _ container: String, _ dstPath: String) throws {
        let client = try CLI.client()
        // The destination as the container sees it, its symlink followed as docker does.
        var dstInfo: CopyPath.Stat?
        var resolvedDst = dstPath
        if let s = try? CopyPath.stat(client, container, dstPath) {
            dstInfo = s
            if s.isSymlink {
                var target = s.linkTarget
                if !target.hasPrefix("/") { target = CopyPath.splitDirEntry(dstPath).dir + "/" + target }
                resolvedDst = target
                dstInfo = try? CopyPath.stat(client, container, target)
            }
        }
        var q: [(String, String)] = [("noOverwriteDirNonDir", "true")]
        if archive { q.append(("copyUIDGID", "true")) }
        let body: Data
        let putPath: String
        if srcPath == "-" {
            guard dstInfo?.isDir == true else { throw CLIError("destination \"\(container):\(dstPath)\" must be a directory") }
            body = FileHandle.standardInput.readDataToEndOfFile()
            putPath = resolvedDst
        } else {
            var local = srcPath
            var rebaseName: String?
            var ls = Glibc.stat()
            guard lstat(srcPath, &ls) == 0 else { throw CLIError("lstat \(CopyPath.absolute(srcPath)): \(String(cString: strerror(errno)))") }
            if followLink && ls.st_mode & S_IFMT == S_IFLNK, let real = realpath(srcPath, nil) {
                local = String(cString: real)
                free(real)
                let base = CopyPath.splitDirEntry(srcPath).base
                if base != CopyPath.splitDirEntry(local).base { rebaseName = base }
            }
            var srcIsDir: ObjCBool = false
            let isDir = ls.st_mode & S_IFMT == S_IFDIR
                || (followLink && FileManager.default.fileExists(atPath: local, isDirectory: &srcIsDir) && srcIsDir.boolValue)
            if CopyPath.assertsDirectory(srcPath) && !isDir { throw CLIError("not a directory") }
            let plan = try CopyPath.prepare(srcPath: local, srcIsDir: isDir, rebaseName: rebaseName, dstPath: resolvedDst,
                                            dstExists: dstInfo != nil, dstIsDir: dstInfo?.isDir ?? false)
            body = try CopyPath.archive(local, plan)
            putPath = plan.dir
        }
        try client.call("PUT", "/containers/\(container)/archive", query: [("path", putPath)] + q, body: body,
                        headers: [("Content-Type", "application/x-tar")])
        progress(body.count, "\(container):\(dstPath)")
    }
}

/// cp's path arithmetic (pure, unit-tested) and its tar plumbing.
enum CopyPath {
    /// `container:path` or a local path; anything starting with `/` or `.` is local, as docker.
    static func split(_ arg: String) -> (container: String?, path: String) {
        if arg.hasPrefix("/") || arg.hasPrefix(".") { return (nil, arg) }
        guard let colon = arg.firstIndex(of: ":") else { return (nil, arg) }
        return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
    }

    /// Go's filepath.Clean.
    static func clean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.hasPrefix("/")
        var out: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = out.last, last != ".." { out.removeLast() } else if !rooted { out.append(part) }
                continue
            }
            out.append(part)
        }
        let joined = out.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// pkg/archive's SplitPathDirEntry: `/etc/.` → (`/etc`, `.`), `a/b/` → (`a`, `b`).
    static func splitDirEntry(_ path: String) -> (dir: String, base: String) {
        var cleaned = clean(path)
        if path == "." || path.hasSuffix("/.") { cleaned += "/." }
        guard let slash = cleaned.lastIndex(of: "/") else { return (".", cleaned) }
        let dir = cleaned[..<slash]
        return (dir.isEmpty ? "/" : String(dir), String(cleaned[cleaned.index(after: slash)...]))
    }

    /// A trailing `/` or `/.` says the path must be a directory.
    static func assertsDirectory(_ path: String) -> Bool { path.hasSuffix("/") || path == "." || path.hasSuffix("/.") }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : clean(FileManager.default.currentDirectoryPath + "/" + path)
    }

    /// Where the archive goes and how its top entry is renamed: `rename` nil extracts it as it is.
    struct Plan: Equatable {
        var dir: String
        var from: String
        var rename: String?
    }

    /// PrepareArchiveCopy: the directory to extract into and the rename of the archive's top
    /// entry (its source base name, or `rebaseName` after a followed link).
    static func prepare(srcPath: String, srcIsDir: Bool, rebaseName: String?, dstPath: String,
                        dstExists: Bool, dstIsDir: Bool) throws -> Plan {
        let (dstDir, dstBase) = splitDirEntry(dstPath)
        let srcBase = splitDirEntry(srcPath).base
        if dstExists && dstIsDir {
            return Plan(dir: dstPath, from: srcBase, rename: rebaseName)
        }
        if dstExists && srcIsDir { throw CLIError("cannot copy directory") }
        if !dstExists && !srcIsDir && assertsDirectory(dstPath) { throw CLIError("no such directory") }
        return Plan(dir: dstDir, from: srcBase, rename: dstBase)
    }

    /// The `X-Docker-Container-Path-Stat` of a path (HEAD).
    static func stat(_ client: EngineClient, _ container: String, _ path: String) throws -> Stat? {
        let r = try client.call("HEAD", "/containers/\(container)/archive", query: [("path", path)])
        return Stat(header: r.head.header("X-Docker-Container-Path-Stat"))
    }

    struct Stat {
        var name: String
        var mode: UInt64
        var linkTarget: String
        /// Go's os.FileMode bits.
        var isDir: Bool { mode & (1 << 31) != 0 }
        var isSymlink: Bool { mode & (1 << 27) != 0 }

        init?(header: String?) {
            guard let header, let data = Data(base64Encoded: header),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            name = obj["name"] as? String ?? ""
            mode = (obj["mode"] as? NSNumber)?.uint64Value ?? 0
            linkTarget = obj["linkTarget"] as? String ?? ""
        }
    }

    /// Unpacks the daemon's archive by the plan; the bytes received.
    static func extract(_ reader: BodyReader, _ plan: Plan) throws -> Int {
        let rename = plan.rename.flatMap { $0 == plan.from ? nil : $0 }
        var into = plan.dir
        var tmp: String?
        if rename != nil {
            // Unpack beside the destination, then move the one entry to its name.
            var template = Array((plan.dir + "/.berth-cp-XXXXXX").utf8CString)
            guard let p = mkdtemp(&template) else { throw CLIError("mkdtemp in \(plan.dir): \(String(cString: strerror(errno)))") }
            tmp = String(cString: p)
            into = tmp!
        }
        defer { if let tmp { try? FileManager.default.removeItem(atPath: tmp) } }
        let count = try runTar(["-x", "--no-same-owner", "-C", into], input: reader)
        if let tmp, let rename {
            let item = plan.from == "." ? tmp : tmp + "/" + plan.from
            let target = plan.dir + "/" + rename
            if Glibc.rename(item, target) != 0 {
                throw CLIError("rename \(item) to \(target): \(String(cString: strerror(errno)))")
            }
        }
        return count
    }

    /// A tar of the local `path` whose top entry is named as the plan says.
    static func archive(_ path: String, _ plan: Plan) throws -> Data {
        let (dir, base) = splitDirEntry(path)
        var args = ["-c", "--numeric-owner", "-C", dir]
        if let rename = plan.rename, rename != base {
            args += ["--transform", "s|^\(regexEscape(base))|\(replacementEscape(rename))|S"]
        }
        return try runTarOutput(args + ["--", base])
    }

    static func regexEscape(_ s: String) -> String {
        var out = ""
        for c in s { if "\\.[]*^$|".contains(c) { out.append("\\") }; out.append(c) }
        return out
    }

    static func replacementEscape(_ s: String) -> String {
        var out = ""
        for c in s { if "\\&|".contains(c) { out.append("\\") }; out.append(c) }
        return out
    }

    private static func tarProcess(_ args: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/tar")
        p.arguments = args
        return p
    }

    /// /bin/tar with the body on its stdin; the bytes fed.
    static func runTar(_ args: [String], input: BodyReader) throws -> Int {
        let p = tarProcess(args)
        let pipe = Pipe()
        p.standardInput = pipe
        try p.run()
        var total = 0
        let fd = pipe.fileHandleForWriting.fileDescriptor
        signal(SIGPIPE, SIG_IGN)
        while let b = try input.next() { total += b.count; writeAll(fd, b) }
        try pipe.fileHandleForWriting.close()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw CLIError("tar exited with status \(p.terminationStatus)") }
        return total
    }

    static func runTarOutput(_ args: [String]) throws -> Data {
        let p = tarProcess(args)
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw CLIError("tar exited with status \(p.terminationStatus)") }
        return data
    }
}
