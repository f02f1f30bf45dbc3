import BerthWire

extension VolumeService {
    /// The `volume.*` methods (Specs/lifecycle-protocol.md).
    func register(on r: inout WireRouter) {
        r.register("volume.create") { (p: VolumeCreateParams, _) in try await self.create(p) }
        r.register("volume.inspect") { (p: VolumeNameParams, _) in try self.inspect(p.name) }
        r.register("volume.list") { (p: VolumeListParams, _) in try self.list(filters: p.filters ?? [:]) }
        r.register("volume.remove") { (p: VolumeRemoveParams, _) in
            try await self.remove(p.name, force: p.force ?? false)
            return Empty()
        }
        r.register("volume.prune") { (p: VolumePruneParams, _) in try await self.prune(filters: p.filters ?? [:]) }
    }
}
