import Testing
import BerthTestSupport
import BerthImage
@testable import BerthLifecycle

@Suite("DockerfileChanges.apply (docker import --change)")
struct DockerfileChangesTests {
    func apply(_ changes: [String], to start: ContainerConfig = ContainerConfig()) throws -> ContainerConfig {
        var c = start
        try DockerfileChanges.apply(changes, to: &c)
        return c
    }

    @Test func cmdJSONForm() throws {
        #expect(try apply([#"CMD ["sh", "-c", "echo hi"]"#]).cmd == ["sh", "-c", "echo hi"])
        #expect(try apply([#"CMD []"#]).cmd == [])
    }

    @Test func cmdShellForm() throws {
        #expect(try apply(["CMD echo hello world"]).cmd == ["/bin/sh", "-c", "echo hello world"])
        // Not valid JSON: the shell form, as Docker does.
        #expect(try apply(["CMD [not json"]).cmd == ["/bin/sh", "-c", "[not json"])
    }

    @Test func entrypointBothForms() throws {
        #expect(try apply([#"ENTRYPOINT ["/app", "--serve"]"#]).entrypoint == ["/app", "--serve"])
        #expect(try apply(["ENTRYPOINT /app --serve"]).entrypoint == ["/bin/sh", "-c", "/app --serve"])
    }

    @Test func instructionsAreCaseInsensitiveAndTrimmed() throws {
        let c = try apply(["  cmd   [\"top\"]  ", "workdir    /srv  "])
        #expect(c.cmd == ["top"])
        #expect(c.workingDir == "/srv")
    }

    @Test func envPairsWithQuotes() throws {
        let c = try apply([#"ENV A=b C="d e" F='g h'  I=j"#])
        #expect(c.env == ["A=b", "C=d e", "F=g h", "I=j"])
    }

    @Test func envLegacyForm() throws {
        #expect(try apply(["ENV GREETING hello there world"]).env == ["GREETING=hello there world"])
    }

    @Test func envLegacyFormWithEqualsInValue() throws {
        // Docker: the first word has no '=', so this is the legacy form: JAVA_OPTS="-Dx=1 -Dy=2".
        let env = try apply(["ENV JAVA_OPTS -Dx=1 -Dy=2"]).env
        #expect(env == ["JAVA_OPTS=-Dx=1 -Dy=2"])
    }

    @Test func envReplacesEarlierValuesAndKeepsOthers() throws {
        var start = ContainerConfig()
        start.env = ["PATH=/usr/bin", "A=old", "AB=keep"]
        let c = try apply(["ENV A=new", "ENV B=1"], to: start)
        #expect(c.env == ["PATH=/usr/bin", "AB=keep", "A=new", "B=1"])
    }

    @Test func labels() throws {
        var start = ContainerConfig()
        start.labels = ["old": "1"]
        let c = try apply([#"LABEL a=b "with space"="x y" empty="#, "LABEL a=override"], to: start)
        #expect(c.labels == ["old": "1", "a": "override", "with space": "x y", "empty": ""])
    }

    @Test func exposeWithAndWithoutProtocol() throws {
        let c = try apply(["EXPOSE 80  8443/tcp 53/udp", "EXPOSE 9000"])
        #expect(Set((c.exposedPorts ?? [:]).keys) == ["80/tcp", "8443/tcp", "53/udp", "9000/tcp"])
    }

    @Test func volumesBothForms() throws {
        #expect(Set((try apply([#"VOLUME ["/data", "/logs"]"#]).volumes ?? [:]).keys) == ["/data", "/logs"])
        #expect(Set((try apply(["VOLUME /a /b"]).volumes ?? [:]).keys) == ["/a", "/b"])
    }

    @Test func workdirUserStopsignal() throws {
        let c = try apply(["WORKDIR /var/lib/app", "USER nobody:nogroup", "STOPSIGNAL SIGQUIT"])
        #expect(c.workingDir == "/var/lib/app")
        #expect(c.user == "nobody:nogroup")
        #expect(c.stopSignal == "SIGQUIT")
    }

    @Test func laterChangesWin() throws {
        let c = try apply(["CMD a", #"CMD ["b"]"#, "USER 1", "USER 2"])
        #expect(c.cmd == ["b"])
        #expect(c.user == "2")
    }

    @Test(arguments: ["FROM busybox", "RUN echo hi", "COPY a b", "BOGUS x"])
    func unknownInstructionIsInvalidArgument(change: String) {
        #expect {
            _ = try apply([change])
        } throws: { error in
            guard case LifecycleError.invalidArgument(let m) = error else { return false }
            return m.contains("not a valid change command")
        }
    }

    @Test(arguments: ["CMD", "", "   ", "ENV"])
    func instructionWithoutArgumentsIsInvalidArgument(change: String) {
        #expect {
            _ = try apply([change])
        } throws: { error in
            if case LifecycleError.invalidArgument = error { return true }
            return false
        }
    }

    @Test func errorsMapTo400() {
        do {
            _ = try apply(["FROM scratch"])
            Issue.record("expected an error")
        } catch let e as LifecycleError {
            #expect(e.wireError.code == 400)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
