/// Variable expansion for one decode; `nil` in `decode` means "check the syntax only".
struct Expander {
    let lex: ShellLex
    let env: [String: String]

    func word(_ text: String) throws(DockerfileError) -> String {
        try lex.processWord(text, env: env)
    }
}

extension Instruction {
    /// Decodes the instruction, expanding variables where Docker does (ADD COPY ENV EXPOSE FROM LABEL
    /// STOPSIGNAL USER VOLUME WORKDIR, ARG names and defaults; not RUN CMD ENTRYPOINT SHELL
    /// HEALTHCHECK ONBUILD). Unknown flags and missing arguments are errors with Docker's texts;
    /// every error carries this instruction's line.
    public func command(env: [String: String], escape: Character) throws(DockerfileError) -> Command {
        do {
            return try decode(Expander(lex: ShellLex(escape: escape), env: env))
        } catch {
            throw error.at(line: line)
        }
    }

    /// Checks flags and argument shapes without expanding anything (what `Dockerfile.parse` does for
    /// every instruction, as BuildKit's instructions.Parse does before any build step runs).
    func validate(escape: Character) throws(DockerfileError) {
        do {
            _ = try decode(nil, escape: escape)
        } catch {
            throw error.at(line: line)
        }
    }

    func decode(_ expander: Expander?, escape: Character = "\\") throws(DockerfileError) -> Command {
        let lexEscape = expander?.lex.escape ?? escape
        func expand(_ text: String) throws(DockerfileError) -> String {
            guard let expander else { return text }
            return try expander.word(text)
        }
        switch keyword {
        case "FROM":
            return try decodeFrom(expand)
        case "RUN":
            return try decodeRun()
        case "CMD":
            try checkFlags([:])
            return .cmd(form)
        case "ENTRYPOINT":
            try checkFlags([:])
            return .entrypoint(form)
        case "ENV":
            try checkFlags([:])
            return .env(try keyValues(expand, escape: lexEscape))
        case "LABEL":
            try checkFlags([:])
            return .label(try keyValues(expand, escape: lexEscape))
        case "ARG":
            return .arg(try decodeArg(expand, escape: lexEscape))
        case "MAINTAINER":
            try checkFlags([:])
            guard !arguments.isEmpty else { throw Self.fail("MAINTAINER requires exactly one argument") }
            return .maintainer(arguments)
        case "EXPOSE":
            return .expose(try decodeExpose(expander))
        case "COPY":
            return .copy(try decodeCopy(expand, expander: expander))
        case "ADD":
            return .add(try decodeCopy(expand, expander: expander))
        case "WORKDIR":
            return .workdir(try singleArgument(expand))
        case "USER":
            return .user(try singleArgument(expand))
        case "STOPSIGNAL":
            return .stopSignal(try singleArgument(expand))
        case "VOLUME":
            return .volume(try decodeVolume(expand))
        case "HEALTHCHECK":
            return .healthcheck(try decodeHealthcheck())
        case "SHELL":
            try checkFlags([:])
            guard let json else {
                throw Self.fail(arguments.isEmpty ? "SHELL requires at least one argument" : "SHELL requires the arguments to be in JSON form")
            }
            guard !json.isEmpty else { throw Self.fail("SHELL requires at least one argument") }
            return .shell(json)
        case "ONBUILD":
            return .onbuild(try decodeOnbuild())
        default:
            throw Self.fail("unknown instruction: \(keyword)")
        }
    }

    static func fail(_ message: String) -> DockerfileError {
        DockerfileError(line: 0, message)
    }

    /// Exec form when the arguments were a JSON string array, else the text for the shell.
    var form: CommandForm {
        if let json { return .exec(json) }
        return .shell(arguments)
    }

    enum FlagKind {
        case string, bool, strings
    }

    /// BuildKit's BFlags.Parse: every flag must be known, non-repeatable flags appear once, string
    /// flags need `=value`, bool flags take nothing, true or false. Returns the last value of each.
    @discardableResult
    func checkFlags(_ allowed: [String: FlagKind]) throws(DockerfileError) -> [String: String] {
        var values: [String: String] = [:]
        for flag in flags {
            guard let kind = allowed[flag.name] else { throw Self.fail("unknown flag: \(flag.name)") }
            if values[flag.name] != nil && kind != .strings {
                throw Self.fail("duplicate flag specified: \(flag.name)")
            }
            switch kind {
            case .bool:
                switch flag.value?.lowercased() {
                case nil, "true": values[flag.name] = "true"
                case "false": values[flag.name] = "false"
                case "": throw Self.fail("missing a value on flag: \(flag.name)")
                case let other?: throw Self.fail("expecting boolean value for flag \(flag.name), not: \(other)")
                }
            case .string, .strings:
                guard let value = flag.value else { throw Self.fail("missing a value on flag: \(flag.name)") }
                values[flag.name] = value
            }
        }
        return values
    }

