import BerthOCI
import BerthOS
import BerthWire
import Foundation

extension ContainerService {
    /// `docker update`: merges the non-zero resource keys and the restart policy into the
    /// container's HostConfig (dockerd's container.UpdateContainer), checks the result as create
    /// would, rewrites the bundle's limits so a later start keeps them, and applies them to a
    /// running container's cgroup with the runtime's `update`.
    public func update(_ p: ContainerUpdateParams) async throws -> ContainerUpdateResult {
        let c = try resolve(p.id)
        return try await slot(c.id).lock.withExclusive { [self] in
            guard let c = record(c.id) else { throw LifecycleError.notFound("No such container: \(p.id)") }
            let merged = try Self.mergeUpdate(c.hostConfig, p.update)
            if p.update.restartPolicy != nil { try Self.validate(merged) }
            let resources: Resources
            do { resources = try builder.resources(merged) } catch {
                throw LifecycleError.invalidArgument("Cannot update container \(c.id): \(error)")
            }
            let specPath = bundle(c.id) + "/config.json"
            if FS.exists(specPath) {
                var spec = try JSONDecoder().decode(Spec.self, from: Data(try FS.readBytes(specPath)))
                var linux = spec.linux ?? Linux()
                var r = linux.resources ?? Resources()
                r.memory = resources.memory; r.cpu = resources.cpu; r.pids = resources.pids; r.blockIO = resources.blockIO
                linux.resources = r
                spec.linux = linux
                try FS.write(specPath, [UInt8](try JSONEncoder().encode(spec)), mode: 0o600, atomic: true)
            }
            if c.state.running {
                let file = bundle(c.id) + "/update-resources.json"
                try FS.write(file, [UInt8](try JSONEncoder().encode(resources)), mode: 0o600, atomic: true)
                defer { unlink(file) }
                let r = try await Blocking.run { [self] in try runRuntime(["update", "--resources", file, c.id]) }
                guard r.status == 0 else { throw LifecycleError.internalError("Cannot update container \(c.id): \(r.output)") }
            }
            let n = try update(c.id) { $0.config.hostConfig = merged }
            emit(n, "update")
            return ContainerUpdateResult()
        }
    }

    /// dockerd's rule: a key the update leaves out or sets to zero keeps the container's value;
    /// NanoCpus and CpuPeriod/CpuQuota exclude each other across the old and new values.
    static func mergeUpdate(_ old: HostConfig, _ u: HostConfig) throws -> HostConfig {
        var hc = old
        func set<T: Equatable>(_ k: WritableKeyPath<HostConfig, T?>, zero: T) {
            if let v = u[keyPath: k], v != zero { hc[keyPath: k] = v }
        }
        if (u.nanoCpus ?? 0) != 0 && ((old.cpuQuota ?? 0) > 0 || (old.cpuPeriod ?? 0) > 0) && (u.cpuQuota ?? 0) == 0 && (u.cpuPeriod ?? 0) == 0 {
            throw LifecycleError.invalidArgument("Conflicting options: CPU Quota or CPU Period cannot be updated as NanoCPUs has already been set")
        }
        if ((u.cpuQuota ?? 0) != 0 || (u.cpuPeriod ?? 0) != 0) && (old.nanoCpus ?? 0) != 0 && (u.nanoCpus ?? 0) == 0 {
            throw LifecycleError.invalidArgument("Conflicting options: CPU Quota or CPU Period cannot be updated as NanoCPUs has already been set")
        }
        if let m = u.memory, m != 0, (u.memorySwap ?? 0) == 0, let s = old.memorySwap, s > 0, m > s {
            throw LifecycleError.invalidArgument("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
        }
        set(\.memory, zero: 0); set(\.memorySwap, zero: 0); set(\.memoryReservation, zero: 0)
        set(\.nanoCpus, zero: 0); set(\.cpuShares, zero: 0); set(\.cpuQuota, zero: 0); set(\.cpuPeriod, zero: 0)
        set(\.cpuRealtimePeriod, zero: 0); set(\.cpuRealtimeRuntime, zero: 0)
        set(\.cpusetCpus, zero: ""); set(\.cpusetMems, zero: "")
        set(\.pidsLimit, zero: 0); set(\.blkioWeight, zero: 0)
        if let rp = u.restartPolicy, rp.name != nil { hc.restartPolicy = rp }
        return hc
    }
}
