import Foundation
import Glibc
import BerthImage
import BerthOS
import BerthRegistry
import BerthWire

/// Everything berth-lifecycled does with images: resolve names, list, inspect, tag, remove,
/// collect garbage. Pull, push, import, save and load live in extensions.
public final class ImageService: Sendable {
    public let root: String
    let content: ContentStore
    let snapshots: Snapshotter
    let meta: MetadataStore
    let registry: RegistryClient
    let gcLock = AsyncRWLock()
    let flights = BlobFlights()
    /// Container IDs using an image (set by the container service; none until it exists).
    let usage: @Sendable (Digest) -> [String]

    /// Opens (creating) the image stores under `root`: `content/`, `snapshots/`, `metadata.db`.
    public init(root: String, registry: RegistryClient, usage: @escaping @Sendable (Digest) -> [String] = { _ in [] }) throws {
        self.root = root
        do {
            try FS.mkdirAll(root, mode: 0o711)
        } catch {
            throw LifecycleError.internalError("create data root: \(error)")
        }
        content = try ContentStore(root: "\(root)/content")
        snapshots = try Snapshotter(root: "\(root)/snapshots")
        meta = try MetadataStore(path: "\(root)/metadata.db")
        self.registry = registry
        self.usage = usage
    }

    /// Startup recovery: leases from a daemon that died are dropped, half-written blobs and
    /// unpacks are removed, and anything only they kept alive is collected.
    public func recover() async throws -> GCResult {
        _ = try meta.deleteAllLeases()
        content.cleanIngest()
        snapshots.cleanTemp()
        return try await collectGarbage()
    }

    // MARK: resolving names

    /// Finds the image a user means: a full or short ID, a `name:tag`, or a `name@digest`.
    public func resolve(_ s: String) throws -> Digest {
        if let id = try resolveID(s) { return id }
        throw LifecycleError.noSuchImage(s)
    }

    func resolveID(_ s: String) throws -> Digest? {
        let hex = s.hasPrefix("sha256:") ? String(s.dropFirst(7)) : s
        let isHex = !hex.isEmpty && hex.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
        if isHex, hex.count == 64, let d = try? Digest(parsing: "sha256:\(hex)"), try meta.image(id: d) != nil { return d }
        if let ref = try? Reference(parsing: s), let id = try meta.imageID(forName: ref.description) { return id }
        if isHex, hex.count < 64 {
            let ids = try meta.imageIDs(prefix: hex)
            if ids.count == 1 { return ids[0] }
            if ids.count > 1 { throw LifecycleError.conflict("short ID \(hex) is ambiguous: it matches \(ids.count) images") }
        }
        return nil
    }

    func record(_ id: Digest) throws -> ImageRecord {
        guard let r = try meta.image(id: id) else { throw LifecycleError.noSuchImage(id.description) }
        return r
    }

    func config(of r: ImageRecord) throws -> ImageConfig {
        try CanonicalJSON.decode(ImageConfig.self, from: content.read(r.id), what: "image config", digest: r.id)
    }

    func manifest(of r: ImageRecord) throws -> Manifest {
        try CanonicalJSON.decode(Manifest.self, from: content.read(r.manifestDigest), what: "image manifest", digest: r.manifestDigest)
    }

    // MARK: list, inspect, history

