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
