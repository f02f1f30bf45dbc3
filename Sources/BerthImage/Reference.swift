/// An image reference as Docker users write it, normalised: `busybox` is
/// `docker.io/library/busybox:latest`; `127.0.0.1:5000/team/app:1.2`; `name@sha256:…`.
/// The grammar is distribution/reference's.
public struct Reference: Hashable, Sendable, CustomStringConvertible, Codable {
    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    /// Registry host[:port], e.g. `docker.io`, `127.0.0.1:5000`.
    public var domain: String
    /// Repository path inside the registry, e.g. `library/busybox`.
    public var path: String
    public var tag: String?
    public var digest: Digest?

    public init(domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain; self.path = path; self.tag = tag; self.digest = digest
    }

    /// Parses and normalises. With `defaultTag`, a reference without tag or digest gets `latest`.
    public init(parsing s: String, defaultTag: Bool = true) throws(ImageError) {
        guard !s.isEmpty else { throw .invalidReference(s, reason: "empty reference") }
        guard s.utf8.count <= 4096 else { throw .invalidReference(String(s.prefix(64)) + "…", reason: "too long") }
        var rest = Substring(s)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do { digest = try Digest(parsing: String(rest[rest.index(after: at)...])) } catch {
                throw .invalidReference(s, reason: "invalid digest")
            }
            rest = rest[..<at]
        }
        var tag: String?
        // A tag follows the last ':' after the last '/' (a ':' before it is a registry port).
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let t = String(rest[rest.index(after: colon)...])
            guard Reference.isValidTag(t) else { throw .invalidReference(s, reason: "invalid tag \"\(t)\"") }
            tag = t
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = Reference.defaultDomain
        if components.count > 1, Reference.looksLikeDomain(components[0]) {
            domain = components.removeFirst()
            guard Reference.isValidDomain(domain) else { throw .invalidReference(s, reason: "invalid registry \"\(domain)\"") }
        }
        if domain == "index.docker.io" || domain == "registry-1.docker.io" { domain = Reference.defaultDomain }
        guard !components.isEmpty else { throw .invalidReference(s, reason: "missing repository name") }
        for c in components {
            if c.contains(where: { $0.isUppercase }) {
                throw .invalidReference(s, reason: "repository name must be lowercase")
            }
            guard Reference.isValidComponent(c) else {
                throw .invalidReference(s, reason: "invalid repository name component \"\(c)\"")
            }
        }
        if domain == Reference.defaultDomain, components.count == 1 { components.insert("library", at: 0) }
        let path = components.joined(separator: "/")
        guard domain.utf8.count + 1 + path.utf8.count <= 255 else { throw .invalidReference(s, reason: "repository name must not be more than 255 characters") }
        if tag == nil, digest == nil, defaultTag { tag = Reference.defaultTag }
        self.init(domain: domain, path: path, tag: tag, digest: digest)
    }

    /// `docker.io/library/busybox`
    public var repository: String { "\(domain)/\(path)" }

    /// The fully qualified form: `docker.io/library/busybox:latest`, `reg/app@sha256:…`.
    public var description: String {
        var s = repository
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// The form `docker images` shows: `busybox`, `team/app`, `127.0.0.1:5000/app`.
    public var familiarRepository: String {
        guard domain == Reference.defaultDomain else { return repository }
        return path.hasPrefix("library/") && path.split(separator: "/").count == 2 ? String(path.dropFirst(8)) : path
    }

    /// `busybox:latest`, `127.0.0.1:5000/app@sha256:…`.
    public var familiar: String {
        var s = familiarRepository
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// The same repository with a different tag (no digest).
    public func withTag(_ t: String) -> Reference { Reference(domain: domain, path: path, tag: t, digest: nil) }
    /// The same repository pinned by digest (no tag), as in RepoDigests.
    public func withDigest(_ d: Digest) -> Reference { Reference(domain: domain, path: path, tag: nil, digest: d) }

    /// The registry host to contact: Docker Hub's API host differs from its name.
    public var registryHost: String { domain == Reference.defaultDomain ? "registry-1.docker.io" : domain }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { self = try Reference(parsing: s, defaultTag: false) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    // MARK: grammar

    static func looksLikeDomain(_ c: String) -> Bool {
        c.contains(".") || c.contains(":") || c == "localhost" || c.contains(where: { $0.isUppercase })
    }

    static func isValidDomain(_ d: String) -> Bool {
        var host = Substring(d)
        if let colon = d.lastIndex(of: ":"), !d.hasSuffix("]") {
            let port = d[d.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = d[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { return host.count > 2 }
        guard !host.isEmpty else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let f = label.first, let l = label.last else { return false }
            return f.isASCII && (f.isLetter || f.isNumber) && l.isASCII && (l.isLetter || l.isNumber)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    static func isValidComponent(_ c: String) -> Bool {
        let u = Array(c.utf8)
        guard !u.isEmpty else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        var i = 0
        guard alnum(u[0]) else { return false }
        while i < u.count {
            if alnum(u[i]) { i += 1; continue }
            // A separator run: ".", "_", "__" or "-"+, followed by an alphanumeric.
            let start = i
            if u[i] == UInt8(ascii: ".") { i += 1 } else if u[i] == UInt8(ascii: "_") {
                i += 1
                if i < u.count, u[i] == UInt8(ascii: "_") { i += 1 }
            } else if u[i] == UInt8(ascii: "-") {
                while i < u.count, u[i] == UInt8(ascii: "-") { i += 1 }
            } else { return false }
            guard i > start, i < u.count, alnum(u[i]) else { return false }
        }
        return true
    }

    /// `[\w][\w.-]{0,127}`
    public static func isValidTag(_ t: String) -> Bool {
        let u = Array(t.utf8)
        guard !u.isEmpty, u.count <= 128 else { return false }
        func word(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == 95 }
        return word(u[0]) && u.dropFirst().allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }
}
