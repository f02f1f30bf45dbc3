import Foundation
import Testing
import BerthImage
import BerthTestSupport
@testable import BerthWire
@testable import BerthLifecycle

// Keeps Specs/lifecycle-protocol.schema.json in step with the code: its `x-methods` are exactly the
// methods the daemon registers, and what the Swift types encode (with the wire's own encoder)
// validates against it.

/// The schema document, parsed.
private let schemaURL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Specs/lifecycle-protocol.schema.json")

private func loadSchema() throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: schemaURL))
}

/// A value as it crosses the wire: encoded with the wire's encoder, read back as generic JSON.
private func wireJSON<T: Encodable>(_ value: T) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: WireCoding.encoder().encode(value))
}

private func parse(_ text: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

private extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }

    /// A copy with `key` of the top object set to `value` (nil removes it).
    func setting(_ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var o) = self else { return self }
        o[key] = value
        return .object(o)
    }
}

// MARK: - A minimal JSON Schema (2020-12) validator

/// Supports the keywords the schema uses, and refuses a schema that uses any other (so a keyword
/// it would silently ignore cannot creep in): type (a name or a list, incl. "null"), properties,
/// required, additionalProperties (bool or schema), items, $ref (local JSON pointers), enum, const,
/// pattern, anyOf, oneOf.
struct SchemaValidator {
    static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "$ref", "enum", "const", "pattern", "anyOf", "oneOf",
    ]
    /// Keywords that only annotate.
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$comment", "$defs", "x-methods"]

    let root: JSONValue

    /// The schema a local `$ref` (`#/$defs/Name`) points at.
    func resolve(_ ref: String) -> JSONValue? {
        guard ref == "#" || ref.hasPrefix("#/") else { return nil }
        var node = root
        for token in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where !ref.dropFirst(2).isEmpty {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    /// Every way `value` breaks `schema`, with JSON paths; empty when it conforms.
    func errors(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        if case .bool(let b) = schema { return b ? [] : ["\(path): no value is allowed here"] }
        guard case .object(let s) = schema else { return ["\(path): schema is not an object or a boolean"] }
        var out: [String] = []

        if case .string(let ref)? = s["$ref"] {
            if let target = resolve(ref) { out += errors(value, target, at: path) } else { out.append("\(path): unresolvable $ref \(ref)") }
        }
        if let t = s["type"] {
            let names = t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue].compactMap { $0 }
            if !names.contains(where: { Self.hasType(value, $0) }) {
                out.append("\(path): expected \(names.joined(separator: " or ")), got \(Self.typeName(value))")
            }
        }
        if case .array(let options)? = s["enum"], !options.contains(value) {
            out.append("\(path): \(Self.show(value)) is not one of \(options.map(Self.show))")
        }
        if let c = s["const"], c != value {
            out.append("\(path): \(Self.show(value)) is not \(Self.show(c))")
        }
        if case .string(let pattern)? = s["pattern"], case .string(let str) = value {
            if let re = try? NSRegularExpression(pattern: pattern) {
                if re.firstMatch(in: str, range: NSRange(str.startIndex..., in: str)) == nil {
                    out.append("\(path): \(Self.show(value)) does not match \(pattern)")
                }
            } else {
                out.append("\(path): bad pattern \(pattern)")
            }
        }
        if case .object(let obj) = value {
            let props = s["properties"]?.objectValue ?? [:]
            for (key, sub) in props { if let v = obj[key] { out += errors(v, sub, at: "\(path).\(key)") } }
            for case .string(let key) in s["required"]?.arrayValue ?? [] where obj[key] == nil {
                out.append("\(path): missing required key \"\(key)\"")
            }
            if let extra = s["additionalProperties"] {
                for (key, v) in obj where props[key] == nil { out += errors(v, extra, at: "\(path).\(key)") }
            }
        }
        if case .array(let items) = value, let itemSchema = s["items"] {
            for (i, v) in items.enumerated() { out += errors(v, itemSchema, at: "\(path)[\(i)]") }
        }
        if let anyOf = s["anyOf"]?.arrayValue {
            let results = anyOf.map { errors(value, $0, at: path) }
            if !results.contains(where: \.isEmpty) {
                out.append("\(path): matches none of anyOf (\(results.flatMap { $0 }.joined(separator: "; ")))")
            }
        }
        if let oneOf = s["oneOf"]?.arrayValue {
            let results = oneOf.map { errors(value, $0, at: path) }
            let passing = results.filter(\.isEmpty).count
            if passing != 1 {
                out.append("\(path): matches \(passing) of oneOf, not exactly 1" + (passing == 0 ? " (\(results.flatMap { $0 }.joined(separator: "; ")))" : ""))
            }
        }
        return out
    }

    /// Walks every subschema: reports keywords this validator does not implement and `$ref`s that
    /// do not resolve.
    func audit(_ schema: JSONValue, at path: String = "#") -> [String] {
        if case .bool = schema { return [] }
        guard case .object(let s) = schema else { return ["\(path): schema is not an object or a boolean"] }
        var out: [String] = []
        for key in s.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            out.append("\(path): unsupported keyword \(key)")
        }
        if case .string(let ref)? = s["$ref"], resolve(ref) == nil { out.append("\(path): unresolvable $ref \(ref)") }
        for (name, sub) in s["$defs"]?.objectValue ?? [:] { out += audit(sub, at: "\(path)/$defs/\(name)") }
        for (name, sub) in s["properties"]?.objectValue ?? [:] { out += audit(sub, at: "\(path)/properties/\(name)") }
        if let sub = s["additionalProperties"] { out += audit(sub, at: "\(path)/additionalProperties") }
        if let sub = s["items"] { out += audit(sub, at: "\(path)/items") }
        for k in ["anyOf", "oneOf"] {
            for (i, sub) in (s[k]?.arrayValue ?? []).enumerated() { out += audit(sub, at: "\(path)/\(k)/\(i)") }
        }
        for (method, entry) in s["x-methods"]?.objectValue ?? [:] {
            for (role, sub) in entry.objectValue ?? [:] { out += audit(sub, at: "\(path)/x-methods/\(method)/\(role)") }
        }
        return out
    }

    static func hasType(_ v: JSONValue, _ name: String) -> Bool {
        switch (name, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .int), ("number", .int), ("number", .double): return true
        case ("integer", .double(let d)): return d.rounded() == d
        default: return false
        }
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    static func show(_ v: JSONValue) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: e.encode(v), as: UTF8.self)) ?? "\(v)"
    }
}

