import Foundation
import Glibc
import Synchronization
import BerthOS
import BerthWire

/// Docker's `local` volume driver: named and anonymous volumes under `<root>/volumes`, each a
/// directory holding `_data` (what containers mount) and `volume.json` (name, driver, labels,
/// options, creation time).
///
/// The disk is the source of truth and the service's table is rebuilt from it at init. A volume is
/// assembled under a hidden temp name and renamed into place only once `volume.json` is durable, and
/// removal renames it to a hidden trash name before deleting, so a crash at any point leaves either
/// a whole volume or a hidden leftover that the next init deletes.
///
/// Thread-safe. Operations on one name (create, remove, prune, copy-up) are serialised; reads
/// never wait on them.
public final class VolumeService: Sendable {
    /// The label Docker 23 and later give anonymous volumes; `prune` removes only those unless
    /// asked for all.
    public static let anonymousLabel = "com.docker.volume.anonymous"
    /// The data root; volumes live in `<root>/volumes`.
    public let root: String
    /// `<root>/volumes`.
    public let directory: String
    /// Container IDs using a volume. The container service must record a container's use before
    /// it calls `path` or `populate` for it: `remove` asks this hook, and `path` refuses a volume
    /// whose removal is being decided, so between them no container gets a volume that is
    /// removed under it.
    let usage: @Sendable (String) -> [String]
    let state: Mutex<State>
    let nameLocks = NameLocks()

    struct State {
        var volumes: [String: VolumeRecord]
        /// Names whose removal has asked `usage` and not yet finished.
        var removing: Set<String> = []
    }

    /// Opens (creating) `<root>/volumes` and loads the volumes in it. Leftovers of interrupted
    /// creates and removes are deleted, and so is a volume directory with no `volume.json` whose
    /// `_data` is empty (a half-created one); one with data is kept and reported, never deleted.
    ///
    /// `usage` gives the IDs of the containers using a volume. It is called without any of this
    /// service's locks held, so it may take the container service's own; that service must record
    /// a container's use of a volume before calling `path` or `populate` for it.
    public init(root: String, usage: @escaping @Sendable (String) -> [String] = { _ in [] }) throws(LifecycleError) {
        let root = FS.absolute(root)
        self.root = root
        directory = root + "/volumes"
        self.usage = usage
        do { try FS.mkdirAll(directory, mode: 0o701) } catch {
            throw .internalError("create volumes directory: \(error)")
        }
        state = Mutex(State(volumes: try Self.load(directory)))
    }

    // MARK: create

    /// `POST /volumes/create`. No name makes an anonymous volume (a random 64-hex name and the
    /// anonymous label). An existing name returns the existing volume unchanged, as in Docker.
    public func create(_ p: VolumeCreateParams) async throws(LifecycleError) -> Volume {
        let anonymous = (p.name ?? "").isEmpty
        let name = anonymous ? Self.randomName() : (p.name ?? "")
        var labels = p.labels ?? [:]
        if anonymous { labels[Self.anonymousLabel] = "" }
        let driver = p.driver.flatMap { $0.isEmpty ? nil : $0 } ?? "local"
        try Self.validateName(name)
        // Docker looks the driver up before it looks for the name, so a volume that exists
        // under `local` is still a missing plugin when asked for under another driver.
        guard driver == "local" else {
            throw .invalidArgument("create \(name): error looking up volume plugin \(driver): plugin \"\(driver)\" not found")
        }
        let options = p.driverOpts ?? [:]
        try Self.validateOptions(name, options)
        let record = VolumeRecord(name: name, driver: driver, labels: labels, options: options, createdAt: Self.now())
        return try await nameLocks.withLock(name) { () throws(LifecycleError) -> Volume in
            if let existing = self.state.withLock({ $0.volumes[name] }) { return self.volume(existing) }
            try await self.offload("create \(name)") { () throws(LifecycleError) in try self.write(record) }
            self.state.withLock { $0.volumes[name] = record }
            return self.volume(record)
        }
    }

