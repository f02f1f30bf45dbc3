import Foundation
import BerthOS

/// A failed iptables call, with the rule it was about.
public struct FirewallError: Error, CustomStringConvertible, Sendable {
    public var command: String
    public var message: String
    public var description: String { "iptables \(command): \(message)" }
}

/// The iptables rules of Berth's bridge networks, in chains of their own (named with a prefix, so
/// a test daemon's rules never mix with another's):
/// - nat `<P>-POSTROUTING` (jumped to from POSTROUTING): outbound masquerade per network;
/// - filter `<P>-FORWARD` (jumped to from the top of FORWARD): first `<P>-ISOLATION-1/-2`, Docker's
///   two-stage isolation that drops traffic from one Berth bridge to another and in or out of an
///   internal network, then accepts a network's own traffic, so a host whose FORWARD policy is
///   DROP still routes it.
/// Per-container rules (published ports) belong to the CNI portmap plugin. Every change checks
/// first (`-C`), so applying a network again after a restart is harmless.
public struct Firewall: Sendable {
    public typealias Runner = @Sendable (_ args: [String]) -> (status: Int32, output: String)

    public let prefix: String
    let run: Runner

    public init(prefix: String = "BERTH", runner: Runner? = nil) {
        self.prefix = prefix
        self.run = runner ?? Self.exec
    }

    /// `iptables -w …` (waits for the xtables lock other programs hold).
    public static let exec: Runner = { args in
        let exe = ["/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "iptables"
        do {
            let r = try Subprocess.run(path: exe, args: [exe, "-w"] + args, env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                                       captureStderr: true, timeoutSeconds: 30)
            return (r.status, String(decoding: r.output, as: UTF8.self))
        } catch { return (127, "\(error)") }
    }

    var forward: String { prefix + "-FORWARD" }
    var isolation1: String { prefix + "-ISOLATION-1" }
    var isolation2: String { prefix + "-ISOLATION-2" }
    var postrouting: String { prefix + "-POSTROUTING" }

    /// One bridge network as the firewall sees it.
    public struct NetworkRules: Sendable, Equatable {
        public var bridge: String
        public var subnet: IPv4Subnet
        public var `internal`: Bool
        public init(bridge: String, subnet: IPv4Subnet, internal: Bool) {
            self.bridge = bridge; self.subnet = subnet; self.internal = `internal`
        }
    }

    /// Rules as (table, chain, spec), in the order they are appended.
    func rules(_ n: NetworkRules) -> [(String, String, [String])] {
        let br = n.bridge
        var out: [(String, String, [String])] = []
        if n.internal {
            out.append(("filter", isolation1, ["-i", br, "!", "-o", br, "-j", "DROP"]))
            out.append(("filter", isolation1, ["-o", br, "!", "-i", br, "-j", "DROP"]))
        } else {
            out.append(("filter", isolation1, ["-i", br, "!", "-o", br, "-j", isolation2]))
            out.append(("nat", postrouting, ["-s", n.subnet.description, "!", "-o", br, "-j", "MASQUERADE"]))
            out.append(("filter", forward, ["-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]))
            // Published ports arrive DNATed by the portmap plugin.
            out.append(("filter", forward, ["-o", br, "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"]))
            out.append(("filter", forward, ["-i", br, "-j", "ACCEPT"]))
        }
        out.append(("filter", isolation2, ["-o", br, "-j", "DROP"]))
        out.append(("filter", forward, ["-i", br, "-o", br, "-j", "ACCEPT"]))
        return out
    }

    @discardableResult
    func call(_ args: [String], allowFailure: Bool = false) throws(FirewallError) -> String {
        let r = run(args)
        if r.status != 0 && !allowFailure {
            throw FirewallError(command: args.joined(separator: " "), message: r.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return r.output
    }

    func exists(_ table: String, _ chain: String, _ spec: [String]) -> Bool {
        run(["-t", table, "-C", chain] + spec).status == 0
    }

    func ensureChain(_ table: String, _ chain: String) throws(FirewallError) {
        if run(["-t", table, "-n", "-L", chain]).status != 0 { try call(["-t", table, "-N", chain]) }
    }

    /// The chains and the jumps into them; the isolation chains end by returning.
    func ensureBase() throws(FirewallError) {
        try ensureChain("filter", forward)
        try ensureChain("filter", isolation1)
        try ensureChain("filter", isolation2)
        try ensureChain("nat", postrouting)
        if !exists("filter", "FORWARD", ["-j", forward]) { try call(["-t", "filter", "-I", "FORWARD", "1", "-j", forward]) }
        if !exists("filter", forward, ["-j", isolation1]) { try call(["-t", "filter", "-I", forward, "1", "-j", isolation1]) }
        if !exists("nat", "POSTROUTING", ["-j", postrouting]) { try call(["-t", "nat", "-A", "POSTROUTING", "-j", postrouting]) }
    }

    /// Adds a network's rules (those missing). The isolation chains keep their DROP rules ahead
    /// of nothing else, so order among networks does not matter.
    public func apply(_ n: NetworkRules) throws(FirewallError) {
        try ensureBase()
        for (table, chain, spec) in rules(n) where !exists(table, chain, spec) {
            try call(["-t", table, "-A", chain] + spec)
        }
    }

    /// Deletes a network's rules (those present).
    public func remove(_ n: NetworkRules) {
        for (table, chain, spec) in rules(n) where exists(table, chain, spec) {
            _ = try? call(["-t", table, "-D", chain] + spec, allowFailure: true)
        }
    }

    /// Removes every chain of this prefix and the jumps into them (tests' teardown, and
    /// `berth-lifecycled` has no other use for it).
    public func removeAll() {
        _ = run(["-t", "filter", "-D", "FORWARD", "-j", forward])
        _ = run(["-t", "nat", "-D", "POSTROUTING", "-j", postrouting])
        for (table, chain) in [("filter", forward), ("filter", isolation1), ("filter", isolation2), ("nat", postrouting)] {
            _ = run(["-t", table, "-F", chain])
        }
        for (table, chain) in [("filter", forward), ("filter", isolation1), ("filter", isolation2), ("nat", postrouting)] {
            _ = run(["-t", table, "-X", chain])
        }
    }

    /// The rules of one table that mention this prefix (`iptables -S` lines), for tests and
    /// diagnostics.
    public func listing(table: String) -> [String] {
        run(["-t", table, "-S"]).output.split(separator: "\n").map(String.init).filter { $0.contains(prefix) }
    }
}
