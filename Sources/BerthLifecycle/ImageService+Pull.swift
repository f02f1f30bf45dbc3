import Foundation
import BerthImage
import BerthOS
import BerthRegistry
import BerthWire
import NIOCore

/// One download per blob at a time: a second pull of the same blob waits for the first.
actor BlobFlights {
    private var running: [Digest: Task<Void, Error>] = [:]

    /// Runs `body` unless a download of `digest` is already running, in which case it waits for
    /// that one. Returns whether this caller did the work.
    func run(_ digest: Digest, _ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        if let t = running[digest] {
            try await t.value
            return false
        }
        let t = Task { try await body() }
        running[digest] = t
        defer { running[digest] = nil }
        try await t.value
        return true
    }
}

extension RegistryAuth {
    var credentials: RegistryCredentials? {
        if let t = registryToken, !t.isEmpty { return .registryToken(t) }
        if let t = identityToken, !t.isEmpty { return .identityToken(t) }
        if let u = username, !u.isEmpty { return .basic(username: u, password: password ?? "") }
        return nil
    }
}

extension ImageService {
    /// `docker pull`: resolves the reference (following an index to this platform), fetches the
    /// config and layers (several at once, each blob downloaded once even across concurrent pulls),
    /// unpacks each layer into its chain-ID snapshot, and only then records the image: an
    /// interrupted pull leaves no image, and its lease lets recovery collect what it left.
    public func pull(_ p: ImagePullParams, progress: @escaping @Sendable (ProgressEvent) -> Void) async throws -> ImagePullResult {
        let ref = try Parse.reference(p.reference)
        let platform = try Parse.platform(p.platform)
        progress(ProgressEvent(id: ref.tag ?? ref.digest?.description, status: "Pulling from \(ref.path)"))
        // `source` is where the bytes come from: a mirror of docker.io when one answers, else `ref`'s registry.
        let (source, creds, resolved) = try await resolveViaMirrors(ref, platform: platform, credentials: p.auth?.credentials)

        let lease = "pull-\(UUID().uuidString)"
        try meta.createLease(lease, description: "pull \(ref)")
        defer { try? meta.deleteLease(lease) }

        let manifest = resolved.manifest
        var blobs: [Digest] = [resolved.descriptor.digest, manifest.config.digest]
        try await gcLock.withShared { [self] in
            if let ib = resolved.indexBytes, let id = resolved.indexDescriptor {
                try meta.addLeaseRef(lease, kind: "blob", key: id.digest.description)
                _ = try content.write(ib, expected: id.digest)
            }
            try meta.addLeaseRef(lease, kind: "blob", key: resolved.descriptor.digest.description)
            _ = try content.write(resolved.manifestBytes, expected: resolved.descriptor.digest)
            try meta.addLeaseRef(lease, kind: "blob", key: manifest.config.digest.description)
        }
        if let id = resolved.indexDescriptor { blobs.insert(id.digest, at: 0) }

        // The config is small: fetched whole and verified.
        if !content.has(manifest.config.digest) {
            guard manifest.config.size <= 16 << 20 else {
                throw LifecycleError.image(.invalidJSON(what: "image config", digest: manifest.config.digest.description, reason: "larger than 16 MiB"))
            }
            try await download(source, manifest.config, credentials: creds, progress: nil)
        }
        let config = try CanonicalJSON.decode(ImageConfig.self, from: content.read(manifest.config.digest), what: "image config", digest: manifest.config.digest)
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw LifecycleError.image(.invalidJSON(what: "image config", digest: manifest.config.digest.description,
                                                   reason: "it lists \(diffIDs.count) layers, the manifest \(manifest.layers.count)"))
        }
        for l in manifest.layers where !MediaType.isLayer(l.mediaType) {
            throw LifecycleError.image(.unsupportedMediaType("\(l.mediaType) for layer \(l.digest) of \(ref)"))
        }
        let chain = ChainID.of(diffIDs)
        blobs += manifest.layers.map(\.digest)

