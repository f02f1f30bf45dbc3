import Testing
@testable import BerthDockerfile

/// Examples taken from Docker's Dockerfile reference, with the results it documents.
@Suite struct ReferenceExampleTests {
    @Test func windowsEscapeExample() throws {
        let file = try Dockerfile.parse("""
            # escape=`

            FROM microsoft/nanoserver
            COPY testfile.txt c:\\
            RUN dir c:\\
            """)
        let ins = file.stages[0].instructions
        #expect(ins.count == 2)
        #expect(try ins[0].command(env: [:], escape: file.escape) == .copy(CopyCommand(sources: [.path("testfile.txt")], destination: "c:\\")))
        #expect(try ins[1].command(env: [:], escape: file.escape) == .run(.shell("dir c:\\"), network: nil))
    }

    @Test func withoutEscapeDirectiveBackslashContinues() throws {
        // The reference's failing case: without the directive `c:\` joins the next line.
        let file = try Dockerfile.parse("FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n")
        #expect(file.stages[0].instructions.count == 1)
        #expect(file.stages[0].instructions[0].arguments == "testfile.txt c:RUN dir c:")
    }

    @Test func environmentReplacementExample() throws {
        let file = try Dockerfile.parse("""
            FROM busybox
            ENV FOO=/bar
            WORKDIR ${FOO}
            ADD . $FOO
            COPY \\$FOO /quux
            ENV abc=bye def=$abc
            """)
        let ins = file.stages[0].instructions
        let env = ["FOO": "/bar", "abc": "hello"]
        #expect(try ins[1].command(env: env, escape: "\\") == .workdir("/bar"))
        #expect(try ins[2].command(env: env, escape: "\\") == .add(CopyCommand(sources: [.path(".")], destination: "/bar")))
        #expect(try ins[3].command(env: env, escape: "\\") == .copy(CopyCommand(sources: [.path("$FOO")], destination: "/quux")))
        // Every substitution in one instruction sees the environment from before it.
        #expect(try ins[4].command(env: env, escape: "\\") == .env([KeyValue(key: "abc", value: "bye"), KeyValue(key: "def", value: "hello")]))
    }

    @Test func heredocExampleWithShebang() throws {
        let file = try Dockerfile.parse("""
            FROM debian
            RUN <<EOT bash
              set -ex
              apt-get update
            EOT
            RUN <<EOT
            #!/usr/bin/env python
            print("hello world")
            EOT
            """)
        let ins = file.stages[0].instructions
        #expect(try ins[0].command(env: [:], escape: "\\") == .run(.shell("<<EOT bash\n  set -ex\n  apt-get update\nEOT"), network: nil))
        #expect(try ins[1].command(env: [:], escape: "\\") == .run(.shell("#!/usr/bin/env python\nprint(\"hello world\")\n"), network: nil))
    }
}
