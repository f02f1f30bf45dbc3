import Foundation

/// The image config's `config` object with Docker's keys: what the steps of a build change.
public struct BuildConfig: Codable, Sendable, Equatable {
    public var user: String?
    public var exposedPorts: [String: Empty]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String: Empty]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var argsEscaped: Bool?
    public var healthcheck: Healthcheck?
    public var onBuild: [String]?
    public var shell: [String]?

    enum CodingKeys: String, CodingKey {
        case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
        case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped", healthcheck = "Healthcheck", onBuild = "OnBuild", shell = "Shell"
    }

    public init() {}

    /// `{}`: the value type of ExposedPorts and Volumes.
    public struct Empty: Codable, Sendable, Equatable, Hashable { public init() {} }

    /// Docker's healthcheck (durations in nanoseconds).
    public struct Healthcheck: Codable, Sendable, Equatable {
        public var test: [String]?
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?
        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
            case startInterval = "StartInterval", retries = "Retries"
        }
        public init() {}
    }

    /// The value of `key` in Env (the last one wins, as in a process environment).
    public func envValue(_ key: String) -> String? {
        for kv in (env ?? []).reversed() {
            let p = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if p.first.map(String.init) == key { return p.count > 1 ? String(p[1]) : "" }
        }
        return nil
    }

    /// Sets `key=value` in Env, replacing an earlier value in place.
    public mutating func setEnv(_ key: String, _ value: String) {
        var list = env ?? []
        if let i = list.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) { list[i] = key + "=" + value } else { list.append(key + "=" + value) }
        env = list
    }

    /// Stable bytes for cache keys (sorted keys).
    var canonical: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? ""
    }
}