    /// A new anonymous volume, as for an image's `VOLUME` or `-v /dest` without a name.
    public func createAnonymous() async throws(LifecycleError) -> Volume {
        try await create(VolumeCreateParams())
    }

    // MARK: inspect, list, path

    /// `GET /volumes/{name}`.
    public func inspect(_ name: String) throws(LifecycleError) -> Volume {
        volume(try record(name))
    }

    /// `GET /volumes`, sorted by name. Filters: `name` (a regular expression, so plain text is a
    /// substring match; any value may match), `label` (`key` or `key=value`; all must match),
    /// `dangling` (`true`: used by no container), `driver` (any value may match).
    public func list(filters: [String: [String]] = [:]) throws(LifecycleError) -> VolumeListResult {
        for key in filters.keys.sorted() where !["name", "label", "dangling", "driver"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        let dangling = try Self.boolFilter(filters, "dangling")
        let names = (filters["name"] ?? []).map { ($0, try? NSRegularExpression(pattern: $0)) }
        let records = state.withLock { Array($0.volumes.values) }.sorted { $0.name < $1.name }
        var out: [Volume] = []
        for r in records {
            if let drivers = filters["driver"], !drivers.isEmpty, !drivers.contains(r.driver) { continue }
            if !names.isEmpty, !names.contains(where: { Self.nameMatches(r.name, $0.0, $0.1) }) { continue }
            if let wanted = filters["label"], !wanted.allSatisfy({ ImageService.labelMatches($0, r.labels) }) { continue }
            if let dangling, usage(r.name).isEmpty != dangling { continue }
            out.append(volume(r))
        }
        return VolumeListResult(volumes: out, warnings: [])
    }

    /// The host directory a container mounts for volume `name` (the container tier's bind source).
    /// Volumes created with mount options other than a plain bind (`type=tmpfs`, `type=nfs`, ...)
    /// are recorded but cannot be mounted yet; asking for them is a 400 that says so.
    public func path(_ name: String) throws(LifecycleError) -> String {
        let (r, removing) = state.withLock { ($0.volumes[name], $0.removing.contains(name)) }
        guard let r else { throw .notFound("get \(name): no such volume") }
        if removing { throw .conflict("get \(name): volume is being removed") }
        return try mountSource(r)
    }

    /// Size and reference count of volume `name` (Docker's UsageData, for `system df`).
    public func usageData(_ name: String) async throws(LifecycleError) -> VolumeUsageData {
        let r = try record(name)
        let refs = usage(name).count
        let data = dataDirectory(r.name)
        let size = try await offload("size of volume \(name)") { () throws(LifecycleError) in
            do { return try DirectoryTree.size(data) } catch { throw .internalError("size of volume \(name): \(error)") }
        }
        return VolumeUsageData(size: size, refCount: Int64(refs))
    }

    // MARK: remove, prune

    /// `DELETE /volumes/{name}`. A volume some container uses is refused (409) even with `force`,
    /// as in Docker; `force` only makes a missing volume a success.
    public func remove(_ name: String, force: Bool = false) async throws(LifecycleError) {
        let trash = try await nameLocks.withLock(name) { () throws(LifecycleError) -> String? in
            guard self.state.withLock({ $0.volumes[name] }) != nil else {
                if force { return nil }
                throw .notFound("get \(name): no such volume")
            }
            return try self.detach(name)
        }
        if let trash { await deleteTrash(trash) }
    }

    /// `POST /volumes/prune`: removes volumes no container uses, by default only anonymous ones
    /// (Docker 23 and later; `all=true` includes named ones). Filters: `label`, `label!`, `all`.
    public func prune(filters: [String: [String]] = [:]) async throws(LifecycleError) -> VolumePruneResult {
        for key in filters.keys.sorted() where !["label", "label!", "all"].contains(key) {
            throw .invalidArgument("invalid filter '\(key)'")
        }
        let all = try Self.boolFilter(filters, "all") ?? false
        let candidates = state.withLock { Array($0.volumes.values) }.sorted { $0.name < $1.name }.filter { r in
            (all || r.labels[Self.anonymousLabel] != nil) && Self.pruneLabelsMatch(filters, r.labels)
        }
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for candidate in candidates {
            let trash: String?
            do throws(LifecycleError) {
                trash = try await nameLocks.withLock(candidate.name) { () throws(LifecycleError) -> String? in
                    // Re-read under the name's lock: it may have been removed, or removed and
                    // re-created as a different volume, since the candidates were chosen.
                    guard self.state.withLock({ $0.volumes[candidate.name] }) == candidate else { return nil }
                    return try self.detach(candidate.name)
                }
            } catch {
                if case .conflict = error { continue }  // in use: not prunable, not a failure
                Log.error("prune volume \(candidate.name): \(error)")
                continue
            }
            guard let trash else { continue }
            deleted.append(candidate.name)
            // Docker counts the data, not the metadata beside it.
            reclaimed += (try? await offload("size of \(trash)") { () throws(LifecycleError) in
                do { return try DirectoryTree.size(trash + "/_data") } catch { throw .internalError("\(error)") }
            }) ?? 0
            await deleteTrash(trash)
        }
        return VolumePruneResult(volumesDeleted: deleted, spaceReclaimed: reclaimed)
    }

    // MARK: copy-up

    /// Copies an image's content at a volume's mount destination into the volume, as Docker does
    /// on a fresh volume's first mount (unless `NoCopy`): only when the volume is still empty, and
    /// giving its root the owner and mode of `imageDir`. Returns whether it copied anything (false:
    /// the volume already has content, or `imageDir` does not exist).
    ///
    /// Nothing is followed through a symlink on either side: `imageDir` itself must not be one
    /// (use `populate(name:rootfs:path:)` to resolve a destination inside an image root), and
    /// links inside are copied as links. Owners, modes, times and hard links are preserved.
    public func populate(name: String, from imageDir: String) async throws(LifecycleError) -> Bool {
        try await populate(name: name, described: imageDir) { () throws(LifecycleError) -> Int32? in
            do throws(OSError) { return try DirectoryTree.openDirectory(imageDir) } catch {
                if error.code == ELOOP {
                    throw .invalidArgument("populate \(name) from \(imageDir): it is a symlink; resolve it inside the image root first")
                }
                throw .internalError("populate \(name): \(error)")
            }
        }
    }

    /// `populate(name:from:)` with the destination `path` resolved inside `rootfs`, as Docker
    /// resolves a volume's destination in the container's filesystem: symlinks on the way resolve
    /// as if `rootfs` were `/`, so none leads out of it.
    public func populate(name: String, rootfs: String, path: String) async throws(LifecycleError) -> Bool {
        try await populate(name: name, described: rootfs + "/" + path) { () throws(LifecycleError) -> Int32? in
            do throws(OSError) {
                let root = try InRoot(path: rootfs)
                defer { root.close() }
                return try DirectoryTree.openDirectory(in: root, path)
            } catch {
                throw .internalError("populate \(name): \(error)")
            }
        }
    }

    func populate(name: String, described source: String, open: @escaping @Sendable () throws(LifecycleError) -> Int32?) async throws(LifecycleError) -> Bool {
        try await nameLocks.withLock(name) { () throws(LifecycleError) -> Bool in
            let target = try self.path(name)
            return try await self.offload("populate \(name)") { () throws(LifecycleError) -> Bool in
                let opened: Int32?
                do { opened = try DirectoryTree.openDirectory(target) } catch { throw .internalError("populate \(name): \(error)") }
                guard let dst = opened else { throw .internalError("populate \(name): \(target) is missing") }
                defer { FD.close(dst) }
                do {
                    guard try DirectoryTree.isEmpty(dst, path: target) else { return false }
                } catch { throw .internalError("populate \(name): \(error)") }
                guard let src = try open() else { return false }
                defer { FD.close(src) }
                do {
                    try DirectoryTree.copyContents(from: src, source, to: dst, target)
                } catch {
                    throw .internalError("populate \(name) from \(source): \(error)")
                }
                return true
            }
        }
    }

    // MARK: internals

    func record(_ name: String) throws(LifecycleError) -> VolumeRecord {
        guard let r = state.withLock({ $0.volumes[name] }) else { throw .notFound("get \(name): no such volume") }
        return r
    }

    func volumeDirectory(_ name: String) -> String { directory + "/" + name }
    func dataDirectory(_ name: String) -> String { directory + "/" + name + "/_data" }

    func volume(_ r: VolumeRecord) -> Volume {
        Volume(name: r.name, driver: r.driver, mountpoint: dataDirectory(r.name), createdAt: r.createdAt,
               labels: r.labels, scope: "local", options: r.options)
    }

    func mountSource(_ r: VolumeRecord) throws(LifecycleError) -> String {
        if r.options.isEmpty { return dataDirectory(r.name) }
        let type = r.options["type"] ?? "", device = r.options["device"] ?? ""
        let mountOptions = (r.options["o"] ?? "").split(separator: ",").map(String.init)
        // `type=none o=bind device=/srv/x` is Docker's way to name a host directory; binding the
        // device directly is what mounting it on _data and binding that would amount to.
        if type == "none", mountOptions.contains(where: { $0 == "bind" || $0 == "rbind" }) {
            guard device.hasPrefix("/"), FS.isDirectory(device) else {
                throw .invalidArgument("mount \(r.name): bind device \(device) is not an existing directory")
            }
            return device
        }
        let described = r.options.keys.sorted().map { "\($0)=\(r.options[$0] ?? "")" }.joined(separator: " ")
        throw .invalidArgument("mount \(r.name): local volumes with mount options (\(described)) are recorded but berth cannot mount them yet; create the volume without driver options")
    }

    /// Decides one removal with the name's lock held: marks it (so `path` refuses it), asks the
    /// usage hook without holding the state lock (the hook may take the container service's
    /// locks), then either refuses or renames it to trash and forgets it. Returns the trash path.
    func detach(_ name: String) throws(LifecycleError) -> String {
        state.withLock { _ = $0.removing.insert(name) }
        let users = usage(name)
        guard users.isEmpty else {
            state.withLock { _ = $0.removing.remove(name) }
            throw .conflict("remove \(name): volume is in use - [\(users.joined(separator: ", "))]")
        }
        let trash = directory + "/.trash-" + Self.randomHex(bytes: 8)
        do { try FS.renameNoReplace(volumeDirectory(name), trash) } catch {
            state.withLock { _ = $0.removing.remove(name) }
            throw .internalError("remove \(name): \(error)")
        }
        // Best effort: the volume is already gone from every caller's view; unsynced, it would only
        // reappear after a power loss, whole.
        try? DirectoryTree.syncDirectory(directory)
        state.withLock {
            $0.volumes[name] = nil
            $0.removing.remove(name)
        }
        return trash
    }

    /// Deletes a removed volume's data off the cooperative pool. A failure only leaves a hidden
    /// directory that the next start deletes, so it is logged, not thrown.
    func deleteTrash(_ trash: String) async {
        do {
            try await offload("delete \(trash)") { () throws(LifecycleError) in
                do { try DirectoryTree.remove(trash) } catch { throw .internalError("\(error)") }
            }
        } catch {
            Log.error("delete removed volume data \(trash): \(error)")
        }
    }

    /// Builds a volume under a hidden temp name and renames it into place once volume.json is
    /// durable: there is never a visible name without its metadata.
    func write(_ r: VolumeRecord) throws(LifecycleError) {
        let temp = directory + "/.tmp-" + Self.randomHex(bytes: 8)
        let target = volumeDirectory(r.name)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let json = try encoder.encode(r)
            try DirectoryTree.makeDirectory(temp, mode: 0o701)
            try DirectoryTree.makeDirectory(temp + "/_data", mode: 0o755)
            try DirectoryTree.writeDurably(temp + "/volume.json", Array(json), mode: 0o600)
            try FS.renameNoReplace(temp, target)
            try DirectoryTree.syncDirectory(directory)
        } catch {
            try? DirectoryTree.remove(temp)
            if let e = error as? OSError, e.operation == "rename", e.code == EEXIST || e.code == ENOTEMPTY {
                throw .conflict("create \(r.name): \(target) exists but is not a volume berth knows (it has no readable volume.json); move it away")
            }
            throw .internalError("create \(r.name): \(error)")
        }
    }

