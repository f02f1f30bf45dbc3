import Foundation
import Testing
@testable import BerthEngineServer
import BerthTestSupport

/// Specs/engine-api.yaml, the Router's route table and the router itself stay in step.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct EngineAPISpecTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `METHOD /path` for each operation under `paths:` (two-space path keys, four-space methods).
    static func operations(yaml path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [String] = [], current: String?, inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.hasPrefix("#") && !line.isEmpty { inPaths = line.hasPrefix("paths:") ; current = nil; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /") && !line.hasPrefix("   ") {
                current = String(line.dropFirst(2).dropLast(line.hasSuffix(":") ? 1 : 0)).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            } else if let current, line.hasPrefix("    ") && !line.hasPrefix("     "), line.hasSuffix(":") {
                let m = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "head", "post", "put", "delete", "patch"].contains(m) { out.append("\(m.uppercased()) \(current)") }
            }
        }
        return out
    }

    @Test func specListsExactlyTheRoutes() throws {
        let ops = try Self.operations(yaml: Self.repo + "/Specs/engine-api.yaml")
        #expect(ops.count == Set(ops).count)
        #expect(Set(ops).subtracting(Router.routes).sorted() == [], "in Specs/engine-api.yaml, not in Router.routes")
        #expect(Set(Router.routes).subtracting(ops).sorted() == [], "in Router.routes, not in Specs/engine-api.yaml")
    }

    /// Each listed route reaches a handler, and (when Docker's reference is beside the repo) each
    /// of Docker's operations not listed gets the router's "page not found": the table is the router's.
    @Test func routerServesExactlyTheTable() async throws {
        try await withTempDir(prefix: "berth-routes") { dir in
            // No lifecycle daemon: a handler that reaches it fails with a 5xx, never the router's 404.
            let api = try await EngineServer.start(path: dir + "/api.sock", lifecycleSocket: dir + "/none.sock",
                                                   options: EngineServerOptions(dataRoot: dir, debug: false))
            defer { Task { await api.close() } }
            let t = EngineServerTests()
            @Sendable func routed(_ op: String) throws -> Bool {
                let parts = op.split(separator: " ", maxSplits: 1)
                let path = parts[1].replacingOccurrences(of: "{id}", with: "probe").replacingOccurrences(of: "{name}", with: "probe")
                let r = try t.get(dir + "/api.sock", String(parts[0]), "/v1.43" + path)
                if parts[0] == "HEAD" { return r.status != 404 }
                return !String(decoding: r.body, as: UTF8.self).contains("page not found")
            }
            let reference = Self.repo + "/../shared/reference/docker-engine-api-v1.43.yaml"
            let others = FileManager.default.fileExists(atPath: reference)
                ? try Self.operations(yaml: reference).filter { !Router.routes.contains($0) && !$0.hasSuffix("/attach/ws") } : []
            // The probes block on reads: off Swift's cooperative pool, which the server's handlers need
            // (on a 2-core machine a blocked pool thread or two would starve them).
            let (unserved, served) = try await withCheckedThrowingContinuation { (c: CheckedContinuation<([String], [String]), any Error>) in
                Thread.detachNewThread {
                    do { c.resume(returning: (try Router.routes.filter { try !routed($0) }, try others.filter { try routed($0) })) } catch {
                        c.resume(throwing: error)
                    }
                }
            }
            #expect(unserved == [], "in Router.routes but the router does not serve them")
            #expect(served == [], "served but not in Router.routes (nor Specs/engine-api.yaml)")
        }
    }
}
