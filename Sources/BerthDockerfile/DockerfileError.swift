/// A Dockerfile, shell-word or .dockerignore problem, tied to the 1-based line it came from.
///
/// The description follows BuildKit's "dockerfile parse error" wording so that messages read the
/// same as `docker build` prints them.
public struct DockerfileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 1-based line of the instruction that failed; 0 when the failure is not tied to a line.
    public var line: Int
    /// What failed, e.g. "unknown instruction: FRM".
    public var message: String

    /// Creates an error for `line` (0: no line).
    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    /// "dockerfile parse error line 3: unknown instruction: FRM", or the message alone for line 0.
    public var description: String {
        line > 0 ? "dockerfile parse error line \(line): \(message)" : message
    }

    /// The same failure attributed to `line`, unless it already names one.
    func at(line newLine: Int) -> DockerfileError {
        line > 0 ? self : DockerfileError(line: newLine, message)
    }
}
