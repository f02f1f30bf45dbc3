import Foundation
import AsyncHTTPClient
import BerthImage
import NIOCore
import NIOHTTP1

/// How `pushBlob` got a blob into the repository.
public enum BlobPushResult: Sendable, Equatable {
    /// The repository already had it (`HEAD` answered 200).
    case exists
    /// Mounted from another repository of the same registry, without sending the bytes.
    case mounted(from: String)
    /// Uploaded in one `PUT`.
    case uploadedMonolithic
    /// Uploaded in this many `PATCH` chunks, then a closing `PUT`.
    case uploadedChunked(chunks: Int)
}

extension RegistryClient {
    /// Pushes the blob stored at `path` (whose digest and size `descriptor` gives) to the repository of
    /// `reference`: skipped when the repository has it; mounted when `mountFrom` is another repository
    /// of the same registry that has it; else uploaded in one `PUT` (up to `configuration.chunkSize`)
    /// or in chunked `PATCH`es. `progress` is called with the bytes of this blob sent so far.
    @discardableResult
    public func pushBlob(_ reference: Reference, descriptor: Descriptor, path: String, mountFrom: Reference? = nil,
                         credentials: RegistryCredentials? = nil,
                         progress: (@Sendable (Int64) -> Void)? = nil) async throws -> BlobPushResult {
        let creds = self.credentials(for: reference, credentials)
        let host = reference.registryHost
        let digest = descriptor.digest
        let resource = "\(reference.repository)@\(digest)"
        var scope = AuthScope.push(reference.path)
        let mountSource = mountFrom.flatMap { m in
            m.registryHost == host && m.path != reference.path ? m.path : nil
        }
        if let mountSource { scope = scope.adding(.pull(mountSource)) }

        if try await blobExists(reference, digest: digest, scope: scope, credentials: creds) {
            progress?(descriptor.size)
            return .exists
        }
        let attrs: [FileAttributeKey: Any]
        do { attrs = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw RegistryError.localFile(path: path, reason: error.localizedDescription)
        }
        let fileSize = (attrs[.size] as? NSNumber)?.int64Value ?? -1
        guard fileSize == descriptor.size else {
            throw RegistryError.sizeMismatch(resource: "\(path) (blob \(digest))", expected: descriptor.size, actual: fileSize)
        }

        return try await withRetries {
            // Start an upload session, mounting when we can.
            var uploadPath = "/v2/\(reference.path)/blobs/uploads/"
            if let mountSource {
                uploadPath += "?mount=\(digest)&from=\(mountSource)"
            }
            let start = try await perform(.POST, host: host, path: uploadPath, scope: scope, credentials: creds, resource: resource)
            let startBody = await drain(start)
            if start.status == .created, mountSource != nil {
                progress?(descriptor.size)
                return .mounted(from: mountSource ?? "")
            }
            guard start.status == .accepted, var location = start.headers.first(name: "Location") else {
                throw statusError(start, startBody, host: host, method: "POST", resource: resource)
            }
            guard let file = FileHandle(forReadingAtPath: path) else {
                throw RegistryError.localFile(path: path, reason: "cannot open")
            }
            defer { try? file.close() }
            func readChunk(_ count: Int) throws -> ByteBuffer {
                do {
                    let data = try file.read(upToCount: count) ?? Data()
                    return ByteBuffer(bytes: data)
                } catch {
                    throw RegistryError.localFile(path: path, reason: error.localizedDescription)
                }
            }

            if descriptor.size <= Int64(configuration.chunkSize) {
                let bytes = try readChunk(Int(descriptor.size))
                guard Int64(bytes.readableBytes) == descriptor.size else {
                    throw RegistryError.sizeMismatch(resource: path, expected: descriptor.size, actual: Int64(bytes.readableBytes))
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/octet-stream")
                let put = try await perform(.PUT, host: host, url: try uploadURL(location, host: host, digest: digest),
                                            scope: scope, headers: headers, body: bytes, credentials: creds,
                                            resource: resource, timeout: .hours(1))
                let body = await drain(put)
                guard put.status == .created else { throw statusError(put, body, host: host, method: "PUT", resource: resource) }
                progress?(descriptor.size)
                return .uploadedMonolithic
            }

            var sent: Int64 = 0
            var chunks = 0
            while sent < descriptor.size {
                let bytes = try readChunk(Int(min(Int64(configuration.chunkSize), descriptor.size - sent)))
                guard bytes.readableBytes > 0 else {
                    throw RegistryError.sizeMismatch(resource: path, expected: descriptor.size, actual: sent)
                }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/octet-stream")
                headers.add(name: "Content-Range", value: "\(sent)-\(sent + Int64(bytes.readableBytes) - 1)")
                let patch = try await perform(.PATCH, host: host, url: try uploadURL(location, host: host, digest: nil),
                                              scope: scope, headers: headers, body: bytes, credentials: creds,
                                              resource: resource, timeout: .hours(1))
                let body = await drain(patch)
                guard patch.status == .accepted else {
                    throw statusError(patch, body, host: host, method: "PATCH", resource: resource)
                }
                if let next = patch.headers.first(name: "Location") { location = next }
                sent += Int64(bytes.readableBytes)
                chunks += 1
                progress?(sent)
            }
            let put = try await perform(.PUT, host: host, url: try uploadURL(location, host: host, digest: digest),
                                        scope: scope, credentials: creds, resource: resource)
            let body = await drain(put)
            guard put.status == .created else { throw statusError(put, body, host: host, method: "PUT", resource: resource) }
            return .uploadedChunked(chunks: chunks)
        }
    }

    /// An upload `Location` (absolute, or relative to the registry) made absolute, with `digest=` added.
    private func uploadURL(_ location: String, host: String, digest: Digest?) async throws -> String {
        var url = try checkedURL(location, relativeTo: try await baseURL(for: host) + "/v2/").url
        if let digest {
            url += (url.contains("?") ? "&" : "?") + "digest=\(digest.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? digest.description)"
        }
        return url
    }

    /// `PUT /v2/<name>/manifests/<tag|digest>` with `bytes` as `mediaType`; returns the manifest digest.
    /// Every blob it refers to must be in the repository already.
    @discardableResult
    public func pushManifest(_ reference: Reference, bytes: [UInt8], mediaType: String,
                             credentials: RegistryCredentials? = nil) async throws -> Digest {
        let creds = self.credentials(for: reference, credentials)
        let host = reference.registryHost
        let digest = Digest.sha256(of: bytes)
        if let want = reference.digest, want != digest {
            throw RegistryError.digestMismatch(resource: reference.description, expected: want.description, actual: digest.description)
        }
        let target = reference.digest?.description ?? reference.tag ?? Reference.defaultTag
        let resource = reference.description
        return try await withRetries {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: mediaType)
            let r = try await perform(.PUT, host: host, path: "/v2/\(reference.path)/manifests/\(target)",
                                      scope: .push(reference.path), headers: headers, body: ByteBuffer(bytes: bytes),
                                      credentials: creds, resource: resource)
            let body = await drain(r)
            guard r.status == .created || r.status == .ok else {
                throw statusError(r, body, host: host, method: "PUT", resource: resource)
            }
            if let header = r.headers.first(name: "Docker-Content-Digest"), let said = try? Digest(parsing: header),
               said.algorithm == "sha256", said != digest {
                throw RegistryError.digestMismatch(resource: resource, expected: digest.description, actual: said.description)
            }
            return digest
        }
    }
}
