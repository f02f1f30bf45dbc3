import BerthWire

extension ImageService {
    /// The `image.*` and `snapshot.*` methods (Specs/lifecycle-protocol.md).
    func register(on r: inout WireRouter) {
        r.register("image.pull") { (p: ImagePullParams, ctx) in
            try await self.pull(p) { ctx.progress($0) }
        }
        r.register("image.push") { (p: ImagePushParams, ctx) in
            try await self.push(p) { ctx.progress($0) }
        }
        r.register("image.list") { (p: ImageListParams, _) in try self.list(p) }
        r.register("image.inspect") { (p: ImageRefParams, _) in try self.inspect(p.reference) }
        r.register("image.history") { (p: ImageRefParams, _) in try self.history(p.reference) }
        r.register("image.tag") { (p: ImageTagParams, _) in try self.tag(p); return Empty() }
        r.register("image.remove") { (p: ImageRemoveParams, _) in try await self.remove(p) }
        r.register("image.prune") { (p: ImagePruneParams, _) in try await self.prune(p) }
        r.register("image.import") { (p: ImageImportParams, ctx) in try await self.importRootfs(p) { ctx.progress($0) } }
        r.register("image.save") { (p: ImageSaveParams, _) in try await self.save(p); return Empty() }
        r.register("image.load") { (p: ImageLoadParams, ctx) in try await self.load(p) { ctx.progress($0) } }
        r.register("snapshot.prepare") { (p: SnapshotPrepareParams, _) in try self.prepareSnapshot(p) }
        r.register("snapshot.remove") { (p: SnapshotKeyParams, _) in try self.removeSnapshot(p); return Empty() }
    }
}
