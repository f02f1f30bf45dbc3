/// The Engine API versions berthd serves, and the `/v1.NN` path prefix that selects one.
public struct APIVersion: Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) { self.major = major; self.minor = minor }

    /// Parses `1.43`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0 else { return nil }
        major = a; minor = b
    }

    public static let current = APIVersion(1, 43)
    /// dockerd 24's minimum: the oldest version whose request shapes berthd still understands.
    public static let minimum = APIVersion(1, 24)

    public var description: String { "\(major).\(minor)" }

    public static func < (l: APIVersion, r: APIVersion) -> Bool { (l.major, l.minor) < (r.major, r.minor) }
}

/// What the Engine API reports about the daemon (`GET /version`, `/_ping` headers).
public enum EngineIdentity {
    /// berthd's own version (the Engine component's `Version`).
    public static let version = "0.1.0"
    public static let platformName = "Berth Engine"
}
