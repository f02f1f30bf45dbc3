import Glibc

/// A failed system call: the step that failed, the path or id it was about, and errno.
public struct OSError: Error, CustomStringConvertible, Sendable, Equatable {
    public var operation: String
    public var path: String?
    public var code: Int32

    public init(_ operation: String, _ path: String? = nil, code: Int32 = errno) {
        self.operation = operation; self.path = path; self.code = code
    }

    public var description: String {
        let reason = String(cString: strerror(code))
        if let path { return "\(operation) \(path): \(reason)" }
        return "\(operation): \(reason)"
    }
}

/// Retries a syscall that failed with EINTR; throws OSError for any other failure.
@inline(__always)
public func retrying<T: BinaryInteger>(_ op: String, _ path: String? = nil, _ body: () -> T) throws(OSError) -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        if errno == EINTR { continue }
        throw OSError(op, path)
    }
}
