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
        let diff: LayerDiff
        do { diff = try await writeDiff(c, to: layerPath) } catch {
            if pause { try? await self.pause(c.id, resume: true) }
            throw error
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

    /// The container's writable layer compared with its image, as an uncompressed layer tar at `path`.
    func writeDiff(_ c: ContainerRecord, to path: String) async throws -> LayerDiff {
        let upper = images.snapshots.upperDir(key: c.id), lowers = try lowerDirs(c)
        do {
            return try await Blocking.run { try ContainerFilesystem.writeLayerDiff(upperDir: upper, lowerDirs: lowers, to: path) }
        } catch let e as ContainerFilesystemError { throw e.lifecycleError(container: c.id) }
    }

    /// `image.build.commit`: a build step's image. With a container, its writable layer (even an
    /// unchanged one, as Docker's classic builder) is the new layer; the container has exited, so
    /// it is not paused. It must have been made from `parent`, or the layer would sit on the wrong base.
    public func buildCommit(_ p: ImageBuildCommitParams) async throws -> ImageIDResult {
        guard let ref = p.container else { return try await images.buildCommit(p) }
        if p.layerTar != nil { throw LifecycleError.invalidArgument("image.build.commit: give container or layerTar, not both") }
        let c = try resolve(ref)
        let parent = p.parent.isEmpty ? nil : try images.resolve(p.parent)
        guard parent?.description == c.imageID else {
            throw LifecycleError.invalidArgument("image.build.commit: container \(c.id.prefix(12)) runs image \(c.imageID), not parent \(p.parent.isEmpty ? "scratch" : p.parent)")
        }
        let layerPath = "\(bundle(c.id))/.build-\(UUID().uuidString).tar"
        defer { try? FS.unlink(layerPath) }
        let diff = try await writeDiff(c, to: layerPath)
        return try await images.buildCommit(p, containerLayer: (layerPath, diff.digest))
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
        return try await commitChild(ChildImage(parent: try resolve(parent), layer: (layerPath, diffID), config: config,
                                                createdBy: createdBy, comment: comment, author: author, imageComment: comment,
                                                names: ref.map { [($0.description, "tag")] } ?? []))
    }
}
