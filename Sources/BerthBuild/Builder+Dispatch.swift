import BerthDockerfile
import BerthImage
import Foundation

extension Builder {
    /// Runs one instruction. Triggers from ONBUILD run uncounted, without a "Step" line.
    func dispatch(_ ins: Instruction, _ s: StageState, counted: Bool) async throws {
        if counted { announce(ins) }
        let cmd: Command
        do { cmd = try ins.command(env: expansionEnv(s), escape: dockerfile.escape) } catch { throw located(BuildError(error.message), ins) }
        do {
            try await execute(cmd, ins, s)
        } catch let e as BuildError {
            throw located(e, ins)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The engine's own errors (a wire error's text is its message), placed on the line too.
            throw located(BuildError(String(describing: error)), ins)
        }
    }

    func execute(_ cmd: Command, _ ins: Instruction, _ s: StageState) async throws {
        var c = s.image.config
        switch cmd {
        case .from:
            throw BuildError("FROM inside a stage")
        case .run(let form, let network):
            try await run(form, network: network, s)
        case .copy(let copy):
            try await self.copy(copy, add: false, s)
        case .add(let copy):
            try await self.copy(copy, add: true, s)
        case .workdir(let path):
            try await workdir(path, s)
        case .env(let pairs):
            for kv in pairs { c.setEnv(kv.key, kv.value) }
            try await commitConfig(c, "ENV " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), s)
        case .label(let pairs):
            var labels = c.labels ?? [:]
            for kv in pairs { labels[kv.key] = kv.value }
            c.labels = labels
            try await commitConfig(c, "LABEL " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), s)
        case .maintainer(let who):
            try await commitConfig(c, "MAINTAINER \(who)", s)
        case .arg(let decls):
            for d in decls {
                consumedArgs.insert(d.name)
                if let v = options.buildArgs[d.name] ?? nil { s.args[d.name] = v }
                else if let v = d.defaultValue { s.args[d.name] = v }
                else if let v = globalArgs[d.name] { s.args[d.name] = v }
            }
            try await commitConfig(c, "ARG " + decls.map { d in s.args[d.name].map { "\(d.name)=\($0)" } ?? d.name }.joined(separator: " "), s)
        case .expose(let ports):
            var exposed = c.exposedPorts ?? [:]
            for p in try ports.flatMap(Self.expandPorts) { exposed[p] = EmptyObject() }
            c.exposedPorts = exposed
            try await commitConfig(c, "EXPOSE " + exposed.keys.sorted().joined(separator: " "), s)
        case .user(let user):
            c.user = user
            try await commitConfig(c, "USER \(user)", s)
        case .volume(let paths):
            var vols = c.volumes ?? [:]
            for p in paths where !p.isEmpty { vols[p] = EmptyObject() }
            c.volumes = vols
            try await commitConfig(c, "VOLUME [\(paths.joined(separator: " "))]", s)
        case .stopSignal(let sig):
            c.stopSignal = sig
            try await commitConfig(c, "STOPSIGNAL \(sig)", s)
        case .healthcheck(let h):
            var hc = HealthConfig()
            hc.test = h.test; hc.interval = h.interval; hc.timeout = h.timeout; hc.startPeriod = h.startPeriod
            hc.startInterval = h.startInterval; hc.retries = h.retries
            c.healthcheck = hc
            try await commitConfig(c, "HEALTHCHECK " + ins.arguments, s)
        case .shell(let shell):
            c.shell = shell
            try await commitConfig(c, "SHELL " + Self.jsonList(shell), s)
        case .cmd(let form):
            c.cmd = commandLine(form, c)
            if case .shell = form { c.argsEscaped = nil }
            s.cmdSet = true
            try await commitConfig(c, "CMD " + Self.jsonList(c.cmd ?? []), s)
        case .entrypoint(let form):
            c.entrypoint = commandLine(form, c)
            // An ENTRYPOINT clears a CMD inherited from the base image (Docker's rule).
            if !s.cmdSet { c.cmd = nil }
            try await commitConfig(c, "ENTRYPOINT " + Self.jsonList(c.entrypoint ?? []), s)
        case .onbuild(let trigger):
            c.onBuild = (c.onBuild ?? []) + [trigger]
            try await commitConfig(c, "ONBUILD \(trigger)", s)
        }
    }

    /// The argv of a CMD/ENTRYPOINT/RUN: exec form as is, shell form through the SHELL.
    func commandLine(_ form: CommandForm, _ c: BuildConfig) -> [String] {
        switch form {
        case .exec(let argv): return argv
        case .shell(let text): return (c.shell ?? ["/bin/sh", "-c"]) + [text]
        }
    }

    // MARK: - Commits

    /// The cache key of a step: its parent, what it does, and the config it leaves.
    func cacheKey(_ s: StageState, _ createdBy: String, _ config: BuildConfig, extra: String = "") -> String {
        let text = [s.image.id, createdBy, config.canonical, extra].joined(separator: "\n")
        return Digest.sha256(of: Array(text.utf8)).description
    }

    /// A cached image for `key`, reported as Docker does; nil on a miss or with `--no-cache`.
    func cached(_ key: String, _ s: StageState, _ config: BuildConfig) async throws -> Bool {
        guard !options.noCache, let id = try await backend.cachedImage(key: key) else { return false }
        // Two messages, as dockerd sends them (scripts look for the first one alone).
        say(" ---> Using cache\n")
        say(" ---> \(Self.short(id))\n")
        s.image = BuildImage(id: id, config: config)
        return true
    }

    /// A step that only changes the config: a new image with no new layer.
    func commitConfig(_ c: BuildConfig, _ comment: String, _ s: StageState) async throws {
        let createdBy = nopPrefix(c) + " " + comment
        let key = cacheKey(s, createdBy, c)
        if try await cached(key, s, c) { return }
        let id = try await backend.commit(BuildCommit(parent: s.image.id, config: c, createdBy: createdBy, cacheKey: key))
        s.image = BuildImage(id: id, config: c)
        say(" ---> \(Self.short(id))\n")
    }

    /// Docker's history prefix for steps that run nothing: `/bin/sh -c #(nop) `.
    func nopPrefix(_ c: BuildConfig) -> String {
        (c.shell ?? ["/bin/sh", "-c"]).joined(separator: " ") + " #(nop) "
    }

    // MARK: - RUN

    func run(_ form: CommandForm, network: String?, _ s: StageState) async throws {
        let c = s.image.config
        let argv = commandLine(form, c)
        // Build args reach the command's environment (not the image's), and the history line, as in Docker.
        let argEnv = s.args.keys.sorted().filter { c.envValue($0) == nil }.map { "\($0)=\(s.args[$0] ?? "")" }
        let createdBy = (argEnv.isEmpty ? "" : "|\(argEnv.count) " + argEnv.joined(separator: " ") + " ") + argv.joined(separator: " ")
        let net = network ?? options.network
        let key = cacheKey(s, createdBy, c, extra: net ?? "")
        if try await cached(key, s, c) { return }
        guard !s.image.id.isEmpty else {
            throw BuildError("RUN needs a base image: FROM scratch has no /bin/sh or any other program to run")
        }
        let id = try await backend.createContainer(BuildContainerSpec(
            image: s.image.id, cmd: argv, env: (c.env ?? []) + argEnv, user: c.user, workingDir: c.workingDir, network: net))
        say(" ---> Running in \(Self.short(id))\n")
        let code: Int
        do {
            code = try await backend.run(container: id, output: options.quiet ? BuildOutput(text: { _ in }) : output)
        } catch {
            // A cancelled build (the client went away) kills and removes its container, as dockerd's does.
            if options.forceRemove || Task.isCancelled || error is CancellationError { await removeContainer(id) }
            throw error
        }
        guard code == 0 else {
            if options.forceRemove { await backend.removeContainer(id) }
            throw BuildError("The command '\(argv.joined(separator: " "))' returned a non-zero code: \(code)")
        }
        let image = try await backend.commit(BuildCommit(parent: s.image.id, container: id, config: c, createdBy: createdBy, cacheKey: key))
        if options.removeIntermediate || options.forceRemove {
            say("Removing intermediate container \(Self.short(id))\n")
            await backend.removeContainer(id)
        }
        s.image = BuildImage(id: image, config: c)
        say(" ---> \(Self.short(image))\n")
    }

    // MARK: - WORKDIR

    /// WORKDIR sets the directory and creates it when the image lacks it.
    func workdir(_ path: String, _ s: StageState) async throws {
        var c = s.image.config
        let dir = Self.cleanAbsolute(path.hasPrefix("/") ? path : (c.workingDir ?? "/") + "/" + path)
        c.workingDir = dir
        let createdBy = nopPrefix(c) + " WORKDIR \(dir)"
        let key = cacheKey(s, createdBy, c)
        if try await cached(key, s, c) { return }
        var commit = BuildCommit(parent: s.image.id, config: c, createdBy: createdBy, cacheKey: key)
        let tar = scratchPath("workdir.tar")
        defer { try? FileManager.default.removeItem(atPath: tar) }
        let mkdir = [LayerTar.Entry(path: dir, kind: .directory, mode: 0o755)]
        let image: String
        if s.image.id.isEmpty {
            try LayerTar.write(tar, entries: mkdir)
            commit.layerTar = tar
            image = try await backend.commit(commit)
        } else {
            image = try await withStepContainer(s) { id in
                if try await backend.stat(container: id, path: dir) == nil {
                    try LayerTar.write(tar, entries: mkdir)
                    try await backend.put(container: id, path: "/", tar: tar)
                    commit.container = id
                }
                return try await backend.commit(commit)
            }
        }
        s.image = BuildImage(id: image, config: c)
        say(" ---> \(Self.short(image))\n")
    }

    /// Runs `body` with a container of the stage's image (never started: only its filesystem is
    /// read or written), removed afterwards whatever happens.
    @discardableResult
    func withStepContainer<T>(_ s: StageState, _ body: (String) async throws -> T) async throws -> T {
        let id = try await backend.createContainer(BuildContainerSpec(
            image: s.image.id, cmd: ["/bin/sh"], env: s.image.config.env ?? [], user: nil, workingDir: nil, network: "none"))
        do {
            let r = try await body(id)
            await backend.removeContainer(id)
            return r
        } catch {
            await removeContainer(id)
            throw error
        }
    }

    /// Removes a step container even from a cancelled task (the removal must not be cancelled too).
    func removeContainer(_ id: String) async {
        let backend = self.backend
        await Task.detached { await backend.removeContainer(id) }.value
    }

    // MARK: - Small helpers

    /// `/a/./b/../c/` → `/a/c`.
    static func cleanAbsolute(_ path: String) -> String {
        var out: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { if !out.isEmpty { out.removeLast() } } else { out.append(c) }
        }
        return "/" + out.joined(separator: "/")
    }

    static func jsonList(_ list: [String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        return (try? enc.encode(list)).flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
    }

    /// `80` → `80/tcp`; `8000-8002/udp` → each port.
    static func expandPorts(_ spec: String) throws -> [String] {
        let parts = spec.split(separator: "/", maxSplits: 1).map(String.init)
        guard let portPart = parts.first else { throw BuildError("invalid port: \(spec)") }
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else { throw BuildError("invalid proto: \(proto)") }
        let range = portPart.split(separator: "-", maxSplits: 1).map { Int($0) }
        guard let lo = range.first ?? nil, (1...65535).contains(lo) else { throw BuildError("invalid containerPort: \(portPart)") }
        let hi = range.count > 1 ? (range[1] ?? -1) : lo
        guard hi >= lo, hi <= 65535 else { throw BuildError("invalid range specified for container port: \(portPart)") }
        return (lo...hi).map { "\($0)/\(proto)" }
    }
}
