import Glibc

/// A seccomp profile that cannot be compiled, or a libseccomp call that failed.
///
/// The description names the JSON field at fault and, when the failure came from libseccomp or libc,
/// the call and its errno:
/// `linux.seccomp.syscalls[3].args[0].op: unknown operator "SCMP_CMP_FOO"`,
/// `linux.seccomp.syscalls[2].names[0]: seccomp_rule_add_array(mkdir): EEXIST (File exists)`.
public struct SeccompError: Error, CustomStringConvertible, Equatable, Sendable {
    /// JSON path of the offending field, e.g. `linux.seccomp.syscalls[3].args[0].op`; nil when no field is at fault.
    public var field: String?
    /// The libseccomp or libc call that failed, e.g. `seccomp_rule_add_array(mkdir)`; nil for profile errors.
    public var call: String?
    /// The errno the call reported (libseccomp returns it negated; this is the positive value).
    public var errno: Int32?
    /// What is wrong, without the field or call.
    public var reason: String

    /// Creates an error; `errno` is the positive errno value.
    public init(field: String? = nil, call: String? = nil, errno: Int32? = nil, _ reason: String) {
        self.field = field; self.call = call; self.errno = errno; self.reason = reason
    }

    public var description: String {
        var text = ""
        if let field { text += "\(field): " }
        if let call { text += "\(call): " }
        text += reason
        return text
    }

    /// A failed libseccomp call; `rc` is its negative return value.
    static func libseccomp(_ call: String, rc: Int32, field: String? = nil) -> SeccompError {
        let e = rc < 0 ? -rc : rc
        return SeccompError(field: field, call: call, errno: e, describe(errno: e))
    }

    /// A failed libc call that set `errno`.
    static func libc(_ call: String, field: String? = nil) -> SeccompError {
        let e = Glibc.errno
        return SeccompError(field: field, call: call, errno: e, describe(errno: e))
    }

    /// `EEXIST (File exists)`: the symbolic name for the errnos libseccomp and our I/O can return.
    static func describe(errno e: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF",
            ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EEXIST: "EEXIST", EINVAL: "EINVAL",
            EMFILE: "EMFILE", ENOSPC: "ENOSPC", EDOM: "EDOM", ERANGE: "ERANGE", ENOSYS: "ENOSYS",
            EOPNOTSUPP: "EOPNOTSUPP", ECANCELED: "ECANCELED",
        ]
        let message = strerror(e).map { String(cString: $0) } ?? "unknown error"
        if let name = names[e] { return "\(name) (\(message))" }
        return "errno \(e) (\(message))"
    }
}
