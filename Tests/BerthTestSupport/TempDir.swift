import Foundation
import Glibc

/// A failed precondition inside a test, with what was expected.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A fresh `/tmp/<prefix>-XXXXXX` directory for `body`, removed afterwards even when it throws.
public func withTempDir<T>(prefix: String = "berth-test", _ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp: \(String(cString: strerror(errno)))") }
    let dir = String(cString: p)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}
