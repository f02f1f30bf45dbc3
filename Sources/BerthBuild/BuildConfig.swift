import BerthImage
import Foundation

/// The image config's `config` object (Docker's keys): what the steps of a build change.
public typealias BuildConfig = ContainerConfig

extension ContainerConfig {
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

    /// Stable text for cache keys.
    var canonical: String {
        (try? CanonicalJSON.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
