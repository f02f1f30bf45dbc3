import Foundation
import BerthImage
import BerthWire

/// What a new image adds onto its parent: at most one layer and exactly one history entry. Shared by
/// `docker commit` (`container.commit`) and the classic builder's steps (`image.build.commit`).
struct ChildImage {
    /// nil: `FROM scratch`, no layers below and the daemon's platform.
    var parent: Digest?
    /// A stored-to-be layer tar and, when known (a diff this daemon wrote), its diff ID.
    var layer: (path: String, diffID: Digest?)?
    /// The image config's `config`, exactly as the new image has it.
    var config: ContainerConfig
    var createdBy: String
    var comment: String?
    var author: String?
    /// The config's top-level `comment` (`docker commit -m`; a build step leaves it unset, as Docker).
    var imageComment: String?
    var names: [(name: String, kind: String)]
}

extension ImageService {
    /// Makes a child image: the parent's layers (plus the new one, if any), the parent's history
    /// plus one entry, and `config`. An identical result is the same image ID (an upsert).
    func commitChild(_ c: ChildImage) async throws -> ImageIDResult {
        let parentRecord = try c.parent.map { try record($0) }
        let parentConfig: ImageConfig
        let parentLayers: [Descriptor]
        if let parentRecord {
            parentConfig = try config(of: parentRecord)
            parentLayers = try manifest(of: parentRecord).layers
        } else {
            let platform = registry.configuration.platform
            var scratch = ImageConfig(architecture: platform.architecture, os: platform.os, rootfs: RootFS(diffIDs: []), history: [])
            scratch.variant = platform.variant
            parentConfig = scratch
            parentLayers = []
        }
        let lease = "commit-\(UUID().uuidString)"
        try meta.createLease(lease, description: "commit onto \(parentRecord?.id.short ?? "scratch")")
        defer { try? meta.deleteLease(lease) }
        // The parent's blobs stay alive even if the parent is removed while this commit runs.
        for l in parentLayers { try meta.addLeaseRef(lease, kind: "blob", key: l.digest.description) }
        var layers = parentLayers
        var expected: [Digest?] = parentConfig.rootfs.diffIDs
        if let l = c.layer {
            layers.append(try await gcLock.withShared { [self] in try await Blocking.run { [self] in try ingestFile(l.path, lease: lease) } })
            expected.append(l.diffID)
        }
        let now = Self.timestamp()
        return try await commitImage(layers: layers, config: { diffIDs in
            var cfg = parentConfig
            cfg.config = c.config
            cfg.rootfs = RootFS(diffIDs: diffIDs)
            var h = History(created: now, createdBy: c.createdBy, comment: c.comment, emptyLayer: c.layer == nil ? true : nil)
            h.author = c.author
            cfg.history = (parentConfig.history ?? []) + [h]
            cfg.created = now
            cfg.author = c.author
            cfg.comment = c.imageComment
            return try CanonicalJSON.encode(cfg)
        }, names: c.names, lease: lease, image: c.names.first?.name ?? parentRecord?.id.description ?? "scratch",
           expectedDiffIDs: expected)
    }

    /// `image.build.commit` without a container: a layer tar berthd wrote, or no layer at all
    /// (a metadata-only step such as `ENV`, recorded with `empty_layer`). `containerLayer` is the
    /// diff the container service wrote when the step ran in a container.
    public func buildCommit(_ p: ImageBuildCommitParams, containerLayer: (path: String, diffID: Digest)? = nil) async throws -> ImageIDResult {
        if p.container != nil && p.layerTar != nil {
            throw LifecycleError.invalidArgument("image.build.commit: give container or layerTar, not both")
        }
        if p.container != nil && containerLayer == nil {
            throw LifecycleError.invalidArgument("image.build.commit: container \(p.container ?? "") has no layer diff")
        }
        let parent = p.parent.isEmpty ? nil : try resolve(p.parent)
        var names: [(name: String, kind: String)] = []
        for r in p.references ?? [] {
            let ref = try Parse.reference(r)
            if ref.digest != nil { throw LifecycleError.invalidArgument("refusing to create a tag with a digest reference: \(r)") }
            names.append((ref.description, "tag"))
        }
        let layer: (path: String, diffID: Digest?)? = containerLayer.map { ($0.path, $0.diffID) } ?? p.layerTar.map { ($0, nil) }
        let res = try await commitChild(ChildImage(parent: parent, layer: layer, config: p.config, createdBy: p.createdBy,
                                                   comment: p.comment, names: names))
        let id = try Digest(parsing: res.id)
        if let parent, parent != id { try meta.setParent(parent, of: id) }
        if let key = p.cacheKey { try meta.putBuildCache(key: key, image: id) }
        return res
    }

    /// `image.build.cache`: the image a step's cache key names, while it exists.
    public func buildCache(_ p: ImageBuildCacheParams) throws -> ImageBuildCacheResult {
        ImageBuildCacheResult(id: try meta.buildCache(key: p.key)?.description)
    }
}
