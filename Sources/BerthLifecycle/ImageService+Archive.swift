import Foundation
import Glibc
import BerthArchive
import BerthImage
import BerthOS
import BerthWire

extension ImageService {
    // MARK: import

    /// `docker import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
    public func importRootfs(_ p: ImageImportParams, progress: @escaping @Sendable (ProgressEvent) -> Void) async throws -> ImageIDResult {
        let ref = try p.reference.map { try Parse.reference($0) }
        if let ref, ref.digest != nil { throw LifecycleError.invalidArgument("refusing to import with a digest reference: \(ref.familiar)") }
        let platform = try Parse.platform(p.platform) ?? registry.configuration.platform
        var containerConfig = ContainerConfig()
        try DockerfileChanges.apply(p.changes ?? [], to: &containerConfig)

        let lease = "import-\(UUID().uuidString)"
        try meta.createLease(lease, description: "import \(p.path)")
        defer { try? meta.deleteLease(lease) }
        let layer = try await gcLock.withShared { [self] in
            let layer = try await Blocking.run { [self] in try ingestFile(p.path, lease: lease) }
            progress(ProgressEvent(status: "Importing", current: layer.size, total: layer.size))
            return layer
        }
        let now = Self.timestamp()
        return try await commitImage(layers: [layer], config: { diffIDs in
            var cfg = ImageConfig(architecture: platform.architecture, os: platform.os, config: containerConfig,
                                  rootfs: RootFS(diffIDs: diffIDs),
                                  history: [History(created: now, createdBy: "", comment: p.message ?? "Imported from \(p.path == "-" ? "-" : "tarball")")],
                                  created: now)
            cfg.variant = platform.variant
            cfg.comment = p.message
            return try CanonicalJSON.encode(cfg)
        }, names: ref.map { [($0.description, "tag")] } ?? [], lease: lease, image: p.reference ?? p.path)
    }

