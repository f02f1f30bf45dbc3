import Testing
@testable import BerthDockerfile

/// The command of the single instruction after `FROM x` in `text`.
func command(_ text: String, env: [String: String] = [:]) throws -> Command {
    let file = try Dockerfile.parse("FROM x\n" + text)
    return try file.stages[0].instructions[0].command(env: env, escape: file.escape)
}

/// The error decoding that instruction throws (parse or command), nil when there is none.
func commandError(_ text: String, env: [String: String] = [:]) -> DockerfileError? {
    do {
        _ = try command(text, env: env)
        return nil
    } catch let error as DockerfileError {
        return error
    } catch {
        return DockerfileError(line: -1, "unexpected \(error)")
    }
}

@Suite struct CommandTests {
    @Test func runForms() throws {
        #expect(try command("RUN echo $HOME") == .run(.shell("echo $HOME"), network: nil))
        #expect(try command("RUN [\"/bin/bash\", \"-c\", \"echo hello\"]") == .run(.exec(["/bin/bash", "-c", "echo hello"]), network: nil))
        #expect(try command("RUN --network=none wget x") == .run(.shell("wget x"), network: "none"))
        #expect(commandError("RUN --network=bridge x") == DockerfileError(line: 2, "unsupported network mode \"bridge\""))
        // Not JSON (single quotes): shell form, as Docker.
        #expect(try command("RUN ['a']") == .run(.shell("['a']"), network: nil))
    }

    @Test func runHeredocs() throws {
        #expect(try command("RUN <<EOF\napk add curl\necho ok\nEOF") == .run(.shell("apk add curl\necho ok\n"), network: nil))
        #expect(try command("RUN python3 <<EOF > /out\nprint(1)\nEOF") == .run(.shell("python3 <<EOF > /out\nprint(1)\nEOF"), network: nil))
        let two = try command("RUN cat /dev/fd/3 3<<A /dev/fd/4 4<<B\na\nA\nb\nB")
        #expect(two == .run(.shell("cat /dev/fd/3 3<<A /dev/fd/4 4<<B\na\nA\nb\nB"), network: nil))
    }

    @Test func cmdEntrypointAreNotExpanded() throws {
        #expect(try command("CMD echo $A", env: ["A": "x"]) == .cmd(.shell("echo $A")))
        #expect(try command("ENTRYPOINT [\"top\", \"-b\"]") == .entrypoint(.exec(["top", "-b"])))
        #expect(try command("CMD [\"a\"] trailing") == .cmd(.exec(["a"])))
    }