    public func list(_ p: ImageListParams) throws -> [ImageSummary] {
        let names = try meta.names()
        let filters = p.filters ?? [:]
        for key in filters.keys where !["reference", "dangling", "label", "before", "since"].contains(key) {
            throw LifecycleError.invalidArgument("invalid filter '\(key)'")
        }
        let dangling = try filters["dangling"].map { v -> Bool in
            guard let f = v.first, ["true", "false", "1", "0"].contains(f.lowercased()) else {
                throw LifecycleError.invalidArgument("invalid filter 'dangling=\(v.first ?? "")'")
            }
            return f == "true" || f == "1"
        }
        let before = try filters["before"]?.first.map { try record(resolve($0)).addedAt }
        let since = try filters["since"]?.first.map { try record(resolve($0)).addedAt }
        let parents = try meta.parentIDs()
        var out: [ImageSummary] = []
        for r in try meta.images() {
            let (tags, digests) = Self.split(names[r.id] ?? [])
            // As Docker: a build's intermediate images (nameless parents) show only with `all`, and
            // `dangling=true` means the childless tips.
            if tags.isEmpty, digests.isEmpty, parents.contains(r.id), !(p.all ?? false) { continue }
            if let d = dangling, d != tags.isEmpty { continue }
            if dangling == true, parents.contains(r.id) { continue }
            if let before, r.addedAt >= before { continue }
            if let since, r.addedAt <= since { continue }
            if let patterns = filters["reference"] {
                guard tags.contains(where: { t in patterns.contains { Self.referenceMatches(pattern: $0, name: t) } }) else { continue }
            }
            let cfg = try? config(of: r)
            let labels = cfg?.config?.labels ?? [:]
            if let wanted = filters["label"], !wanted.allSatisfy({ Self.labelMatches($0, labels) }) { continue }
            out.append(ImageSummary(
                id: r.id.description, repoTags: tags, repoDigests: digests,
                created: Self.unixTime(cfg?.created ?? r.created) ?? Int64(r.addedAt.timeIntervalSince1970),
                size: r.size, labels: labels, containers: usage(r.id).count))
        }
        return out
    }

    /// Splits names into familiar tags (`busybox:latest`) and repo digests (`busybox@sha256:…`).
    static func split(_ names: [(name: String, kind: String)]) -> (tags: [String], digests: [String]) {
        var tags: [String] = [], digests: [String] = []
        for n in names {
            guard let ref = try? Reference(parsing: n.name, defaultTag: false) else { continue }
            if n.kind == "tag" { tags.append(ref.familiar) } else { digests.append(ref.familiar) }
        }
        return (tags, digests)
    }

