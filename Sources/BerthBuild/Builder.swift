import BerthDockerfile
import BerthImage
import Foundation

/// Docker's classic builder: runs a Dockerfile's stages step by step against a `BuildBackend`,
/// reusing cached steps, and reports in the classic builder's words ("Step 1/5 : FROM …").
public final class Builder: @unchecked Sendable {
    // @unchecked: a build runs in one task; the mutable state below is never shared across tasks.
    let backend: BuildBackend
    let output: BuildOutput
    let options: BuildOptions
    /// The unpacked build context.
    let contextDir: String
    /// Scratch space for layer tars and fetched files, outside the context.
    let scratchDir: String
    public let dockerfile: Dockerfile
    let ignore: DockerIgnore?
    /// The stages to build (up to the target) and their step count.
    let stages: [Stage]
    public let totalSteps: Int
    /// `-t` values as "Successfully tagged" prints them (`app` is `app:latest`).
    let tagNames: [String]

    var step = 0
    var stageResults: [Int: BuildImage] = [:]
    var globalArgs: [String: String] = [:]
    var consumedArgs: Set<String> = []
    var scratchCounter = 0

    /// Reads and checks the Dockerfile: every error here comes before any output (a 400).
    public init(contextDir: String, scratchDir: String, options: BuildOptions, backend: BuildBackend, output: BuildOutput) throws(BuildError) {
        self.backend = backend; self.output = output; self.options = options
        self.contextDir = contextDir; self.scratchDir = scratchDir
        let dfPath = try Self.contextPath(contextDir, options.dockerfile)
        guard let data = FileManager.default.contents(atPath: dfPath), let text = String(data: data, encoding: .utf8) else {
            throw BuildError("Cannot locate specified Dockerfile: \(options.dockerfile)", invalidInput: true)
        }
        do { dockerfile = try Dockerfile.parse(text) } catch { throw BuildError(error.description, invalidInput: true) }
        if let ig = FileManager.default.contents(atPath: contextDir + "/.dockerignore").flatMap({ String(data: $0, encoding: .utf8) }) {
            do { ignore = try DockerIgnore(ig) } catch { throw BuildError("parsing .dockerignore: \(error.description)", invalidInput: true) }
        } else {
            ignore = nil
        }
        var stages = dockerfile.stages
        if let target = options.target, !target.isEmpty {
            guard let i = dockerfile.stageIndex(named: target) else {
                throw BuildError("failed to reach build target \(target) in Dockerfile", invalidInput: true)
            }
            stages = Array(stages[...i])
        }
        // `--label`: a LABEL step appended to the last stage, as the classic builder does.
        if !options.labels.isEmpty, var last = stages.popLast() {
            let text = "LABEL " + options.labels.keys.sorted().map { "\(Self.goQuote($0))=\(Self.goQuote(options.labels[$0] ?? ""))" }.joined(separator: " ")
            do { last.instructions.append(try Dockerfile.parseInstruction(text, line: 0, escape: dockerfile.escape)) } catch {
                throw BuildError("invalid label: \(error.description)", invalidInput: true)
            }
            stages.append(last)
        }
        self.stages = stages
        totalSteps = stages.reduce(0) { $0 + 1 + $1.instructions.count }
        tagNames = try options.tags.map { t throws(BuildError) in try Self.checkTag(t).familiar }
    }

    /// Builds every stage up to the target, tags the result, and returns the image ID.
    public func run() async throws -> String {
        do {
            try evaluateMetaArgs()
            var last: BuildImage?
            for stage in stages {
                let image = try await build(stage)
                stageResults[stage.index] = image
                last = image
            }
            guard let final = last, !final.id.isEmpty else { throw BuildError("No image was generated. Is your Dockerfile empty?") }
            let unused = options.buildArgs.keys.filter { !consumedArgs.contains($0) && !Self.predefinedArgs.contains($0) }.sorted()
            if !unused.isEmpty, !options.quiet {
                output.text("[Warning] One or more build-args [\(unused.joined(separator: " "))] were not consumed\n")
            }
            output.aux(final.id)
            // Quiet: the ID is the whole output (the docker CLI prints the stream it gets).
            output.text(options.quiet ? final.id + "\n" : "Successfully built \(Self.short(final.id))\n")
            for (t, name) in zip(options.tags, tagNames) {
                try await backend.tag(image: final.id, reference: t)
                if !options.quiet { output.text("Successfully tagged \(name)\n") }
            }
            return final.id
        } catch let e as BuildError {
            throw e
        } catch let e as DockerfileError {
            throw BuildError(e.description)
        }
    }

    // MARK: - Stages

    /// The per-stage state: the image so far, its config, and the ARGs in scope.
    final class StageState {
        var image: BuildImage
        var args: [String: String] = [:]
        var cmdSet = false
        init(image: BuildImage) { self.image = image }
    }

