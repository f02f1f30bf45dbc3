import Foundation
import BerthImage
import BerthRegistry
import BerthWire

extension ImageService {
    /// `docker push`: the layers and config (skipped when present, mounted from another repository
    /// of the same registry when this image came from one), then the manifest under the tag.
    public func push(_ p: ImagePushParams, progress: @escaping @Sendable (ProgressEvent) -> Void) async throws -> ImagePushResult {
        let target = try Parse.reference(p.reference)
        guard target.digest == nil else { throw LifecycleError.invalidArgument("cannot push a digest reference: \(p.reference)") }
        guard let id = try meta.imageID(forName: target.description) else {
            throw LifecycleError.noSuchImage("An image does not exist locally with the tag: \(target.familiarRepository)")
        }
        let record = try record(id)
        let manifestBytes = try content.read(record.manifestDigest)
        let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes, what: "image manifest", digest: record.manifestDigest)
        let creds = p.auth?.credentials
        // Another repository on the same registry holding this image can lend its blobs.
        let mountFrom = try meta.names(of: id).compactMap { try? Reference(parsing: $0.name, defaultTag: false) }
            .first { $0.registryHost == target.registryHost && $0.path != target.path }
        progress(ProgressEvent(status: "The push refers to repository [\(target.repository)]"))
        for l in manifest.layers.reversed() { progress(ProgressEvent(id: l.digest.short, status: "Preparing")) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for desc in manifest.layers + [manifest.config] {
                guard content.has(desc.digest) else { throw LifecycleError.image(.blobNotFound(desc.digest.description)) }
                let isLayer = desc.digest != manifest.config.digest
                group.addTask { [self] in
                    let short = desc.digest.short
                    let r = try await mapRegistryErrors(target) {
                        try await registry.pushBlob(target, descriptor: desc, path: content.path(for: desc.digest), mountFrom: mountFrom,
                                                    credentials: creds) { sent in
                            if isLayer { progress(ProgressEvent(id: short, status: "Pushing", current: sent, total: desc.size)) }
                        }
                    }
                    guard isLayer else { return }
                    switch r {
                    case .exists: progress(ProgressEvent(id: short, status: "Layer already exists"))
                    case .mounted(let from): progress(ProgressEvent(id: short, status: "Mounted from \(from)"))
                    default: progress(ProgressEvent(id: short, status: "Pushed"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let digest = try await mapRegistryErrors(target) {
            try await registry.pushManifest(target, bytes: manifestBytes, mediaType: record.manifestMediaType, credentials: creds)
        }
        try meta.addName(target.withDigest(digest).description, kind: "digest", to: id)
        progress(ProgressEvent(status: "\(target.tag ?? Reference.defaultTag): digest: \(digest) size: \(manifestBytes.count)"))
        return ImagePushResult(reference: target.description, digest: digest.description, size: Int64(manifestBytes.count))
    }
}
