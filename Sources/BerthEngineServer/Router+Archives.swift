import BerthEngineAPI
import BerthWire
import Foundation
import Glibc

extension Router {
    /// A temp file for a tar berth-lifecycled writes (or reads): under the data root, not the
    /// exec root, which is usually a tmpfs.
    func tempTarPath() throws -> String {
        let dir = options.dataRoot + "/tmp/berthd"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw EngineError.internalError("create \(dir): \(error)")
        }
        return dir + "/" + UUID().uuidString + ".tar"
    }

    /// Sends a file as the response body, chunk by chunk as the client takes it.
    func streamFile(_ path: String, contentType: String, extraHeaders: [(String, String)] = [], _ w: ResponseWriter) async throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.internalError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        w.startStream(contentType: contentType, extraHeaders: extraHeaders)
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while !Task.isCancelled {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            try await w.chunkWritten(Data(buf[0..<n]))
        }
        w.endStream()
    }

    /// `GET /containers/{id}/export`: the root file system as a tar.
    func containerExport(_ id: String, _ w: ResponseWriter) async throws {
        let tar = try tempTarPath()
        defer { unlink(tar) }
        _ = try await lifecycle.stream("container.export", ["id": id, "tarPath": tar], progress: Empty.self) { _ in }
        try await streamFile(tar, contentType: "application/x-tar", w)
    }

    /// `GET /images/get?names=a&names=b` and `GET /images/{name}/get`: docker save.
    func imageSave(_ names: [String], _ w: ResponseWriter) async throws {
        guard !names.isEmpty else { throw EngineError.badRequest("no image names given") }
        let tar = try tempTarPath()
        defer { unlink(tar) }
        _ = try await lifecycle.stream("image.save", ["references": JSONValue.array(names.map(JSONValue.string)), "path": .string(tar)],
                                       progress: Empty.self) { _ in }
        try await streamFile(tar, contentType: "application/x-tar", w)
    }

    /// `HEAD|GET /containers/{id}/archive?path=`: docker cp out of a container, with Docker's
    /// `X-Docker-Container-Path-Stat` header (base64 of the path's stat).
    func containerArchiveGet(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let path = r.string("path") else { throw EngineError.badRequest("missing path parameter") }
        if r.method == .HEAD {
            let stat = try await lifecycle.call("container.archive.stat", ["id": id, "path": path])
            w.send(.ok, contentType: "application/json", extraHeaders: [("X-Docker-Container-Path-Stat", Data(stat.text.utf8).base64EncodedString())])
            return
        }
        let tar = try tempTarPath()
        defer { unlink(tar) }
        let stat = try await lifecycle.stream("container.archive.get", ["id": id, "path": path, "tarPath": tar], progress: Empty.self) { _ in }
        try await streamFile(tar, contentType: "application/x-tar",
                             extraHeaders: [("X-Docker-Container-Path-Stat", Data(stat.text.utf8).base64EncodedString())], w)
    }
}

extension Router {
    /// `POST /images/load?quiet=`: docker load; the messages as Docker's JSON stream.
    func imageLoad(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let tar = r.bodyFile else { throw EngineError.badRequest("no tar in the request body") }
        struct Loaded: Decodable { var loaded: [String] }
        let result = try await lifecycle.stream("image.load", ["path": tar], returning: Loaded.self, progress: Empty.self) { _ in }
        w.startStream(contentType: "application/json")
        for name in result.loaded {
            let text = name.hasPrefix("sha256:") ? "Loaded image ID: \(name)" : "Loaded image: \(name)"
            w.chunk(Self.line(.object(["stream": .string(text + "\n")])))
        }
        w.endStream()
    }

    /// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=`: docker cp into a container.
    func containerArchivePut(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        guard let path = r.string("path") else { throw EngineError.badRequest("missing path parameter") }
        guard let tar = r.bodyFile else { throw EngineError.badRequest("no tar in the request body") }
        var p: [String: JSONValue] = ["id": .string(id), "path": .string(path), "tarPath": .string(tar)]
        if r.bool("noOverwriteDirNonDir") == true { p["noOverwriteDirNonDir"] = .bool(true) }
        _ = try await lifecycle.stream("container.archive.put", p, progress: Empty.self) { _ in }
        w.send(.ok, contentType: "text/plain; charset=utf-8")
    }
}
