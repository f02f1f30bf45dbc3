import Foundation
import Glibc
import BerthImage
import BerthRegistry
import BerthWire
@testable import BerthLifecycle
import BerthTestSupport

/// A made-up digest, distinct per seed.
func fakeDigest(_ seed: String) -> Digest { Digest.sha256(of: Array(seed.utf8)) }

/// Which images "containers" use, changeable while a service runs.
final class InUse: @unchecked Sendable {
    private let lock = NSLock()
    private var users: [Digest: [String]] = [:]
    func set(_ id: Digest, _ containers: [String]) { lock.lock(); users[id] = containers; lock.unlock() }
    func users(of id: Digest) -> [String] { lock.lock(); defer { lock.unlock() }; return users[id] ?? [] }
}

/// Thread-safe append-only list.
final class Recorder<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ t: T) { lock.lock(); items.append(t); lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

/// An `ImageService` on a data root inside a temp dir; the registry client is shut down after.
func withService(inUse: InUse = InUse(), _ body: (ImageService, String) async throws -> Void) async throws {
    try await withTempDir { dir in
        let service = try ImageService(root: dir + "/root", registry: RegistryClient(), usage: { inUse.users(of: $0) })
        do {
            try await body(service, dir)
        } catch {
            try? await service.registry.shutdown()
            throw error
        }
        try await service.registry.shutdown()
    }
}

/// A whole daemon's options on `dir`, with test names for the bridge and firewall chains should
/// anything reach the host (network methods without running containers change nothing there).
func testDaemonOptions(_ dir: String, bridge: String, chainPrefix: String) -> DaemonOptions {
    var options = DaemonOptions(root: dir + "/root", runRoot: dir + "/run", socket: dir + "/lifecycle.sock", authFile: dir + "/no-auth.json")
    options.network = NetworkServiceOptions(runRoot: dir + "/run", defaultBridge: bridge, bridgePrefix: "berth-test-", chainPrefix: chainPrefix)
    return options
}

/// Writes `files` (relative path → contents) under a scratch directory and tars them into
/// `<dir>/<name>.tar` with the tar CLI: plain files and directories only, so no root is needed to
/// unpack it. Fixed mtimes keep the layer's digest stable for the same contents.
func makeTar(in dir: String, name: String, files: [String: String]) throws -> String {
    let src = "\(dir)/\(name)-src"
    for (path, text) in files {
        let full = "\(src)/\(path)"
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }
    let out = "\(dir)/\(name).tar"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
    p.arguments = ["--sort=name", "--mtime=@1700000000", "-cf", out, "-C", src, "."]
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw TestFailure("tar exited \(p.terminationStatus)") }
    try FileManager.default.removeItem(atPath: src)
    return out
}

extension ImageService {
    /// Imports a tar with `files`, returning the image ID.
    @discardableResult
    func importFiles(_ dir: String, _ name: String, files: [String: String], reference: String? = nil,
                     changes: [String]? = nil, message: String? = nil) async throws -> Digest {
        let tar = try makeTar(in: dir, name: name, files: files)
        let r = try await importRootfs(ImageImportParams(path: tar, reference: reference, message: message, changes: changes), progress: { _ in })
        return try Digest(parsing: r.id)
    }
}