    /// Whitespace-separated words, as BuildKit's parseStringsWhitespaceDelimited (no quote handling).
    var whitespaceWords: [String] {
        arguments.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    func decodeFrom(_ expand: (String) throws(DockerfileError) -> String) throws(DockerfileError) -> Command {
        let values = try checkFlags(["platform": .string])
        let words = whitespaceWords
        var name: String?
        if words.count == 3 && words[1].lowercased() == "as" {
            let lowered = words[2].lowercased()
            guard Self.isValidStageName(lowered) else {
                throw Self.fail("invalid name for build stage: \"\(words[2])\", name can't start with a number or contain symbols")
            }
            name = lowered
        } else if words.count != 1 {
            throw Self.fail("FROM requires either one or three arguments")
        }
        let image = try expand(words[0])
        guard !image.isEmpty else { throw Self.fail("base name (\(words[0])) should not be blank") }
        let platform = try values["platform"].map { (text) throws(DockerfileError) in try expand(text) }
        return .from(image: image, name: name, platform: platform)
    }

    /// `^[a-z][a-z0-9-_.]*$`
    static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLowercase else { return false }
        return name.allSatisfy { ch in
            ch.isASCII && (ch.isLowercase || ch.isNumber || ch == "-" || ch == "_" || ch == ".")
        }
    }

    func decodeRun() throws(DockerfileError) -> Command {
        let values = try checkFlags(["network": .string, "mount": .strings, "security": .string, "device": .strings])
        for unsupported in ["mount", "security", "device"] where values[unsupported] != nil {
            throw Self.fail("--\(unsupported) is not supported")
        }
        let network = values["network"]
        if let network, !["default", "none", "host"].contains(network) {
            throw Self.fail("unsupported network mode \"\(network)\"")
        }
        if let json {
            guard !json.isEmpty else { throw Self.fail("RUN requires at least one argument") }
            return .run(.exec(json), network: network)
        }
        guard !arguments.isEmpty else { throw Self.fail("RUN requires at least one argument") }
        guard let firstHeredoc = heredocs.first else {
            return .run(.shell(arguments), network: network)
        }
        // `RUN <<EOF` alone runs the body as the script (BuildKit's "fake heredoc", which also works
        // for shells without heredocs); otherwise the line and its bodies go to the shell together.
        if parseHeredocWord(arguments) != nil {
            return .run(.shell(firstHeredoc.content), network: network)
        }
        var full = arguments
        for heredoc in heredocs {
            full += "\n" + heredoc.content + heredoc.delimiter
        }
        return .run(.shell(full), network: network)
    }

    /// ENV/LABEL: `key=value …` (quotes and escapes kept until expansion) or legacy `key value…`.
    func keyValues(_ expand: (String) throws(DockerfileError) -> String, escape: Character) throws(DockerfileError) -> [KeyValue] {
        let words = splitWords(arguments, escape: escape)
        guard let first = words.first else { throw Self.fail("\(keyword) requires at least one argument") }
        if !first.contains("=") {
            // Legacy form: the first word is the key, the rest of the line (spaces kept) its value.
            let key = arguments.prefix(while: { !$0.isWhitespace })
            let value = arguments.dropFirst(key.count).drop(while: \.isWhitespace)
            guard !value.isEmpty else { throw Self.fail("\(keyword) must have two arguments") }
            return [KeyValue(key: try expand(String(key)), value: try expand(String(value)))]
        }
        var pairs: [KeyValue] = []
        for word in words {
            guard let equals = word.firstIndex(of: "=") else {
                throw Self.fail("Syntax error - can't find = in \"\(word)\". Must be of the form: name=value")
            }
            let key = String(word[..<equals])
            guard !key.isEmpty else { throw Self.fail("\(keyword) names can not be blank") }
            pairs.append(KeyValue(key: try expand(key), value: try expand(String(word[word.index(after: equals)...]))))
        }
        return pairs
    }