    /// Docker's reference filter: a glob (Go's path.Match: `*` stops at `/`) against `name:tag`
    /// or the bare name.
    static func referenceMatches(pattern: String, name: String) -> Bool {
        if fnmatch(pattern, name, FNM_PATHNAME) == 0 { return true }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            return fnmatch(pattern, String(name[..<colon]), FNM_PATHNAME) == 0
        }
        return false
    }

    static func labelMatches(_ filter: String, _ labels: [String: String]) -> Bool {
        if let eq = filter.firstIndex(of: "=") {
            return labels[String(filter[..<eq])] == String(filter[filter.index(after: eq)...])
        }
        return labels[filter] != nil
    }

    static func unixTime(_ s: String?) -> Int64? {
        guard let s else { return nil }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return Int64(d.timeIntervalSince1970) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s).map { Int64($0.timeIntervalSince1970) }
    }

    public func inspect(_ s: String) throws -> ImageInspect {
        let r = try record(resolve(s))
        let cfg = try config(of: r), m = try manifest(of: r)
        let (tags, digests) = Self.split(try meta.names(of: r.id))
        let chain = ChainID.of(cfg.rootfs.diffIDs)
        let layers = zip(m.layers, zip(cfg.rootfs.diffIDs, chain)).map { l, ids in
            LayerInfo(digest: l.digest.description, mediaType: l.mediaType, size: l.size, diffID: ids.0.description, chainID: ids.1.description)
        }
        return ImageInspect(
            id: r.id.description, repoTags: tags, repoDigests: digests, created: cfg.created, author: cfg.author,
            comment: cfg.comment ?? cfg.history?.last?.comment, config: cfg.config, architecture: cfg.architecture, variant: cfg.variant,
            os: cfg.os, size: r.size, rootFS: cfg.rootfs, manifestDigest: r.manifestDigest.description,
            manifestMediaType: r.manifestMediaType, layers: layers, topChainID: chain.last?.description,
            chainIDs: chain.map(\.description))
    }

    public func history(_ s: String) throws -> [HistoryEntry] {
        let r = try record(resolve(s))
        let cfg = try config(of: r)
        let (tags, _) = Self.split(try meta.names(of: r.id))
        let chain = ChainID.of(cfg.rootfs.diffIDs)
        var sizes = try chain.map { try meta.snapshot($0)?.size ?? 0 }
        let entries = cfg.history ?? cfg.rootfs.diffIDs.map { _ in History() }
        let ancestors = try ancestorEntries(of: r.id, entries: entries.count)
        var out: [HistoryEntry] = []
        // History is oldest-first; Docker shows newest first, with the image ID on the top line and
        // a local parent's ID on the line its own history ends at (`<missing>` elsewhere).
        for (i, h) in entries.enumerated().reversed() {
            var size: Int64 = 0
            if h.emptyLayer != true, !sizes.isEmpty { size = sizes.removeLast() }
            let image: (id: String, tags: [String])? = out.isEmpty ? (r.id.description, tags) : ancestors[i]
            out.append(HistoryEntry(
                id: image?.id ?? "<missing>", created: Self.unixTime(h.created) ?? 0,
                createdBy: h.createdBy ?? "", tags: image?.tags ?? [], size: size, comment: h.comment ?? ""))
        }
        return out
    }

    /// The image's build ancestors present here, keyed by the index (oldest-first) of their own
    /// last history entry.
    func ancestorEntries(of id: Digest, entries: Int) throws -> [Int: (id: String, tags: [String])] {
        var out: [Int: (id: String, tags: [String])] = [:]
        var seen: Set<Digest> = [id], next = try meta.parent(of: id)
        while let p = next, !seen.contains(p), let pr = try meta.image(id: p) {
            seen.insert(p)
            let n = (try config(of: pr).history ?? []).count
            if n > 0, n <= entries { out[n - 1] = (p.description, Self.split(try meta.names(of: p)).tags) }
            next = try meta.parent(of: p)
        }
        return out
    }

    // MARK: tag and remove

    public func tag(_ p: ImageTagParams) throws {
        let id = try resolve(p.source)
        let target = try Parse.reference(p.target)
        guard target.digest == nil else {
            throw LifecycleError.invalidArgument("refusing to create a tag with a digest reference: \(p.target)")
        }
        try meta.addName(target.description, kind: "tag", to: id)
    }

    /// `docker rmi`: untags a name, and deletes the image once no tag is left; refuses an image a
    /// container uses unless forced, and an ID with tags in several repositories unless forced.
    public func remove(_ p: ImageRemoveParams) async throws -> [ImageDeleteItem] {
        let id = try resolve(p.reference)
        let force = p.force ?? false
        var items: [ImageDeleteItem] = []
        let names = try meta.names(of: id)
        let byName = (try? Reference(parsing: p.reference)).map { ref in names.contains { $0.name == ref.description } } ?? false
        let users = usage(id)
        let children = try meta.children(of: id)
        if byName, let ref = try? Reference(parsing: p.reference) {
            let tagsLeft = names.filter { $0.kind == "tag" && $0.name != ref.description }
            if !tagsLeft.isEmpty {
                try meta.removeName(ref.description)
                return [ImageDeleteItem(untagged: ref.familiar)]
            }
            if !users.isEmpty && !force {
                throw LifecycleError.conflict("conflict: unable to remove repository reference \"\(p.reference)\" (must force) - container \(users[0].prefix(12)) is using its referenced image \(id.short)")
            }
            if !children.isEmpty {
                // Images built on it still need it: the last tag goes, the image stays (as Docker).
                try meta.removeName(ref.description)
                return [ImageDeleteItem(untagged: ref.familiar)]
            }
        } else {
            if !children.isEmpty {
                throw LifecycleError.conflict("conflict: unable to delete \(id.short) (cannot be forced) - image has dependent child images")
            }
            let repos = Set(names.filter { $0.kind == "tag" }.compactMap { try? Reference(parsing: $0.name).repository })
            if repos.count > 1 && !force {
                throw LifecycleError.conflict("conflict: unable to delete \(id.short) (must be forced) - image is referenced in multiple repositories")
            }
            if !users.isEmpty && !force {
                throw LifecycleError.conflict("conflict: unable to delete \(id.short) (must be forced) - image is being used by stopped container \(users[0].prefix(12))")
            }
        }
        if !users.isEmpty {
            // Forced while in use: untag, keep the image for its containers (as Docker does).
            for n in names where n.kind == "tag" {
                try meta.removeName(n.name)
                if let ref = try? Reference(parsing: n.name) { items.append(ImageDeleteItem(untagged: ref.familiar)) }
            }
            return items
        }
        items += try delete(id, names: names, pruneParents: !(p.noPrune ?? false))
        let gc = try await collectGarbage()
        items += gc.snapshots.map { ImageDeleteItem(deleted: $0.description) }
        return items
    }

    /// `docker image prune`: dangling images, or with `all` every image no container uses.
    public func prune(_ p: ImagePruneParams) async throws -> ImagePruneResult {
        var filters = p.filters ?? [:]
        let all = p.all ?? (filters.removeValue(forKey: "dangling")?.first.map { $0 == "false" || $0 == "0" } ?? false)
        let labelFilters = filters.removeValue(forKey: "label") ?? []
        if let k = filters.keys.first { throw LifecycleError.invalidArgument("invalid filter '\(k)'") }
        var items: [ImageDeleteItem] = []
        // Only childless images are candidates (a parent goes with its last child); with `all`, a
        // tagged parent becomes one once its children are gone, hence the passes until none is left.
        var again = true
        while again {
            again = false
            let names = try meta.names(), parents = try meta.parentIDs()
            for r in try meta.images() where !parents.contains(r.id) {
                let tags = (names[r.id] ?? []).filter { $0.kind == "tag" }
                guard all || tags.isEmpty, usage(r.id).isEmpty else { continue }
                guard try meta.image(id: r.id) != nil, try meta.children(of: r.id).isEmpty else { continue }
                if !labelFilters.isEmpty {
                    let labels = (try? config(of: r))?.config?.labels ?? [:]
                    guard labelFilters.allSatisfy({ Self.labelMatches($0, labels) }) else { continue }
                }
                items += try delete(r.id, names: names[r.id] ?? [], pruneParents: true)
                again = all
            }
        }
        let gc = try await collectGarbage()
        items += gc.snapshots.map { ImageDeleteItem(deleted: $0.description) }
        return ImagePruneResult(deleted: items, spaceReclaimed: gc.bytes)
    }

    /// Deletes an image (its names listed as untagged), then, with `pruneParents`, each build
    /// parent up the chain that has no name, no container and no other child, as Docker does.
    func delete(_ id: Digest, names: [(name: String, kind: String)], pruneParents: Bool) throws -> [ImageDeleteItem] {
        var items: [ImageDeleteItem] = []
        for n in names {
            if let ref = try? Reference(parsing: n.name, defaultTag: false) { items.append(ImageDeleteItem(untagged: ref.familiar)) }
        }
        var next = pruneParents ? try meta.parent(of: id) : nil
        try meta.deleteImage(id)
        items.append(ImageDeleteItem(deleted: id.description))
        while let p = next, try meta.image(id: p) != nil {
            guard try meta.names(of: p).isEmpty, usage(p).isEmpty, try meta.children(of: p).isEmpty else { break }
            next = try meta.parent(of: p)
            try meta.deleteImage(p)
            items.append(ImageDeleteItem(deleted: p.description))
        }
        return items
    }

    // MARK: garbage collection

    public struct GCResult: Sendable {
        public var blobs: [Digest] = []
        public var snapshots: [Digest] = []
        public var bytes: Int64 = 0
    }

    /// Mark and sweep: removes every blob and snapshot that no image and no live lease references.
    public func collectGarbage() async throws -> GCResult {
        try await gcLock.withExclusive { [self] in try await Blocking.run { [self] in
            let live = try meta.liveSet()
            var result = GCResult()
            var known = Set<String>()
            for s in try meta.snapshots() {
                known.insert(s.chainID.description)
                guard !live.snapshots.contains(s.chainID.description) else { continue }
                try snapshots.remove(s.chainID)
                try meta.deleteSnapshot(s.chainID)
                result.snapshots.append(s.chainID)
                result.bytes += s.size
            }
            // Directories the database never heard of: an unpack committed just before a crash.
            for c in try snapshots.list() where !known.contains(c.description) && !live.snapshots.contains(c.description) {
                try snapshots.remove(c)
            }
            for b in try content.list() where !live.blobs.contains(b.description) {
                result.bytes += content.size(of: b) ?? 0
                try content.delete(b)
                result.blobs.append(b)
            }
            return result
        } }
    }

    public func info() throws -> SystemInfo {
        SystemInfo(version: BerthVersion.string, root: root, images: try meta.images().count,
                   snapshots: try meta.snapshots().count, leases: try meta.leases().count)
    }
}

public enum BerthVersion {
    public static let string = "0.1.0"
}
