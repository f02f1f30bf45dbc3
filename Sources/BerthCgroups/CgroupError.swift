import Glibc

/// The one error type of this module: what was attempted, on which path, and why it failed.
///
/// Syscall failures carry `errno` so callers (and this module's retry logic) can react to
/// `EBUSY`, `EINVAL` or `ENOENT`; validation failures carry a `reason` instead.
public struct CgroupError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The step that failed, e.g. `write 100 to`, `mkdir`, `validate linux.resources.cpu.cpus`.
    public var operation: String
    /// The file or directory involved; empty when the failure is not about a path.
    public var path: String
    /// The errno of a failed syscall; nil for validation and protocol errors.
    public var errno: Int32?
    /// Extra explanation; replaces the errno text when present.
    public var reason: String?
    /// A complete message that callers (and the runc test suite) match word for word; when
    /// set it is the whole `description`, and the other fields only classify the error.
    public var message: String?

    /// An error for `operation` on `path`; give `errno` for a failed syscall, `reason` otherwise.
    public init(operation: String, path: String = "", errno: Int32? = nil, reason: String? = nil) {
        self.operation = operation; self.path = path; self.errno = errno; self.reason = reason
    }

    /// A failed syscall on `path`.
    public static func syscall(_ operation: String, _ path: String, errno: Int32) -> CgroupError {
        CgroupError(operation: operation, path: path, errno: errno)
    }

    /// A value in the spec that cannot be written safely; `field` names the spec field.
    public static func invalid(_ field: String, _ reason: String) -> CgroupError {
        CgroupError(operation: "invalid \(field)", reason: reason)
    }

    /// An error whose `description` is exactly `message`, for wording that must match runc's;
    /// `path` and `errno` stay available to callers that react to them.
    public static func verbatim(_ message: String, operation: String = "", path: String = "", errno: Int32? = nil) -> CgroupError {
        var error = CgroupError(operation: operation, path: path, errno: errno)
        error.message = message
        return error
    }

    /// A feature the host or this runtime does not provide.
    public static func unsupported(_ what: String, _ reason: String) -> CgroupError {
        CgroupError(operation: what, reason: reason)
    }

    public var description: String {
        if let message { return message }
        var text = operation
        if !path.isEmpty { text += " " + path }
        if let reason {
            text += ": " + reason
        } else if let errno {
            text += ": " + errnoText(errno)
        }
        return text
    }
}

/// The errno text Go prints (`no such file or directory`, `device or resource busy`): glibc's
/// with a lowercase first letter, for messages that must read like runc's.
func goErrnoText(_ code: Int32) -> String {
    let text = errnoText(code)
    guard let first = text.first else { return text }
    return first.lowercased() + text.dropFirst()
}

/// `strerror` text for `code`; glibc returns static strings for known codes.
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
