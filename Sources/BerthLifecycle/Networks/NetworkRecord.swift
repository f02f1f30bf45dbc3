import Foundation
import GRDB
import BerthWire

/// What berth-lifecycled remembers about one network, persisted as one JSON document.
public struct NetworkRecord: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// RFC 3339 with nanoseconds.
    public var created: String
    public var createdAt: Double
    /// `bridge`, `host` or `null` (Docker's names).
    public var driver: String
    /// The Linux bridge (bridge driver only).
    public var bridge: String
    public var subnet: String
    public var gateway: String
    public var ipRange: String?
    public var `internal`: Bool
    public var attachable: Bool
    public var options: [String: String]
    public var labels: [String: String]
    /// One of the three networks every daemon has (`bridge`, `host`, `none`): never removed.
    public var builtin: Bool
    /// Whether the user chose the subnet (Docker allows `--ip` only then).
    public var userSubnet: Bool

    /// The default bridge network has no name resolution; user-defined bridges do.
    public var hasDNS: Bool { driver == "bridge" && !builtin }
}

extension MetadataStore {
    /// Inserts or replaces a network; a name another network has is a 409.
    public func putNetwork(_ n: NetworkRecord) throws {
        let json = String(decoding: try JSONEncoder().encode(n), as: UTF8.self)
        do {
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO networks (id, name, created_at, record) VALUES (?, ?, ?, ?)",
                               arguments: [n.id, n.name, n.createdAt, json])
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            throw LifecycleError.conflict("network with name \(n.name) already exists")
        }
    }

    public func networks() throws -> [NetworkRecord] {
        let rows = try db.read { db in try Row.fetchAll(db, sql: "SELECT record FROM networks ORDER BY created_at") }
        return rows.compactMap { row in
            let s: String = row["record"]
            return try? JSONDecoder().decode(NetworkRecord.self, from: Data(s.utf8))
        }
    }

    public func deleteNetwork(_ id: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM networks WHERE id = ?", arguments: [id]) }
    }
}
