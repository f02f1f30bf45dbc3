import ArgumentParser
import BerthEngineClient
import Foundation

/// `berth version`: docker's Client: and Server: sections (the client is berth 0.1.0; the API
/// version is the negotiated one), or `--format`.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the Docker version information", usage: "berth version [OPTIONS]", helpNames: [.long])

    static let clientVersion = "0.1.0"

    @Option(name: [.short, .customLong("format")], help: "Format output using a custom template") var format: String?
    @Flag(name: .customLong("short-banner"), help: .hidden) var shortBanner = false

    func run() throws {
        if shortBanner { CommandSupport.out("Berth version \(Self.clientVersion)\n"); return }
        let client = try CLI.client()
        var serverError: Error?
        var server: [String: Any]?
        var apiVersion = EngineClient.maxVersion
        do {
            apiVersion = try client.apiVersion()
            server = try client.json("GET", "/version") as? [String: Any]
        } catch { serverError = error }
        let clientInfo: [String: Any] = [
            "Platform": ["Name": ""], "Version": Self.clientVersion, "ApiVersion": apiVersion,
            "DefaultAPIVersion": EngineClient.maxVersion, "Os": "linux", "Arch": Self.goArch, "Context": "default",
            "GitCommit": "", "GoVersion": "", "BuildTime": "",
        ]
        if let format {
            var v: [String: Any] = ["Client": clientInfo]
            if let server { v["Server"] = server }
            CommandSupport.out(try inspectFormat(format, values: [v]))
        } else {
            CommandSupport.out(Self.render(client: clientInfo, server: server))
        }
        if let serverError { throw serverError }
    }

    static var goArch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    /// docker's default version template, through a tabwriter with cells of at least 20 columns.
    static func render(client c: [String: Any], server: [String: Any]?) -> String {
        var lines: [(String, String?)] = []
        let api = c["ApiVersion"] as? String ?? "", def = c["DefaultAPIVersion"] as? String ?? ""
        lines.append(("Client:", nil))
        lines.append((" Version:", c["Version"] as? String ?? ""))
        lines.append((" API version:", api + (api != def ? " (downgraded from \(def))" : "")))
        lines.append((" OS/Arch:", "\(c["Os"] as? String ?? "")/\(c["Arch"] as? String ?? "")"))
        lines.append((" Context:", c["Context"] as? String ?? ""))
        if let s = server {
            let platform = (s["Platform"] as? [String: Any])?["Name"] as? String ?? ""
            lines.append(("", nil))
            lines.append(("Server:" + (platform.isEmpty ? "" : " " + platform), nil))
            for comp in s["Components"] as? [[String: Any]] ?? [] {
                let name = comp["Name"] as? String ?? ""
                let d = comp["Details"] as? [String: Any] ?? [:]
                func detail(_ k: String) -> String { d[k] as? String ?? "" }
                lines.append((" \(name):", nil))
                if name == "Engine" {
                    lines.append(("  Version:", comp["Version"] as? String ?? ""))
                    lines.append(("  API version:", "\(detail("ApiVersion")) (minimum version \(detail("MinAPIVersion")))"))
                    lines.append(("  Go version:", detail("GoVersion")))
                    lines.append(("  Git commit:", detail("GitCommit")))
                    lines.append(("  Built:", detail("BuildTime")))
                    lines.append(("  OS/Arch:", "\(detail("Os"))/\(detail("Arch"))"))
                    lines.append(("  Experimental:", detail("Experimental")))
                } else {
                    lines.append(("  Version:", comp["Version"] as? String ?? ""))
                    for k in d.keys.sorted() { lines.append(("  \(k):", detail(k))) }
                }
            }
        }
        let width = max(20, (lines.filter { $0.1 != nil }.map { $0.0.count }.max() ?? 0) + 1)
        return lines.map { l in
            guard let v = l.1 else { return l.0 + "\n" }
            return l.0 + String(repeating: " ", count: width - l.0.count) + v + "\n"
        }.joined()
    }
}