// MARK: - Samples: real Swift values of every params, result and event type, per method

struct MethodSamples {
    var params: [any Encodable]
    var results: [any Encodable]
    var progress: [ProgressEvent] = []
}

private func digest(_ seed: String) -> String { fakeDigest(seed).description }

private func sampleInspect(full: Bool) -> ImageInspect {
    let diffIDs = [fakeDigest("layer-1"), fakeDigest("layer-2")]
    let chain = ChainID.of(diffIDs)
    var config = ContainerConfig()
    if full {
        config.user = "app"
        config.exposedPorts = ["80/tcp": EmptyObject(), "53/udp": EmptyObject()]
        config.env = ["PATH=/usr/bin:/bin", "A=b"]
        config.entrypoint = ["/docker-entrypoint.sh"]
        config.cmd = ["/bin/app", "--serve"]
        config.volumes = ["/data": EmptyObject()]
        config.workingDir = "/srv"
        config.labels = ["team": "core"]
        config.stopSignal = "SIGTERM"
        config.argsEscaped = true
        var health = HealthConfig()
        health.test = ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]
        health.interval = 30_000_000_000; health.timeout = 5_000_000_000
        health.startPeriod = 1_000_000_000; health.startInterval = 500_000_000; health.retries = 3
        config.healthcheck = health
        config.onBuild = ["RUN make"]
        config.shell = ["/bin/sh", "-c"]
    }
    let layers = zip(diffIDs, chain).map { d, c in
        LayerInfo(digest: digest("blob-\(d)"), mediaType: MediaType.ociLayer, size: 1234, diffID: d.description, chainID: c.description)
    }
    return ImageInspect(
        id: digest("config"), repoTags: full ? ["busybox:latest"] : [], repoDigests: full ? ["busybox@\(digest("manifest"))"] : [],
        created: full ? "2024-05-01T12:00:00Z" : nil, author: full ? "someone" : nil, comment: full ? "imported" : nil,
        config: full ? config : nil, architecture: "amd64", variant: full ? "v8" : nil, os: "linux", size: 4_200_000,
        rootFS: RootFS(diffIDs: diffIDs), manifestDigest: digest("manifest"), manifestMediaType: MediaType.ociManifest,
        layers: full ? layers : [], topChainID: full ? chain.last?.description : nil, chainIDs: full ? chain.map(\.description) : [])
}

