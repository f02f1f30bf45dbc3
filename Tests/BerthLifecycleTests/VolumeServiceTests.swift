import Foundation
import Glibc
import Synchronization
import Testing
import BerthOS
import BerthTestSupport
@testable import BerthWire
@testable import BerthLifecycle

/// Which containers use which volume: the usage hook the container service will provide, here
/// changeable while a service runs.
private final class VolumeUsers: Sendable {
    private let users = Mutex<[String: [String]]>([:])
    func set(_ volume: String, _ containers: [String]) { users.withLock { $0[volume] = containers } }
    func of(_ volume: String) -> [String] { users.withLock { $0[volume] ?? [] } }
}

/// A `VolumeService` on `<temp>/root`.
private func withVolumes(users: VolumeUsers = VolumeUsers(), _ body: (VolumeService, String) async throws -> Void) async throws {
    try await withTempDir(prefix: "berth-volumes") { dir in
        let service = try VolumeService(root: dir + "/root", usage: { users.of($0) })
        try await body(service, dir)
    }
}

/// The LifecycleError a call threw (its message, for Docker's wording), or a failure if none.
private func lifecycleError(_ body: () async throws -> Void) async -> LifecycleError? {
    do { try await body() } catch let e as LifecycleError { return e } catch { Issue.record("not a LifecycleError: \(error)"); return nil }
    Issue.record("expected an error")
    return nil
}

private func lstatOf(_ path: String) throws -> stat {
    var st = stat()
    guard lstat(path, &st) == 0 else { throw TestFailure("lstat \(path): \(String(cString: strerror(errno)))") }
    return st
}

private func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    try FS.mkdirAll(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    try FS.write(path, text, mode: mode)
    guard chmod(path, mode) == 0 else { throw TestFailure("chmod \(path)") }
}

private func readlinkString(_ path: String) throws -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink(path, &buf, buf.count)
    guard n >= 0 else { throw TestFailure("readlink \(path): \(String(cString: strerror(errno)))") }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A value shared with a `@Sendable` hook.
private final class TestBox<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    func get() -> T { value.withLock { $0 } }
    func update(_ body: (inout T) -> Void) { value.withLock { body(&$0) } }
}

@Suite("VolumeService on a temp data root")
struct VolumeServiceTests {
    // MARK: create, inspect

    @Test func createAndInspect() async throws {
        try await withVolumes { svc, dir in
            let v = try await svc.create(VolumeCreateParams(name: "data", labels: ["team": "core"]))
            #expect(v.name == "data")
            #expect(v.driver == "local")
            #expect(v.scope == "local")
            #expect(v.mountpoint == dir + "/root/volumes/data/_data")
            #expect(v.labels == ["team": "core"])
            #expect(v.options == [:])
            #expect(v.status == nil && v.usageData == nil)
            let created = try #require(v.createdAt)
            let parsed = try #require(ISO8601DateFormatter().date(from: created), "CreatedAt \(created) is not RFC 3339")
            #expect(abs(parsed.timeIntervalSinceNow) < 60)
            #expect(try svc.inspect("data") == v)
            #expect(try svc.path("data") == v.mountpoint)

            // The mount source is a 0755 directory; volume.json holds what was asked for.
            let st = try lstatOf(v.mountpoint)
            #expect(st.st_mode & S_IFMT == S_IFDIR && st.st_mode & 0o7777 == 0o755)
            let meta = try JSONDecoder().decode(VolumeRecord.self, from: Data(FS.readBytes(dir + "/root/volumes/data/volume.json")))
            #expect(meta == VolumeRecord(name: "data", driver: "local", labels: ["team": "core"], options: [:], createdAt: created))
            // Nothing hidden is left behind by the temp-then-rename create.
            #expect(try FS.list(dir + "/root/volumes") == ["data"])

            // Docker's wording for a missing volume, as a 404.
            let e = await lifecycleError { _ = try svc.inspect("nope") }
            #expect(e?.description == "get nope: no such volume")
            #expect(e?.wireError.code == 404)
        }
    }

