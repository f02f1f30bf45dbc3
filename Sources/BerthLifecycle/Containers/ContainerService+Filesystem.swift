import Foundation
import Glibc
import BerthImage
import BerthOS
import BerthWire

extension ContainerService {
    func lowerDirs(_ c: ContainerRecord) throws -> [String] {
        try images.snapshotMount(key: c.id, imageID: c.imageID).lowerDirs
    }

    /// Docker's `changes`: the writable layer compared with the image.
    public func changes(_ ref: String) async throws -> [FilesystemChange] {
        let c = try resolve(ref)
        let lowers = try lowerDirs(c), upper = images.snapshots.upperDir(key: c.id)
        do {
            return try await Blocking.run { try ContainerFilesystem.changes(upperDir: upper, lowerDirs: lowers) }
        } catch let e as ContainerFilesystemError { throw e.lifecycleError(container: c.id) }
    }

    /// `docker export`: the container's whole filesystem (its mounted rootfs) as a tar.
    public func export(_ p: ContainerTarParams) async throws {
        let c = try resolve(p.id)
        guard let tar = p.tarPath else { throw LifecycleError.invalidArgument("export: tarPath is required") }
        try ensureMounted(c.id)
        let merged = rootfs(c.id)
        do {
            try await Blocking.run { try ContainerFilesystem.exportTar(mergedDir: merged, to: tar) }
        } catch let e as ContainerFilesystemError { throw e.lifecycleError(container: c.id) }
        emit(c, "export")
    }

    public func archiveStat(_ p: ContainerTarParams) async throws -> PathStat {
        let c = try resolve(p.id)
        try ensureMounted(c.id)
        let root = rootfs(c.id), path = p.path ?? "/"
        do {
            return try await Blocking.run { try ContainerFilesystem.archiveStat(root: root, path: path) }
        } catch let e as ContainerFilesystemError { throw e.lifecycleError(container: c.id) }
    }

