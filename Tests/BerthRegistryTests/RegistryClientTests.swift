import Foundation
import Testing
import NIOCore
@testable import BerthRegistry
import BerthImage
import BerthTestSupport


/// A registry for the duration of `body`, stopped (and its dir removed) afterwards.
func withRegistry<T>(auth: TestRegistry.Auth = .none, _ body: (TestRegistry) async throws -> T) async throws -> T {
    let registry = try TestRegistry(auth: auth)
    defer { registry.stop() }
    return try await body(registry)
}

/// Test configuration: loopback registries over plain HTTP directly, quick retries.
let testConfig = RegistryConfiguration(retries: 2, retryDelay: .milliseconds(20), probeHTTPS: false)

func ref(_ s: String) throws -> Reference { try Reference(parsing: s) }

/// Downloads a whole blob through `fetchBlob`, hashing it here (not trusting the client's check).
func download(_ client: RegistryClient, _ reference: Reference, _ d: Descriptor, offset: Int64 = 0,
              credentials: RegistryCredentials? = nil) async throws -> (bytes: [UInt8], restarts: Int, chunks: Int) {
    var bytes: [UInt8] = []
    var restarts = 0
    var chunks = 0
    try await client.fetchBlob(reference, descriptor: d, offset: offset, verify: offset == 0, credentials: credentials) { event in
        switch event {
        case .data(let buffer):
            bytes += buffer.readableBytesView
            chunks += 1
        case .restart:
            bytes = []
            restarts += 1
        }
    }
    return (bytes, restarts, chunks)
}

