import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    /// `GET /containers/{id}/stats?stream=&one-shot=`: berth-lifecycled gives one sample at a time;
    /// berthd pairs each with the previous one (`precpu_stats`, `preread`), which the docker CLI
    /// needs for CPU %. Without `one-shot`, a single answer still takes two samples 1 s apart, as dockerd.
    func containerStats(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let stream = r.bool("stream") ?? true
        let sample = { () async throws -> JSONValue in
            try await self.lifecycle.call("container.stats", ["id": id], returning: JSONValue.self)
        }
        let first = try await sample()
        if !stream {
            if r.bool("one-shot") == true { w.json(encoding: Self.paired(first, previous: nil)); return }
            try await Task.sleep(nanoseconds: 1_000_000_000)
            w.json(encoding: Self.paired(try await sample(), previous: first))
            return
        }
        w.startStream(contentType: "application/json")
        var previous = first
        w.chunk(Self.line(Self.paired(first, previous: nil)))
        while !Task.isCancelled {
            do {
                try await Task.sleep(nanoseconds: 1_000_000_000)
                let current = try await sample()
                w.chunk(Self.line(Self.paired(current, previous: previous)))
                previous = current
            } catch {
                break   // the client left, or the container is gone
            }
        }
        w.endStream()
    }

    static func paired(_ current: JSONValue, previous: JSONValue?) -> JSONValue {
        guard case .object(var cur) = current else { return current }
        // No memory limit reads as the cgroup's "unlimited" (2^63-ish); dockerd shows the host's memory.
        if case .object(var mem)? = cur["memory_stats"], case .int(let limit)? = mem["limit"] {
            let host = Host.memTotal()
            if host > 0 && (limit <= 0 || limit > host) { mem["limit"] = .int(host); cur["memory_stats"] = .object(mem) }
        }
        if case .object(let prev)? = previous {
            cur["precpu_stats"] = prev["cpu_stats"] ?? .object([:])
            cur["preread"] = prev["read"] ?? .string("0001-01-01T00:00:00Z")
        } else {
            cur["precpu_stats"] = .object(["cpu_usage": .object(["total_usage": .int(0)]), "throttling_data": .object([:])])
        }
        return .object(cur)
    }

    static func line(_ v: JSONValue) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return ((try? e.encode(v)) ?? Data("{}".utf8)) + Data("\n".utf8)
    }

    /// `POST /containers/prune`: removes every stopped container (filters `label`, `until` as
    /// container.list understands them).
    func containerPrune(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        struct Row: Decodable { var Id: String; var State: String }
        var p: [String: JSONValue] = ["all": .bool(true)]
        if let f = try filters(r) { p["filters"] = f }
        let rows = try await lifecycle.call("container.list", p, returning: [Row].self)
        var deleted: [String] = []
        for row in rows where ["exited", "created", "dead"].contains(row.State) {
            if (try? await lifecycle.call("container.remove", ["id": row.Id])) != nil { deleted.append(row.Id) }
        }
        w.json(encoding: JSONValue.object(["ContainersDeleted": deleted.isEmpty ? .null : .array(deleted.map(JSONValue.string)),
                                           "SpaceReclaimed": .int(0)]))
    }

    /// `POST /images/prune`: dangling images, or with `dangling=false` every unused one.
    func imagePrune(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = [:]
        if let f = try filters(r), case .object(var o) = f {
            if o["dangling"] == .array([.string("false")]) || o["dangling"] == .array([.string("0")]) {
                p["all"] = .bool(true)
                o["dangling"] = nil
            }
            if !o.isEmpty { p["filters"] = .object(o) }
        }
        let result = try await lifecycle.call("image.prune", p, returning: JSONValue.self)
        guard case .object(let o) = result else { throw EngineError.internalError("malformed image.prune result") }
        var items: [JSONValue] = []
        if case .array(let list)? = o["deleted"] {
            for item in list {
                guard case .object(let d) = item else { continue }
                items.append(.object(Dictionary(uniqueKeysWithValues: d.map { ($0.key == "untagged" ? "Untagged" : "Deleted", $0.value) })))
            }
        }
        w.json(encoding: JSONValue.object(["ImagesDeleted": items.isEmpty ? .null : .array(items),
                                           "SpaceReclaimed": o["spaceReclaimed"] ?? .int(0)]))
    }
}
