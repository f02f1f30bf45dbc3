import BerthImage
import BerthWire

extension ImageService {
    /// The `image.*` and `snapshot.*` methods (Specs/lifecycle-protocol.md); each change is also
    /// published as a Docker image event (`pull`, `push`, `tag`, `untag`, `delete`, `import`,
    /// `load`, `save`).
    func register(on r: inout WireRouter, events: EventBus = EventBus()) {
        @Sendable func publish(_ action: String, _ id: String, name: String? = nil) {
            events.publish(type: "image", action: action, id: id, attributes: name.map { ["name": $0] } ?? [:])
        }
        r.register("image.pull") { (p: ImagePullParams, ctx) in
            let res = try await self.pull(p) { ctx.progress($0) }
            let familiar = (try? Reference(parsing: res.reference))?.familiar ?? res.reference
            publish("pull", familiar, name: familiar)
            return res
        }
        r.register("image.push") { (p: ImagePushParams, ctx) in
            let res = try await self.push(p) { ctx.progress($0) }
            publish("push", p.reference, name: p.reference)
            return res
        }
        r.register("image.list") { (p: ImageListParams, _) in try self.list(p) }
        r.register("image.inspect") { (p: ImageRefParams, _) in try self.inspect(p.reference) }
        r.register("image.history") { (p: ImageRefParams, _) in try self.history(p.reference) }
        r.register("image.tag") { (p: ImageTagParams, _) in
            try self.tag(p)
            publish("tag", (try? self.resolve(p.target))?.description ?? p.target, name: p.target)
            return Empty()
        }
        r.register("image.remove") { (p: ImageRemoveParams, _) in
            let id = (try? self.resolve(p.reference))?.description ?? p.reference
            // Deleted build parents are images too (the other `deleted` items are layers).
            let images = Set(((try? self.meta.images()) ?? []).map(\.id.description))
            let items = try await self.remove(p)
            for i in items {
                if let u = i.untagged { publish("untag", id, name: u) }
                if let d = i.deleted, images.contains(d) { publish("delete", d, name: d) }
            }
            return items
        }
        r.register("image.prune") { (p: ImagePruneParams, _) in try await self.prune(p) }
        r.register("image.import") { (p: ImageImportParams, ctx) in
            let res = try await self.importRootfs(p) { ctx.progress($0) }
            publish("import", res.id, name: p.reference ?? res.id)
            return res
        }
        r.register("image.save") { (p: ImageSaveParams, _) in
            try await self.save(p)
            for ref in p.references { publish("save", (try? self.resolve(ref))?.description ?? ref, name: ref) }
            return Empty()
        }
        r.register("image.load") { (p: ImageLoadParams, ctx) in
            let res = try await self.load(p) { ctx.progress($0) }
            for l in res.loaded { publish("load", (try? self.resolve(l))?.description ?? l, name: l) }
            return res
        }
        r.register("image.build.cache") { (p: ImageBuildCacheParams, _) in try self.buildCache(p) }
        r.register("registry.login") { (p: RegistryAuth, _) in try await self.login(p) }
        r.register("snapshot.prepare") { (p: SnapshotPrepareParams, _) in try self.prepareSnapshot(p) }
        r.register("snapshot.remove") { (p: SnapshotKeyParams, _) in try self.removeSnapshot(p); return Empty() }
    }
}
