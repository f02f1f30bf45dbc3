import BerthWire

extension NetworkService {
    /// The `network.*` methods (Specs/lifecycle-protocol.md); connect and disconnect change
    /// containers, so the container service does them.
    func register(on r: inout WireRouter, containers: ContainerService) {
        r.register("network.create") { (p: NetworkCreateParams, _) in try self.create(p) }
        r.register("network.inspect") { (p: NetworkRefParams, _) in try self.inspect(p.id) }
        r.register("network.list") { (p: NetworkListParams, _) in try self.list(filters: p.filters ?? [:]) }
        r.register("network.remove") { (p: NetworkRefParams, _) -> Empty in try self.remove(p.id); return Empty() }
        r.register("network.prune") { (p: NetworkPruneParams, _) in try self.prune(filters: p.filters ?? [:]) }
        r.register("network.connect") { (p: NetworkConnectParams, _) -> Empty in try await containers.connect(p); return Empty() }
        r.register("network.disconnect") { (p: NetworkDisconnectParams, _) -> Empty in try await containers.disconnect(p); return Empty() }
    }
}