@Suite(.serialized, .enabled(if: TestRegistry.available)) struct RegistryClientTests {
    @Test func ping() async throws {
        try await withRegistry { registry in
            try await RegistryClient.withClient(configuration: testConfig) { client in
                let p = try await client.ping(registry.host)
                #expect(p.status == 200)
                #expect(p.baseURL == "http://\(registry.host)")
                #expect(p.apiVersion == "registry/2.0")
            }
            // With HTTPS probing on (the default), a plain-HTTP loopback registry is still found.
            try await RegistryClient.withClient(configuration: RegistryConfiguration(retries: 0)) { client in
                let p = try await client.ping(registry.host)
                #expect(p.baseURL == "http://\(registry.host)")
            }
        }
    }

    @Test func manifestsByTagAndDigestOCIAndDocker() async throws {
        try await withTempDir { dir in
            let image = try TestImages.busybox(in: dir + "/layout", tag: "v1")
            try await withRegistry { registry in
                try registry.push(image.ociReference, to: "oci/busybox", tag: "v1")
                try registry.push(image.ociReference, to: "docker/busybox", tag: "v1", format: "v2s2")
                try await RegistryClient.withClient(configuration: testConfig) { client in
                    let byTag = try await client.fetchManifest(try ref("\(registry.host)/oci/busybox:v1"))
                    #expect(byTag.mediaType == MediaType.ociManifest)
                    #expect(byTag.digest == image.manifestDescriptor.digest)
                    #expect(byTag.bytes == image.manifestBytes)
                    let byDigest = try await client.fetchManifest(try ref("\(registry.host)/oci/busybox@\(byTag.digest)"))
                    #expect(byDigest == byTag)

                    let docker = try await client.fetchManifest(try ref("\(registry.host)/docker/busybox:v1"))
                    #expect(docker.mediaType == MediaType.dockerManifest)
                    #expect(docker.digest == Digest.sha256(of: docker.bytes))
                    let m = try JSONDecoder().decode(Manifest.self, from: Data(docker.bytes))
                    #expect(m.config.mediaType == MediaType.dockerConfig)
                    #expect(m.layers.map(\.digest) == image.manifest.layers.map(\.digest))
                    let dockerByDigest = try await client.fetchManifest(try ref("\(registry.host)/docker/busybox@\(docker.digest)"))
                    #expect(dockerByDigest.bytes == docker.bytes)

                    let resolved = try await client.resolve(try ref("\(registry.host)/docker/busybox:v1"))
                    #expect(resolved.index == nil)
                    #expect(resolved.descriptor.digest == docker.digest)
                    #expect(resolved.manifest.layers.count == 1)
                }
            }
        }
    }

    @Test func missingManifestSaysManifestUnknown() async throws {
        try await withRegistry { registry in
            try await RegistryClient.withClient(configuration: testConfig) { client in
                let r = try ref("\(registry.host)/nothing/here:nope")
                let error = await #expect(throws: RegistryError.self) { try await client.fetchManifest(r) }
                #expect(error?.description.hasPrefix("manifest for \(registry.host)/nothing/here:nope not found: manifest unknown") == true,
                        "\(String(describing: error))")
                let blob = Descriptor(mediaType: MediaType.ociLayerGzip, digest: Digest.sha256(of: [1, 2, 3]), size: 3)
                let blobError = await #expect(throws: RegistryError.self) { _ = try await download(client, r, blob) }
                #expect(blobError == .blobUnknown(repository: "\(registry.host)/nothing/here", digest: blob.digest.description))
                #expect(try await client.blobExists(r, digest: blob.digest) == false)
            }
        }
    }

    @Test func indexResolutionPerPlatform() async throws {
        try await withTempDir { dir in
            let (index, indexBytes, amd64, arm64) = try TestImages.multiPlatform(in: dir + "/layout")
            try await withRegistry { registry in
                try registry.push("oci:\(dir)/layout:multiarch", to: "multi", tag: "1", all: true)
                let r = try ref("\(registry.host)/multi:1")
                let amdConfig = RegistryConfiguration(platform: Platform(architecture: "amd64"), retries: 1, probeHTTPS: false)
                try await RegistryClient.withClient(configuration: amdConfig) { client in
                    let top = try await client.fetchManifest(r)
                    #expect(top.isIndex)
                    #expect(top.digest == index.digest)
                    #expect(top.bytes == indexBytes)

                    let a = try await client.resolve(r)
                    #expect(a.descriptor.digest == amd64.manifestDescriptor.digest)
                    #expect(a.descriptor.platform?.architecture == "amd64")
                    #expect(a.indexDescriptor?.digest == index.digest)
                    #expect(a.referenceDigest == index.digest)
                    #expect(a.manifest.config.digest == amd64.configDescriptor.digest)

                    let b = try await client.resolve(r, platform: try Platform(parsing: "linux/arm64"))
                    #expect(b.descriptor.digest == arm64.manifestDescriptor.digest)
                    #expect(b.manifest.config.digest == arm64.configDescriptor.digest)
                    #expect(b.manifest.layers == a.manifest.layers)

                    let error = await #expect(throws: ImageError.self) {
                        try await client.resolve(r, platform: try Platform(parsing: "linux/s390x"))
                    }
                    #expect(error == .noMatchingPlatform(reference: r.description, platform: "linux/s390x",
                                                         available: ["linux/amd64", "linux/arm64/v8"]))
                }
            }
        }
    }

    @Test func blobStreamingAndResume() async throws {
        try await withTempDir { dir in
            let image = try TestImages.multiLayer(in: dir + "/layout", tag: "multi")
            try await withRegistry { registry in
                try registry.push(image.ociReference, to: "layers/multi", tag: "multi")
                let r = try ref("\(registry.host)/layers/multi:multi")
                try await RegistryClient.withClient(configuration: testConfig) { client in
                    let resolved = try await client.resolve(r)
                    #expect(resolved.manifest.layers.count == 3)
                    for d in [resolved.manifest.config] + resolved.manifest.layers {
                        let got = try await download(client, r, d)
                        #expect(Int64(got.bytes.count) == d.size)
                        #expect(Digest.sha256(of: got.bytes) == d.digest)
                        #expect(got.restarts == 0)
                        #expect(got.bytes == Array(try Data(contentsOf: URL(fileURLWithPath: image.blobPath(d.digest)))))
                        #expect(try await client.blobExists(r, digest: d.digest))
                    }
                    // Resume from an offset: the registry honours Range, so only the tail comes.
                    let base = resolved.manifest.layers[0]
                    let full = try await download(client, r, base)
                    let offset = base.size / 2
                    let tail = try await download(client, r, base, offset: offset)
                    #expect(tail.restarts == 0)
                    #expect(Array(full.bytes[..<Int(offset)]) + tail.bytes == full.bytes)

                    // A descriptor with the wrong size is caught by the client.
                    let lie = Descriptor(mediaType: base.mediaType, digest: base.digest, size: base.size - 1)
                    await #expect(throws: RegistryError.self) { _ = try await download(client, r, lie) }

                    // An error thrown by the consumer ends the download and comes back unchanged.
                    struct Stop: Error, Equatable {}
                    await #expect(throws: Stop()) {
                        try await client.fetchBlob(r, descriptor: base) { _ in throw Stop() }
                    }
                }
            }
        }
    }

    @Test func tokenAuth() async throws {
        try await withTempDir { dir in
            let image = try TestImages.busybox(in: dir + "/layout")
            try await withRegistry(auth: .token(username: "alice", password: "s3cret", identityToken: "alice-refresh")) { registry in
                try registry.push(image.ociReference, to: "private/busybox", tag: "latest")
                let r = try ref("\(registry.host)/private/busybox:latest")

                try await RegistryClient.withClient(configuration: testConfig) { client in
                    let ping = try await client.ping(registry.host)
                    #expect(ping.status == 401)
                    #expect(ping.authChallenge?.hasPrefix("Bearer ") == true)

                    let anonymous = await #expect(throws: RegistryError.self) { try await client.fetchManifest(r) }
                    guard case .unauthorized(let host, let resource, let message)? = anonymous else {
                        Issue.record("expected unauthorized, got \(String(describing: anonymous))"); return
                    }
                    #expect(host == registry.host)
                    #expect(resource == r.description)
                    #expect(message.contains("authentication required"), "\(message)")

                    let wrong = await #expect(throws: RegistryError.self) {
                        try await client.fetchManifest(r, credentials: .basic(username: "alice", password: "nope"))
                    }
                    #expect(wrong?.description.contains("incorrect username or password") == true, "\(String(describing: wrong))")

                    let creds = RegistryCredentials.basic(username: "alice", password: "s3cret")
                    let m = try await client.resolve(r, credentials: creds)
                    #expect(m.descriptor.digest == image.manifestDescriptor.digest)
                    let layer = try await download(client, r, m.manifest.layers[0], credentials: creds)
                    #expect(Digest.sha256(of: layer.bytes) == m.manifest.layers[0].digest)
                    #expect(try await client.ping(registry.host, credentials: creds).status == 200)
                    // Tokens are cached per scope: the second manifest fetch needs no new token.
                    let before = registry.tokenRequests.count
                    _ = try await client.fetchManifest(r, credentials: creds)
                    #expect(registry.tokenRequests.count == before)

                    // An OAuth2 identity token is exchanged at the token service.
                    let viaRefresh = try await client.fetchManifest(r, credentials: .identityToken("alice-refresh"))
                    #expect(viaRefresh.digest == image.manifestDescriptor.digest)
                    #expect(registry.tokenRequests.contains { $0.hasPrefix("POST ") })
                }

                // Credentials from a config.json given by path.
                let authPath = dir + "/docker/config.json"
                try Fixtures.mkdirAll(dir + "/docker")
                try Fixtures.write(authPath, """
                {"auths": {"http://\(registry.host)": {"auth": "\(Data("alice:s3cret".utf8).base64EncodedString())"}}}
                """)
                try await RegistryClient.withClient(configuration: testConfig, authFile: try AuthFile.load(path: authPath)) { client in
                    let m = try await client.fetchManifest(r)
                    #expect(m.digest == image.manifestDescriptor.digest)
                    // Per-request credentials override the file.
                    await #expect(throws: RegistryError.self) {
                        try await client.fetchManifest(r, credentials: .basic(username: "alice", password: "wrong"))
                    }
                }
            }
        }
    }

    @Test func basicAuth() async throws {
        try await withTempDir { dir in
            let image = try TestImages.busybox(in: dir + "/layout")
            try await withRegistry(auth: .htpasswd(username: "bob", password: "pa55")) { registry in
                try registry.push(image.ociReference, to: "basic/busybox", tag: "latest")
                let r = try ref("\(registry.host)/basic/busybox:latest")
                try await RegistryClient.withClient(configuration: testConfig) { client in
                    let error = await #expect(throws: RegistryError.self) { try await client.fetchManifest(r) }
                    #expect(error?.description.contains("unauthorized") == true, "\(String(describing: error))")
                    await #expect(throws: RegistryError.self) {
                        try await client.fetchManifest(r, credentials: .basic(username: "bob", password: "bad"))
                    }
                    let m = try await client.fetchManifest(r, credentials: .basic(username: "bob", password: "pa55"))
                    #expect(m.digest == image.manifestDescriptor.digest)
                }
            }
        }
    }

    /// Pushes every blob of `image` and then its manifest to `target`.
    func pushImage(_ client: RegistryClient, _ image: TestImage, to target: Reference, mountFrom: Reference? = nil,
                   credentials: RegistryCredentials? = nil) async throws -> [BlobPushResult] {
        var results: [BlobPushResult] = []
        for d in [image.manifest.config] + image.manifest.layers {
            let counter = ProgressCounter()
            results.append(try await client.pushBlob(target, descriptor: d, path: image.blobPath(d.digest), mountFrom: mountFrom,
                                                     credentials: credentials, progress: { counter.set($0) }))
            #expect(counter.value == d.size)
        }
        let digest = try await client.pushManifest(target, bytes: image.manifestBytes, mediaType: MediaType.ociManifest,
                                                   credentials: credentials)
        #expect(digest == image.manifestDescriptor.digest)
        return results
    }

    @Test(arguments: [false, true]) func pushMonolithicChunkedAndMount(chunked: Bool) async throws {
        try await withTempDir { dir in
            let image = try TestImages.multiLayer(in: dir + "/layout", tag: "multi")
            try await withRegistry(auth: .token(username: "carol", password: "pw")) { registry in
                var config = testConfig
                if chunked { config.chunkSize = 4096 }
                let creds = RegistryCredentials.basic(username: "carol", password: "pw")
                try await RegistryClient.withClient(configuration: config) { client in
                    let first = try ref("\(registry.host)/pushed/one:v1")
                    let results = try await pushImage(client, image, to: first, credentials: creds)
                    #expect(results[0] == .uploadedMonolithic)   // the config is small
                    if chunked {
                        #expect(results.contains { if case .uploadedChunked(let n) = $0 { return n > 1 } else { return false } })
                    } else {
                        #expect(results.dropFirst().allSatisfy { $0 == .uploadedMonolithic })
                    }
                    // Pushing again finds everything there.
                    let again = try await pushImage(client, image, to: first, credentials: creds)
                    #expect(again.allSatisfy { $0 == .exists })
                    // Another repository of the same registry: mounted, not uploaded.
                    let second = try ref("\(registry.host)/pushed/two:v1")
                    let mounted = try await pushImage(client, image, to: second, mountFrom: first, credentials: creds)
                    #expect(mounted.allSatisfy { $0 == .mounted(from: "pushed/one") }, "\(mounted)")

                    // By digest, too.
                    let byDigest = first.withDigest(image.manifestDescriptor.digest)
                    #expect(try await client.pushManifest(byDigest, bytes: image.manifestBytes, mediaType: MediaType.ociManifest,
                                                          credentials: creds) == image.manifestDescriptor.digest)
                    let back = try await client.resolve(second, credentials: creds)
                    #expect(back.descriptor.digest == image.manifestDescriptor.digest)
                }
                // skopeo agrees about what was pushed.
                for repo in ["pushed/one:v1", "pushed/two:v1"] {
                    struct Inspect: Decodable { var Digest: String; var Layers: [String] }
                    let out = try JSONDecoder().decode(Inspect.self, from: Data(try registry.inspect(repo).utf8))
                    #expect(out.Digest == image.manifestDescriptor.digest.description)
                    #expect(out.Layers == image.manifest.layers.map(\.digest.description))
                }
            }
        }
    }

    @Test func layoutBuilders() async throws {
        try await withTempDir { dir in
            let big = try TestImages.large(in: dir + "/big", totalBytes: 3 << 20)
            #expect(big.manifest.layers.count == 4)
            #expect(big.manifest.layers.dropFirst().allSatisfy { $0.size > 1 << 20 })
            #expect(big.config.rootfs.diffIDs.count == 4)
            let custom = try TestImages.custom(in: dir + "/custom", tag: "c", layers: [[.text("hello.txt", "hi\n")]])
            #expect(custom.manifest.layers.count == 1)
            let r = try Command.run("/usr/bin/skopeo", ["--insecure-policy", "inspect", custom.ociReference])
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains(custom.manifest.layers[0].digest.description))
        }
    }

    @Test func pushRefusesWrongSizedFile() async throws {
        try await withTempDir { dir in
            try Fixtures.write(dir + "/blob", "hello")
            try await withRegistry { registry in
                try await RegistryClient.withClient(configuration: testConfig) { client in
                    let d = Descriptor(mediaType: MediaType.ociLayer, digest: Digest.sha256(of: Array("hello!".utf8)), size: 6)
                    let error = await #expect(throws: RegistryError.self) {
                        try await client.pushBlob(try ref("\(registry.host)/x/y:z"), descriptor: d, path: dir + "/blob")
                    }
                    #expect(error == .sizeMismatch(resource: "\(dir)/blob (blob \(d.digest))", expected: 6, actual: 5))
                }
            }
        }
    }
}

/// Collects progress reports from a `@Sendable` closure.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var last: Int64 = 0
    func set(_ v: Int64) { lock.lock(); last = v; lock.unlock() }
    var value: Int64 { lock.lock(); defer { lock.unlock() }; return last }
}
