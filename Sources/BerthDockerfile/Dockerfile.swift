/// A parsed Dockerfile: the escape character, the ARGs before the first FROM, and the build stages.
public struct Dockerfile: Sendable {
    /// `\` unless a `# escape=` parser directive chose `` ` ``.
    public var escape: Character
    /// ARG instructions before the first FROM (the only instructions allowed there).
    public var metaArgs: [Instruction]
    /// The build stages, in order; never empty.
    public var stages: [Stage]

    /// Creates a Dockerfile from already parsed parts.
    public init(escape: Character, metaArgs: [Instruction], stages: [Stage]) {
        self.escape = escape
        self.metaArgs = metaArgs
        self.stages = stages
    }

    /// Index of the stage called `named` (case-insensitive), or `named` read as a stage number.
    public func stageIndex(named: String) -> Int? {
        let lowered = named.lowercased()
        if let index = stages.firstIndex(where: { $0.name == lowered }) {
            return index
        }
        if let number = Int(named), number >= 0, number < stages.count {
            return number
        }
        return nil
    }
}

/// One build stage: its FROM and the instructions after it.
public struct Stage: Sendable, Equatable {
    /// Position of the stage in the Dockerfile, from 0.
    public var index: Int
    /// The lowercased `AS` name, nil when the stage has none.
    public var name: String?
    /// The stage's FROM instruction.
    public var from: Instruction
    /// The instructions after FROM, up to the next FROM.
    public var instructions: [Instruction]

    /// Creates a stage.
    public init(index: Int, name: String?, from: Instruction, instructions: [Instruction]) {
        self.index = index
        self.name = name
        self.from = from
        self.instructions = instructions
    }
}

/// One instruction as written, split into keyword, flags, arguments and heredocs; `command(env:escape:)`
/// decodes it.
public struct Instruction: Sendable, Equatable {
    /// The instruction keyword, uppercased ("RUN").
    public var keyword: String
    /// The 1-based line the instruction starts on.
    public var line: Int
    /// The last line of the instruction, continuation lines and heredoc bodies included.
    public var endLine: Int
    /// The instruction as written, continuation lines joined (escape + newline removed), trimmed;
    /// what "Step 1/5 : <original>" prints.
    public var original: String
    /// Leading `--name=value` / `--name` flags, in order.
    public var flags: [Flag]
    /// The text after the keyword and flags, trimmed.
    public var arguments: String
    /// The arguments when they are a JSON array of strings (exec form), for the instructions that
    /// have one (RUN CMD ENTRYPOINT SHELL COPY ADD VOLUME).
    public var json: [String]?
    /// RUN/COPY/ADD here-documents, in the order they appear on the line.
    public var heredocs: [Heredoc]

    /// Creates an instruction from its parts.
    public init(
        keyword: String, line: Int, endLine: Int, original: String, flags: [Flag] = [],
        arguments: String, json: [String]? = nil, heredocs: [Heredoc] = []
    ) {
        self.keyword = keyword
        self.line = line
        self.endLine = endLine
        self.original = original
        self.flags = flags
        self.arguments = arguments
        self.json = json
        self.heredocs = heredocs
    }

    /// The last value given to `--name` ("true" for a bare boolean flag), nil when absent.
    public func flag(_ name: String) -> String? {
        guard let last = flags.last(where: { $0.name == name }) else { return nil }
        return last.value ?? "true"
    }
}

/// A `--name=value` flag; `value` is nil for a bare `--name`.
public struct Flag: Sendable, Equatable {
    /// The flag name without the leading dashes.
    public var name: String
    /// The text after `=`, nil when there was no `=`.
    public var value: String?

    /// Creates a flag.
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// A here-document attached to a RUN, COPY or ADD line.
public struct Heredoc: Sendable, Equatable {
    /// The delimiter word with its quotes removed ("EOF").
    public var delimiter: String
    /// The body lines, each with its trailing newline; `<<-` strips their leading tabs.
    public var content: String
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): the body is taken literally.
    public var expand: Bool

    /// Creates a heredoc.
    public init(delimiter: String, content: String, expand: Bool) {
        self.delimiter = delimiter
        self.content = content
        self.expand = expand
    }
}