private let fullAuth = RegistryAuth(username: "u", password: "p", identityToken: "it", registryToken: "rt", serverAddress: "https://index.docker.io/v1/")

private func samples() -> [String: MethodSamples] {
    [
        "system.ping": MethodSamples(params: [Empty()], results: [PingResult(version: BerthVersion.string)]),
        "system.info": MethodSamples(params: [Empty()], results: [SystemInfo(version: BerthVersion.string, root: "/var/lib/berth", images: 2, snapshots: 3, leases: 0)]),
        "system.gc": MethodSamples(params: [Empty()], results: [GCSummary(blobs: 1, snapshots: 2, bytes: 4096)]),
        "image.pull": MethodSamples(
            params: [ImagePullParams(reference: "busybox"),
                     ImagePullParams(reference: "127.0.0.1:5000/app:1", platform: "linux/arm64/v8", auth: fullAuth),
                     ImagePullParams(reference: "busybox", auth: RegistryAuth(identityToken: "t"))],
            results: [ImagePullResult(reference: "docker.io/library/busybox:latest", id: digest("config"), digest: digest("index"),
                                      status: "Downloaded newer image for busybox:latest")],
            progress: [ProgressEvent(status: "Pulling from library/busybox"), ProgressEvent(id: "a3ed95caeb02", status: "Pulling fs layer"),
                       ProgressEvent(id: "a3ed95caeb02", status: "Downloading", current: 1024, total: 2_000_000),
                       ProgressEvent(status: "Digest: \(digest("index"))")]),
        "image.push": MethodSamples(
            params: [ImagePushParams(reference: "127.0.0.1:5000/app:1"), ImagePushParams(reference: "app:1", auth: fullAuth)],
            results: [ImagePushResult(reference: "127.0.0.1:5000/app:1", digest: digest("manifest"), size: 527)],
            progress: [ProgressEvent(status: "The push refers to repository [127.0.0.1:5000/app]"),
                       ProgressEvent(id: "a3ed95caeb02", status: "Pushing", current: 10, total: 20),
                       ProgressEvent(id: "a3ed95caeb02", status: "Pushed"),
                       ProgressEvent(status: "1: digest: \(digest("manifest")) size: 527")]),
        "image.list": MethodSamples(
            params: [ImageListParams(),
                     ImageListParams(filters: ["reference": ["busy*"], "dangling": ["false"], "label": ["team=core"],
                                               "before": ["app:2"], "since": ["app:1"]], all: true)],
            results: [[ImageSummary](),
                      [ImageSummary(id: digest("config"), repoTags: ["busybox:latest"], repoDigests: ["busybox@\(digest("m"))"],
                                    created: 1_700_000_000, size: 4_200_000, labels: ["team": "core"], containers: 1),
                       ImageSummary(id: digest("dangling"), repoTags: [], repoDigests: [], created: 0, size: 0, labels: [:], containers: 0)]]),
        "image.inspect": MethodSamples(params: [ImageRefParams(reference: "busybox")], results: [sampleInspect(full: true), sampleInspect(full: false)]),
        "image.history": MethodSamples(
            params: [ImageRefParams(reference: digest("config"))],
            results: [[HistoryEntry(id: digest("config"), created: 1_700_000_000, createdBy: "/bin/sh -c #(nop) CMD [\"sh\"]",
                                    tags: ["busybox:latest"], size: 0, comment: ""),
                       HistoryEntry(id: "<missing>", created: 1_699_999_999, createdBy: "/bin/sh -c #(nop) ADD file:abc in / ",
                                    tags: [], size: 4_200_000, comment: "imported")]]),
        "image.tag": MethodSamples(params: [ImageTagParams(source: "busybox", target: "mine:1")], results: [Empty()]),
        "image.remove": MethodSamples(
            params: [ImageRemoveParams(reference: "busybox"), ImageRemoveParams(reference: "busybox", force: true, noPrune: false)],
            results: [[ImageDeleteItem(untagged: "busybox:latest"), ImageDeleteItem(deleted: digest("config")),
                       ImageDeleteItem(deleted: digest("chain"))], [ImageDeleteItem]()]),
        "image.prune": MethodSamples(
            params: [ImagePruneParams(), ImagePruneParams(all: true, filters: ["dangling": ["false"], "label": ["team"]])],
            results: [ImagePruneResult(deleted: [ImageDeleteItem(untagged: "app:1"), ImageDeleteItem(deleted: digest("x"))], spaceReclaimed: 4096),
                      ImagePruneResult(deleted: [], spaceReclaimed: 0)]),
        "image.import": MethodSamples(
            params: [ImageImportParams(path: "/tmp/rootfs.tar"),
                     ImageImportParams(path: "/tmp/fifo", reference: "app:1", message: "hello", changes: [#"CMD ["sh"]"#, "ENV A=b"],
                                       platform: "linux/amd64")],
            results: [ImageIDResult(id: digest("config"))],
            progress: [ProgressEvent(status: "Importing", current: 100, total: 100)]),
        "image.save": MethodSamples(params: [ImageSaveParams(references: ["busybox", "app:1"], path: "/tmp/out.tar")], results: [Empty()]),
        "image.load": MethodSamples(
            params: [ImageLoadParams(path: "/tmp/in.tar")],
            results: [ImageLoadResult(loaded: ["busybox:latest", digest("untagged")]), ImageLoadResult(loaded: [])],
            progress: [ProgressEvent(status: "Loaded image: busybox:latest")]),
        "snapshot.prepare": MethodSamples(
            params: [SnapshotPrepareParams(key: "c1", image: "busybox")],
            results: [SnapshotMount(type: "overlay", lowerDirs: ["/var/lib/berth/snapshots/2/fs", "/var/lib/berth/snapshots/1/fs"],
                                    upperDir: "/var/lib/berth/snapshots/3/fs", workDir: "/var/lib/berth/snapshots/3/work",
                                    options: "lowerdir=/a:/b,upperdir=/c,workdir=/d")]),
        "snapshot.remove": MethodSamples(params: [SnapshotKeyParams(key: "c1")], results: [Empty()]),
    ]
}

// MARK: - Tests

@Suite("Lifecycle protocol schema")
struct LifecycleProtocolSchemaTests {
    let schema: JSONValue
    let validator: SchemaValidator
    let methods: [String: JSONValue]

    init() throws {
        schema = try loadSchema()
        validator = SchemaValidator(root: schema)
        methods = schema["x-methods"]?.objectValue ?? [:]
    }

    /// The method's schema for `role` (params, result, progress).
    func methodSchema(_ method: String, _ role: String) throws -> JSONValue {
        try #require(methods[method]?[role], "x-methods.\(method).\(role) is missing")
    }

    @Test func methodsAreExactlyWhatTheDaemonRegisters() async throws {
        let registered = try await withTempDir { dir in
            let daemon = try LifecycleDaemon(options: DaemonOptions(
                root: dir + "/root", runRoot: dir + "/run", socket: dir + "/lifecycle.sock", authFile: dir + "/no-auth.json"))
            let names = daemon.router().methods
            await daemon.shutdown()
            return names
        }
        #expect(registered.count == 16)
        #expect(Set(methods.keys) == Set(registered),
                "only in the schema: \(Set(methods.keys).subtracting(registered).sorted()); only registered: \(Set(registered).subtracting(methods.keys).sorted())")
        for (name, entry) in methods {
            let roles = Set(entry.objectValue?.keys.map { $0 } ?? [])
            #expect(roles.isSuperset(of: ["params", "result"]), "\(name) lacks params or result")
            #expect(roles.isSubset(of: ["params", "result", "progress"]), "\(name) has unknown entries \(roles.sorted())")
        }
    }

    @Test func schemaUsesOnlyWhatTheValidatorImplements() throws {
        #expect(schema["$schema"]?.stringValue == "https://json-schema.org/draft/2020-12/schema")
        let problems = validator.audit(schema)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func everyMethodHasSamples() throws {
        let s = samples()
        #expect(Set(s.keys) == Set(methods.keys))
        for (name, m) in s {
            // Progress appears in x-methods exactly for the methods that stream it.
            #expect((methods[name]?["progress"] != nil) == !m.progress.isEmpty, "\(name): progress entry and samples disagree")
        }
    }

    @Test(arguments: ["system.ping", "system.info", "system.gc", "image.pull", "image.push", "image.list", "image.inspect", "image.history",
                      "image.tag", "image.remove", "image.prune", "image.import", "image.save", "image.load", "snapshot.prepare", "snapshot.remove"])
    func samplesValidate(method: String) throws {
        let m = try #require(samples()[method])
        for p in m.params {
            let json = try wireJSON(p)
            let errs = validator.errors(json, try methodSchema(method, "params"))
            #expect(errs.isEmpty, "\(method) params \(SchemaValidator.show(json)): \(errs)")
        }
        for r in m.results {
            let json = try wireJSON(r)
            let errs = validator.errors(json, try methodSchema(method, "result"))
            #expect(errs.isEmpty, "\(method) result \(SchemaValidator.show(json)): \(errs)")
            // And as a whole response line.
            let line = try wireJSON(ResultEnvelope(id: 7, result: AnyEncodable(r)))
            #expect(validator.errors(line, schema).isEmpty, "\(method) response: \(validator.errors(line, schema))")
        }
        for e in m.progress {
            let json = try wireJSON(e)
            #expect(validator.errors(json, try methodSchema(method, "progress")).isEmpty, "\(method) progress \(SchemaValidator.show(json))")
        }
        if let p = m.params.first {
            let line = try wireJSON(Request(id: 7, method: method, params: AnyEncodable(p)))
            #expect(validator.errors(line, schema).isEmpty, "\(method) request: \(validator.errors(line, schema))")
        }
    }

    @Test func envelopesValidate() throws {
        let lines: [JSONValue] = [
            try wireJSON(ErrorEnvelope(id: nil, error: .parse("not a JSON-RPC request"))),
            try wireJSON(ErrorEnvelope(id: 3, error: .notFound("No such image: nope:latest"))),
            try wireJSON(ErrorEnvelope(id: 4, error: .methodNotFound("image.nope"))),
            try wireJSON(NotificationEnvelope(method: Wire.progressMethod,
                                              params: ProgressParams(id: 7, event: ProgressEvent(id: "a3ed95caeb02", status: "Extracting", current: 1, total: 2)))),
            try wireJSON(Request(id: 1, method: "system.ping", params: Empty())),
            try wireJSON(ResultEnvelope(id: 1, result: Empty())),
        ]
        for line in lines {
            let errs = validator.errors(line, schema)
            #expect(errs.isEmpty, "\(SchemaValidator.show(line)): \(errs)")
        }
        // The error envelope really sends "id": null, and the schema's ErrorResponse names it.
        #expect(lines[0]["id"] == .null)
        #expect(validator.errors(lines[0], .object(["$ref": .string("#/$defs/ErrorResponse")])).isEmpty)
        #expect(validator.errors(try wireJSON(WireError(code: 409, message: "conflict")), .object(["$ref": .string("#/$defs/WireError")])).isEmpty)
    }

    /// What the daemon really answers, through its own router and a socket: an import, then every
    /// method that needs no registry, each result (and progress event) checked against the schema.
    @Test func liveResponsesValidate() async throws {
        try await withTempDir { dir in
            let daemon = try LifecycleDaemon(options: DaemonOptions(
                root: dir + "/root", runRoot: dir + "/run", socket: dir + "/lifecycle.sock", authFile: dir + "/no-auth.json"))
            let server = try await WireServer.start(path: daemon.options.socket, router: daemon.router())
            let client = try await WireClient.connect(path: server.path)
            func check<P: Encodable & Sendable>(_ method: String, _ params: P) async throws {
                let events = Recorder<RawJSON>()
                let raw = try await client.call(method, params, returning: RawJSON.self, progress: RawJSON.self) { events.append($0) }
                let result = try parse(raw.text)
                let errs = validator.errors(result, try methodSchema(method, "result"))
                #expect(errs.isEmpty, "\(method) result \(raw.text): \(errs)")
                if !events.values.isEmpty {
                    let progress = try methodSchema(method, "progress")
                    for e in events.values {
                        #expect(validator.errors(try parse(e.text), progress).isEmpty, "\(method) progress \(e.text)")
                    }
                }
            }
            do {
                let tar = try makeTar(in: dir, name: "a", files: ["etc/hello.txt": "hello\n", "usr/share/a": "aaa"])
                try await check("image.import", ImageImportParams(
                    path: tar, reference: "app:1", message: "first",
                    changes: [#"CMD ["/bin/app"]"#, #"ENTRYPOINT ["/init"]"#, "ENV A=b", "WORKDIR /srv", "USER app", "LABEL team=core",
                              "EXPOSE 80/tcp", "VOLUME /data", "STOPSIGNAL SIGTERM"]))
                try await check("image.import", ImageImportParams(path: tar))
                try await check("system.ping", Empty())
                try await check("system.info", Empty())
                try await check("image.tag", ImageTagParams(source: "app:1", target: "app:2"))
                try await check("image.list", ImageListParams())
                try await check("image.list", ImageListParams(filters: ["dangling": ["true"]], all: true))
                try await check("image.inspect", ImageRefParams(reference: "app:1"))
                try await check("image.history", ImageRefParams(reference: "app:1"))
                try await check("snapshot.prepare", SnapshotPrepareParams(key: "c1", image: "app:1"))
                try await check("snapshot.remove", SnapshotKeyParams(key: "c1"))
                try await check("image.save", ImageSaveParams(references: ["app:1"], path: dir + "/saved.tar"))
                try await check("image.remove", ImageRemoveParams(reference: "app:2"))
                try await check("image.remove", ImageRemoveParams(reference: "app:1"))
                try await check("image.load", ImageLoadParams(path: dir + "/saved.tar"))
                try await check("image.prune", ImagePruneParams(all: true))
                try await check("system.gc", Empty())
            } catch {
                await client.close(); await server.close(); await daemon.shutdown()
                throw error
            }
            await client.close(); await server.close(); await daemon.shutdown()
        }
    }

    // MARK: the validator can fail

    @Test func missingRequiredKeysAndWrongTypesFail() throws {
        let pull = try wireJSON(samples()["image.pull"]!.results[0])
        let pullSchema = try methodSchema("image.pull", "result")
        #expect(validator.errors(pull, pullSchema).isEmpty)

        let noID = validator.errors(pull.setting("id", nil), pullSchema)
        #expect(noID.contains { $0.contains("missing required key \"id\"") }, "\(noID)")
        #expect(!validator.errors(pull.setting("status", .int(1)), pullSchema).isEmpty)
        #expect(!validator.errors(pull.setting("digest", .string("sha256:abc")), pullSchema).isEmpty)
        #expect(!validator.errors(pull.setting("extra", .bool(true)), pullSchema).isEmpty)
        #expect(!validator.errors(.array([pull]), pullSchema).isEmpty)

        let summary = try wireJSON(ImageSummary(id: digest("c"), repoTags: [], repoDigests: [], created: 1, size: 2, labels: [:], containers: 0))
        let listSchema = try methodSchema("image.list", "result")
        #expect(validator.errors(.array([summary]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("size", .string("2"))]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("created", .double(1.5))]), listSchema).isEmpty)
        #expect(!validator.errors(.array([summary.setting("repoTags", .array([.int(1)]))]), listSchema).isEmpty)

        // Docker's capitalised keys: a lowercase "cmd" is not part of ContainerConfig.
        let inspect = try wireJSON(sampleInspect(full: true))
        let inspectSchema = try methodSchema("image.inspect", "result")
        #expect(validator.errors(inspect, inspectSchema).isEmpty)
        let config = try #require(inspect["config"])
        #expect(config["Cmd"] != nil)
        #expect(!validator.errors(inspect.setting("config", config.setting("cmd", .array([.string("sh")]))), inspectSchema).isEmpty)
        let rootFS = try #require(inspect["rootFS"])
        #expect(!validator.errors(inspect.setting("rootFS", rootFS.setting("diff_ids", nil)), inspectSchema).isEmpty)
        #expect(!validator.errors(inspect.setting("rootFS", rootFS.setting("diff_ids", .array([.string("sha512:00")]))), inspectSchema).isEmpty)

        // ImageDeleteItem: exactly one of untagged / deleted.
        let removeSchema = try methodSchema("image.remove", "result")
        #expect(!validator.errors(.array([.object([:])]), removeSchema).isEmpty)
        #expect(!validator.errors(.array([.object(["untagged": .string("a:1"), "deleted": .string(digest("x"))])]), removeSchema).isEmpty)

        // HistoryEntry's id: a digest or "<missing>".
        let history = try wireJSON(samples()["image.history"]!.results[0] as! [HistoryEntry])
        let historySchema = try methodSchema("image.history", "result")
        #expect(validator.errors(history, historySchema).isEmpty)
        let bad = history.arrayValue!.map { $0.setting("id", .string("missing")) }
        #expect(!validator.errors(.array(bad), historySchema).isEmpty)

        // Envelopes: a string id, the wrong jsonrpc version, a response with both result and error.
        let error = try wireJSON(ErrorEnvelope(id: 1, error: .notFound("x")))
        #expect(validator.errors(error, schema).isEmpty)
        #expect(!validator.errors(error.setting("id", .string("1")), schema).isEmpty)
        #expect(!validator.errors(error.setting("jsonrpc", .string("1.0")), schema).isEmpty)
        #expect(!validator.errors(error.setting("result", .object([:])), schema).isEmpty)
        #expect(!validator.errors(error.setting("error", .object(["code": .int(1)])), schema).isEmpty)
        let progress = try wireJSON(NotificationEnvelope(method: Wire.progressMethod, params: ProgressParams(id: 1, event: ProgressEvent(status: "x"))))
        #expect(validator.errors(progress, schema).isEmpty)
        #expect(!validator.errors(progress.setting("method", .string("image.pull")), schema).isEmpty)
        #expect(!validator.errors(progress.setting("params", .object(["id": .int(1), "event": .object(["current": .int(1)])])), schema).isEmpty)

        // Params: a missing required key, a malformed platform, an unknown list filter.
        let pullParams = try methodSchema("image.pull", "params")
        #expect(!validator.errors(.object([:]), pullParams).isEmpty)
        #expect(!validator.errors(.object(["reference": .string("a"), "platform": .string("linux")]), pullParams).isEmpty)
        #expect(!validator.errors(.object(["filters": .object(["nope": .array([])])]), try methodSchema("image.list", "params")).isEmpty)
    }

    @Test func validatorBasics() {
        let v = SchemaValidator(root: .object([:]))
        func ok(_ value: JSONValue, _ schema: [String: JSONValue]) -> Bool { v.errors(value, .object(schema)).isEmpty }
        #expect(ok(.int(3), ["type": .string("integer")]))
        #expect(ok(.double(3.0), ["type": .string("integer")]))
        #expect(!ok(.double(3.5), ["type": .string("integer")]))
        #expect(!ok(.bool(true), ["type": .string("integer")]))
        #expect(ok(.null, ["type": .array([.string("integer"), .string("null")])]))
        #expect(!ok(.string("x"), ["type": .array([.string("integer"), .string("null")])]))
        #expect(ok(.string("b"), ["enum": .array([.string("a"), .string("b")])]))
        #expect(!ok(.string("c"), ["enum": .array([.string("a"), .string("b")])]))
        #expect(!ok(.string("xy"), ["pattern": .string("^x$")]))
        #expect(!ok(.int(1), ["$ref": .string("#/$defs/Nope")]))
        #expect(!ok(.int(1), ["oneOf": .array([.object([:]), .object(["type": .string("integer")])])]))
        #expect(ok(.int(1), ["anyOf": .array([.object(["type": .string("string")]), .object(["type": .string("integer")])])]))
        #expect(!ok(.object(["a": .int(1)]), ["additionalProperties": .bool(false)]))
        #expect(!ok(.array([.int(1), .string("x")]), ["items": .object(["type": .string("integer")])]))
        #expect(v.audit(.object(["minimum": .int(1)])) == ["#: unsupported keyword minimum"])
    }
}

/// Lets an existential sample go where the wire's generic envelopes want a concrete type.
private struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
