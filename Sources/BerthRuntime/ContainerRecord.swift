import Glibc
import FoundationEssentials
import BerthOCI
import BerthOS

/// What the runtime remembers about a container between invocations: `<root>/<id>/state.json`.
public struct ContainerRecord: Codable, Sendable, Equatable {
    public var id: String
    public var pid: Int32
    public var pidStartTime: UInt64?
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var annotations: [String: String]?
    public var cgroupPaths: [String: String]
    public var namespaces: [String]
    public var owner: String
    public var terminal: Bool?
}

/// A runtime error: one line for the user, a non-zero exit.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The state root: one directory per container holding state.json, config.json and exec.fifo.
public struct StateStore: Sendable {
    public var root: String

    public init(root: String) { self.root = root }

    public func dir(_ id: String) -> String { "\(root)/\(id)" }
    public func fifo(_ id: String) -> String { "\(dir(id))/exec.fifo" }

    /// runc's rule for container ids, so ids can't name paths outside the root.
    public static func validate(id: String) throws(RuntimeError) {
        if id.isEmpty { throw RuntimeError("container id cannot be empty") }
        let ok = id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2b || c == 0x2d || c == 0x2e
        }
        if !ok || id == "." || id == ".." || id.count > 1024 { throw RuntimeError("invalid container id format: \(id)") }
    }

    public func load(_ id: String) throws(RuntimeError) -> ContainerRecord {
        try StateStore.validate(id: id)
        let path = "\(dir(id))/state.json"
        guard FS.exists(path) else { throw RuntimeError("container \(id) does not exist") }
        do {
            let bytes = try FS.readBytes(path)
            return try JSONDecoder().decode(ContainerRecord.self, from: Data(bytes))
        } catch {
            throw RuntimeError("read state of container \(id): \(error)")
        }
    }

    public func save(_ rec: ContainerRecord) throws(RuntimeError) {
        do {
            let data = try JSONEncoder().encode(rec)
            try FS.write("\(dir(rec.id))/state.json", [UInt8](data), mode: 0o600, atomic: true)
        } catch {
            throw RuntimeError("write state of container \(rec.id): \(error)")
        }
    }

    public func loadConfig(_ id: String) throws(RuntimeError) -> Spec {
        do {
            return try JSONDecoder().decode(Spec.self, from: Data(try FS.readBytes("\(dir(id))/config.json")))
        } catch {
            throw RuntimeError("read config of container \(id): \(error)")
        }
    }

    public func ids() -> [String] {
        ((try? FS.list(root)) ?? []).filter { FS.exists("\(root)/\($0)/state.json") }.sorted()
    }
}

enum Clock {
    /// RFC 3339 with nanoseconds in UTC, as runc and Go print times.
    static func rfc3339Nano() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let ns = String(ts.tv_nsec)
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T" +
            "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(String(repeating: "0", count: 9 - ns.count))\(ns)Z"
    }
}

enum JSON {
    static func encode<T: Encodable>(_ v: T, pretty: Bool = false) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(v) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    func replacing(_ a: Character, with b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
