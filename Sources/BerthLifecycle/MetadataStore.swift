import Foundation
import GRDB
import BerthImage

/// One image as the metadata database knows it. Its ID is the config digest, as in Docker.
public struct ImageRecord: Sendable, Equatable {
    public var id: Digest
    public var manifestDigest: Digest
    public var manifestMediaType: String
    /// The index or manifest-list digest the image was pulled through, if any.
    public var indexDigest: Digest?
    public var created: String?
    /// Sum of the uncompressed layer sizes (Docker's `Size`).
    public var size: Int64
    /// Chain IDs bottom-first: the snapshots this image needs.
    public var chainIDs: [Digest]
    /// Every blob the image keeps alive: index, manifest, config, layers.
    public var blobs: [Digest]
    public var addedAt: Date
}

/// A committed snapshot: one layer's diff, keyed by the chain ID of its stack.
public struct SnapshotRecord: Sendable, Equatable {
    public var chainID: Digest
    public var diffID: Digest
    public var size: Int64
}

/// The SQLite metadata database (GRDB): images and their names, committed snapshots, and leases
/// that keep an in-progress pull's content alive. Every change is one transaction, so a kill -9 at
/// any point leaves either the old or the new state.
public final class MetadataStore: Sendable {
    let db: DatabaseQueue

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
        }
        db = try DatabaseQueue(path: path, configuration: config)
        try Self.migrator.migrate(db)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE images (
                    id TEXT PRIMARY KEY,
                    manifest_digest TEXT NOT NULL,
                    manifest_media_type TEXT NOT NULL,
                    index_digest TEXT,
                    created TEXT,
                    size INTEGER NOT NULL,
                    chain_ids TEXT NOT NULL,
                    blobs TEXT NOT NULL,
                    added_at REAL NOT NULL
                );
                CREATE TABLE image_names (
                    name TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
                    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
                );
                CREATE INDEX image_names_by_image ON image_names(image_id);
                CREATE TABLE snapshots (
                    chain_id TEXT PRIMARY KEY,
                    diff_id TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE leases (
                    id TEXT PRIMARY KEY,
                    description TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE lease_refs (
                    lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL CHECK (kind IN ('blob', 'snapshot')),
                    key TEXT NOT NULL,
                    PRIMARY KEY (lease_id, kind, key)
                );
                """)
        }
        m.registerMigration("v2-containers") { db in
            // A container's record is one JSON document; the name is a column so SQLite keeps it unique.
            try db.execute(sql: """
                CREATE TABLE containers (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    record TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v3-networks") { db in
            try db.execute(sql: """
                CREATE TABLE networks (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    record TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v4-build") { db in
            // A build step's image and the image it was committed onto (Docker's parent chain), and
            // the classic builder's cache: a step's key → the image that step made.
            try db.execute(sql: """
                CREATE TABLE image_parents (
                    image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
                    parent_id TEXT NOT NULL
                );
                CREATE INDEX image_parents_by_parent ON image_parents(parent_id);
                CREATE TABLE build_cache (
                    key TEXT PRIMARY KEY,
                    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
                );
                """)
        }
        return m
    }

    // MARK: images

    /// Stores an image and points `names` at it, in one transaction. A name that pointed at another
    /// image moves; that image stays (dangling if it has no names left), as in Docker.
    public func putImage(_ image: ImageRecord, names: [(name: String, kind: String)]) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO images (id, manifest_digest, manifest_media_type, index_digest, created, size, chain_ids, blobs, added_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest,
                    manifest_media_type = excluded.manifest_media_type,
                    index_digest = COALESCE(excluded.index_digest, images.index_digest),
                    blobs = excluded.blobs
                """, arguments: [image.id.description, image.manifestDigest.description, image.manifestMediaType,
                                 image.indexDigest?.description, image.created, image.size,
                                 image.chainIDs.map(\.description).joined(separator: ","),
                                 image.blobs.map(\.description).joined(separator: ","), image.addedAt.timeIntervalSince1970])
            for n in names {
                try db.execute(sql: "INSERT OR REPLACE INTO image_names (name, kind, image_id) VALUES (?, ?, ?)",
                               arguments: [n.name, n.kind, image.id.description])
            }
        }
    }

    public func image(id: Digest) throws -> ImageRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM images WHERE id = ?", arguments: [id.description]).map(Self.image) }
    }

    public func images() throws -> [ImageRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM images ORDER BY added_at DESC").map(Self.image) }
    }

    /// Image IDs whose ID starts with `prefix` (hex, without `sha256:`).
    public func imageIDs(prefix: String) throws -> [Digest] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM images WHERE substr(id, 8, ?) = ?", arguments: [prefix.count, prefix])
                .compactMap { try? Digest(parsing: $0) }
        }
    }

    public func imageID(forName name: String) throws -> Digest? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT image_id FROM image_names WHERE name = ?", arguments: [name]).flatMap { try? Digest(parsing: $0) }
        }
    }

    /// All names of all images: image ID → [(name, kind)].
    public func names() throws -> [Digest: [(name: String, kind: String)]] {
        try db.read { db in
            var out: [Digest: [(String, String)]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, kind, image_id FROM image_names ORDER BY name") {
                guard let id = try? Digest(parsing: row["image_id"]) else { continue }
                out[id, default: []].append((row["name"], row["kind"]))
            }
            return out
        }
    }

    public func names(of id: Digest) throws -> [(name: String, kind: String)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT name, kind FROM image_names WHERE image_id = ? ORDER BY name", arguments: [id.description])
                .map { ($0["name"], $0["kind"]) }
        }
    }

    public func addName(_ name: String, kind: String, to id: Digest) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO image_names (name, kind, image_id) VALUES (?, ?, ?)", arguments: [name, kind, id.description])
        }
    }

    /// Removes a name; returns whether it existed.
    @discardableResult
    public func removeName(_ name: String) throws -> Bool {
        try db.write { db in
            try db.execute(sql: "DELETE FROM image_names WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    /// Deletes an image and all its names.
    public func deleteImage(_ id: Digest) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM images WHERE id = ?", arguments: [id.description])
        }
    }

    // MARK: build parents and cache

    /// Records that `image` was committed onto `parent`; a second commit of the same image
    /// (identical config) keeps the newest parent.
    public func setParent(_ parent: Digest, of image: Digest) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO image_parents (image_id, parent_id) VALUES (?, ?)",
                           arguments: [image.description, parent.description])
        }
    }

    /// The image `id` was built onto, if it was built here.
    public func parent(of id: Digest) throws -> Digest? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT parent_id FROM image_parents WHERE image_id = ?", arguments: [id.description])
                .flatMap { try? Digest(parsing: $0) }
        }
    }

    /// The images built directly onto `id`.
    public func children(of id: Digest) throws -> [Digest] {
        try db.read { db in
            try String.fetchAll(db, sql: "SELECT image_id FROM image_parents WHERE parent_id = ? ORDER BY image_id", arguments: [id.description])
                .compactMap { try? Digest(parsing: $0) }
        }
    }

    /// Every image that is some image's parent.
    public func parentIDs() throws -> Set<Digest> {
        try db.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT parent_id FROM image_parents").compactMap { try? Digest(parsing: $0) })
        }
    }

    /// Points a build cache key at an image (replacing what it pointed at).
    public func putBuildCache(key: String, image: Digest) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO build_cache (key, image_id) VALUES (?, ?)", arguments: [key, image.description])
        }
    }

    /// The image a build cache key points at; nil once that image is deleted (the row goes with it).
    public func buildCache(key: String) throws -> Digest? {
        try db.read { db in
            try String.fetchOne(db, sql: "SELECT image_id FROM build_cache WHERE key = ?", arguments: [key]).flatMap { try? Digest(parsing: $0) }
        }
    }

    static func image(_ row: Row) -> ImageRecord {
        func digests(_ s: String) -> [Digest] { s.split(separator: ",").compactMap { try? Digest(parsing: String($0)) } }
        let id: String = row["id"], manifest: String = row["manifest_digest"]
        return ImageRecord(
            id: (try? Digest(parsing: id)) ?? Digest.sha256(of: Array(id.utf8)),
            manifestDigest: (try? Digest(parsing: manifest)) ?? Digest.sha256(of: Array(manifest.utf8)),
            manifestMediaType: row["manifest_media_type"],
            indexDigest: (row["index_digest"] as String?).flatMap { try? Digest(parsing: $0) },
            created: row["created"], size: row["size"],
            chainIDs: digests(row["chain_ids"]), blobs: digests(row["blobs"]),
            addedAt: Date(timeIntervalSince1970: row["added_at"]))
    }

    // MARK: snapshots

    public func putSnapshot(_ s: SnapshotRecord) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO snapshots (chain_id, diff_id, size, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [s.chainID.description, s.diffID.description, s.size, Date().timeIntervalSince1970])
        }
    }

    public func snapshot(_ chainID: Digest) throws -> SnapshotRecord? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM snapshots WHERE chain_id = ?", arguments: [chainID.description]).flatMap(Self.snapshot)
        }
    }

    public func snapshots() throws -> [SnapshotRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM snapshots").compactMap(Self.snapshot) }
    }

    public func deleteSnapshot(_ chainID: Digest) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM snapshots WHERE chain_id = ?", arguments: [chainID.description]) }
    }

    static func snapshot(_ row: Row) -> SnapshotRecord? {
        guard let c = try? Digest(parsing: row["chain_id"]), let d = try? Digest(parsing: row["diff_id"]) else { return nil }
        return SnapshotRecord(chainID: c, diffID: d, size: row["size"])
    }

    // MARK: leases

    public func createLease(_ id: String, description: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO leases (id, description, created_at) VALUES (?, ?, ?)", arguments: [id, description, Date().timeIntervalSince1970])
        }
    }

    public func addLeaseRef(_ lease: String, kind: String, key: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO lease_refs (lease_id, kind, key) VALUES (?, ?, ?)", arguments: [lease, kind, key])
        }
    }

    public func deleteLease(_ id: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM leases WHERE id = ?", arguments: [id]) }
    }

    public func leases() throws -> [(id: String, description: String)] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT id, description FROM leases").map { ($0["id"], $0["description"]) } }
    }

    /// Drops every lease: at startup none can be live, they belong to a daemon that died mid-pull.
    public func deleteAllLeases() throws -> Int {
        try db.write { db in
            try db.execute(sql: "DELETE FROM leases")
            return db.changesCount
        }
    }

    /// The garbage collector's roots: everything images and live leases reference.
    public func liveSet() throws -> (blobs: Set<String>, snapshots: Set<String>) {
        try db.read { db in
            var blobs = Set<String>(), snaps = Set<String>()
            for row in try Row.fetchAll(db, sql: "SELECT chain_ids, blobs FROM images") {
                let c: String = row["chain_ids"], b: String = row["blobs"]
                snaps.formUnion(c.split(separator: ",").map(String.init))
                blobs.formUnion(b.split(separator: ",").map(String.init))
            }
            for row in try Row.fetchAll(db, sql: "SELECT kind, key FROM lease_refs") {
                let k: String = row["kind"], key: String = row["key"]
                if k == "blob" { blobs.insert(key) } else { snaps.insert(key) }
            }
            return (blobs, snaps)
        }
    }
}
