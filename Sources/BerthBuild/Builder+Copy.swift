import BerthArchive
import BerthDockerfile
import BerthImage
import BerthOS
import Foundation
import Glibc

extension Builder {
    /// A COPY/ADD source after wildcards and symlinks: a file or directory on this host, or inline bytes.
    struct Source {
        var name: String
        var hostPath: String?
        var info: FileInfo
        var data: [UInt8]?
        /// The context-relative path, for .dockerignore checks below it; nil outside the context.
        var contextRel: String?
        /// Owners travel from another image (`--from`), not from the context.
        var keepOwner: Bool
        var isDirectory: Bool { info.kind == .directory }
    }

    /// One file below a source, relative to it ("" is the source itself).
    struct TreeEntry {
        var rel: String
        var hostPath: String?
        var info: FileInfo
        var size: Int64
        var mtime: Int
        var linkTarget: String?
        var data: [UInt8]?
    }

    func copy(_ c: CopyCommand, add: Bool, _ s: StageState) async throws {
        let verb = add ? "ADD" : "COPY"
        let config = s.image.config
        var cleanup: [String] = []
        defer { for p in cleanup { try? FileManager.default.removeItem(atPath: p) } }

        var root = contextDir, ignore = self.ignore, keepOwner = false
        if let from = c.from {
            root = try await fetch(c.sources, from: from, verb: verb)
            cleanup.append(root)
            ignore = nil; keepOwner = true
        }
        var sources: [Source] = []
        for src in c.sources {
            switch src {
            case .heredoc(let h):
                // The parser has already expanded an unquoted heredoc's variables.
                let text = h.content
                sources.append(Source(name: h.delimiter, hostPath: nil, info: FileInfo(kind: .regular, mode: 0o644, uid: 0, gid: 0, major: 0, minor: 0),
                                      data: Array(text.utf8), contextRel: nil, keepOwner: false))
            case .path(let p):
                if add, p.hasPrefix("http://") || p.hasPrefix("https://") {
                    throw BuildError("ADD failed: cannot download \(p): Berth's builder does not fetch URLs (there may be no network); download the file into the build context and COPY it")
                }
                sources += try match(p, root: root, ignore: ignore, keepOwner: keepOwner, verb: verb)
            }
        }
        guard !sources.isEmpty else { throw BuildError("\(verb) failed: no source files were specified") }
        let destRaw = c.destination
        let destIsDir = destRaw.hasSuffix("/") || destRaw.hasSuffix("/.") || destRaw == "."
        let dest = Self.cleanAbsolute(destRaw.hasPrefix("/") ? destRaw : (config.workingDir ?? "/") + "/" + destRaw)
        if sources.count > 1, !destIsDir {
            throw BuildError("When using \(verb) with more than one source file, the destination must be a directory and end with a /")
        }

        // ADD unpacks local archives; what they hold is copied like a directory.
        for i in sources.indices where add && sources[i].info.kind == .regular && sources[i].hostPath.map(Self.isArchive) == true {
            let dir = scratchPath("add")
            cleanup.append(dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let fd = open(sources[i].hostPath ?? "", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw BuildError("ADD failed: open \(sources[i].name): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            do { try LayerUnpacker.extract(fd: fd, root: dir, into: "/", noOverwriteDirNonDir: false, archive: sources[i].name) } catch {
                throw BuildError("ADD failed: unpacking \(sources[i].name): \(error)")
            }
            sources[i].hostPath = dir
            sources[i].info.kind = .directory
            sources[i].contextRel = nil
            sources[i].keepOwner = true
        }

        // What is copied, hashed for the cache (content, modes and names; not mtimes).
        var hasher = DigestHasher()
        var trees: [[TreeEntry]] = []
        for src in sources {
            let tree = try self.tree(src, ignore: ignore)
            for e in tree {
                hasher.update(Array("\(src.name)/\(e.rel)\t\(e.info.kind)\t\(String(e.info.mode, radix: 8))\t\(e.size)\t\(e.linkTarget ?? "")\t\(src.keepOwner ? "\(e.info.uid):\(e.info.gid)" : "")\n".utf8))
                if let data = e.data { hasher.update(data) } else if e.info.kind == .regular, let h = e.hostPath { try Self.hashFile(h, into: &hasher) }
            }
            trees.append(tree)
        }
        let kind = sources.count > 1 ? "multi" : (sources[0].isDirectory ? "dir" : "file")
        let createdBy = nopPrefix(config) + "\(verb) \(kind):\(hasher.finalize().encoded) in \(destRaw) "
        let key = cacheKey(s, createdBy, config, extra: "chown=\(c.chown ?? "") chmod=\(c.chmod ?? "")")
        if try await cached(key, s, config) { return }

        let mode = try c.chmod.map { m -> UInt32 in
            guard let v = UInt32(m, radix: 8), v <= 0o7777 else { throw BuildError("invalid chmod parameter: \(m)") }
            return v
        }
        let tar = scratchPath("copy.tar")
        cleanup.append(tar)
        var commit = BuildCommit(parent: s.image.id, config: config, createdBy: createdBy, cacheKey: key)
        let image: String
        if s.image.id.isEmpty {
            let owner = try c.chown.map { try Self.owner($0, passwd: nil, group: nil) }
            try LayerTar.write(tar, entries: entries(sources, trees, dest: dest, destIsDir: destIsDir, destIsExistingDir: false,
                                                     destExists: false, owner: owner, mode: mode))
            commit.layerTar = tar
            image = try await backend.commit(commit)
        } else {
            image = try await withStepContainer(s) { id in
                let destStat = try await backend.stat(container: id, path: dest)
                var owner: (UInt32, UInt32)?
                if let chown = c.chown {
                    let numeric = chown.split(separator: ":").allSatisfy { UInt32($0) != nil }
                    owner = numeric ? try Self.owner(chown, passwd: nil, group: nil)
                        : try Self.owner(chown, passwd: try await readFile(id, "/etc/passwd"), group: try await readFile(id, "/etc/group"))
                }
                try LayerTar.write(tar, entries: entries(sources, trees, dest: dest, destIsDir: destIsDir,
                                                         destIsExistingDir: destStat?.isDirectory == true, destExists: destStat != nil,
                                                         owner: owner, mode: mode))
                try await backend.put(container: id, path: "/", tar: tar)
                commit.container = id
                return try await backend.commit(commit)
            }
        }
        s.image = BuildImage(id: image, config: config)
        say(" ---> \(Self.short(image))\n")
    }

    /// The tar entries: directories' contents go into `dest`; a file goes to `dest/name` when
    /// `dest` ends in "/" or is a directory already, else to `dest` itself.
    func entries(_ sources: [Source], _ trees: [[TreeEntry]], dest: String, destIsDir: Bool, destIsExistingDir: Bool, destExists: Bool,
                 owner: (UInt32, UInt32)?, mode: UInt32?) -> [LayerTar.Entry] {
        var out: [LayerTar.Entry] = []
        let needsDir = sources.contains { $0.isDirectory } || destIsDir
        if needsDir, !destExists, dest != "/" {
            out.append(LayerTar.Entry(path: dest, kind: .directory, mode: 0o755, uid: owner?.0 ?? 0, gid: owner?.1 ?? 0,
                                      mtime: Int(Date().timeIntervalSince1970)))
        }
        for (src, tree) in zip(sources, trees) {
            let base: String
            if src.isDirectory { base = dest } else if destIsDir || destIsExistingDir { base = dest == "/" ? "/" + src.name : dest + "/" + src.name } else { base = dest }
            for e in tree {
                if src.isDirectory && e.rel.isEmpty { continue }
                let path = e.rel.isEmpty ? base : (base == "/" ? "/" : base + "/") + e.rel
                let uid = owner?.0 ?? (src.keepOwner ? e.info.uid : 0), gid = owner?.1 ?? (src.keepOwner ? e.info.gid : 0)
                out.append(LayerTar.Entry(path: path, kind: e.info.kind, mode: e.info.kind == .symlink ? 0o777 : (mode ?? e.info.mode),
                                          uid: uid, gid: gid, mtime: e.mtime, size: e.size, source: e.hostPath, data: e.data,
                                          linkTarget: e.linkTarget))
            }
        }
        return out
    }

    // MARK: - Sources

    /// The sources a COPY path names: wildcards expanded (Go's filepath.Match per component),
    /// symlinks on the way resolved without leaving `root`, .dockerignore'd files invisible.
    func match(_ pattern: String, root: String, ignore: DockerIgnore?, keepOwner: Bool, verb: String) throws -> [Source] {
        let comps = try Self.components(pattern)
        let notFound = BuildError("\(verb) failed: file not found in build context or excluded by .dockerignore: stat \(pattern): file does not exist")
        guard comps.contains(where: Self.hasWildcard) else {
            let rel = try Self.resolveInScope(root: root, comps)
            let relPath = rel.joined(separator: "/")
            if let ignore, !relPath.isEmpty, ignore.excludes(relPath) { throw notFound }
            guard let info = try FS.info(root + "/" + relPath) else { throw notFound }
            return [Source(name: comps.last ?? ".", hostPath: root + (relPath.isEmpty ? "" : "/" + relPath), info: info,
                           contextRel: ignore == nil ? nil : relPath, keepOwner: keepOwner)]
        }
        var found: [[String]] = [[]]
        for comp in comps {
            var next: [[String]] = []
            for base in found {
                let dir = root + "/" + base.joined(separator: "/")
                if Self.hasWildcard(comp) {
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted() ?? []
                    for n in names where fnmatch(comp, n, 0) == 0 { next.append(base + [n]) }
                } else if (try? FS.info(dir + "/" + comp)) != nil {
                    next.append(base + [comp])
                }
            }
            found = next
        }
        var out: [Source] = []
        for m in found {
            let rel = m.joined(separator: "/")
            if let ignore, ignore.excludes(rel) { continue }
            guard let info = try FS.info(root + "/" + rel) else { continue }
            out.append(Source(name: m.last ?? rel, hostPath: root + "/" + rel, info: info, contextRel: ignore == nil ? nil : rel, keepOwner: keepOwner))
        }
        guard !out.isEmpty else { throw notFound }
        return out
    }

    /// Every file under a source, in a stable order; .dockerignore'd paths left out.
    func tree(_ src: Source, ignore: DockerIgnore?) throws -> [TreeEntry] {
        guard let host = src.hostPath else {
            let data = src.data ?? []
            return [TreeEntry(rel: "", hostPath: nil, info: src.info, size: Int64(data.count), mtime: Int(Date().timeIntervalSince1970), data: data)]
        }
        var out: [TreeEntry] = []
        try walk(host, rel: "", contextRel: src.contextRel, info: src.info, ignore: ignore, into: &out)
        return out
    }

    private func walk(_ host: String, rel: String, contextRel: String?, info: FileInfo, ignore: DockerIgnore?, into out: inout [TreeEntry]) throws {
        let link = info.kind == .symlink ? try FileManager.default.destinationOfSymbolicLink(atPath: host) : nil
        out.append(TreeEntry(rel: rel, hostPath: host, info: info, size: info.kind == .regular ? info.size : 0, mtime: info.mtime, linkTarget: link))
        guard info.kind == .directory else { return }
        for name in try FileManager.default.contentsOfDirectory(atPath: host).sorted() {
            let childRel = rel.isEmpty ? name : rel + "/" + name
            let childCtx = contextRel.map { $0.isEmpty ? name : $0 + "/" + name }
            guard let childInfo = try FS.info(host + "/" + name) else { continue }
            if let ignore, let childCtx, ignore.excludes(childCtx) {
                // An excluded directory is still walked when an exception may re-include something in it.
                guard childInfo.kind == .directory, !ignore.canSkipDirectory(childCtx) else { continue }
            }
            try walk(host + "/" + name, rel: childRel, contextRel: childCtx, info: childInfo, ignore: ignore, into: &out)
        }
    }

    /// `--from`: the named paths of a stage or an image, fetched into a scratch directory that
    /// mirrors that image's tree.
    func fetch(_ sources: [CopySource], from: String, verb: String) async throws -> String {
        let image: String
        if let i = dockerfile.stageIndex(named: from) {
            guard let built = stageResults[i] else { throw BuildError("invalid from flag value \(from): stage \(from) is not built before this one") }
            image = built.id
        } else {
            image = try await resolveImage(from, platform: options.platform).id
        }
        let root = scratchPath("from")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard !image.isEmpty else { return root }
        let probe = StageState(image: BuildImage(id: image, config: BuildConfig()))
        try await withStepContainer(probe) { id in
            for case .path(let p) in sources {
                var comps = try Self.components(p)
                if let last = comps.last, Self.hasWildcard(last) { comps.removeLast() }
                guard !comps.contains(where: Self.hasWildcard) else { throw BuildError("\(verb) --from: wildcards are supported in the last path component only: \(p)") }
                let path = "/" + comps.joined(separator: "/")
                let tar = scratchPath("from.tar")
                defer { try? FileManager.default.removeItem(atPath: tar) }
                do { try await backend.get(container: id, path: path, tar: tar) } catch {
                    throw BuildError("\(verb) --from=\(from) failed: stat \(path): file does not exist")
                }
                let parent = "/" + comps.dropLast().joined(separator: "/")
                let fd = open(tar, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw BuildError("open \(tar): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                try LayerUnpacker.extract(fd: fd, root: root, into: parent, noOverwriteDirNonDir: false, archive: "\(from):\(path)")
            }
        }
        return root
    }

    /// The bytes of a file in a step container (`/etc/passwd` for --chown names); nil when absent.
    func readFile(_ container: String, _ path: String) async throws -> String? {
        let tar = scratchPath("read.tar")
        defer { try? FileManager.default.removeItem(atPath: tar) }
        do { try await backend.get(container: container, path: path, tar: tar) } catch { return nil }
        let reader = try ArchiveReader(path: tar)
        guard let entry = try reader.next(), entry.type == .regular else { return nil }
        return String(decoding: try reader.readAll(limit: 16 << 20), as: UTF8.self)
    }

    // MARK: - Pure helpers

    /// `user[:group]` as IDs, names looked up in the image's /etc/passwd and /etc/group.
    static func owner(_ spec: String, passwd: String?, group: String?) throws -> (UInt32, UInt32) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let user = parts[0], grp = parts.count > 1 ? parts[1] : parts[0]
        func lookup(_ name: String, in file: String?, what: String) throws -> UInt32 {
            if let n = UInt32(name) { return n }
            for line in (file ?? "").split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count > 2, f[0] == name, let id = UInt32(f[2]) { return id }
            }
            throw BuildError("unable to convert uid/gid chown string to host mapping: can't find \(what) for \(what == "uid" ? "user" : "group") \(name): no such \(what == "uid" ? "user" : "group") in /etc/\(what == "uid" ? "passwd" : "group")")
        }
        let uid = try lookup(user, in: passwd, what: "uid")
        // `--chown=name` alone: the group of the same name, or the user's primary group.
        if parts.count == 1, UInt32(user) == nil {
            if let gid = try? lookup(grp, in: group, what: "gid") { return (uid, gid) }
            for line in (passwd ?? "").split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count > 3, f[0] == user, let gid = UInt32(f[3]) { return (uid, gid) }
            }
        }
        if parts.count == 1, let n = UInt32(user) { return (uid, n) }
        return (uid, try lookup(grp, in: group, what: "gid"))
    }

    /// A source path's components, cleaned; climbing above the root is refused (a 400 before the
    /// build starts with `invalidInput`).
    static func components(_ path: String, invalidInput: Bool = false) throws(BuildError) -> [String] {
        var out: [String] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." {
                guard !out.isEmpty else { throw BuildError("forbidden path outside the build context: \(path)", invalidInput: invalidInput) }
                out.removeLast()
            } else {
                out.append(String(c))
            }
        }
        return out
    }

    static func hasWildcard(_ s: String) -> Bool { s.contains { "*?[".contains($0) } }

    /// Follows symlinks along `comps` as if `root` were `/`: the result never leaves it.
    static func resolveInScope(root: String, _ comps: [String]) throws -> [String] {
        var resolved: [String] = [], queue = comps[...], hops = 0
        while let c = queue.popFirst() {
            if c.isEmpty || c == "." { continue }
            if c == ".." { if !resolved.isEmpty { resolved.removeLast() }; continue }
            let candidate = root + "/" + (resolved + [c]).joined(separator: "/")
            if let info = try FS.info(candidate), info.kind == .symlink {
                hops += 1
                guard hops <= 40 else { throw BuildError("too many levels of symbolic links: \(comps.joined(separator: "/"))") }
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: candidate)
                if target.hasPrefix("/") { resolved = [] }
                queue = (target.split(separator: "/").map(String.init) + queue)[...]
            } else {
                resolved.append(c)
            }
        }
        return resolved
    }

    static func hashFile(_ path: String, into hasher: inout DigestHasher) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw BuildError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw BuildError("read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { return }
            hasher.update(buf[0..<n])
        }
    }

    /// Whether ADD should unpack the file: a tar, plain or compressed (gzip, bzip2, xz, zstd).
    static func isArchive(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = [UInt8]((try? h.read(upToCount: 512)) ?? Data())
        if head.starts(with: [0x1f, 0x8b]) || head.starts(with: Array("BZh".utf8)) || head.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
            || head.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return true }
        return head.count >= 262 && Array(head[257..<262]) == Array("ustar".utf8)
    }
}