    /// `docker cp` out: a tar of `path` (resolved inside the container) written to `tarPath`.
    public func archiveGet(_ p: ContainerTarParams) async throws -> PathStat {
        let c = try resolve(p.id)
        guard let tar = p.tarPath else { throw LifecycleError.invalidArgument("archive: tarPath is required") }
        try ensureMounted(c.id)
        let root = rootfs(c.id), path = p.path ?? "/"
        // Check first, so a missing path is an error before the caller's reader gets an empty tar.
        do { _ = try await Blocking.run { try ContainerFilesystem.archiveStat(root: root, path: path) } } catch let e as ContainerFilesystemError {
            throw e.lifecycleError(container: c.id)
        }
        return try await Blocking.run {
            let fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LifecycleError.invalidArgument("open \(tar): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            do { return try ContainerFilesystem.archiveGet(root: root, path: path, to: fd) } catch { throw error.lifecycleError(container: c.id) }
        }
    }

    /// `docker cp` in: extracts the tar at `tarPath` into the directory `path` of the container.
    public func archivePut(_ p: ContainerTarParams) async throws {
        let c = try resolve(p.id)
        guard let tar = p.tarPath else { throw LifecycleError.invalidArgument("archive: tarPath is required") }
        if c.hostConfig.readonlyRootfs == true && c.state.running {
            throw LifecycleError.conflict("container rootfs is marked read-only")
        }
        try ensureMounted(c.id)
        let root = rootfs(c.id), path = p.path ?? "/", noOverwrite = p.noOverwriteDirNonDir ?? false
        try await Blocking.run {
            let fd = open(tar, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LifecycleError.invalidArgument("open \(tar): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            do { try ContainerFilesystem.archivePut(root: root, path: path, from: fd, noOverwriteDirNonDir: noOverwrite) } catch {
                throw error.lifecycleError(container: c.id)
            }
        }
        emit(c, "extract-to-dir")
    }

    /// `docker commit`: the writable layer as a new image layer over the container's image, with
    /// the container's config (and `changes`) as the image config.
    public func commit(_ p: ContainerCommitParams) async throws -> ImageIDResult {
        let c = try resolve(p.id)
        let pause = (p.pause ?? true) && c.state.running && !c.state.paused
        if pause { try await self.pause(c.id, resume: false) }
        let layerPath = "\(bundle(c.id))/.commit-\(UUID().uuidString).tar"
        defer { try? FS.unlink(layerPath) }
        let upper = images.snapshots.upperDir(key: c.id), lowers = try lowerDirs(c)
        let diff: LayerDiff
        do {
            diff = try await Blocking.run { try ContainerFilesystem.writeLayerDiff(upperDir: upper, lowerDirs: lowers, to: layerPath) }
        } catch let e as ContainerFilesystemError {
            if pause { try? await self.pause(c.id, resume: true) }
            throw e.lifecycleError(container: c.id)
        }
        if pause { try await self.pause(c.id, resume: true) }
        // As Docker: the request's config completes the container's (set fields win).
        var config = Self.imageConfig(of: c.config)
        if let o = p.config.map(Self.imageConfig(of:)) {
            if o.user != nil { config.user = o.user }
            if o.env != nil { config.env = o.env }
            if o.cmd != nil { config.cmd = o.cmd }
            if o.entrypoint != nil { config.entrypoint = o.entrypoint }
            if o.workingDir != nil { config.workingDir = o.workingDir }
            if let l = o.labels { config.labels = (config.labels ?? [:]).merging(l) { _, new in new } }
            if o.stopSignal != nil { config.stopSignal = o.stopSignal }
            if let e = o.exposedPorts { config.exposedPorts = (config.exposedPorts ?? [:]).merging(e) { a, _ in a } }
            if let v = o.volumes { config.volumes = (config.volumes ?? [:]).merging(v) { a, _ in a } }
            if o.healthcheck != nil { config.healthcheck = o.healthcheck }
        }
        do { try DockerfileChanges.apply(p.changes ?? [], to: &config) } catch {
            throw LifecycleError.invalidArgument("\(error)")
        }
        let r = try await images.commitLayer(parent: c.imageID, layerPath: layerPath, diffID: diff.digest, config: config,
                                             comment: p.comment, author: p.author,
                                             createdBy: ([c.path] + c.args).joined(separator: " "), reference: p.reference)
        emit(c, "commit", extra: ["comment": p.comment ?? "", "imageID": r.id])
        return r
    }

    /// The image-config view of a container's config (what `commit` records).
    static func imageConfig(of c: ContainerCreateParams) -> ContainerConfig {
        var x = ContainerConfig()
        x.user = c.user; x.env = c.env; x.cmd = c.cmd; x.entrypoint = c.entrypoint; x.workingDir = c.workingDir
        x.labels = c.labels; x.stopSignal = c.stopSignal; x.exposedPorts = c.exposedPorts; x.volumes = c.volumes
        x.healthcheck = c.healthcheck
        return x
    }
}

extension Error {
    /// A ContainerFilesystemError as the wire reports it; other errors unchanged.
    func lifecycleError(container id: String) -> Error {
        (self as? ContainerFilesystemError)?.lifecycleError(container: id) ?? self
    }
}

extension ImageService {
    /// A new image: the parent's layers plus the layer at `layerPath`, with `config`.
    func commitLayer(parent: String, layerPath: String, diffID: Digest, config: ContainerConfig, comment: String?,
                     author: String?, createdBy: String, reference: String?) async throws -> ImageIDResult {
        let ref = try reference.flatMap { $0.isEmpty ? nil : try Parse.reference($0) }
        if let ref, ref.digest != nil { throw LifecycleError.invalidArgument("refusing to create a tag with a digest reference") }
        let r = try record(resolve(parent))
        let parentConfig = try self.config(of: r)
        let manifest = try self.manifest(of: r)
        let lease = "commit-\(UUID().uuidString)"
        try meta.createLease(lease, description: "commit onto \(r.id.short)")
        defer { try? meta.deleteLease(lease) }
        for l in manifest.layers { try meta.addLeaseRef(lease, kind: "blob", key: l.digest.description) }
        let layer = try await gcLock.withShared { [self] in try await Blocking.run { [self] in try ingestFile(layerPath, lease: lease) } }
        let now = Self.timestamp()
        return try await commitImage(layers: manifest.layers + [layer], config: { diffIDs in
            var cfg = parentConfig
            cfg.config = config
            cfg.rootfs = RootFS(diffIDs: diffIDs)
            var h = History(created: now, createdBy: createdBy, comment: comment)
            h.author = author
            cfg.history = (parentConfig.history ?? []) + [h]
            cfg.created = now
            cfg.author = author
            cfg.comment = comment
            return try CanonicalJSON.encode(cfg)
        }, names: ref.map { [($0.description, "tag")] } ?? [], lease: lease, image: reference ?? r.id.description,
           expectedDiffIDs: parentConfig.rootfs.diffIDs + [diffID])
    }
}
