/// `POST /build`'s options (the classic builder's).
public struct BuildOptions: Sendable, Equatable {
    /// The Dockerfile's path inside the context.
    public var dockerfile = "Dockerfile"
    public var tags: [String] = []
    /// `--build-arg`: a nil value means "declared without a value" (the CLI fills it from its environment).
    public var buildArgs: [String: String?] = [:]
    public var target: String?
    public var noCache = false
    public var labels: [String: String] = [:]
    public var network: String?
    /// Pull FROM images even when stored.
    public var pull = false
    /// Remove intermediate containers after a successful step (Docker's `rm`, default true).
    public var removeIntermediate = true
    /// Remove them after a failed step too.
    public var forceRemove = false
    /// Only the image ID is reported.
    public var quiet = false
    public var platform: String?
    public init() {}
}

/// Why a build stopped; `description` is what the client prints after "Error response from daemon:"
/// or in the stream's `errorDetail`.
public struct BuildError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    /// A problem with the request or the Dockerfile itself (a 400 when nothing was streamed yet).
    public var isInvalidInput: Bool
    public init(_ message: String, invalidInput: Bool = false) { self.message = message; self.isInvalidInput = invalidInput }
    public var description: String { message }
}
