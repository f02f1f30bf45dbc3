import Foundation
import AsyncHTTPClient
import BerthImage
import NIOCore
import NIOHTTP1

/// A manifest or index as the registry served it.
public struct FetchedManifest: Sendable, Equatable {
    /// The exact bytes: what the digest is computed over, and what a content store keeps.
    public var bytes: [UInt8]
    /// From `Content-Type`, else from the document's own `mediaType`.
    public var mediaType: String
    /// sha256 of `bytes`.
    public var digest: Digest

    /// A descriptor of this manifest.
    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count)) }
    /// Whether this is an OCI index or a Docker manifest list.
    public var isIndex: Bool { MediaType.isIndex(mediaType) }
}

/// An image reference followed to the manifest for one platform.
public struct ResolvedImage: Sendable, Equatable {
    /// The platform manifest's descriptor (with the index entry's platform when there was an index).
    public var descriptor: Descriptor
    public var manifest: Manifest
    public var manifestBytes: [UInt8]
    /// The index or manifest list the reference named, when it named one.
    public var index: Index?
    public var indexBytes: [UInt8]?
    public var indexDescriptor: Descriptor?

    /// The digest `docker pull` reports: the index's when there was one, else the manifest's.
    public var referenceDigest: Digest { indexDescriptor?.digest ?? descriptor.digest }
}

/// One step of a blob download.
public enum BlobStreamEvent: Sendable {
    /// The next bytes of the blob, in order.
    case data(ByteBuffer)
    /// The registry could not resume where the stream broke off: discard everything received so far
    /// (including bytes before the `offset` passed in) — the blob starts again from byte 0.
    case restart
}