    func build(_ stage: Stage) async throws -> BuildImage {
        let image: BuildImage
        do { image = try await from(stage) } catch let e as BuildError {
            // ONBUILD triggers' errors already name their line.
            throw e.message.contains("(Dockerfile line ") ? e : located(e, stage.from)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw located(BuildError(String(describing: error)), stage.from)
        }
        let s = StageState(image: image)
        for ins in stage.instructions {
            try await dispatch(ins, s, counted: true)
        }
        return s.image
    }

    func announce(_ ins: Instruction) {
        step += 1
        if !options.quiet { output.text("Step \(step)/\(totalSteps) : \(ins.original)\n") }
    }

    func say(_ text: String) { if !options.quiet { output.text(text) } }

    /// `FROM`: a stored image, an earlier stage, `scratch`, or a pull.
    func from(_ stage: Stage) async throws -> BuildImage {
        announce(stage.from)
        let cmd: Command
        do { cmd = try stage.from.command(env: globalArgs, escape: dockerfile.escape) } catch { throw BuildError(error.message) }
        guard case .from(let ref, _, let platform) = cmd else { throw BuildError("expected FROM") }
        var image: BuildImage
        if ref.lowercased() == "scratch" {
            image = BuildImage(id: "", config: BuildConfig())
            say(" ---> \n")
            return image
        } else if let i = dockerfile.stageIndex(named: ref), i < stage.index {
            guard let built = stageResults[i] else { throw BuildError("stage \(ref) was not built") }
            image = built
        } else {
            image = try await resolveImage(ref, platform: platform ?? options.platform)
        }
        say(" ---> \(Self.short(image.id))\n")
        if let triggers = image.config.onBuild, !triggers.isEmpty {
            say("# Executing \(triggers.count) build trigger\(triggers.count == 1 ? "" : "s")\n")
            let s = StageState(image: image)
            s.image.config.onBuild = nil
            for t in triggers {
                let ins: Instruction
                do { ins = try Dockerfile.parseInstruction(t, line: stage.from.line, escape: dockerfile.escape) } catch {
                    throw BuildError("ONBUILD trigger \(t): \(error.message)")
                }
                try await dispatch(ins, s, counted: false)
            }
            image = s.image
        }
        return image
    }

    /// A stored image, pulled first when missing (or always with `pull`).
    func resolveImage(_ ref: String, platform: String?) async throws -> BuildImage {
        if !options.pull, let img = try await backend.image(ref) { return img }
        return try await backend.pull(ref, platform: platform, output: options.quiet ? BuildOutput(text: { _ in }) : output)
    }

    // MARK: - ARG

    static let predefinedArgs: Set<String> = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                                              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"]

    /// ARGs before the first FROM: usable in FROM lines, and as defaults for a stage's bare `ARG name`.
    func evaluateMetaArgs() throws {
        for ins in dockerfile.metaArgs {
            let cmd: Command
            do { cmd = try ins.command(env: globalArgs, escape: dockerfile.escape) } catch { throw located(BuildError(error.message), ins) }
            guard case .arg(let decls) = cmd else { continue }
            for d in decls {
                consumedArgs.insert(d.name)
                if let v = options.buildArgs[d.name] ?? nil { globalArgs[d.name] = v } else if let v = d.defaultValue { globalArgs[d.name] = v }
            }
        }
    }

    /// Variables for expansion: the stage's ARGs, overridden by the image's ENV.
    func expansionEnv(_ s: StageState) -> [String: String] {
        var env = s.args
        for kv in s.image.config.env ?? [] {
            let p = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            env[String(p[0])] = p.count > 1 ? String(p[1]) : ""
        }
        return env
    }

    // MARK: - Helpers

    /// An error that names the Dockerfile line it came from.
    func located(_ e: BuildError, _ ins: Instruction) -> BuildError {
        guard ins.line > 0 else { return e }
        var e = e
        e.message += " (Dockerfile line \(ins.line): \(ins.keyword))"
        return e
    }

    static func short(_ id: String) -> String {
        let hex = id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id
        return String(hex.prefix(12))
    }

    /// A `-t` value checked with the image store's own reference grammar before the build starts.
    static func checkTag(_ t: String) throws(BuildError) -> Reference {
        guard !t.contains("@"), let ref = try? Reference(parsing: t) else {
            throw BuildError("invalid reference format: repository name (\(t)) must be lowercase", invalidInput: true)
        }
        return ref
    }

    /// Go's %q for simple strings (the classic builder's `--label` step text).
    static func goQuote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `rel` inside `root`, refusing paths that climb out.
    static func contextPath(_ root: String, _ rel: String) throws(BuildError) -> String {
        root + "/" + (try components(rel, invalidInput: true)).joined(separator: "/")
    }

    /// A fresh path in the scratch directory.
    func scratchPath(_ what: String) -> String {
        scratchCounter += 1
        return "\(scratchDir)/\(what)-\(scratchCounter)"
    }
}