    @Test func createIsIdempotent() async throws {
        try await withVolumes { svc, _ in
            let first = try await svc.create(VolumeCreateParams(name: "cache", driver: "local", labels: ["a": "1"]))
            // Docker returns the existing volume unchanged: new labels or options are ignored.
            let again = try await svc.create(VolumeCreateParams(name: "cache", labels: ["b": "2"]))
            #expect(again == first)
            #expect(try svc.list().volumes.map(\.name) == ["cache"])

            // Only the local driver exists; any other is a missing plugin (400), named or not.
            for name in ["cache", "other"] {
                let e = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: name, driver: "convoy")) }
                #expect(e?.description == "create \(name): error looking up volume plugin convoy: plugin \"convoy\" not found")
                #expect(e?.wireError.code == 400)
            }
        }
    }

    @Test func concurrentCreatesOfOneNameMakeOneVolume() async throws {
        try await withVolumes { svc, dir in
            let made = try await withThrowingTaskGroup(of: Volume.self) { group in
                for i in 0..<16 { group.addTask { try await svc.create(VolumeCreateParams(name: "shared", labels: ["i": "\(i)"])) } }
                for i in 0..<8 { group.addTask { try await svc.create(VolumeCreateParams(name: "v\(i)x")) } }
                return try await group.reduce(into: [Volume]()) { $0.append($1) }
            }
            let shared = made.filter { $0.name == "shared" }
            #expect(shared.count == 16)
            #expect(Set(shared.map(\.labels)).count == 1, "every caller gets the one volume that was made")
            #expect(try svc.list().volumes.count == 9)
            #expect(try FS.list(dir + "/root/volumes").sorted() == (["shared"] + (0..<8).map { "v\($0)x" }).sorted())
        }
    }

    @Test func anonymousVolumes() async throws {
        try await withVolumes { svc, _ in
            let a = try await svc.createAnonymous()
            let b = try await svc.create(VolumeCreateParams(name: "", labels: ["x": "y"]))
            for v in [a, b] {
                #expect(v.name.count == 64 && v.name.allSatisfy(\.isHexDigit) && v.name == v.name.lowercased(), "\(v.name)")
                #expect(v.labels[VolumeService.anonymousLabel] == "")
            }
            #expect(b.labels["x"] == "y")
            #expect(a.name != b.name)
        }
    }

    @Test func namesFollowDockersRule() async throws {
        try await withVolumes { svc, _ in
            for good in ["ab", "0x", "my-vol.1_b", "A9", String(repeating: "a", count: 255)] {
                let v = try await svc.create(VolumeCreateParams(name: good))
                #expect(v.name == good)
            }
            for bad in ["-ab", "_ab", ".ab", "a/b", "../etc", "a b", "tab\there", "caf\u{e9}", "a:b", "/abs/path", String(repeating: "a", count: 256)] {
                let e = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: bad)) }
                #expect(e?.wireError.code == 400, "\(bad)")
            }
            let e = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: "a/b")) }
            #expect(e?.description == #"create a/b: "a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path"#)
            let short = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: "a")) }
            #expect(short?.description == "create a: volume name is too short, names should be at least two alphanumeric characters")
            // A name that is not a volume is simply not found, never a path.
            let e2 = await lifecycleError { _ = try svc.path("../volumes") }
            #expect(e2?.wireError.code == 404)
        }
    }

    @Test func driverOptions() async throws {
        try await withVolumes { svc, dir in
            // tmpfs is recorded as given; mounting it is refused with a message that says why.
            let opts = ["type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"]
            let t = try await svc.create(VolumeCreateParams(name: "scratch", driverOpts: opts))
            #expect(t.options == opts)
            #expect(try svc.inspect("scratch").options == opts)
            let e = await lifecycleError { _ = try svc.path("scratch") }
            #expect(e?.wireError.code == 400)
            #expect(e?.description.contains("mount scratch: local volumes with mount options (device=tmpfs o=size=100m,uid=1000 type=tmpfs)") == true, "\(e?.description ?? "")")
            let p = await lifecycleError { _ = try await svc.populate(name: "scratch", from: dir) }
            #expect(p?.wireError.code == 400)

            // Docker's option checks.
            let bad = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: "bad", driverOpts: ["size": "1g"])) }
            #expect(bad?.description == #"create bad: invalid option: "size""#)
            let half = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: "half", driverOpts: ["type": "tmpfs"])) }
            #expect(half?.description == #"create half: missing required option: "device""#)
            let o = await lifecycleError { _ = try await svc.create(VolumeCreateParams(name: "o-only", driverOpts: ["o": "ro"])) }
            #expect(o?.description == #"create o-only: missing required option: "device""#)
            #expect(try svc.list().volumes.map(\.name) == ["scratch"])

            // `type=none o=bind device=<dir>` names a host directory: that is the mount source.
            let host = dir + "/host-data"
            try FS.mkdirAll(host)
            _ = try await svc.create(VolumeCreateParams(name: "bound", driverOpts: ["type": "none", "o": "bind", "device": host]))
            #expect(try svc.path("bound") == host)
            _ = try await svc.create(VolumeCreateParams(name: "gone", driverOpts: ["type": "none", "o": "bind", "device": dir + "/missing"]))
            let g = await lifecycleError { _ = try svc.path("gone") }
            #expect(g?.description == "mount gone: bind device \(dir)/missing is not an existing directory")
        }
    }

    // MARK: list

    @Test func listFilters() async throws {
        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, _ in
            _ = try await svc.create(VolumeCreateParams(name: "alpha-one", labels: ["env": "prod"]))
            _ = try await svc.create(VolumeCreateParams(name: "alpha-two", labels: ["env": "dev", "tier": "db"]))
            _ = try await svc.create(VolumeCreateParams(name: "beta"))
            let anon = try await svc.createAnonymous()
            users.set("beta", ["c1"])

            func names(_ f: [String: [String]]) throws -> [String] { try svc.list(filters: f).volumes.map(\.name) }
            #expect(try names([:]) == [anon.name, "alpha-one", "alpha-two", "beta"].sorted())
            #expect(try svc.list().warnings == [])
            #expect(try names(["name": ["alpha"]]) == ["alpha-one", "alpha-two"])
            #expect(try names(["name": ["one", "beta"]]) == ["alpha-one", "beta"])
            #expect(try names(["name": ["^beta$"]]) == ["beta"])
            #expect(try names(["name": ["zeta"]]) == [])
            #expect(try names(["label": ["env"]]) == ["alpha-one", "alpha-two"])
            #expect(try names(["label": ["env=prod"]]) == ["alpha-one"])
            #expect(try names(["label": ["env=dev", "tier"]]) == ["alpha-two"])
            #expect(try names(["label": ["env=prod", "tier"]]) == [])
            #expect(try names(["label": [VolumeService.anonymousLabel]]) == [anon.name])
            #expect(try names(["dangling": ["true"]]) == [anon.name, "alpha-one", "alpha-two"].sorted())
            #expect(try names(["dangling": ["false"]]) == ["beta"])
            #expect(try names(["dangling": ["0"], "name": ["alpha"]]) == [])
            #expect(try names(["driver": ["local"]]).count == 4)
            #expect(try names(["driver": ["nfs"]]) == [])

            let unknown = await lifecycleError { _ = try svc.list(filters: ["reference": ["x"]]) }
            #expect(unknown?.description == "invalid filter 'reference'")
            #expect(unknown?.wireError.code == 400)
            let maybe = await lifecycleError { _ = try svc.list(filters: ["dangling": ["maybe"]]) }
            #expect(maybe?.description == "invalid filter 'dangling=maybe'")
            let both = await lifecycleError { _ = try svc.list(filters: ["dangling": ["true", "false"]]) }
            #expect(both?.wireError.code == 400)
        }
    }

    // MARK: remove

    @Test func removeRefusesVolumesInUse() async throws {
        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, dir in
            let v = try await svc.create(VolumeCreateParams(name: "db"))
            try writeFile(v.mountpoint + "/data/table", "rows")
            users.set("db", ["c1", "c2"])
            for force in [false, true] {
                let e = await lifecycleError { try await svc.remove("db", force: force) }
                #expect(e?.description == "remove db: volume is in use - [c1, c2]")
                #expect(e?.wireError.code == 409)
            }
            #expect(try FS.readString(v.mountpoint + "/data/table") == "rows")
            #expect(try svc.path("db") == v.mountpoint)

            users.set("db", [])
            try await svc.remove("db")
            #expect(!FS.exists(dir + "/root/volumes/db"))
            #expect(try FS.list(dir + "/root/volumes") == [], "no trash left behind")
            let gone = await lifecycleError { _ = try svc.inspect("db") }
            #expect(gone?.wireError.code == 404)

            let missing = await lifecycleError { try await svc.remove("db") }
            #expect(missing?.description == "get db: no such volume")
            #expect(missing?.wireError.code == 404)
            try await svc.remove("db", force: true)  // Docker: force makes a missing volume a success

            // The name is free again.
            #expect(try await svc.create(VolumeCreateParams(name: "db")).labels == [:])
            #expect(try FS.list(v.mountpoint) == [])
        }
    }

    /// While a removal asks the usage hook, the volume cannot be handed out: a container that
    /// registers its use only then must not get a mount source that is about to vanish.
    @Test func pathRefusesAVolumeWhoseRemovalIsBeingDecided() async throws {
        let seen = TestBox<[String]>([])
        let service = TestBox<VolumeService?>(nil)
        try await withTempDir(prefix: "berth-volumes") { dir in
            let svc = try VolumeService(root: dir + "/root", usage: { name in
                do { _ = try service.get()?.path(name); seen.update { $0.append("path ok") } } catch {
                    seen.update { $0.append("\(error)") }
                }
                return []
            })
            service.update { $0 = svc }
            _ = try await svc.create(VolumeCreateParams(name: "vol"))
            try await svc.remove("vol")
            #expect(seen.get() == ["get vol: volume is being removed"])
        }
    }

    // MARK: prune

    @Test func pruneRemovesUnusedAnonymousVolumesByDefault() async throws {
        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, dir in
            let a1 = try await svc.createAnonymous()
            let a2 = try await svc.createAnonymous()
            let named = try await svc.create(VolumeCreateParams(name: "named", labels: ["keep": "yes"]))
            let other = try await svc.create(VolumeCreateParams(name: "other"))
            users.set(a2.name, ["c1"])
            try writeFile(a1.mountpoint + "/f", String(repeating: "x", count: 1000))
            try writeFile(a1.mountpoint + "/sub/g", String(repeating: "y", count: 234))
            #expect(link(a1.mountpoint + "/f", a1.mountpoint + "/hard") == 0)  // counted once
            #expect(symlink("/etc/passwd", a1.mountpoint + "/link") == 0)     // its own size, not followed
            try writeFile(other.mountpoint + "/o", "12345")

            let first = try await svc.prune()
            #expect(first.volumesDeleted == [a1.name])
            #expect(first.spaceReclaimed == 1000 + 234 + Int64("/etc/passwd".utf8.count))
            #expect(try svc.list().volumes.map(\.name).sorted() == [a2.name, "named", "other"].sorted())

            // `all` takes named volumes too, filtered by label; the one in use always stays.
            let keep = try await svc.prune(filters: ["all": ["true"], "label!": ["keep=yes"]])
            #expect(keep.volumesDeleted == ["other"])
            #expect(keep.spaceReclaimed == 5)
            let labelled = try await svc.prune(filters: ["all": ["1"], "label": ["keep"]])
            #expect(labelled.volumesDeleted == [named.name])
            let rest = try await svc.prune(filters: ["all": ["true"]])
            #expect(rest.volumesDeleted == [])
            #expect(try svc.list().volumes.map(\.name) == [a2.name])
            #expect(try FS.list(dir + "/root/volumes") == [a2.name])

            users.set(a2.name, [])
            #expect(try await svc.prune(filters: ["all": ["false"]]).volumesDeleted == [a2.name])

            let bad = await lifecycleError { _ = try await svc.prune(filters: ["dangling": ["true"]]) }
            #expect(bad?.description == "invalid filter 'dangling'")
        }
    }

    @Test func usageData() async throws {
        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, _ in
            let v = try await svc.create(VolumeCreateParams(name: "sized"))
            try writeFile(v.mountpoint + "/a", "abc")
            users.set("sized", ["c1", "c2"])
            #expect(try await svc.usageData("sized") == VolumeUsageData(size: 3, refCount: 2))
        }
    }

    // MARK: reopening from disk

    @Test func reopeningRebuildsFromDiskAndDropsHalfCreatedVolumes() async throws {
        try await withTempDir(prefix: "berth-volumes") { dir in
            let root = dir + "/root"
            let first = try VolumeService(root: root)
            let kept = try await first.create(VolumeCreateParams(name: "kept", driverOpts: ["type": "tmpfs", "device": "tmpfs", "o": "size=1m"], labels: ["l": "v"]))
            let anon = try await first.createAnonymous()
            try writeFile(anon.mountpoint + "/file", "survives")

            // What crashes leave: a volume dir whose metadata was never written, an unfinished
            // create, an unfinished remove. And a foreign directory with data: kept, not loaded.
            try FS.mkdirAll(root + "/volumes/half/_data")
            try FS.mkdirAll(root + "/volumes/bare")
            try writeFile(root + "/volumes/.tmp-0123/volume.json", "{")
            try writeFile(root + "/volumes/.trash-4567/_data/x", "old")
            try writeFile(root + "/volumes/foreign/_data/precious", "data")
            try writeFile(root + "/volumes/broken/volume.json", "not json")

            let second = try VolumeService(root: root)
            #expect(try second.list().volumes.map(\.name) == [anon.name, "kept"].sorted())
            #expect(try second.inspect("kept") == kept)
            #expect(try second.inspect(anon.name) == anon)
            #expect(try FS.readString(anon.mountpoint + "/file") == "survives")
            let onDisk = try FS.list(root + "/volumes").sorted()
            #expect(onDisk == [anon.name, "broken", "foreign", "kept"].sorted())
            #expect(try FS.readString(root + "/volumes/foreign/_data/precious") == "data")

            // A name held by a directory it does not know is a clear conflict, not an overwrite.
            let e = await lifecycleError { _ = try await second.create(VolumeCreateParams(name: "foreign")) }
            #expect(e?.wireError.code == 409)
            #expect(e?.description.contains("no readable volume.json") == true)
            #expect(try FS.readString(root + "/volumes/foreign/_data/precious") == "data")
        }
    }

    // MARK: copy-up

    /// An image directory with every kind of entry, and symlinks that point outside it.
    static func makeImageDir(_ src: String, outside: String) throws {
        try writeFile(src + "/plain.txt", "hello", mode: 0o640)
        try writeFile(src + "/bin/tool", "#!/bin/sh\n", mode: 0o4755)
        try writeFile(src + "/private/secret", "s", mode: 0o600)
        guard chmod(src + "/private", 0o700) == 0, chmod(src, 0o750) == 0 else { throw TestFailure("chmod") }
        guard symlink(outside + "/sentinel", src + "/abs-escape") == 0,
              symlink("../../../../../../outside/sentinel", src + "/rel-escape") == 0,
              symlink(outside, src + "/dir-escape") == 0,
              symlink("plain.txt", src + "/rel-ok") == 0,
              link(src + "/plain.txt", src + "/bin/plain-hardlink") == 0,
              mkfifo(src + "/fifo", 0o620) == 0,
              chmod(src + "/fifo", 0o620) == 0
        else { throw TestFailure("make image dir: \(String(cString: strerror(errno)))") }
        // Distinct owners and old, exact times, so a copy that drops them shows.
        if geteuid() == 0 {
            guard chown(src + "/bin/tool", 1234, 5678) == 0,
                  chmod(src + "/bin/tool", 0o4755) == 0,  // chown cleared setuid
                  lchown(src + "/rel-ok", 42, 43) == 0, chown(src, 1000, 1001) == 0
            else { throw TestFailure("chown") }
        }
        for p in ["/plain.txt", "/bin/tool", "/private", "/bin", "/rel-ok", "/fifo"] {
            var ts = [timespec(tv_sec: 1_600_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_500_000_000, tv_nsec: 987_654_321)]
            guard utimensat(AT_FDCWD, src + p, &ts, AT_SYMLINK_NOFOLLOW) == 0 else { throw TestFailure("utimensat \(p)") }
        }
    }

    @Test func populateCopiesContentWithoutFollowingSymlinks() async throws {
        try await withVolumes { svc, dir in
            let outside = dir + "/outside", src = dir + "/image/var/lib/app"
            try writeFile(outside + "/sentinel", "untouched", mode: 0o644)
            let sentinelBefore = try lstatOf(outside + "/sentinel")
            try Self.makeImageDir(src, outside: outside)

            let v = try await svc.create(VolumeCreateParams(name: "app"))
            #expect(try await svc.populate(name: "app", from: src) == true)
            let dst = v.mountpoint

            #expect(try FS.list(dst).sorted() == ["abs-escape", "bin", "dir-escape", "fifo", "plain.txt", "private", "rel-escape", "rel-ok"])
            #expect(try FS.readString(dst + "/plain.txt") == "hello")
            #expect(try FS.readString(dst + "/bin/tool") == "#!/bin/sh\n")
            // Symlinks are copied as links with their targets as written.
            for (name, target) in [("abs-escape", outside + "/sentinel"), ("rel-escape", "../../../../../../outside/sentinel"), ("dir-escape", outside), ("rel-ok", "plain.txt")] {
                #expect(try lstatOf(dst + "/" + name).st_mode & S_IFMT == S_IFLNK, "\(name)")
                #expect(try readlinkString(dst + "/" + name) == target, "\(name)")
            }
            // Modes (setuid included), times, hard links, fifos, and the root's owner and mode.
            for p in ["/plain.txt", "/bin/tool", "/private", "/private/secret", "/bin", "/fifo", "/rel-ok", ""] {
                let a = try lstatOf(src + p), b = try lstatOf(dst + p)
                #expect(a.st_mode == b.st_mode, "mode of \(p): \(String(a.st_mode, radix: 8)) vs \(String(b.st_mode, radix: 8))")
                #expect(a.st_uid == b.st_uid && a.st_gid == b.st_gid, "owner of \(p)")
                if !p.isEmpty {
                    #expect(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec, "mtime of \(p)")
                }
            }
            #expect(try lstatOf(dst + "/bin/tool").st_mode & 0o7777 == 0o4755)
            #expect(try lstatOf(dst + "/fifo").st_mode & S_IFMT == S_IFIFO)
            #expect(try lstatOf(dst + "/bin/plain-hardlink").st_ino == lstatOf(dst + "/plain.txt").st_ino)
            #expect(try lstatOf(dst + "/bin/plain-hardlink").st_ino != lstatOf(src + "/plain.txt").st_ino)
            if geteuid() == 0 {
                #expect(try lstatOf(dst + "/bin/tool").st_uid == 1234)
                #expect(try lstatOf(dst + "/rel-ok").st_uid == 42)
                #expect(try lstatOf(dst).st_uid == 1000)
            }
            #expect(try lstatOf(dst).st_mode & 0o7777 == 0o750)

            // Outside stays exactly as it was.
            #expect(try FS.readString(outside + "/sentinel") == "untouched")
            let sentinelAfter = try lstatOf(outside + "/sentinel")
            #expect(sentinelAfter.st_mtim.tv_sec == sentinelBefore.st_mtim.tv_sec && sentinelAfter.st_mtim.tv_nsec == sentinelBefore.st_mtim.tv_nsec)
            #expect(try FS.list(outside) == ["sentinel"])

            // Only a fresh volume is filled: once it has content, nothing is copied again.
            try FS.unlink(dst + "/plain.txt")
            #expect(try await svc.populate(name: "app", from: src) == false)
            #expect(!FS.exists(dst + "/plain.txt"))
        }
    }

    @Test func populateNeverWritesThroughTheVolumeOrTheSourcePath() async throws {
        try await withVolumes { svc, dir in
            let outside = dir + "/outside"
            try writeFile(outside + "/sentinel", "untouched")
            try writeFile(dir + "/image/etc/conf", "c")

            // A volume whose only entry is a link out is not empty: nothing is copied through it.
            let v = try await svc.create(VolumeCreateParams(name: "planted"))
            #expect(symlink(outside, v.mountpoint + "/etc") == 0)
            #expect(try await svc.populate(name: "planted", from: dir + "/image") == false)
            #expect(try FS.list(outside) == ["sentinel"])

            // A source path that is itself a symlink is refused, not followed.
            #expect(symlink(outside, dir + "/image-link") == 0)
            _ = try await svc.create(VolumeCreateParams(name: "fresh"))
            let e = await lifecycleError { _ = try await svc.populate(name: "fresh", from: dir + "/image-link") }
            #expect(e?.wireError.code == 400)
            #expect(try FS.list(svc.path("fresh")) == [])

            // A destination the image lacks: nothing to copy.
            #expect(try await svc.populate(name: "fresh", from: dir + "/image/nope") == false)
            let missing = await lifecycleError { _ = try await svc.populate(name: "nope", from: dir + "/image") }
            #expect(missing?.wireError.code == 404)
        }
    }

    @Test func populateResolvesTheDestinationInsideTheImageRoot() async throws {
        try await withVolumes { svc, dir in
            let rootfs = dir + "/rootfs", outside = dir + "/outside"
            try writeFile(outside + "/sentinel", "untouched")
            try writeFile(rootfs + "/run/app/pid", "1")
            try writeFile(rootfs + "/outside/sentinel", "the image's own")
            try FS.mkdirAll(rootfs + "/var")
            // /var/run -> /run as in most images; /escape -> ../../.. climbs out on the host.
            #expect(symlink("/run", rootfs + "/var/run") == 0)
            #expect(symlink("../../../..", rootfs + "/escape") == 0)

            let a = try await svc.create(VolumeCreateParams(name: "run"))
            #expect(try await svc.populate(name: "run", rootfs: rootfs, path: "/var/run/app") == true)
            #expect(try FS.readString(a.mountpoint + "/pid") == "1")

            // Climbing out resolves to the image's root, never the host's.
            let b = try await svc.create(VolumeCreateParams(name: "esc"))
            #expect(try await svc.populate(name: "esc", rootfs: rootfs, path: "/escape/outside") == true)
            #expect(try FS.readString(b.mountpoint + "/sentinel") == "the image's own")
            #expect(try FS.readString(outside + "/sentinel") == "untouched")
        }
    }

    @Test func failedCopyLeavesTheVolumeEmptyForARetry() async throws {
        try await withVolumes { svc, dir in
            let src = dir + "/image"
            try writeFile(src + "/a/ok", "fine")
            try writeFile(src + "/b/unreadable", "x", mode: 0o000)
            let v = try await svc.create(VolumeCreateParams(name: "retry"))
            if geteuid() == 0 {
                // Root reads anything; make the failure a depth the copier refuses instead.
                var deep = src + "/z"
                for _ in 0...DirectoryTree.maxDepth { deep += "/d" }
                try FS.mkdirAll(deep)
            }
            let e = await lifecycleError { _ = try await svc.populate(name: "retry", from: src) }
            #expect(e?.wireError.code == 500)
            #expect(try FS.list(v.mountpoint) == [], "a partial copy is undone")
        }
    }

    // MARK: wire

    @Test func wireMethodsUseDockersKeysAndStatuses() async throws {
        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, dir in
            var router = WireRouter()
            svc.register(on: &router)
            #expect(router.methods == ["volume.create", "volume.inspect", "volume.list", "volume.prune", "volume.remove"])
            let server = try await WireServer.start(path: dir + "/wire.sock", router: router)
            let client = try await WireClient.connect(path: server.path)
            do {
                let created = try await client.call("volume.create", RawJSON(#"{"Name":"web","Labels":{"a":"b"},"DriverOpts":{}}"#), returning: RawJSON.self)
                let obj = try JSONDecoder().decode([String: JSONValue].self, from: Data(created.text.utf8))
                #expect(Set(obj.keys) == ["Name", "Driver", "Mountpoint", "CreatedAt", "Labels", "Scope", "Options"])
                #expect(obj["Mountpoint"] == .string(dir + "/root/volumes/web/_data"))

                let inspected = try await client.call("volume.inspect", VolumeNameParams(name: "web"), returning: Volume.self)
                #expect(inspected.labels == ["a": "b"])
                let listed = try await client.call("volume.list", RawJSON(#"{"filters":{"label":["a=b"]}}"#), returning: RawJSON.self)
                let list = try JSONDecoder().decode([String: JSONValue].self, from: Data(listed.text.utf8))
                #expect(Set(list.keys) == ["Volumes", "Warnings"])
                #expect(try await client.call("volume.list", VolumeListParams(), returning: VolumeListResult.self).volumes.map(\.name) == ["web"])

                users.set("web", ["c9"])
                await #expect(throws: WireError(code: 409, message: "remove web: volume is in use - [c9]")) {
                    _ = try await client.call("volume.remove", VolumeRemoveParams(name: "web", force: true), returning: Empty.self)
                }
                await #expect(throws: WireError(code: 404, message: "get nope: no such volume")) {
                    _ = try await client.call("volume.inspect", VolumeNameParams(name: "nope"), returning: Volume.self)
                }
                await #expect(throws: WireError(code: 400, message: "invalid filter 'nope'")) {
                    _ = try await client.call("volume.list", VolumeListParams(filters: ["nope": []]), returning: VolumeListResult.self)
                }
                users.set("web", [])
                _ = try await client.call("volume.remove", RawJSON(#"{"name":"web"}"#), returning: Empty.self)
                let anon = try await client.call("volume.create", RawJSON("{}"), returning: Volume.self)
                let pruned = try await client.call("volume.prune", RawJSON(#"{"filters":{}}"#), returning: RawJSON.self)
                #expect(try JSONDecoder().decode(JSONValue.self, from: Data(pruned.text.utf8))
                        == .object(["VolumesDeleted": .array([.string(anon.name)]), "SpaceReclaimed": .int(0)]))
            } catch {
                await client.close(); await server.close()
                throw error
            }
            await client.close(); await server.close()
        }
    }

    // MARK: the protocol schema

    /// Once Specs/lifecycle-protocol.schema.json defines the volume methods, what the service
    /// really answers (and the params berthd sends) validates against it, and Docker-shaped
    /// mistakes do not.
    @Test(.enabled(if: jsonObject(jsonObject(volumeSchema())?["x-methods"])?["volume.create"] != nil,
                   "the schema does not define the volume methods yet"))
    func messagesMatchTheProtocolSchema() async throws {
        let schema = try #require(volumeSchema())
        let validator = SchemaValidator(root: schema)
        #expect(validator.audit(schema).isEmpty, "\(validator.audit(schema))")
        let methods = try #require(jsonObject(jsonObject(schema)?["x-methods"]))
        func check<T: Encodable>(_ method: String, _ role: String, _ value: T) throws {
            let json = try JSONDecoder().decode(JSONValue.self, from: WireCoding.encoder().encode(value))
            let sub = try #require(jsonObject(methods[method])?[role], "x-methods.\(method).\(role)")
            let errs = validator.errors(json, sub)
            #expect(errs.isEmpty, "\(method) \(role) \(SchemaValidator.show(json)): \(errs)")
        }
        try check("volume.create", "params", VolumeCreateParams())
        try check("volume.create", "params", VolumeCreateParams(name: "data", driver: "local",
                                                                 driverOpts: ["type": "tmpfs", "device": "tmpfs", "o": "size=64m"], labels: ["a": "b"]))
        try check("volume.inspect", "params", VolumeNameParams(name: "data"))
        try check("volume.list", "params", VolumeListParams())
        try check("volume.list", "params", VolumeListParams(filters: ["name": ["d"], "label": ["a=b"], "dangling": ["true"], "driver": ["local"]]))
        try check("volume.remove", "params", VolumeRemoveParams(name: "data"))
        try check("volume.remove", "params", VolumeRemoveParams(name: "data", force: true))
        try check("volume.prune", "params", VolumePruneParams())
        try check("volume.prune", "params", VolumePruneParams(filters: ["label": ["a"], "label!": ["b=c"], "all": ["true"]]))

        let users = VolumeUsers()
        try await withVolumes(users: users) { svc, _ in
            let named = try await svc.create(VolumeCreateParams(name: "data", driverOpts: ["type": "tmpfs", "device": "tmpfs", "o": "size=64m"], labels: ["a": "b"]))
            let anon = try await svc.createAnonymous()
            try check("volume.create", "result", named)
            try check("volume.create", "result", anon)
            try check("volume.inspect", "result", try svc.inspect("data"))
            var full = named
            full.status = ["state": "ok"]
            full.usageData = try await svc.usageData("data")
            try check("volume.inspect", "result", full)
            try check("volume.list", "result", try svc.list())
            try check("volume.list", "result", try svc.list(filters: ["name": ["nothing"]]))
            try check("volume.remove", "result", Empty())
            try writeFile(anon.mountpoint + "/f", "data")
            try check("volume.prune", "result", try await svc.prune())

            // Docker's capitalised keys are the contract: lowercase ones, or a missing one, fail.
            let json = try JSONDecoder().decode(JSONValue.self, from: WireCoding.encoder().encode(named))
            guard case .object(var o) = json else { throw TestFailure("not an object") }
            let volumeSchema = try #require(jsonObject(methods["volume.inspect"])?["result"])
            o["name"] = o.removeValue(forKey: "Name")
            #expect(!validator.errors(.object(o), volumeSchema).isEmpty)
            guard case .object(var o2) = json else { throw TestFailure("not an object") }
            o2["Mountpoint"] = nil
            #expect(!validator.errors(.object(o2), volumeSchema).isEmpty)
        }
    }
}

/// Specs/lifecycle-protocol.schema.json, parsed; nil when it cannot be read.
private func volumeSchema() -> JSONValue? {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Specs/lifecycle-protocol.schema.json")
    return try? JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
}

private func jsonObject(_ v: JSONValue?) -> [String: JSONValue]? {
    if case .object(let o)? = v { return o }
    return nil
}
