import BerthWire

extension ContainerService {
    /// The `container.*` and `exec.*` methods (Specs/lifecycle-protocol.md).
    func register(on r: inout WireRouter) {
        r.register("container.create") { (p: ContainerCreateRequest, _) in try await self.create(p) }
        r.register("container.start") { (p: ContainerRefParams, _) in try await self.start(p.id) }
        r.register("container.stop") { (p: ContainerStopParams, _) in try await self.stop(p) }
        r.register("container.restart") { (p: ContainerStopParams, _) in try await self.restart(p); return Empty() }
        r.register("container.kill") { (p: ContainerKillParams, _) in try await self.kill(p); return Empty() }
        r.register("container.pause") { (p: ContainerRefParams, _) in try await self.pause(p.id, resume: false); return Empty() }
        r.register("container.unpause") { (p: ContainerRefParams, _) in try await self.pause(p.id, resume: true); return Empty() }
        r.register("container.remove") { (p: ContainerRemoveParams, _) in try await self.remove(p); return Empty() }
        r.register("container.wait") { (p: ContainerWaitParams, _) in try await self.wait(p) }
        r.register("container.list") { (p: ContainerListParams, _) in try self.list(p) }
        r.register("container.inspect") { (p: ContainerRefParams, _) in try self.inspect(p.id) }
        r.register("container.rename") { (p: ContainerRenameParams, _) in try self.rename(p); return Empty() }
        r.register("container.update") { (p: ContainerUpdateParams, _) in try await self.update(p) }
        r.register("container.resize") { (p: ContainerResizeParams, _) in try self.resize(p); return Empty() }
        r.register("container.io") { (p: ContainerRefParams, _) in try self.io(p.id) }
        r.register("container.logs") { (p: ContainerLogsParams, ctx) in
            try await self.logs(p) { ctx.progress($0) }
            return Empty()
        }
        r.register("container.attach") { (p: ContainerAttachParams, ctx) in
            try await self.attach(p) { ctx.progress($0) }
            return Empty()
        }
        r.register("container.changes") { (p: ContainerRefParams, _) in try await self.changes(p.id) }
        r.register("container.export") { (p: ContainerTarParams, _) in try await self.export(p); return Empty() }
        r.register("container.archive.stat") { (p: ContainerTarParams, _) in try await self.archiveStat(p) }
        r.register("container.archive.get") { (p: ContainerTarParams, _) in try await self.archiveGet(p) }
        r.register("container.archive.put") { (p: ContainerTarParams, _) in try await self.archivePut(p); return Empty() }
        r.register("container.commit") { (p: ContainerCommitParams, _) in try await self.commit(p) }
        // An image method served here: a step that ran in a container needs the container's layer.
        r.register("image.build.commit") { (p: ImageBuildCommitParams, _) in try await self.buildCommit(p) }
        r.register("container.top") { (p: ContainerTopParams, _) in try await self.top(p) }
        r.register("container.stats") { (p: ContainerRefParams, _) in try await self.stats(p.id) }
        r.register("exec.create") { (p: ExecCreateParams, _) in ContainerCreateResult(id: try self.execCreate(p)) }
        r.register("exec.start") { (p: ExecStartParams, ctx) in try await self.execStart(p) { ctx.progress($0) } }
        r.register("exec.inspect") { (p: ExecRefParams, _) in try self.execInspect(p.execId) }
        r.register("exec.resize") { (p: ExecResizeParams, _) in try self.execResize(p); return Empty() }
        r.register("exec.io") { (p: ExecRefParams, _) in try self.execIO(p.execId) }
    }
}