        let existing = try meta.image(id: manifest.config.digest)
        let upToDate = try existing != nil && chain.allSatisfy { try meta.snapshot($0) != nil && snapshots.has($0) }
        var sizes = [Int64](repeating: 0, count: chain.count)
        if !upToDate {
            for l in manifest.layers { progress(ProgressEvent(id: l.digest.short, status: "Pulling fs layer")) }
            sizes = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
                for (i, layer) in manifest.layers.enumerated() {
                    group.addTask { [self] in
                        let size = try await fetchLayer(source, layer, diffID: diffIDs[i], chainID: chain[i], lease: lease, credentials: creds, progress: progress)
                        return (i, size)
                    }
                }
                var out = [Int64](repeating: 0, count: chain.count)
                for try await (i, s) in group { out[i] = s }
                return out
            }
        } else {
            sizes = try chain.map { try meta.snapshot($0)?.size ?? 0 }
        }

        let pinned = ref.withDigest(resolved.referenceDigest)
        var names: [(name: String, kind: String)] = [(pinned.description, "digest")]
        if let tag = ref.tag, ref.digest == nil { names.append((ref.withTag(tag).description, "tag")) }
        let record = ImageRecord(
            id: manifest.config.digest, manifestDigest: resolved.descriptor.digest, manifestMediaType: resolved.descriptor.mediaType,
            indexDigest: resolved.indexDescriptor?.digest, created: config.created, size: sizes.reduce(0, +),
            chainIDs: chain, blobs: blobs, addedAt: existing?.addedAt ?? Date())
        let hadName = ref.digest == nil ? try meta.imageID(forName: ref.description) : nil
        try meta.putImage(record, names: names)
        progress(ProgressEvent(status: "Digest: \(resolved.referenceDigest)"))
        let status = upToDate && hadName == record.id ? "Image is up to date for \(ref.familiar)" : "Downloaded newer image for \(ref.familiar)"
        progress(ProgressEvent(status: "Status: \(status)"))
        return ImagePullResult(reference: ref.description, id: record.id.description, digest: resolved.referenceDigest.description, status: status)
    }

    /// dockerd's `--registry-mirror`: a docker.io reference is resolved at each mirror in turn
    /// (without the user's docker.io credentials) and at docker.io itself when none answers.
    func resolveViaMirrors(_ ref: Reference, platform: Platform?, credentials: RegistryCredentials?) async throws
        -> (Reference, RegistryCredentials?, ResolvedImage) {
        for mirror in registry.configuration.mirrors[ref.domain] ?? [] {
            var m = ref
            m.domain = mirror
            if let r = try? await registry.resolve(m, platform: platform, credentials: nil) { return (m, nil, r) }
        }
        let r = try await mapRegistryErrors(ref) { try await registry.resolve(ref, platform: platform, credentials: credentials) }
        return (ref, credentials, r)
    }

    /// Makes sure layer `layer` is unpacked as snapshot `chainID`; returns its unpacked size.
    func fetchLayer(_ ref: Reference, _ layer: Descriptor, diffID: Digest, chainID: Digest, lease: String,
                    credentials: RegistryCredentials?, progress: @escaping @Sendable (ProgressEvent) -> Void) async throws -> Int64 {
        let short = layer.digest.short
        let present: SnapshotRecord? = try await gcLock.withShared { [self] in
            try meta.addLeaseRef(lease, kind: "snapshot", key: chainID.description)
            try meta.addLeaseRef(lease, kind: "blob", key: layer.digest.description)
            if let s = try meta.snapshot(chainID), snapshots.has(chainID) { return s }
            return nil
        }
        if let present {
            progress(ProgressEvent(id: short, status: "Already exists"))
            return present.size
        }
        if !content.has(layer.digest) {
            try await download(ref, layer, credentials: credentials, progress: progress)
            progress(ProgressEvent(id: short, status: "Verifying Checksum"))
        }
        progress(ProgressEvent(id: short, status: "Download complete"))
        progress(ProgressEvent(id: short, status: "Extracting", current: 0, total: layer.size))
        let size = try await Blocking.run { [self] in try unpackLayer(layer, diffID: diffID, chainID: chainID, image: ref.description) }
        progress(ProgressEvent(id: short, status: "Extracting", current: layer.size, total: layer.size))
        progress(ProgressEvent(id: short, status: "Pull complete"))
        return size
    }

    /// Unpacks a stored layer blob into snapshot `chainID`, checking it against its diffID.
    func unpackLayer(_ layer: Descriptor, diffID: Digest, chainID: Digest, image: String) throws -> Int64 {
        if let s = try meta.snapshot(chainID), snapshots.has(chainID) { return s.size }
        let temp = try snapshots.prepareExtract()
        do {
            let r = try LayerUnpacker.unpack(blob: content.path(for: layer.digest), descriptor: layer, into: temp, image: image)
            guard r.diffID == diffID else {
                throw LifecycleError.image(.layerUnpack(layer: layer.digest.description, entry: nil,
                                                        reason: "uncompressed digest \(r.diffID) does not match the image config's diff_id \(diffID)"))
            }
            try snapshots.commitExtract(temp, chainID: chainID)
            try meta.putSnapshot(SnapshotRecord(chainID: chainID, diffID: diffID, size: r.uncompressedSize))
            return r.uncompressedSize
        } catch {
            try? FS.removeAll(temp)
            throw error
        }
    }

    /// Unpacks a stored layer on top of `parent` when its diff ID is only known by unpacking it
    /// (import, load). Returns its diff ID, chain ID and unpacked size.
    func unpackLayer(_ layer: Descriptor, expectedDiffID: Digest?, parent: Digest?, lease: String, image: String) throws -> (diffID: Digest, chainID: Digest, size: Int64) {
        func chainID(_ d: Digest) -> Digest { parent.map { ChainID.of([$0, d])[1] } ?? d }
        if let d = expectedDiffID {
            let c = chainID(d)
            try meta.addLeaseRef(lease, kind: "snapshot", key: c.description)
            return (d, c, try unpackLayer(layer, diffID: d, chainID: c, image: image))
        }
        let temp = try snapshots.prepareExtract()
        do {
            let r = try LayerUnpacker.unpack(blob: content.path(for: layer.digest), descriptor: layer, into: temp, image: image)
            let c = chainID(r.diffID)
            try meta.addLeaseRef(lease, kind: "snapshot", key: c.description)
            if let s = try meta.snapshot(c), snapshots.has(c) {
                try? FS.removeAll(temp)
                return (r.diffID, c, s.size)
            }
            try snapshots.commitExtract(temp, chainID: c)
            try meta.putSnapshot(SnapshotRecord(chainID: c, diffID: r.diffID, size: r.uncompressedSize))
            return (r.diffID, c, r.uncompressedSize)
        } catch {
            try? FS.removeAll(temp)
            throw error
        }
    }

    /// Downloads a blob into the content store (verified by the store on commit), once even when
    /// several pulls want it at the same time.
    func download(_ ref: Reference, _ desc: Descriptor, credentials: RegistryCredentials?,
                  progress: (@Sendable (ProgressEvent) -> Void)?) async throws {
        let short = desc.digest.short
        let did = try await flights.run(desc.digest) { [self] in
            if content.has(desc.digest) { return }
            try await mapRegistryErrors(ref) {
                let ingest = try content.ingest(expected: desc.digest, size: desc.size)
                do {
                    var done: Int64 = 0
                    var lastReport = ContinuousClock.now
                    try await registry.fetchBlob(ref, descriptor: desc, verify: false, credentials: credentials) { event in
                        switch event {
                        case .data(let buf):
                            try buf.withUnsafeReadableBytes { try ingest.append($0) }
                            done += Int64(buf.readableBytes)
                            let now = ContinuousClock.now
                            if let progress, now - lastReport > .milliseconds(100) || done == desc.size {
                                lastReport = now
                                progress(ProgressEvent(id: short, status: "Downloading", current: done, total: desc.size))
                            }
                        case .restart:
                            try ingest.reset()
                            done = 0
                        }
                    }
                    try ingest.commit()
                } catch {
                    ingest.abort()
                    throw error
                }
            }
        }
        if !did { progress?(ProgressEvent(id: short, status: "Download complete")) }
    }

    /// Registry failures as the API daemon reports them: 401 unauthorized, 404 not found.
    func mapRegistryErrors<T>(_ ref: Reference, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let e as RegistryError {
            throw e.lifecycleError
        } catch let e as ImageError {
            throw LifecycleError.image(e)
        }
    }
}