    @Test func envForms() throws {
        #expect(try command("ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog MY_CAT=fluffy") == .env([
            KeyValue(key: "MY_NAME", value: "John Doe"), KeyValue(key: "MY_DOG", value: "Rex The Dog"),
            KeyValue(key: "MY_CAT", value: "fluffy"),
        ]))
        #expect(try command("ENV MY_VAR my-value with  spaces") == .env([KeyValue(key: "MY_VAR", value: "my-value with  spaces")]))
        #expect(try command("ENV abc=hello\n") == .env([KeyValue(key: "abc", value: "hello")]))
        #expect(try command("ENV def=${abc:-x}/bar ghi=$abc", env: ["abc": "hello"]) == .env([
            KeyValue(key: "def", value: "hello/bar"), KeyValue(key: "ghi", value: "hello"),
        ]))
        #expect(try command("ENV EMPTY=") == .env([KeyValue(key: "EMPTY", value: "")]))
        #expect(commandError("ENV ONLYKEY")?.message == "ENV must have two arguments")
        #expect(commandError("ENV a=b c")?.message == "Syntax error - can't find = in \"c\". Must be of the form: name=value")
        #expect(commandError("ENV =x")?.message == "ENV names can not be blank")
        #expect(commandError("ENV")?.message == "ENV requires at least one argument")
    }

    @Test func labelForms() throws {
        let label = try command("""
            LABEL "com.example.vendor"="ACME Incorporated" version="1.0" \\
                  description="This text illustrates \\
            that label-values can span multiple lines."
            """)
        #expect(label == .label([
            KeyValue(key: "com.example.vendor", value: "ACME Incorporated"), KeyValue(key: "version", value: "1.0"),
            KeyValue(key: "description", value: "This text illustrates that label-values can span multiple lines."),
        ]))
        #expect(try command("LABEL legacy some value") == .label([KeyValue(key: "legacy", value: "some value")]))
        #expect(try command("LABEL v=$V", env: ["V": "2"]) == .label([KeyValue(key: "v", value: "2")]))
    }

    @Test func argDeclarations() throws {
        #expect(try command("ARG a=1 b c=\"x y\"") == .arg([
            ArgDecl(name: "a", defaultValue: "1"), ArgDecl(name: "b", defaultValue: nil), ArgDecl(name: "c", defaultValue: "x y"),
        ]))
        #expect(try command("ARG D=${BASE}/d", env: ["BASE": "/b"]) == .arg([ArgDecl(name: "D", defaultValue: "/b/d")]))
        #expect(commandError("ARG =1")?.message == "ARG names can not be blank")
        #expect(commandError("ARG")?.message == "ARG requires at least one argument")
    }

    @Test func expose() throws {
        #expect(try command("EXPOSE 80 443/udp 8000-8001/tcp") == .expose(["80", "443/udp", "8000-8001/tcp"]))
        #expect(try command("EXPOSE $P", env: ["P": "81 82"]) == .expose(["81", "82"]))
        #expect(commandError("EXPOSE 80/xyz")?.message == "invalid proto: xyz")
        #expect(commandError("EXPOSE http") == DockerfileError(line: 2, "invalid containerPort: http"))
        #expect(commandError("EXPOSE")?.message == "EXPOSE requires at least one argument")
    }

    @Test func fromVariants() throws {
        #expect(try command("RUN x").self == .run(.shell("x"), network: nil))
        let file = try Dockerfile.parse("ARG P=linux/arm64\nFROM --platform=$P img:${TAG:-1} AS Builder\n")
        #expect(try file.stages[0].from.command(env: ["P": "linux/arm64"], escape: "\\")
            == .from(image: "img:1", name: "builder", platform: "linux/arm64"))
        let blank = try Dockerfile.parse("FROM $NONE\n")
        #expect(throws: DockerfileError(line: 1, "base name ($NONE) should not be blank")) {
            try blank.stages[0].from.command(env: [:], escape: "\\")
        }
    }

    @Test func copyAndAdd() throws {
        #expect(try command("COPY --from=build --chown=55:mygroup --chmod=644 files* /somedir/") == .copy(CopyCommand(
            sources: [.path("files*")], destination: "/somedir/", from: "build", chown: "55:mygroup", chmod: "644")))
        #expect(try command("COPY [\"a b\", \"$D/\"]", env: ["D": "/dst"]) == .copy(CopyCommand(sources: [.path("a b")], destination: "/dst/")))
        #expect(try command("ADD --link --checksum=sha256:abc http://x/y /z") == .add(CopyCommand(
            sources: [.path("http://x/y")], destination: "/z", link: true, checksum: "sha256:abc")))
        #expect(commandError("ADD --from=x a b")?.message == "unknown flag: from")
        #expect(commandError("COPY --chmod=999 a b")?.message.hasPrefix("invalid chmod parameter 999") == true)
        #expect(commandError("COPY --chown a b")?.message == "missing a value on flag: chown")
        #expect(commandError("COPY --link=maybe a b")?.message == "expecting boolean value for flag link, not: maybe")
        #expect(commandError("COPY --from=a --from=b x y")?.message == "duplicate flag specified: from")
        #expect(commandError("COPY")?.message == "COPY requires at least two arguments")
    }

    @Test func copyHeredocSources() throws {
        let copy = try command("COPY <<EOF <<'RAW' /app/\nhello $NAME \"q\"\nEOF\nraw $NAME\nRAW", env: ["NAME": "you"])
        #expect(copy == .copy(CopyCommand(sources: [
            .heredoc(Heredoc(delimiter: "EOF", content: "hello you \"q\"\n", expand: true)),
            .heredoc(Heredoc(delimiter: "RAW", content: "raw $NAME\n", expand: false)),
        ], destination: "/app/")))
    }

    @Test func simpleStringInstructions() throws {
        #expect(try command("WORKDIR ${DIR}/b", env: ["DIR": "/a"]) == .workdir("/a/b"))
        #expect(try command("USER $U:grp", env: ["U": "me"]) == .user("me:grp"))
        #expect(try command("STOPSIGNAL SIGKILL") == .stopSignal("SIGKILL"))
        #expect(try command("MAINTAINER Jane $X") == .maintainer("Jane $X"))
        #expect(commandError("WORKDIR")?.message == "WORKDIR requires exactly one argument")
        #expect(commandError("USER ${U:?set a user}") == DockerfileError(line: 2, "U: set a user"))
        #expect(commandError("WORKDIR ${A") == DockerfileError(line: 2, "syntax error: missing '}'"))
    }

    @Test func volumes() throws {
        #expect(try command("VOLUME [\"/data\", \"/logs\"]") == .volume(["/data", "/logs"]))
        #expect(try command("VOLUME /var/log $V", env: ["V": "/v"]) == .volume(["/var/log", "/v"]))
        #expect(commandError("VOLUME $NONE")?.message == "VOLUME specified can not be an empty string")
    }

    @Test func healthchecks() throws {
        #expect(try command("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1")
            == .healthcheck(HealthcheckCommand(test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                interval: 300_000_000_000, timeout: 3_000_000_000, startPeriod: 90_000_000_000,
                startInterval: 500_000_000, retries: 3)))
        #expect(try command("HEALTHCHECK CMD [\"/bin/check\", \"-q\"]") == .healthcheck(HealthcheckCommand(test: ["CMD", "/bin/check", "-q"])))
        #expect(try command("HEALTHCHECK NONE") == .healthcheck(HealthcheckCommand(test: ["NONE"])))
        #expect(try command("HEALTHCHECK --interval=1.5h CMD true") == .healthcheck(HealthcheckCommand(test: ["CMD-SHELL", "true"], interval: 5_400_000_000_000)))
        #expect(commandError("HEALTHCHECK NONE x")?.message == "HEALTHCHECK NONE takes no arguments")
        #expect(commandError("HEALTHCHECK CMD")?.message == "Missing command after HEALTHCHECK CMD")
        #expect(commandError("HEALTHCHECK RUN x")?.message == "Unknown type \"RUN\" in HEALTHCHECK (try CMD)")
        #expect(commandError("HEALTHCHECK --interval=5 CMD x")?.message == "time: missing unit in duration \"5\"")
        #expect(commandError("HEALTHCHECK --interval=1us CMD x")?.message == "Interval \"interval\" cannot be less than 1ms")
        #expect(commandError("HEALTHCHECK --retries=-1 CMD x")?.message == "--retries cannot be negative (-1)")
        #expect(commandError("HEALTHCHECK --bogus=1 CMD x")?.message == "unknown flag: bogus")
    }

    @Test func goDurations() throws {
        #expect(try GoDuration.parse("1m30s") == 90_000_000_000)
        #expect(try GoDuration.parse("500ms") == 500_000_000)
        #expect(try GoDuration.parse("0") == 0)
        #expect(try GoDuration.parse("2h45m0.5s") == 9_900_500_000_000)
        #expect(try GoDuration.parse("-1s") == -1_000_000_000)
        #expect(throws: DockerfileError(line: 0, "time: unknown unit \"d\" in duration \"1d\"")) { try GoDuration.parse("1d") }
        #expect(throws: DockerfileError(line: 0, "time: invalid duration \"\"")) { try GoDuration.parse("") }
        #expect(throws: DockerfileError(line: 0, "time: invalid duration \"s\"")) { try GoDuration.parse("s") }
    }

    @Test func shellInstruction() throws {
        #expect(try command("SHELL [\"powershell\", \"-command\"]") == .shell(["powershell", "-command"]))
        #expect(commandError("SHELL []")?.message == "SHELL requires at least one argument")
    }

    @Test func onbuild() throws {
        #expect(try command("ONBUILD ADD . /app/src") == .onbuild("ADD . /app/src"))
        #expect(try command("onbuild run echo $X") == .onbuild("run echo $X"))
        #expect(commandError("ONBUILD FROM x")?.message == "FROM isn't allowed as an ONBUILD trigger")
        #expect(commandError("ONBUILD MAINTAINER me")?.message == "MAINTAINER isn't allowed as an ONBUILD trigger")
        let trigger = try Dockerfile.parseInstruction("ADD . /app/src", line: 1, escape: "\\")
        #expect(try trigger.command(env: [:], escape: "\\") == .add(CopyCommand(sources: [.path(".")], destination: "/app/src")))
    }
}
