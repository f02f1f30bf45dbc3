import BerthEngineAPI
import BerthWire
import Foundation
import Glibc

extension Router {
    func ping(_ r: HTTPRequest, _ w: ResponseWriter) {
        w.send(.ok, contentType: "text/plain; charset=utf-8", body: Data("OK".utf8),
               extraHeaders: [("Builder-Version", "1"), ("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")])
    }

    func version(_ r: HTTPRequest, _ w: ResponseWriter) throws {
        let u = Host.uname()
        w.json(encoding: VersionResponse(kernelVersion: u.release, arch: Host.goArch(u.machine)))
    }

    func info(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        struct Row: Decodable { var State: String }
        let rows = try await lifecycle.call("container.list", ["all": true], returning: [Row].self)
        let sys = try await lifecycle.call("system.info", Empty(), returning: SystemInfoLite.self)
        let u = Host.uname()
        let running = rows.filter { $0.State == "running" || $0.State == "restarting" }.count
        let paused = rows.filter { $0.State == "paused" }.count
        let info = InfoResponse(
            id: Host.machineID(), containers: rows.count, running: running, paused: paused,
            stopped: rows.count - running - paused, images: sys.images, debug: options.debug,
            systemTime: ISO8601DateFormatter().string(from: Date()),
            cgroupVersion: access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1",
            kernelVersion: u.release, operatingSystem: Host.osRelease("PRETTY_NAME") ?? "Linux",
            osVersion: Host.osRelease("VERSION_ID") ?? "", architecture: u.machine,
            ncpu: sysconf(Int32(_SC_NPROCESSORS_ONLN)), memTotal: Host.memTotal(),
            rootDir: options.dataRoot, name: u.nodename)
        w.json(encoding: info)
    }

    struct SystemInfoLite: Decodable { var images: Int }

    /// `GET /events`: one JSON object per line, as long as the client listens (or until `until`).
    func events(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = [:]
        if let s = r.string("since") { p["since"] = .string(s) }
        if let u = r.string("until") { p["until"] = .string(u) }
        if let f = try filters(r) { p["filters"] = f }
        // Headers go out first so the CLI knows the stream is open even before the first event.
        w.startStream(contentType: "application/json")
        _ = try await lifecycle.stream("system.events", p, progress: RawJSON.self) { e in
            w.chunk(Data((e.text + "\n").utf8))
        }
        w.endStream()
    }
}

/// Facts about this machine for `/version` and `/info`.
enum Host {
    struct Uname { var release: String; var machine: String; var nodename: String }

    static func uname() -> Uname {
        var u = utsname()
        _ = Glibc.uname(&u)
        func s<T>(_ v: T) -> String {
            withUnsafeBytes(of: v) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return Uname(release: s(u.release), machine: s(u.machine), nodename: s(u.nodename))
    }

    /// Go's GOARCH names, which the docker CLI prints.
    static func goArch(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        default: return machine
        }
    }

    static func memTotal() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int64($0) } ?? 0
            return kb * 1024
        }
        return 0
    }

    static func osRelease(_ key: String) -> String? {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
            return String(line.dropFirst(key.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }

    static func machineID() -> String {
        ((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Router {
    /// `GET /system/df`: images with their sizes and container counts, containers with the size of
    /// their writable layer (measured here: berthd shares the host with berth-lifecycled's data
    /// root), volumes with their size and reference count, no build cache.
    func systemDF(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let types = Set(r.all("type"))
        func wants(_ t: String) -> Bool { types.isEmpty || types.contains(t) }
        struct Brief: Decodable {
            struct Mount: Decodable { var `Type`: String?; var Name: String? }
            var Id: String
            var ImageID: String?
            var Mounts: [Mount]?
        }
        let images = try await lifecycle.call("image.list", ["all": true], returning: [ImageSummary].self)
        let rawContainers = try await lifecycle.call("container.list", ["all": true], returning: JSONValue.self)
        let briefs = try await lifecycle.call("container.list", ["all": true], returning: [Brief].self)
        var out: [String: JSONValue] = ["BuildCache": .array([])]
        let imageSize = Dictionary(images.map { ($0.id, $0.size) }, uniquingKeysWith: { a, _ in a })
        out["LayersSize"] = .int(wants("image") ? images.reduce(0) { $0 + $1.size } : 0)
        if wants("image") {
            out["Images"] = .array(images.map { i in
                .object(["Id": .string(i.id), "ParentId": .string(""), "RepoTags": .array(i.repoTags.map(JSONValue.string)),
                         "RepoDigests": .array(i.repoDigests.map(JSONValue.string)), "Created": .int(i.created),
                         "Size": .int(i.size), "SharedSize": .int(0), "VirtualSize": .int(i.size),
                         "Labels": .object(i.labels.mapValues(JSONValue.string)), "Containers": .int(Int64(i.containers))])
            })
        }
        if wants("container"), case .array(let rows) = rawContainers {
            var sized: [JSONValue] = []
            for (row, brief) in zip(rows, briefs) {
                guard case .object(var c) = row else { continue }
                let rw = try await writableLayerSize(brief.Id)
                c["SizeRw"] = .int(rw)
                c["SizeRootFs"] = .int(rw + (brief.ImageID.flatMap { imageSize[$0] } ?? 0))
                sized.append(.object(c))
            }
            out["Containers"] = .array(sized)
        }
        if wants("volume") {
            var refs: [String: Int64] = [:]
            for b in briefs { for m in b.Mounts ?? [] where m.Type == "volume" { if let n = m.Name { refs[n, default: 0] += 1 } } }
            let list = try await lifecycle.call("volume.list", Empty(), returning: JSONValue.self)
            var vols: [JSONValue] = []
            if case .object(let l) = list, case .array(let vs)? = l["Volumes"] {
                for v in vs {
                    guard case .object(var o) = v else { continue }
                    var size: Int64 = -1
                    if case .string(let mp)? = o["Mountpoint"] { size = Self.diskUsage(mp) }
                    let name: String = { if case .string(let n)? = o["Name"] { return n }; return "" }()
                    o["UsageData"] = .object(["Size": .int(size), "RefCount": .int(refs[name] ?? 0)])
                    vols.append(.object(o))
                }
            }
            out["Volumes"] = .array(vols)
        }
        w.json(encoding: JSONValue.object(out))
    }

    /// The bytes in a container's upper directory (0 when it has none yet).
    private func writableLayerSize(_ id: String) async throws -> Int64 {
        struct Inspect: Decodable {
            struct Graph: Decodable { var Data: [String: String]? }
            var GraphDriver: Graph?
        }
        guard let i = try? await lifecycle.call("container.inspect", ["id": id], returning: Inspect.self),
              let upper = i.GraphDriver?.Data?["UpperDir"], !upper.isEmpty else { return 0 }
        return max(0, Self.diskUsage(upper))
    }

    /// Apparent size of the files under `path`, hard links counted once (as Docker's
    /// `directory.Size`); -1 when `path` cannot be read.
    static func diskUsage(_ path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return -1 }
        var seen = Set<[UInt64]>()
        var total: Int64 = 0
        var stack = [path]
        while let dir = stack.popLast() {
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let full = dir + "/" + name
                guard lstat(full, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR { stack.append(full); continue }
                if st.st_nlink > 1 && !seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted { continue }
                total += Int64(st.st_size)
            }
        }
        return total
    }
}
