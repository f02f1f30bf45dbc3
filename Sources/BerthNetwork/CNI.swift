import Foundation
import BerthOS

/// A failed CNI plugin call: which plugin and command, for which container, and the plugin's own
/// message (CNI's `{"code", "msg", "details"}` on stdout, or its stderr).
public struct CNIError: Error, CustomStringConvertible, Sendable {
    public var plugin: String
    public var command: String
    public var containerID: String
    public var message: String
    public var description: String { "CNI \(plugin) \(command) for \(containerID.prefix(12)): \(message)" }
}

/// What a plugin returned (CNI spec 1.0 result), with the raw JSON kept to chain as `prevResult`.
public struct CNIResult: Codable, Sendable, Equatable {
    public struct Interface: Codable, Sendable, Equatable {
        public var name: String
        public var mac: String?
        public var sandbox: String?
    }
    public struct IP: Codable, Sendable, Equatable {
        public var interface: Int?
        /// With its prefix: `10.88.0.2/16`.
        public var address: String
        public var gateway: String?
    }
    public var cniVersion: String?
    public var interfaces: [Interface]?
    public var ips: [IP]?

    /// The first IPv4 address: (address, prefix length, gateway).
    public var ipv4: (address: String, prefix: Int, gateway: String)? {
        for ip in ips ?? [] {
            let parts = ip.address.split(separator: "/")
            guard parts.count == 2, IPv4Address(String(parts[0])) != nil, let p = Int(parts[1]) else { continue }
            return (String(parts[0]), p, ip.gateway ?? "")
        }
        return nil
    }

    /// The MAC of the interface inside the container's namespace.
    public var sandboxMAC: String {
        interfaces?.first { $0.sandbox != nil && !($0.sandbox ?? "").isEmpty }?.mac ?? ""
    }

    /// The host side of the veth pair (not the bridge, not the sandbox end).
    public func hostVeth(bridge: String) -> String? {
        interfaces?.first { ($0.sandbox ?? "").isEmpty && $0.name != bridge }?.name
    }
}

struct PluginType: Decodable { var type: String }

/// Builds a plugin config (JSON objects of any shape, as CNI configs are).
public func cniConfig(_ object: [String: Any]) -> Data {
    (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
}

/// Runs CNI plugins (the spec's exec protocol): config on stdin, the call in CNI_* variables.
public struct CNIPlugins: Sendable {
    public var searchPath: [String]

    public init(searchPath: [String] = ["/usr/lib/cni", "/opt/cni/bin"]) { self.searchPath = searchPath }

    /// The plugin's executable, or nil if no directory of the search path has it.
    public func path(of plugin: String) -> String? {
        searchPath.map { $0 + "/" + plugin }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// ADD (returns the result) or DEL (returns nil) with the plugin named by the config's `type`.
    @discardableResult
    public func run(_ command: String, config input: Data, containerID: String, netns: String,
                    ifName: String) throws(CNIError) -> (result: CNIResult, raw: Data)? {
        let plugin = (try? JSONDecoder().decode(PluginType.self, from: input))?.type ?? "?"
        func fail(_ m: String) -> CNIError { CNIError(plugin: plugin, command: command, containerID: containerID, message: m) }
        guard let exe = path(of: plugin) else { throw fail("plugin not found in \(searchPath.joined(separator: ":"))") }
        let env = ["CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(containerID)", "CNI_NETNS=\(netns)",
                   "CNI_IFNAME=\(ifName)", "CNI_PATH=\(searchPath.joined(separator: ":"))", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        let r: Subprocess.Result
        do { r = try Subprocess.run(path: exe, args: [exe], env: env, stdin: [UInt8](input), captureOutput: true, timeoutSeconds: 60) } catch {
            throw fail("\(error)")
        }
        guard r.status == 0 else {
            if let obj = try? JSONSerialization.jsonObject(with: Data(r.output)) as? [String: Any], let msg = obj["msg"] as? String {
                let details = (obj["details"] as? String).map { ": " + $0 } ?? ""
                throw fail(msg + details)
            }
            let text = String(decoding: r.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // The plugin's stderr went to the daemon's log.
            throw fail(text.isEmpty ? "exit status \(r.status)" : text)
        }
        guard command == "ADD" else { return nil }
        do {
            let result = try JSONDecoder().decode(CNIResult.self, from: Data(r.output))
            return (result, Data(r.output))
        } catch { throw fail("unreadable result: \(error)") }
    }
}