    static func load(_ dir: String) throws(LifecycleError) -> [String: VolumeRecord] {
        let entries: [String]
        do { entries = try FS.list(dir) } catch { throw .internalError("read volumes directory: \(error)") }
        var out: [String: VolumeRecord] = [:]
        for entry in entries.sorted() {
            let path = dir + "/" + entry
            if entry.hasPrefix(".") {
                // `.tmp-*` never got its name; `.trash-*` had already lost it.
                do { try DirectoryTree.remove(path) } catch { Log.error("remove leftover \(path): \(error)") }
                continue
            }
            guard isValidName(entry), (try? FS.info(path))?.kind == .directory else {
                Log.error("ignoring \(path): not a volume directory")
                continue
            }
            let meta = path + "/volume.json"
            guard FS.exists(meta) else {
                let data = path + "/_data"
                let emptyData = (try? FS.list(data).isEmpty) ?? !FS.exists(data)
                if emptyData {
                    do { try DirectoryTree.remove(path) } catch { Log.error("remove half-created volume \(path): \(error)") }
                } else {
                    Log.error("ignoring \(path): no volume.json but _data has content; it is kept, not loaded")
                }
                continue
            }
            let r: VolumeRecord
            do {
                r = try JSONDecoder().decode(VolumeRecord.self, from: Data(try FS.readBytes(meta, limit: 1 << 20)))
            } catch {
                Log.error("ignoring volume \(entry): \(meta): \(error)")
                continue
            }
            guard r.name == entry, r.driver == "local" else {
                Log.error("ignoring volume \(entry): \(meta) names \(r.name) with driver \(r.driver)")
                continue
            }
            if !FS.exists(path + "/_data") {
                do { try DirectoryTree.makeDirectory(path + "/_data", mode: 0o755) } catch {
                    Log.error("ignoring volume \(entry): recreate _data: \(error)")
                    continue
                }
            }
            out[entry] = r
        }
        return out
    }

