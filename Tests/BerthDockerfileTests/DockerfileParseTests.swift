import Testing
@testable import BerthDockerfile

/// Parses `text`, failing the test with the error when it does not parse.
func parsed(_ text: String) throws -> Dockerfile {
    try Dockerfile.parse(text)
}

/// The error `parse` throws for `text`, nil when it parses.
func parseError(_ text: String) -> DockerfileError? {
    do {
        _ = try Dockerfile.parse(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct DockerfileParseTests {
    @Test func stagesNamesAndInstructions() throws {
        let file = try parsed("""
            FROM busybox AS Build
            RUN echo hi
            from alpine:3.19
            copy --from=build /a /b
            """)
        #expect(file.stages.count == 2)
        #expect(file.stages[0].name == "build")
        #expect(file.stages[0].instructions.map(\.keyword) == ["RUN"])
        #expect(file.stages[1].name == nil)
        #expect(file.stages[1].index == 1)
        #expect(file.stages[1].instructions[0].keyword == "COPY")
        #expect(file.stageIndex(named: "BUILD") == 0)
        #expect(file.stageIndex(named: "1") == 1)
        #expect(file.stageIndex(named: "2") == nil)
        #expect(file.stageIndex(named: "nope") == nil)
    }

    @Test func instructionsAreCaseInsensitive() throws {
        let file = try parsed("from busybox\nRuN echo a\nworkdir /x\n")
        #expect(file.stages[0].instructions.map(\.keyword) == ["RUN", "WORKDIR"])
        #expect(file.stages[0].instructions[0].original == "RuN echo a")
    }

    @Test func escapeDirectiveAtTop() throws {
        let file = try parsed("# escape=`\nFROM windows\nRUN dir `\n  c:\\\n")
        #expect(file.escape == "`")
        let run = file.stages[0].instructions[0]
        #expect(run.arguments == "dir   c:\\")
        #expect(run.line == 3 && run.endLine == 4)
    }

    @Test func syntaxDirectiveIgnoredAndEscapeAfterIt() throws {
        let file = try parsed("# syntax=docker/dockerfile:1\n# ESCAPE = `\nFROM x\n")
        #expect(file.escape == "`")
    }

    @Test func directiveAfterCommentIsAComment() throws {
        // Docker's reference: once a comment, blank line or instruction is seen, directives are over.
        #expect(try parsed("# about\n# escape=`\nFROM x\n").escape == "\\")
        #expect(try parsed("\n# escape=`\nFROM x\n").escape == "\\")
        #expect(try parsed("FROM x\n# escape=`\n").escape == "\\")
        #expect(try parsed("# unknowndirective=value\n# escape=`\nFROM x\n").escape == "\\")
    }

    @Test func duplicateAndInvalidDirectives() {
        #expect(parseError("# escape=`\n# escape=`\nFROM x\n")?.message == "only one escape parser directive can be used")
        #expect(parseError("# escape=x\nFROM x\n")?.message.hasPrefix("invalid escape token 'x'") == true)
    }

    @Test func continuationsJoinAndSpanLines() throws {
        let file = try parsed("FROM x\nRUN echo a \\\n    && echo b \\  \n    && echo c\nRUN last\n")
        let run = file.stages[0].instructions[0]
        #expect(run.original == "RUN echo a     && echo b     && echo c")
        #expect(run.line == 2 && run.endLine == 4)
        #expect(file.stages[0].instructions[1].line == 5)
    }

    @Test func commentsInsideContinuationAreRemoved() throws {
        // The reference's example: the comment line does not end the RUN.
        let file = try parsed("""
            FROM x
            RUN echo hello \\
            # comment
            world
            """)
        #expect(file.stages[0].instructions[0].arguments == "echo hello world")
        #expect(file.stages[0].instructions.count == 1)
    }

    @Test func emptyContinuationLinesAreSkipped() throws {
        let file = try parsed("FROM x\nRUN a \\\n\n   \nb\n")
        #expect(file.stages[0].instructions[0].arguments == "a b")
        #expect(file.stages[0].instructions[0].endLine == 5)
    }

    @Test func commentsAndIndentation() throws {
        let file = try parsed("  # leading\n\tFROM x\n   # indented comment\n  RUN echo # not a comment\n")
        #expect(file.stages[0].from.line == 2)
        #expect(file.stages[0].instructions[0].arguments == "echo # not a comment")
    }

    @Test func crlfAndBOM() throws {
        let file = try parsed("\u{FEFF}FROM x\r\nRUN a \\\r\n b\r\n")
        #expect(file.stages[0].from.arguments == "x")
        #expect(file.stages[0].instructions[0].arguments == "a  b")
    }

    @Test func unknownInstructionCarriesLine() {
        let error = parseError("FROM x\n\nFRM y\n")
        #expect(error == DockerfileError(line: 3, "unknown instruction: FRM"))
        #expect(error?.description == "dockerfile parse error line 3: unknown instruction: FRM")
    }

    @Test func missingFromAndOrdering() {
        #expect(parseError("") == DockerfileError(line: 0, "file with no instructions"))
        #expect(parseError("# only a comment\n\n") == DockerfileError(line: 0, "file with no instructions"))
        #expect(parseError("RUN echo\nFROM x\n") == DockerfileError(line: 1, "no build stage in current context"))
        #expect(parseError("ARG A=1\nENV B=2\nFROM x\n") == DockerfileError(line: 2, "no build stage in current context"))
        #expect(parseError("ARG A=1\n")?.message == "no build stage in current context")
    }

    @Test func metaArgsBeforeFrom() throws {
        let file = try parsed("ARG CODE_VERSION=latest\nARG B\nFROM base:${CODE_VERSION}\nARG B\n")
        #expect(file.metaArgs.map(\.line) == [1, 2])
        #expect(file.stages[0].instructions.map(\.keyword) == ["ARG"])
        let from = try file.stages[0].from.command(env: ["CODE_VERSION": "1.2"], escape: "\\")
        #expect(from == .from(image: "base:1.2", name: nil, platform: nil))
    }

    @Test func flagsAreSplitOff() throws {
        let file = try parsed("FROM --platform=linux/amd64 busybox AS b\nCOPY --chown=\"1:2\" --link --chmod=644 \"--not-a-flag\" b\n")
        #expect(file.stages[0].from.flags == [Flag(name: "platform", value: "linux/amd64")])
        #expect(file.stages[0].from.arguments == "busybox AS b")
        let copy = file.stages[0].instructions[0]
        #expect(copy.flags == [Flag(name: "chown", value: "1:2"), Flag(name: "link", value: nil), Flag(name: "chmod", value: "644")])
        #expect(copy.flag("link") == "true")
        #expect(copy.flag("chown") == "1:2")
        #expect(copy.flag("from") == nil)
        #expect(copy.arguments == "\"--not-a-flag\" b")
    }

    @Test func jsonOnlyWhenStringArray() throws {
        let file = try parsed("""
            FROM x
            CMD ["echo", "a b"]
            CMD [ "unterminated"
            ENTRYPOINT [echo]
            CMD []
            """)
        let ins = file.stages[0].instructions
        #expect(ins[0].json == ["echo", "a b"])
        #expect(ins[1].json == nil)
        #expect(ins[2].json == nil)
        #expect(ins[3].json == [])
        #expect(parseError("FROM x\nCMD [\"a\", 1]\n") == DockerfileError(line: 2, "when using JSON array syntax, arrays must be comprised of strings only"))
    }

    @Test func unterminatedHeredoc() {
        #expect(parseError("FROM x\nRUN <<EOF\necho hi\n") == DockerfileError(line: 2, "unterminated heredoc"))
    }

    @Test func heredocsOfEveryKind() throws {
        let file = try parsed("""
            FROM x
            RUN <<EOF
            echo "$HOME"
            EOF
            RUN <<-EOT bash
            \t\techo tabbed
            \tEOT
            COPY <<"A" <<'B' /dest/
            $NOT
            A
            b
            B
            RUN echo done
            """)
        let ins = file.stages[0].instructions
        #expect(ins[0].heredocs == [Heredoc(delimiter: "EOF", content: "echo \"$HOME\"\n", expand: true)])
        #expect(ins[0].line == 2 && ins[0].endLine == 4)
        #expect(ins[1].heredocs == [Heredoc(delimiter: "EOT", content: "echo tabbed\n", expand: true)])
        #expect(ins[2].heredocs == [
            Heredoc(delimiter: "A", content: "$NOT\n", expand: false),
            Heredoc(delimiter: "B", content: "b\n", expand: false),
        ])
        #expect(ins[3].line == 13)
        #expect(ins[3].heredocs.isEmpty)
    }

    @Test func heredocIgnoredInJSONAndOtherInstructions() throws {
        let file = try parsed("FROM x\nRUN [\"cat\", \"<<EOF\"]\nENV A=<<EOF\nRUN cat<<EOF\n")
        #expect(file.stages[0].instructions.allSatisfy { $0.heredocs.isEmpty })
        #expect(file.stages[0].instructions.count == 3)
    }

    @Test func parseInstructionForTriggers() throws {
        let run = try Dockerfile.parseInstruction("run echo hi", line: 7, escape: "\\")
        #expect(run.keyword == "RUN" && run.line == 7 && run.arguments == "echo hi")
        let ticked = try Dockerfile.parseInstruction("RUN a `\n b", line: 3, escape: "`")
        #expect(ticked.arguments == "a  b" && ticked.endLine == 4)
        #expect(throws: DockerfileError(line: 9, "unknown instruction: BOGUS")) {
            try Dockerfile.parseInstruction("BOGUS x", line: 9, escape: "\\")
        }
        #expect(throws: DockerfileError(line: 2, "unknown flag: nope")) {
            try Dockerfile.parseInstruction("COPY --nope a b", line: 2, escape: "\\")
        }
    }

    @Test func parseChecksInstructionsUpFront() {
        #expect(parseError("FROM x\nSHELL /bin/bash -c\n") == DockerfileError(line: 2, "SHELL requires the arguments to be in JSON form"))
        #expect(parseError("FROM x\nRUN\n") == DockerfileError(line: 2, "RUN requires at least one argument"))
        #expect(parseError("FROM x\nENV --foo=bar A=b\n") == DockerfileError(line: 2, "unknown flag: foo"))
        #expect(parseError("FROM a b\n") == DockerfileError(line: 1, "FROM requires either one or three arguments"))
        #expect(parseError("FROM a AS 1st\n")?.message.hasPrefix("invalid name for build stage") == true)
        #expect(parseError("FROM x\nRUN --mount=type=cache,target=/c make\n") == DockerfileError(line: 2, "--mount is not supported"))
        #expect(parseError("FROM x\nONBUILD ONBUILD RUN x\n")?.message == "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        #expect(parseError("FROM x\nCOPY onlyone\n")?.message.hasPrefix("COPY requires at least two arguments") == true)
    }
}
