import Foundation
import GRDB
import BerthWire

/// What berth-lifecycled remembers about one container (Docker's config.v2.json): persisted as one
/// JSON document in the metadata database on every state change, so a restarted daemon knows it.
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    /// Without Docker's leading `/`.
    public var name: String
    /// RFC 3339 with nanoseconds.
    public var created: String
    public var createdAt: Double
    /// The image as the user named it, and its ID.
    public var image: String
    public var imageID: String
    /// The create request merged with the image config (what inspect's `Config` shows).
    public var config: ContainerCreateParams
    public var path: String
    public var args: [String]
    public var state: ContainerState
    public var restartCount: Int
    public var mounts: [MountPoint]
    /// Names of the anonymous volumes this container created (removed with `rm -v`).
    public var anonymousVolumes: [String]
    /// Stopped by the user: `unless-stopped` and `always` do not bring it back until the next start.
    public var manuallyStopped: Bool
    public var hasBeenStarted: Bool
    /// The networks it is on, by name (addresses filled while it runs, as in Docker's inspect).
    public var endpoints: [String: EndpointState]?
    /// What its network namespace holds while it runs.
    public var sandbox: SandboxState?
    /// Its config.json has the `netwait` hook: the network is set up while the runtime creates
    /// the container, and the container's process waits for it.
    public var networkGate: Bool?

    public var hostConfig: HostConfig { config.hostConfig ?? HostConfig() }
    public var tty: Bool { config.tty ?? false }
}

extension MetadataStore {
    /// Inserts or replaces a container; a name another container has is a 409.
    public func putContainer(_ c: ContainerRecord) throws {
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        do {
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO containers (id, name, created_at, record) VALUES (?, ?, ?, ?)",
                               arguments: [c.id, c.name, c.createdAt, json])
            }
        } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
            throw LifecycleError.conflict("Conflict. The container name \"/\(c.name)\" is already in use by container \"\(try containerID(named: c.name) ?? "?")\". You have to remove (or rename) that container to be able to reuse that name.")
        }
    }

    public func containers() throws -> [ContainerRecord] {
        let rows = try db.read { db in try Row.fetchAll(db, sql: "SELECT record FROM containers ORDER BY created_at DESC") }
        return rows.compactMap { row in
            let s: String = row["record"]
            return try? JSONDecoder().decode(ContainerRecord.self, from: Data(s.utf8))
        }
    }

    public func containerID(named name: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT id FROM containers WHERE name = ?", arguments: [name]) }
    }

    public func deleteContainer(_ id: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM containers WHERE id = ?", arguments: [id]) }
    }
}