extension RegistryClient {
    /// `GET /v2/<name>/manifests/<tag|digest>`, accepting OCI and Docker manifests and indexes.
    /// When fetched by digest the bytes are verified against it; by tag, against `Docker-Content-Digest`
    /// when the registry sends one. Throws `RegistryError.manifestUnknown` on 404.
    public func fetchManifest(_ reference: Reference, credentials: RegistryCredentials? = nil) async throws -> FetchedManifest {
        let creds = self.credentials(for: reference, credentials)
        let host = reference.registryHost
        let tagOrDigest = reference.digest?.description ?? reference.tag ?? Reference.defaultTag
        let resource = reference.description
        return try await withRetries {
            var headers = HTTPHeaders()
            headers.add(name: "Accept", value: MediaType.manifestAccept.joined(separator: ", "))
            let response = try await perform(.GET, host: host, path: "/v2/\(reference.path)/manifests/\(tagOrDigest)",
                                             scope: .pull(reference.path), headers: headers, credentials: creds, resource: resource)
            guard response.status == .ok else {
                let body = await drain(response)
                throw statusError(response, body, host: host, method: "GET", resource: resource,
                                  notFound: .manifestUnknown(reference: resource, message: RegistryErrorBody.summary(body) ?? ""))
            }
            let limit = configuration.maxManifestSize
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                throw RegistryError.manifestTooLarge(reference: resource, limit: limit)
            }
            var bytes: [UInt8] = []
            do {
                for try await chunk in response.body {
                    bytes += chunk.readableBytesView
                    if bytes.count > limit { throw RegistryError.manifestTooLarge(reference: resource, limit: limit) }
                }
            } catch let e as RegistryError {
                throw e
            } catch {
                throw RegistryError.transport(host: host, resource: resource, reason: describe(error))
            }
            let digest = Digest.sha256(of: bytes)
            if let want = reference.digest, want.algorithm == "sha256", want != digest {
                throw RegistryError.digestMismatch(resource: resource, expected: want.description, actual: digest.description)
            }
            if let header = response.headers.first(name: "Docker-Content-Digest"), let said = try? Digest(parsing: header),
               said.algorithm == "sha256", said != digest {
                throw RegistryError.digestMismatch(resource: resource, expected: said.description, actual: digest.description)
            }
            let mediaType = manifestMediaType(header: response.headers.first(name: "Content-Type"), bytes: bytes)
            return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
        }
    }

    /// Fetches `reference` and, when it is an index or manifest list, the manifest for `platform`
    /// (default: the configuration's). Throws `ImageError.noMatchingPlatform` listing what is there.
    public func resolve(_ reference: Reference, platform: Platform? = nil,
                        credentials: RegistryCredentials? = nil) async throws -> ResolvedImage {
        let want = platform ?? configuration.platform
        let top = try await fetchManifest(reference, credentials: credentials)
        guard top.isIndex else {
            let manifest = try decodeManifest(top, reference: reference)
            return ResolvedImage(descriptor: top.descriptor, manifest: manifest, manifestBytes: top.bytes)
        }
        let index = try CanonicalJSON.decode(Index.self, from: top.bytes, what: "index", digest: top.digest)
        guard var entry = index.select(want) else {
            let available = index.manifests.compactMap { $0.platform?.description }
            throw ImageError.noMatchingPlatform(reference: reference.description, platform: want.description, available: available)
        }
        let child = try await fetchManifest(reference.withDigest(entry.digest), credentials: credentials)
        let manifest = try decodeManifest(child, reference: reference.withDigest(entry.digest))
        entry.mediaType = child.mediaType
        return ResolvedImage(descriptor: entry, manifest: manifest, manifestBytes: child.bytes,
                             index: index, indexBytes: top.bytes, indexDescriptor: top.descriptor)
    }

    private func decodeManifest(_ m: FetchedManifest, reference: Reference) throws -> Manifest {
        guard MediaType.isManifest(m.mediaType) else { throw ImageError.unsupportedMediaType("\(m.mediaType) (\(reference))") }
        return try CanonicalJSON.decode(Manifest.self, from: m.bytes, what: "manifest", digest: m.digest)
    }

    /// `HEAD /v2/<name>/blobs/<digest>`: whether the repository of `reference` has the blob.
    public func blobExists(_ reference: Reference, digest: Digest, credentials: RegistryCredentials? = nil) async throws -> Bool {
        try await blobExists(reference, digest: digest, scope: .pull(reference.path), credentials: self.credentials(for: reference, credentials))
    }

    func blobExists(_ reference: Reference, digest: Digest, scope: AuthScope, credentials: RegistryCredentials?) async throws -> Bool {
        let resource = "\(reference.repository)@\(digest)"
        let host = reference.registryHost
        return try await withRetries {
            let r = try await perform(.HEAD, host: host, path: "/v2/\(reference.path)/blobs/\(digest)", scope: scope,
                                      credentials: credentials, resource: resource)
            _ = await drain(r)
            switch r.status.code {
            case 200: return true
            case 404: return false
            default: throw statusError(r, [], host: host, method: "HEAD", resource: resource)
            }
        }
    }

    /// Streams blob `descriptor` of the repository of `reference` to `body`, starting at byte `offset`
    /// (to resume a partial download), without holding it in memory.
    ///
    /// Transient failures (connection errors, 429, 5xx, a stream cut short) are retried, resuming with
    /// `Range` from the last byte delivered; when the registry ignores `Range`, `body` first receives
    /// `.restart` and then the blob from byte 0. With `verify` and `offset == 0` (or after a restart)
    /// the blob is hashed and checked against `descriptor.digest`; otherwise the caller must check.
    /// Errors thrown by `body` end the download and are rethrown as they are.
    public func fetchBlob(_ reference: Reference, descriptor: Descriptor, offset: Int64 = 0, verify: Bool = true,
                          credentials: RegistryCredentials? = nil,
                          body: (BlobStreamEvent) async throws -> Void) async throws {
        await downloads.acquire()
        do {
            try await streamBlob(reference, descriptor: descriptor, offset: offset, verify: verify,
                                 credentials: self.credentials(for: reference, credentials), body: body)
        } catch {
            await downloads.release()
            throw error
        }
        await downloads.release()
    }

    private struct CallerError: Error { var underlying: any Error }

    private func streamBlob(_ reference: Reference, descriptor: Descriptor, offset: Int64, verify: Bool,
                            credentials: RegistryCredentials?, body: (BlobStreamEvent) async throws -> Void) async throws {
        let host = reference.registryHost
        let digest = descriptor.digest
        let resource = "\(reference.repository)@\(digest)"
        let size = descriptor.size
        let canHash = verify && digest.algorithm == "sha256"
        var position = max(0, offset)
        var hasher: DigestHasher? = canHash && position == 0 ? DigestHasher() : nil
        var attempt = 0
        if size >= 0, position >= size, position > 0 { return }

        func deliver(_ event: BlobStreamEvent) async throws {
            do { try await body(event) } catch { throw CallerError(underlying: error) }
        }

        while true {
            do {
                var headers = HTTPHeaders()
                if position > 0 { headers.add(name: "Range", value: "bytes=\(position)-") }
                let response = try await perform(.GET, host: host, path: "/v2/\(reference.path)/blobs/\(digest)",
                                                 scope: .pull(reference.path), headers: headers, credentials: credentials,
                                                 resource: resource, timeout: .hours(24))
                switch response.status.code {
                case 200:
                    if position > 0 {
                        try await deliver(.restart)
                        position = 0
                        hasher = canHash ? DigestHasher() : nil
                    }
                case 206:
                    let start = contentRangeStart(response.headers.first(name: "Content-Range"))
                    guard start == position else {
                        _ = await drain(response)
                        throw RegistryError.invalidResponse(host: host, resource: resource,
                                                            reason: "asked for bytes from \(position), got Content-Range \(response.headers.first(name: "Content-Range") ?? "none")")
                    }
                case 416 where position == size:
                    _ = await drain(response)
                    return
                default:
                    let bytes = await drain(response)
                    throw statusError(response, bytes, host: host, method: "GET", resource: resource,
                                      notFound: .blobUnknown(repository: reference.repository, digest: digest.description))
                }
                do {
                    for try await chunk in response.body {
                        let n = Int64(chunk.readableBytes)
                        guard position + n <= size else {
                            throw RegistryError.sizeMismatch(resource: resource, expected: size, actual: position + n)
                        }
                        if hasher != nil { chunk.withUnsafeReadableBytes { hasher?.update($0) } }
                        try await deliver(.data(chunk))
                        position += n
                    }
                } catch let e as CallerError {
                    throw e
                } catch let e as RegistryError {
                    throw e
                } catch let e as CancellationError {
                    throw e
                } catch {
                    throw RegistryError.transport(host: host, resource: resource,
                                                  reason: "\(describe(error)) after \(position) of \(size) bytes")
                }
                guard position == size else {
                    throw RegistryError.transport(host: host, resource: resource,
                                                  reason: "stream ended after \(position) of \(size) bytes")
                }
                if let hasher {
                    let got = hasher.finalize()
                    guard got == digest else {
                        throw RegistryError.digestMismatch(resource: resource, expected: digest.description, actual: got.description)
                    }
                }
                return
            } catch let e as CallerError {
                throw e.underlying
            } catch let e as RegistryError where e.isTransient && attempt < configuration.retries {
                attempt += 1
                try await Task.sleep(for: configuration.retryDelay * (1 << min(attempt - 1, 6)))
            }
        }
    }
}

/// `bytes 100-199/1000` → 100.
private func contentRangeStart(_ header: String?) -> Int64? {
    guard var h = header?.trimmingCharacters(in: .whitespaces) else { return nil }
    if h.hasPrefix("bytes") { h = String(h.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
    guard let dash = h.firstIndex(of: "-") else { return nil }
    return Int64(h[..<dash])
}

/// The media type of a manifest: `Content-Type` when it names a manifest type, else the document's
/// `mediaType`, else guessed from its shape (OCI allows omitting it).
func manifestMediaType(header: String?, bytes: [UInt8]) -> String {
    let fromHeader = header?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    if let h = fromHeader, MediaType.isManifest(h) || MediaType.isIndex(h) { return h }
    struct Shape: Decodable {
        var mediaType: String?
        var manifests: [EmptyObject]?
        var config: EmptyObject?
    }
    if let shape = try? JSONDecoder().decode(Shape.self, from: Data(bytes)) {
        if let m = shape.mediaType, !m.isEmpty { return m }
        if shape.manifests != nil { return MediaType.ociIndex }
        if shape.config != nil { return MediaType.ociManifest }
    }
    return fromHeader ?? MediaType.ociManifest
}