    func decodeArg(_ expand: (String) throws(DockerfileError) -> String, escape: Character) throws(DockerfileError) -> [ArgDecl] {
        try checkFlags([:])
        let words = splitWords(arguments, escape: escape)
        guard !words.isEmpty else { throw Self.fail("ARG requires at least one argument") }
        var decls: [ArgDecl] = []
        for word in words {
            guard let equals = word.firstIndex(of: "=") else {
                decls.append(ArgDecl(name: try expand(word), defaultValue: nil))
                continue
            }
            let name = String(word[..<equals])
            guard !name.isEmpty else { throw Self.fail("ARG names can not be blank") }
            let value = try expand(String(word[word.index(after: equals)...]))
            decls.append(ArgDecl(name: try expand(name), defaultValue: value))
        }
        return decls
    }

    func decodeExpose(_ expander: Expander?) throws(DockerfileError) -> [String] {
        try checkFlags([:])
        guard !arguments.isEmpty else { throw Self.fail("EXPOSE requires at least one argument") }
        guard let expander else { return whitespaceWords }
        var ports: [String] = []
        for word in whitespaceWords {
            ports += try expander.lex.processWords(word, env: expander.env)
        }
        for port in ports {
            try Self.checkPort(port)
        }
        return ports
    }

    /// `port[-port][/tcp|udp|sctp]`, as nat.ParsePortSpecs accepts for EXPOSE.
    static func checkPort(_ spec: String) throws(DockerfileError) {
        let parts = spec.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 && !["tcp", "udp", "sctp"].contains(parts[1].lowercased()) {
            throw fail("invalid proto: \(parts[1])")
        }
        let range = parts[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = range.compactMap { UInt16(String($0)) }
        guard numbers.count == range.count, numbers.count == 1 || numbers[0] <= numbers[1] else {
            throw fail("invalid containerPort: \(parts[0])")
        }
    }

    func decodeCopy(_ expand: (String) throws(DockerfileError) -> String, expander: Expander?) throws(DockerfileError) -> CopyCommand {
        var allowed: [String: FlagKind] = ["chown": .string, "chmod": .string, "link": .bool]
        if keyword == "COPY" {
            allowed["from"] = .string
        } else {
            allowed["checksum"] = .string
        }
        let values = try checkFlags(allowed)
        let words = json ?? whitespaceWords
        guard words.count >= 2 else {
            throw Self.fail(words.isEmpty
                ? "\(keyword) requires at least two arguments"
                : "\(keyword) requires at least two arguments, but only one was provided. Destination could not be determined.")
        }
        var unusedHeredocs = heredocs[...]
        var sources: [CopySource] = []
        for word in words.dropLast() {
            if json == nil, let spec = parseHeredocWord(word),
               let position = unusedHeredocs.firstIndex(where: { $0.delimiter == spec.name }) {
                var heredoc = unusedHeredocs[position]
                unusedHeredocs.remove(at: position)
                // Bodies expand variables but keep their quotes (BuildKit's ExpandRaw).
                if heredoc.expand, let expander {
                    heredoc.content = try expander.lex.expandHeredoc(heredoc.content, env: expander.env)
                }
                sources.append(.heredoc(heredoc))
            } else {
                sources.append(.path(try expand(word)))
            }
        }
        func expanded(_ name: String) throws(DockerfileError) -> String? {
            guard let value = values[name] else { return nil }
            return try expand(value)
        }
        let chmod = try expanded("chmod")
        if expander != nil, let chmod {
            guard !chmod.isEmpty, chmod.allSatisfy({ ("0"..."7").contains($0) }),
                  let mode = UInt32(chmod, radix: 8), mode <= 0o7777 else {
                throw Self.fail("invalid chmod parameter \(chmod). it should be octal string and between 0 and 07777")
            }
        }
        return CopyCommand(
            sources: sources, destination: try expand(words[words.count - 1]), from: try expanded("from"),
            chown: try expanded("chown"), chmod: chmod, link: values["link"] == "true",
            checksum: try expanded("checksum"))
    }

    func singleArgument(_ expand: (String) throws(DockerfileError) -> String) throws(DockerfileError) -> String {
        try checkFlags([:])
        guard !arguments.isEmpty else { throw Self.fail("\(keyword) requires exactly one argument") }
        return try expand(arguments)
    }

    func decodeVolume(_ expand: (String) throws(DockerfileError) -> String) throws(DockerfileError) -> [String] {
        try checkFlags([:])
        let words = json ?? whitespaceWords
        guard !words.isEmpty else { throw Self.fail("VOLUME requires at least one argument") }
        var volumes: [String] = []
        for word in words {
            let volume = try expand(word)
            guard !volume.trimmingWhitespace().isEmpty else {
                throw Self.fail("VOLUME specified can not be an empty string")
            }
            volumes.append(volume)
        }
        return volumes
    }

    func decodeHealthcheck() throws(DockerfileError) -> HealthcheckCommand {
        guard !arguments.isEmpty else { throw Self.fail("HEALTHCHECK requires at least one argument") }
        let typeText = arguments.prefix(while: { !$0.isWhitespace })
        let rest = arguments.dropFirst(typeText.count).drop(while: \.isWhitespace)
        let type = typeText.uppercased()
        let values = try checkFlags([
            "interval": .string, "timeout": .string, "start-period": .string, "start-interval": .string,
            "retries": .string,
        ])
        if type == "NONE" {
            guard rest.isEmpty else { throw Self.fail("HEALTHCHECK NONE takes no arguments") }
            return HealthcheckCommand(test: ["NONE"])
        }
        guard type == "CMD" else { throw Self.fail("Unknown type \"\(type)\" in HEALTHCHECK (try CMD)") }
        let test: [String]
        if let exec = try parseJSONStringArray(String(rest)) {
            guard !exec.isEmpty else { throw Self.fail("Missing command after HEALTHCHECK CMD") }
            test = ["CMD"] + exec
        } else {
            guard !rest.isEmpty else { throw Self.fail("Missing command after HEALTHCHECK CMD") }
            test = ["CMD-SHELL", String(rest)]
        }
        func interval(_ name: String) throws(DockerfileError) -> Int64? {
            guard let text = values[name], !text.isEmpty else { return nil }
            let nanoseconds = try GoDuration.parse(text)
            if nanoseconds != 0 && nanoseconds < 1_000_000 {
                throw Self.fail("Interval \"\(name)\" cannot be less than 1ms")
            }
            return nanoseconds
        }
        var retries: Int?
        if let text = values["retries"], !text.isEmpty {
            guard let value = Int32(text) else {
                throw Self.fail("strconv.ParseInt: parsing \"\(text)\": invalid syntax")
            }
            guard value >= 0 else { throw Self.fail("--retries cannot be negative (\(value))") }
            retries = Int(value)
        }
        return HealthcheckCommand(
            test: test, interval: try interval("interval"), timeout: try interval("timeout"),
            startPeriod: try interval("start-period"), startInterval: try interval("start-interval"),
            retries: retries)
    }

    func decodeOnbuild() throws(DockerfileError) -> String {
        try checkFlags([:])
        guard !arguments.isEmpty else { throw Self.fail("ONBUILD requires at least one argument") }
        let trigger = arguments.prefix(while: { !$0.isWhitespace }).uppercased()
        switch trigger {
        case "ONBUILD":
            throw Self.fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        case "MAINTAINER", "FROM":
            throw Self.fail("\(trigger) isn't allowed as an ONBUILD trigger")
        default:
            return arguments
        }
    }
}

/// BuildKit's parseWords: whitespace-separated words where quotes group and the escape character
/// protects the next character; quotes and escapes stay in the words for the later expansion.
func splitWords(_ text: String, escape: Character) -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var blankOK = false
    let chars = Array(text)
    var position = 0
    while position < chars.count {
        let ch = chars[position]
        position += 1
        if ch == escape && quote != "'" {
            // Outside quotes and inside double quotes the escape character keeps the next one in
            // the word (both stay for the later expansion); a final one is dropped.
            if quote == nil { inWord = true }
            guard position < chars.count else { continue }
            word.append(ch)
            word.append(chars[position])
            position += 1
            continue
        }
        if let open = quote {
            if ch == open { quote = nil }
            word.append(ch)
            continue
        }
        if ch.isWhitespace {
            if inWord && (blankOK || !word.isEmpty) { words.append(word) }
            inWord = false
            word = ""
            blankOK = false
            continue
        }
        inWord = true
        if ch == "'" || ch == "\"" {
            quote = ch
            blankOK = true
        }
        word.append(ch)
    }
    if inWord && (blankOK || !word.isEmpty) { words.append(word) }
    return words
}
