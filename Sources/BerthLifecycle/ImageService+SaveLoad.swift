import Foundation
import Glibc
import BerthArchive
import BerthImage
import BerthOS
import BerthWire

/// One entry of a `docker save` tarball's `manifest.json`.
struct SaveManifestEntry: Codable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

extension ImageService {
    // MARK: save

    /// `docker save`: one tarball that is both an OCI image layout (`oci-layout`, `index.json`,
    /// `blobs/sha256/…`) and a Docker archive (`manifest.json`), as Docker 25 writes it, so both
    /// old and new `docker load`, skopeo and umoci read it.
    public func save(_ p: ImageSaveParams) async throws {
        guard !p.references.isEmpty else { throw LifecycleError.invalidArgument("image.save: no images given") }
        var images: [(record: ImageRecord, tags: [Reference])] = []
        for s in p.references {
            let id = try resolve(s)
            let tag = (try? Reference(parsing: s)).flatMap { r in (try? meta.imageID(forName: r.description)) == id && r.digest == nil ? r : nil }
            if let i = images.firstIndex(where: { $0.record.id == id }) {
                if let tag { images[i].tags.append(tag) }
            } else {
                images.append((try record(id), tag.map { [$0] } ?? []))
            }
        }
        try await gcLock.withShared { [self, images] in try await Blocking.run { [self, images] in
            let fd = open(p.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LifecycleError.invalidArgument("open \(p.path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            do {
                let w = try ArchiveWriter(fd: fd, name: p.path)
                var written = Set<Digest>()
                var index: [Descriptor] = []
                var entries: [SaveManifestEntry] = []
                var repositories: [String: [String: String]] = [:]
                try w.add(ArchiveEntry(path: "blobs", type: .directory, mode: 0o755))
                try w.add(ArchiveEntry(path: "blobs/sha256", type: .directory, mode: 0o755))
                for (r, tags) in images {
                    let manifest = try manifest(of: r)
                    for d in [r.manifestDigest, manifest.config.digest] + manifest.layers.map(\.digest) where written.insert(d).inserted {
                        guard content.has(d) else { throw LifecycleError.image(.blobNotFound(d.description)) }
                        try w.addFile(from: content.path(for: d), as: "blobs/sha256/\(d.encoded)")
                    }
                    let mdesc = Descriptor(mediaType: r.manifestMediaType, digest: r.manifestDigest, size: content.size(of: r.manifestDigest) ?? 0)
                    if tags.isEmpty { index.append(mdesc) }
                    for t in tags {
                        var d = mdesc
                        d.annotations = ["io.containerd.image.name": t.description, "org.opencontainers.image.ref.name": t.tag ?? Reference.defaultTag]
                        index.append(d)
                        repositories[t.familiarRepository, default: [:]][t.tag ?? Reference.defaultTag] = r.id.encoded
                    }
                    entries.append(SaveManifestEntry(Config: "blobs/sha256/\(manifest.config.digest.encoded)", RepoTags: tags.isEmpty ? nil : tags.map(\.familiar),
                                                     Layers: manifest.layers.map { "blobs/sha256/\($0.digest.encoded)" }))
                }
                func addJSON(_ name: String, _ bytes: [UInt8]) throws {
                    try w.add(ArchiveEntry(path: name, type: .regular, mode: 0o644, size: Int64(bytes.count)), data: bytes)
                }
                try addJSON("index.json", CanonicalJSON.encode(Index(manifests: index)))
                try addJSON("manifest.json", CanonicalJSON.encode(entries))
                try addJSON("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
                if !repositories.isEmpty { try addJSON("repositories", CanonicalJSON.encode(repositories)) }
                try w.finish()
            } catch let e as ArchiveError {
                throw LifecycleError.internalError("save to \(p.path): \(e)")
            }
        } }
    }

    // MARK: load

    /// `docker load`: a `docker save` tarball (old or new format) or an OCI image layout tarball.
    /// Blobs stream into the content store as they are read, so a FIFO works as the source.
    public func load(_ p: ImageLoadParams, progress: @escaping @Sendable (ProgressEvent) -> Void) async throws -> ImageLoadResult {
        let lease = "load-\(UUID().uuidString)"
        try meta.createLease(lease, description: "load \(p.path)")
        defer { try? meta.deleteLease(lease) }
        let files = try await gcLock.withShared { [self] in try await Blocking.run { [self] in try readArchive(p.path, lease: lease) } }

        var loaded: [String] = []
        var plan: [(config: String, tags: [String], layers: [String])] = []
        if let m = files.json["manifest.json"] {
            let entries = try CanonicalJSON.decode([SaveManifestEntry].self, from: m, what: "manifest.json of \(p.path)")
            plan = entries.map { ($0.Config, $0.RepoTags ?? [], $0.Layers) }
        } else if let i = files.json["index.json"] {
            let index = try CanonicalJSON.decode(Index.self, from: i, what: "index.json of \(p.path)")
            for d in index.manifests {
                guard let mpath = files.path(of: d.digest) else { throw LifecycleError.image(.blobNotFound("\(d.digest) (in \(p.path))")) }
                let mbytes = try content.read(files.blobs[mpath]!.digest)
                guard MediaType.isManifest(d.mediaType) else { continue }
                let m = try CanonicalJSON.decode(Manifest.self, from: mbytes, what: "manifest", digest: d.digest)
                let name = d.annotations?["io.containerd.image.name"] ?? d.annotations?["org.opencontainers.image.ref.name"].flatMap { $0.contains(":") || $0.contains("/") ? $0 : nil }
                func path(_ x: Digest) throws -> String {
                    guard let s = files.path(of: x) else { throw LifecycleError.image(.blobNotFound("\(x) (in \(p.path))")) }
                    return s
                }
                plan.append((try path(m.config.digest), name.map { [$0] } ?? [], try m.layers.map { try path($0.digest) }))
            }
        } else {
            throw LifecycleError.invalidArgument("\(p.path) is neither a docker save archive (no manifest.json) nor an OCI image layout (no index.json)")
        }

        for item in plan {
            guard let cfgBlob = files.resolve(item.config) else { throw LifecycleError.invalidArgument("\(p.path): missing \(item.config)") }
            let cfgBytes = try content.read(cfgBlob.digest)
            let cfg = try CanonicalJSON.decode(ImageConfig.self, from: cfgBytes, what: "image config", digest: cfgBlob.digest)
            guard cfg.rootfs.diffIDs.count == item.layers.count else {
                throw LifecycleError.invalidArgument("\(p.path): \(item.config) lists \(cfg.rootfs.diffIDs.count) layers, manifest.json \(item.layers.count)")
            }
            let layers = try item.layers.map { l -> Descriptor in
                guard let b = files.resolve(l) else { throw LifecycleError.invalidArgument("\(p.path): missing layer \(l)") }
                return Descriptor(mediaType: Self.layerMediaType(magic: b.magic), digest: b.digest, size: b.size)
            }
            var names: [(name: String, kind: String)] = []
            for t in item.tags {
                do { names.append(((try Reference(parsing: t)).description, "tag")) } catch { throw LifecycleError.image(error) }
            }
            let r = try await commitImage(layers: layers, config: { _ in cfgBytes }, names: names, lease: lease, image: item.tags.first ?? item.config,
                                          expectedDiffIDs: cfg.rootfs.diffIDs)
            let shown = item.tags.isEmpty ? ["ID: \(r.id)"] : item.tags.compactMap { try? Reference(parsing: $0).familiar }
            for s in shown { progress(ProgressEvent(status: "Loaded image: \(s)")) }
            loaded += item.tags.isEmpty ? [r.id] : shown
        }
        return ImageLoadResult(loaded: loaded)
    }

    /// What a save/OCI tarball held: its JSON documents in memory, every other file as a blob in
    /// the content store (named by the digest computed while copying), symlinks resolved.
    struct ArchiveFiles {
        struct Blob { var digest: Digest; var size: Int64; var magic: [UInt8] }
        var json: [String: [UInt8]] = [:]
        var blobs: [String: Blob] = [:]
        var links: [String: String] = [:]

        func resolve(_ path: String) -> Blob? {
            var p = ImageService.cleanArchivePath(path) ?? path
            for _ in 0..<16 {
                if let b = blobs[p] { return b }
                guard let t = links[p] else { return nil }
                p = t
            }
            return nil
        }

        func path(of d: Digest) -> String? {
            let p = "blobs/\(d.algorithm)/\(d.encoded)"
            return blobs[p] != nil ? p : blobs.first { $0.value.digest == d }?.key
        }
    }

    /// `./a/../b` → `b`; nil for a path that leaves the archive.
    static func cleanArchivePath(_ p: String) -> String? {
        var out: [Substring] = []
        for c in p.split(separator: "/") {
            if c == "." || c.isEmpty { continue }
            if c == ".." { guard !out.isEmpty else { return nil }; out.removeLast(); continue }
            out.append(c)
        }
        return out.joined(separator: "/")
    }

    func readArchive(_ path: String, lease: String) throws -> ArchiveFiles {
        var files = ArchiveFiles()
        do {
            let reader = try ArchiveReader(path: path)
            while let e = try reader.next() {
                guard let name = Self.cleanArchivePath(e.path) else {
                    throw LifecycleError.invalidArgument("\(path): entry \"\(e.path)\" leaves the archive")
                }
                switch e.type {
                case .regular:
                    if ["manifest.json", "index.json", "repositories", "oci-layout"].contains(name) {
                        files.json[name] = try reader.readAll(limit: 16 << 20)
                        continue
                    }
                    let ingest = try content.ingest(expected: nil, size: nil)
                    var magic: [UInt8] = []
                    do {
                        try reader.readData { (chunk: UnsafeRawBufferPointer, _: Int64) throws(ImageError) in
                            if magic.count < 8 { magic += chunk.prefix(8 - magic.count) }
                            try ingest.append(chunk)
                        }
                        let info = try ingest.commit(); let (d, size) = (info.digest, info.size)
                        try meta.addLeaseRef(lease, kind: "blob", key: d.description)
                        files.blobs[name] = ArchiveFiles.Blob(digest: d, size: size, magic: magic)
                    } catch {
                        ingest.abort()
                        throw error
                    }
                case .symlink:
                    let dir = name.split(separator: "/").dropLast().joined(separator: "/")
                    let target = e.symlinkTarget ?? ""
                    if let t = Self.cleanArchivePath(target.hasPrefix("/") ? target : "\(dir)/\(target)") { files.links[name] = t }
                case .hardlink:
                    if let t = e.hardlinkTarget.flatMap(Self.cleanArchivePath) { files.links[name] = t }
                default:
                    continue
                }
            }
        } catch let e as ArchiveError {
            throw LifecycleError.invalidArgument("load \(path): \(e)")
        } catch let e as ArchiveDataError<ImageError> {
            throw LifecycleError.invalidArgument("load \(path): \(e)")
        }
        return files
    }
}