    /// Copies a file (or FIFO) into the content store as a layer blob, naming it by its digest.
    func ingestFile(_ path: String, lease: String) throws -> Descriptor {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LifecycleError.invalidArgument("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ingest = try content.ingest(expected: nil, size: nil)
        var head: [UInt8] = []
        do {
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                guard n >= 0 else { throw LifecycleError.internalError("read \(path): \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                if head.count < 8 { head += buf[0..<min(n, 8 - head.count)] }
                try buf.withUnsafeBytes { try ingest.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            let info = try ingest.commit(); let (digest, size) = (info.digest, info.size)
            try meta.addLeaseRef(lease, kind: "blob", key: digest.description)
            return Descriptor(mediaType: Self.layerMediaType(magic: head), digest: digest, size: size)
        } catch {
            ingest.abort()
            throw error
        }
    }

    /// The OCI layer media type of a blob, from its first bytes.
    static func layerMediaType(magic: [UInt8]) -> String {
        if magic.starts(with: [0x1f, 0x8b]) { return MediaType.ociLayerGzip }
        if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return MediaType.ociLayerZstd }
        return MediaType.ociLayer
    }

    static func timestamp(_ d: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    /// Unpacks stored layer blobs, writes config and manifest, and records the image: the tail
    /// shared by import, load, commit and build steps.
    func commitImage(layers: [Descriptor], config makeConfig: ([Digest]) throws -> [UInt8],
                     names: [(name: String, kind: String)], lease: String, image: String,
                     expectedDiffIDs: [Digest?]? = nil) async throws -> ImageIDResult {
        var diffIDs: [Digest] = [], sizes: [Int64] = [], chain: [Digest] = []
        // In order: a layer's chain ID needs the diff IDs below it, and its own comes from unpacking.
        for (i, l) in layers.enumerated() {
            let parent = chain.last, expected = expectedDiffIDs?[i] ?? nil
            let r = try await gcLock.withShared { [self] in
                try await Blocking.run { [self] in try unpackLayer(l, expectedDiffID: expected, parent: parent, lease: lease, image: image) }
            }
            diffIDs.append(r.diffID); chain.append(r.chainID); sizes.append(r.size)
        }
        let cfgBytes = try makeConfig(diffIDs)
        let cfg = try CanonicalJSON.decode(ImageConfig.self, from: cfgBytes, what: "image config")
        let cfgDigest = Digest.sha256(of: cfgBytes)
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: cfgDigest, size: Int64(cfgBytes.count)), layers: layers)
        let manifestBytes = try CanonicalJSON.encode(manifest)
        let manifestDigest = Digest.sha256(of: manifestBytes)
        try await gcLock.withShared { [self] in
            for d in [cfgDigest, manifestDigest] { try meta.addLeaseRef(lease, kind: "blob", key: d.description) }
            _ = try content.write(cfgBytes, expected: cfgDigest)
            _ = try content.write(manifestBytes, expected: manifestDigest)
        }
        let existing = try meta.image(id: cfgDigest)
        let record = ImageRecord(id: cfgDigest, manifestDigest: manifestDigest, manifestMediaType: MediaType.ociManifest, indexDigest: nil,
                                 created: cfg.created, size: sizes.reduce(0, +), chainIDs: chain,
                                 blobs: [manifestDigest, cfgDigest] + layers.map(\.digest), addedAt: existing?.addedAt ?? Date())
        try meta.putImage(record, names: names)
        return ImageIDResult(id: cfgDigest.description)
    }

    // MARK: snapshots for containers

    public func prepareSnapshot(_ p: SnapshotPrepareParams) throws -> SnapshotMount {
        try Self.checkSnapshotKey(p.key)
        let r = try record(resolve(p.image))
        guard !snapshots.hasWritable(key: p.key) else { throw LifecycleError.conflict("snapshot \(p.key) already exists") }
        for c in r.chainIDs where !snapshots.has(c) {
            throw LifecycleError.internalError("snapshot \(c) of image \(r.id.short) is missing: pull the image again")
        }
        let m = try snapshots.prepareWritable(key: p.key, parentChain: r.chainIDs)
        return SnapshotMount(type: "overlay", lowerDirs: m.lowerDirs, upperDir: m.upperDir, workDir: m.workDir, options: m.options)
    }

    /// The overlay of a container's existing writable layer over its image.
    func snapshotMount(key: String, imageID: String) throws -> OverlayMount {
        let r = try record(resolve(imageID))
        do { return try snapshots.existingWritable(key: key, parentChain: r.chainIDs) } catch { throw LifecycleError.image(error) }
    }

    public func removeSnapshot(_ p: SnapshotKeyParams) throws {
        try Self.checkSnapshotKey(p.key)
        guard snapshots.hasWritable(key: p.key) else { throw LifecycleError.notFound("no such snapshot: \(p.key)") }
        try snapshots.removeWritable(key: p.key)
    }

    /// A key names a directory: one path component of letters, digits, `_`, `.` and `-`.
    static func checkSnapshotKey(_ key: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        let ok = !key.isEmpty && key.count <= 128 && key != "." && key != ".." && key.allSatisfy { allowed.contains($0) }
        guard ok else { throw LifecycleError.invalidArgument("invalid snapshot key \"\(key)\": use letters, digits, '_', '.' and '-'") }
    }
}

/// The `--change` instructions `docker import` and `docker commit` accept.
enum DockerfileChanges {
    static func apply(_ changes: [String], to c: inout ContainerConfig) throws {
        for change in changes {
            let trimmed = change.trimmingCharacters(in: .whitespaces)
            let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw LifecycleError.invalidArgument("invalid change \"\(change)\": expected INSTRUCTION arguments") }
            let arg = parts[1].trimmingCharacters(in: .whitespaces)
            switch parts[0].uppercased() {
            case "CMD": c.cmd = jsonOrShell(arg)
            case "ENTRYPOINT": c.entrypoint = jsonOrShell(arg)
            case "ENV":
                var env = c.env ?? []
                for kv in envPairs(arg) {
                    let key = kv.split(separator: "=", maxSplits: 1).first.map(String.init) ?? kv
                    env.removeAll { $0.hasPrefix("\(key)=") }
                    env.append(kv)
                }
                c.env = env
            case "WORKDIR": c.workingDir = arg
            case "USER": c.user = arg
            case "LABEL":
                var labels = c.labels ?? [:]
                for kv in envPairs(arg) {
                    let kvp = kv.split(separator: "=", maxSplits: 1).map(String.init)
                    labels[kvp[0]] = kvp.count > 1 ? kvp[1] : ""
                }
                c.labels = labels
            case "EXPOSE":
                var ports = c.exposedPorts ?? [:]
                for p in arg.split(separator: " ") { ports[p.contains("/") ? String(p) : "\(p)/tcp"] = EmptyObject() }
                c.exposedPorts = ports
            case "VOLUME":
                var vols = c.volumes ?? [:]
                for v in jsonOrShell(arg, shellWraps: false) { vols[v] = EmptyObject() }
                c.volumes = vols
            case "STOPSIGNAL": c.stopSignal = arg
            default:
                throw LifecycleError.invalidArgument("\(parts[0]) is not a valid change command")
            }
        }
    }

    /// `["a","b"]` stays a list; anything else is a shell form: `/bin/sh -c "<arg>"`.
    static func jsonOrShell(_ arg: String, shellWraps: Bool = true) -> [String] {
        if arg.hasPrefix("["), let data = arg.data(using: .utf8), let list = try? JSONDecoder().decode([String].self, from: data) { return list }
        return shellWraps ? ["/bin/sh", "-c", arg] : arg.split(separator: " ").map(String.init)
    }

    /// `A=b C="d e"` → ["A=b", "C=d e"]; the legacy `A b c` form → ["A=b c"]. As in Docker, the
    /// first word decides: without `=` it is the legacy form, whatever follows.
    static func envPairs(_ arg: String) -> [String] {
        let firstWord = arg.split(separator: " ", maxSplits: 1).first ?? ""
        guard firstWord.contains("=") else {
            let p = arg.split(separator: " ", maxSplits: 1).map(String.init)
            return [p[0] + "=" + (p.count > 1 ? p[1] : "")]
        }
        var out: [String] = [], cur = "", quote: Character?
        for ch in arg {
            if let q = quote { if ch == q { quote = nil } else { cur.append(ch) } } else if ch == "\"" || ch == "'" { quote = ch } else if ch == " " {
                if !cur.isEmpty { out.append(cur); cur = "" }
            } else { cur.append(ch) }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}
