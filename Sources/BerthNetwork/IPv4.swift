import Foundation

/// An IPv4 address as a 32-bit number.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad; nil for anything else (no leading zeros' octal tricks, no shorthand).
    public init?(_ s: String) {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        value = v
    }

    public var description: String { "\(value >> 24).\(value >> 16 & 255).\(value >> 8 & 255).\(value & 255)" }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR form, normalised to its network address.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public var network: IPv4Address
    public var prefix: Int

    public init(network: IPv4Address, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4Address(network.value & Self.mask(prefix))
    }

    /// `10.1.0.0/16`; with `strict`, host bits must be zero (Docker refuses `10.1.2.3/16` as a subnet).
    public init?(_ s: String, strict: Bool = false) {
        let parts = s.split(separator: "/")
        guard parts.count == 2, let a = IPv4Address(String(parts[0])), let p = Int(parts[1]), (0...32).contains(p) else { return nil }
        if strict && a.value & ~Self.mask(p) != 0 { return nil }
        self.init(network: a, prefix: p)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    public var mask: UInt32 { Self.mask(prefix) }
    public var description: String { "\(network)/\(prefix)" }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }
    public var first: IPv4Address { network }
    public var last: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The first usable address (Docker's default gateway).
    public var firstHost: IPv4Address { IPv4Address(network.value + (prefix < 31 ? 1 : 0)) }

    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == network.value }
    public func overlaps(_ o: IPv4Subnet) -> Bool { contains(o.network) || o.contains(network) }
}

/// The host's IPv4 routes (`/proc/net/route`), to keep new networks off subnets already in use.
public enum HostRoutes {
    public struct Route: Sendable, Equatable {
        public var interface: String
        public var subnet: IPv4Subnet
    }

    public static func parse(_ text: String) -> [Route] {
        var out: [Route] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 8, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { continue }
            // The file holds addresses in host (little-endian) byte order of network-order bytes.
            let d = dst.byteSwapped, m = mask.byteSwapped
            out.append(Route(interface: String(f[0]), subnet: IPv4Subnet(network: IPv4Address(d), prefix: m.nonzeroBitCount)))
        }
        return out
    }

    public static func current() -> [Route] {
        parse((try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) ?? "")
    }

    /// Whether a subnet collides with a route other than the default one (and other than the
    /// listed interfaces, e.g. the network's own bridge).
    public static func conflict(_ s: IPv4Subnet, routes: [Route], ignoring: Set<String> = []) -> Route? {
        routes.first { $0.subnet.prefix > 0 && !ignoring.contains($0.interface) && $0.subnet.overlaps(s) }
    }
}

/// Docker's `--default-address-pool base=10.88.0.0/13,size=20`: the subnets new networks get.
public struct AddressPool: Sendable, Equatable {
    public var base: IPv4Subnet
    public var size: Int

    public init(base: IPv4Subnet, size: Int) { self.base = base; self.size = size }

    /// `base=…,size=…`.
    public init?(parsing s: String) {
        var base: IPv4Subnet?, size: Int?
        for kv in s.split(separator: ",") {
            let p = kv.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard p.count == 2 else { return nil }
            switch p[0] {
            case "base": base = IPv4Subnet(p[1], strict: true)
            case "size": size = Int(p[1])
            default: return nil
            }
        }
        guard let base, let size, size >= base.prefix, size <= 30 else { return nil }
        self.init(base: base, size: size)
    }

    /// The first subnet of the pool that overlaps none of `taken`.
    public func next(avoiding taken: [IPv4Subnet]) -> IPv4Subnet? {
        let step = UInt64(1) << UInt64(32 - size)
        var v = UInt64(base.network.value)
        let end = UInt64(base.network.value) + base.size
        while v < end {
            let s = IPv4Subnet(network: IPv4Address(UInt32(v)), prefix: size)
            if !taken.contains(where: { $0.overlaps(s) }) { return s }
            v += step
        }
        return nil
    }
}