    /// Runs file-system work on the blocking pool, keeping the typed error.
    func offload<T: Sendable>(_ what: String, _ body: @escaping @Sendable () throws(LifecycleError) -> T) async throws(LifecycleError) -> T {
        let result: Result<T, LifecycleError>
        do {
            result = try await Blocking.run { Result { () throws(LifecycleError) -> T in try body() } }
        } catch {
            throw .internalError("\(what): \(error)")
        }
        return try result.get()
    }

    // MARK: names, options, filters

    /// Docker's local-volume name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard bytes.count >= 2, bytes.count <= 255, let first = bytes.first, alnum(first) else { return false }
        return bytes.dropFirst().allSatisfy { alnum($0) || $0 == 95 || $0 == 46 || $0 == 45 }
    }

    static func validateName(_ name: String) throws(LifecycleError) {
        if isValidName(name) { return }
        if name.utf8.count == 1 {
            throw .invalidArgument("create \(name): volume name is too short, names should be at least two alphanumeric characters")
        }
        if name.utf8.count > 255 {
            throw .invalidArgument("create \(name): volume name is too long (at most 255 bytes)")
        }
        throw .invalidArgument("create \(name): \"\(name)\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")
    }

    /// The local driver's options, checked as Docker checks them: only `type`, `device` and `o`;
    /// `type` and `device` need each other, `o` needs both.
    static func validateOptions(_ name: String, _ opts: [String: String]) throws(LifecycleError) {
        for key in opts.keys.sorted() where !["type", "device", "o"].contains(key) {
            throw .invalidArgument("create \(name): invalid option: \"\(key)\"")
        }
        let needs: [(String, [String])] = [("device", ["type"]), ("type", ["device"]), ("o", ["device", "type"])]
        for (opt, required) in needs where opts[opt] != nil {
            for r in required where opts[r] == nil {
                throw .invalidArgument("create \(name): missing required option: \"\(r)\"")
            }
        }
    }

    /// Docker's `filters.Match`: the exact name, or a regular-expression match anywhere in it.
    static func nameMatches(_ name: String, _ pattern: String, _ regex: NSRegularExpression?) -> Bool {
        if name == pattern { return true }
        guard let regex else { return false }
        return regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// Docker's prune label rule: every `label` matches, and not every `label!` does.
    static func pruneLabelsMatch(_ filters: [String: [String]], _ labels: [String: String]) -> Bool {
        if let wanted = filters["label"], !wanted.allSatisfy({ ImageService.labelMatches($0, labels) }) { return false }
        if let unwanted = filters["label!"], !unwanted.isEmpty, unwanted.allSatisfy({ ImageService.labelMatches($0, labels) }) { return false }
        return true
    }

    /// A boolean filter (`true`/`1`, `false`/`0`); nil when absent.
    static func boolFilter(_ filters: [String: [String]], _ key: String) throws(LifecycleError) -> Bool? {
        guard let values = filters[key] else { return nil }
        let lower = Set(values.map { $0.lowercased() })
        let yes = lower.contains("true") || lower.contains("1"), no = lower.contains("false") || lower.contains("0")
        guard yes != no, lower.isSubset(of: ["true", "1", "false", "0"]) else {
            throw .invalidArgument("invalid filter '\(key)=\(values.joined(separator: ","))'")
        }
        return yes
    }

    /// A 64-hex name like Docker's, never starting with 12 digits (Docker avoids names that read
    /// as numbers).
    static func randomName() -> String {
        while true {
            let name = randomHex(bytes: 32)
            if !name.prefix(12).allSatisfy(\.isNumber) { return name }
        }
    }

    static func randomHex(bytes: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let b = UInt8.random(in: .min ... .max)
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339 in UTC, seconds precision, as Docker shows `CreatedAt`.
    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

/// What `<root>/volumes/<name>/volume.json` holds.
struct VolumeRecord: Codable, Sendable, Equatable {
    var name: String
    var driver: String
    var labels: [String: String]
    var options: [String: String]
    /// RFC 3339.
    var createdAt: String
}

/// Serialises work per name (a volume) without blocking a thread: later callers suspend until
/// the holder finishes, in arrival order.
actor NameLocks {
    /// A key is present while its lock is held; the value is who waits for it.
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]

    func withLock<T: Sendable, E: Error>(_ name: String, _ body: @Sendable () async throws(E) -> T) async throws(E) -> T {
        await lock(name)
        defer { unlock(name) }
        return try await body()
    }

    private func lock(_ name: String) async {
        if waiters[name] == nil {
            waiters[name] = []
            return
        }
        await withCheckedContinuation { waiters[name, default: []].append($0) }
    }

    private func unlock(_ name: String) {
        guard var queue = waiters[name], !queue.isEmpty else {
            waiters[name] = nil
            return
        }
        // The lock passes straight to the next waiter, so no newcomer can slip in between.
        let next = queue.removeFirst()
        waiters[name] = queue
        next.resume()
    }
}
