/// How a RUN, CMD or ENTRYPOINT gives its command: a JSON array run as is, or text for the shell.
public enum CommandForm: Sendable, Equatable {
    case exec([String])
    case shell(String)
}

/// A `key=value` pair of ENV or LABEL.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String

    /// Creates a pair.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One name of an ARG instruction with its default value, if any.
public struct ArgDecl: Sendable, Equatable {
    public var name: String
    public var defaultValue: String?

    /// Creates a declaration.
    public init(name: String, defaultValue: String?) {
        self.name = name
        self.defaultValue = defaultValue
    }
}

/// A COPY/ADD source: a path in the context (or stage, or URL for ADD), or an inline heredoc.
public enum CopySource: Sendable, Equatable {
    case path(String)
    case heredoc(Heredoc)
}

/// A decoded COPY or ADD.
public struct CopyCommand: Sendable, Equatable {
    public var sources: [CopySource]
    public var destination: String
    /// `--from`: a stage name or index, or an image (COPY only).
    public var from: String?
    /// `--chown=user[:group]`.
    public var chown: String?
    /// `--chmod`, an octal mode (validated: at most 7777).
    public var chmod: String?
    /// `--link`: accepted; the executor may ignore it.
    public var link: Bool
    /// `--checksum` of ADD for a remote source.
    public var checksum: String?

    /// Creates a copy command.
    public init(
        sources: [CopySource], destination: String, from: String? = nil, chown: String? = nil,
        chmod: String? = nil, link: Bool = false, checksum: String? = nil
    ) {
        self.sources = sources
        self.destination = destination
        self.from = from
        self.chown = chown
        self.chmod = chmod
        self.link = link
        self.checksum = checksum
    }
}

/// A decoded HEALTHCHECK. Durations are nanoseconds; nil means "not given" (inherit the default).
public struct HealthcheckCommand: Sendable, Equatable {
    /// `["CMD", arg…]`, `["CMD-SHELL", command]` or `["NONE"]`.
    public var test: [String]
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    /// Creates a healthcheck.
    public init(
        test: [String], interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil,
        startInterval: Int64? = nil, retries: Int? = nil
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }
}

/// A decoded instruction, variables expanded where Docker expands them.
public enum Command: Sendable, Equatable {
    case from(image: String, name: String?, platform: String?)
    /// `network`: the `--network` value (default, none or host).
    case run(CommandForm, network: String?)
    case cmd(CommandForm)
    case entrypoint(CommandForm)
    case env([KeyValue])
    case label([KeyValue])
    case arg([ArgDecl])
    case maintainer(String)
    /// Ports as written after expansion: "80", "80/tcp", "8000-8001/udp".
    case expose([String])
    case copy(CopyCommand)
    case add(CopyCommand)
    case workdir(String)
    case user(String)
    case stopSignal(String)
    case volume([String])
    case healthcheck(HealthcheckCommand)
    case shell([String])
    /// The trigger instruction's text.
    case onbuild(String)
}
