import Foundation
import Glibc
import Testing
import BerthTestSupport

/// `berth build` and `POST /build` (the classic builder) against a private berthd with the test
/// busybox image: multi-stage builds run and inspected, the layer cache counted after edits,
/// .dockerignore, the errors' texts, and the docker CLI (DOCKER_BUILDKIT=0) as the client.
@Suite(.serialized, .enabled(if: BerthdHarness.available && access(BerthdHarness.berthCLI, X_OK) == 0), .timeLimit(.minutes(5)))
struct BuildTests {
    /// A build context directory with these files (parents created).
    static func context(_ dir: String, _ files: [String: String]) throws -> String {
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        return dir
    }

    static func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    /// The "Step i/N : …" lines followed by " ---> Using cache".
    static func cachedSteps(_ out: String) -> [String] {
        let lines = out.split(separator: "\n").map(String.init)
        return lines.indices.compactMap { i in
            lines[i].hasPrefix("Step ") && i + 1 < lines.count && lines[i + 1] == " ---> Using cache" ? lines[i] : nil
        }
    }

    static let appDockerfile = """
        # A two-stage build: the first stage makes an artifact, the second copies it.
        ARG BASE=busybox
        FROM ${BASE} AS builder
        WORKDIR /src
        COPY app.sh config/ ./
        RUN echo "built with $(cat settings.conf)" > artifact \\
            && chmod 0755 app.sh
        FROM busybox
        ARG GREETING=hello
        ENV GREETING=$GREETING APP_HOME=/app
        LABEL org.example.role="test app"
        COPY --from=builder /src/artifact /app/
        RUN echo 'appuser:x:1000:1000::/app:/bin/sh' >> /etc/passwd && echo 'appuser:x:1000:' >> /etc/group
        COPY --chown=appuser:appuser app.sh /app/app.sh
        USER appuser
        WORKDIR $APP_HOME
        EXPOSE 8080 9000/udp
        ENTRYPOINT ["/bin/sh", "/app/app.sh"]
        CMD ["world"]

        """

    @Test func multiStageBuildRunsAndReusesItsCache() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let ctx = try Self.context(h.dir + "/app", [
                "Dockerfile": Self.appDockerfile,
                "app.sh": "echo \"$GREETING $1 from $(pwd) as $(id -u):$(id -g)\"; cat /app/artifact; ls -ln /app/app.sh | awk '{print $3\":\"$4}'\n",
                "config/settings.conf": "v1",
                // Several of the CLI's 1 MiB send chunks: the context is streamed from its tar file.
                "config/blob.bin": String(repeating: "x", count: 3_000_000),
            ])
            let build = try h.berth(["build", "-t", "berth-test/app:1", "-t", "berth-test/app:latest", "--build-arg", "GREETING=hi", ctx], timeout: 120)
            #expect(build.status == 0, "\(build)")
            #expect(build.stdout.hasPrefix("Sending build context to Docker daemon  3.006MB\n"), "\(build)")
            #expect(build.stdout.contains("Step 1/16 : FROM ${BASE} AS builder\n"), "\(build)")
            #expect(build.stdout.contains("Step 16/16 : CMD [\"world\"]\n"), "\(build)")
            #expect(build.stdout.contains(" ---> Running in "), "\(build)")
            #expect(build.stdout.contains("Successfully tagged berth-test/app:1\nSuccessfully tagged berth-test/app:latest\n"), "\(build)")
            #expect(Self.cachedSteps(build.stdout).isEmpty, "\(build)")

            let run = try h.berth(["run", "--rm", "berth-test/app:1"], timeout: 60)
            #expect(run.status == 0 && run.stdout == "hi world from /app as 1000:1000\nbuilt with v1\n1000:1000\n", "\(run)")
            let args = try h.berth(["run", "--rm", "berth-test/app:1", "there"], timeout: 60)
            #expect(args.stdout.hasPrefix("hi there from /app"), "\(args)")

            let inspect = try h.berth(["image", "inspect", "-f",
                                       "{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Env}}|{{json .Config.ExposedPorts}}|{{json .Config.Labels}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}",
                                       "berth-test/app:1"])
            #expect(inspect.stdout == """
                appuser|/app|["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hi","APP_HOME=/app"]|{"8080/tcp":{},"9000/udp":{}}|{"org.example.role":"test app"}|["/bin/sh","/app/app.sh"]|["world"]

                """ || inspect.stdout.contains("\"GREETING=hi\",\"APP_HOME=/app\"]|{\"8080/tcp\":{},\"9000/udp\":{}}"), "\(inspect)")
            let history = try h.berth(["history", "--no-trunc", "--format", "{{.CreatedBy}}", "berth-test/app:1"])
            // GREETING is in ENV too, so (as in Docker) the RUN line carries no `|1 GREETING=hi` prefix.
            #expect(history.stdout.contains("\n/bin/sh -c echo 'appuser:x:1000:1000::/app:/bin/sh'"), "\(history)")
            #expect(history.stdout.contains("/bin/sh -c #(nop)  ENV GREETING=hi APP_HOME=/app"), "\(history)")

            // The same build again: every step after each FROM comes from the cache, same image.
            let id1 = try h.berth(["image", "inspect", "-f", "{{.Id}}", "berth-test/app:1"]).stdout
            let again = try h.berth(["build", "-t", "berth-test/app:1", "--build-arg", "GREETING=hi", ctx], timeout: 120)
            #expect(again.status == 0 && Self.cachedSteps(again.stdout).count == 14 && !again.stdout.contains("Running in"), "\(again)")
            #expect(try h.berth(["image", "inspect", "-f", "{{.Id}}", "berth-test/app:1"]).stdout == id1)

            // Edit app.sh: the first stage's COPY and RUN run again; its artifact comes out the same,
            // so the second stage is cached up to its own COPY of app.sh.
            try "echo edited $GREETING\n".write(toFile: ctx + "/app.sh", atomically: false, encoding: .utf8)
            let edited = try h.berth(["build", "-t", "berth-test/app:2", "--build-arg", "GREETING=hi", ctx], timeout: 120)
            #expect(edited.status == 0, "\(edited)")
            let cached = Self.cachedSteps(edited.stdout)
            #expect(cached.map { $0.split(separator: " ")[1] } == ["2/16", "6/16", "7/16", "8/16", "9/16", "10/16"], "\(cached)\n\(edited)")
            #expect(Self.count(" ---> Running in ", in: edited.stdout) == 1, "\(edited)")
            let editedRun = try h.berth(["run", "--rm", "berth-test/app:2"], timeout: 60)
            #expect(editedRun.stdout == "edited hi\n", "\(editedRun)")

            // --no-cache runs everything; --target stops at the first stage.
            let nocache = try h.berth(["build", "--no-cache", "-q", "--build-arg", "GREETING=hi", ctx], timeout: 120)
            #expect(nocache.status == 0 && nocache.stdout.hasPrefix("sha256:") && nocache.stdout.count == 72, "\(nocache)")
            let target = try h.berth(["build", "--target", "builder", "-t", "berth-test/builder", ctx], timeout: 120)
            #expect(target.status == 0 && target.stdout.contains("Step 4/4 : RUN"), "\(target)")
            let artifact = try h.berth(["run", "--rm", "berth-test/builder", "cat", "/src/artifact"])
            #expect(artifact.stdout == "built with v1\n", "\(artifact)")
            let blob = try h.berth(["run", "--rm", "berth-test/builder", "wc", "-c", "/src/blob.bin"])
            #expect(blob.stdout.hasPrefix("3000000 "), "\(blob)")

            // Intermediate images stay out of `images` but not out of `images -a`; what is left
            // untagged there are heads, as with Docker's classic builder: each build's first-stage
            // result and the untagged --no-cache build.
            let images = try h.berth(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            let all = try h.berth(["images", "-a", "--format", "{{.Repository}}"])
            #expect(Self.count("<none>:<none>", in: images.stdout) == 3 && Self.count("<none>", in: all.stdout) > 20, "\(images)\n\(all)")
        }
    }

    @Test func dockerignoreCopySemanticsAndOnbuild() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let ctx = try Self.context(h.dir + "/ign", [
                "Dockerfile": """
                    FROM busybox
                    COPY . /ctx/
                    COPY *.txt /texts/
                    COPY dir /flat
                    COPY --chmod=0600 dir/sub/deep.txt /one/renamed.txt
                    ADD archive.tar.gz /unpacked/
                    ARG WHO=heredoc
                    COPY <<EOF /inline/hello.txt
                    inline $WHO
                    EOF
                    RUN <<EOF
                    echo from heredoc > /heredoc.out
                    EOF
                    RUN --network=none test ! -e /sys/class/net/eth0
                    RUN rm /texts/a.txt && rm -r /flat/sub
                    ONBUILD RUN echo triggered > /onbuild.out
                    VOLUME /data
                    STOPSIGNAL SIGTERM
                    HEALTHCHECK --interval=5s CMD true
                    """,
                ".dockerignore": "# secrets stay home\nsecret.txt\nlogs\n!logs/keep.log\n**/*.tmp\n",
                "secret.txt": "s3cret", "a.txt": "a", "b.txt": "b", "notes.tmp": "x",
                "logs/drop.log": "d", "logs/keep.log": "k",
                "dir/top.txt": "top", "dir/sub/deep.txt": "deep", "dir/sub/scratch.tmp": "tmp",
            ])
            let payload = h.dir + "/payload"
            try FileManager.default.createDirectory(atPath: payload + "/p", withIntermediateDirectories: true)
            try "packed".write(toFile: payload + "/p/file.txt", atomically: false, encoding: .utf8)
            let tar = try Command.run("/bin/tar", ["-C", payload, "-czf", ctx + "/archive.tar.gz", "p"])
            #expect(tar.status == 0, "\(tar)")

            let build = try h.berth(["build", "-t", "berth-test/ign", ctx], timeout: 120)
            #expect(build.status == 0, "\(build)")
            let listing = try h.berth(["run", "--rm", "berth-test/ign", "sh", "-c",
                                       "cd /ctx && find . -type f | sort; echo --; ls /texts /flat /unpacked/p; stat -c '%a %n' /one/renamed.txt; cat /inline/hello.txt /heredoc.out"])
            // .dockerignore itself travels (the CLI always sends it), as with docker.
            #expect(listing.stdout == """
                ./.dockerignore
                ./Dockerfile
                ./a.txt
                ./archive.tar.gz
                ./b.txt
                ./dir/sub/deep.txt
                ./dir/top.txt
                ./logs/keep.log
                --
                /flat:
                top.txt

                /texts:
                b.txt

                /unpacked/p:
                file.txt
                600 /one/renamed.txt
                inline heredoc
                from heredoc

                """, "\(listing)")
            #expect(!listing.stdout.contains("secret") && !listing.stdout.contains("drop.log") && !listing.stdout.contains(".tmp"), "\(listing)")
            let cfg = try h.berth(["image", "inspect", "-f", "{{json .Config.OnBuild}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Healthcheck.Test}}", "berth-test/ign"])
            #expect(cfg.stdout == "[\"RUN echo triggered > /onbuild.out\"] {\"/data\":{}} SIGTERM [\"CMD-SHELL\",\"true\"]\n", "\(cfg)")

            // A child image runs the ONBUILD trigger right after its FROM.
            let child = try Self.context(h.dir + "/child", ["Dockerfile": "FROM berth-test/ign\nRUN cat /onbuild.out\n"])
            let childBuild = try h.berth(["build", "-t", "berth-test/child", child], timeout: 120)
            #expect(childBuild.status == 0 && childBuild.stdout.contains("# Executing 1 build trigger\n") && childBuild.stdout.contains("triggered\n"), "\(childBuild)")

            // An ignored file cannot be copied by name.
            let ignored = try Self.context(h.dir + "/ign2", ["Dockerfile": "FROM busybox\nCOPY secret.txt /\n", ".dockerignore": "secret.txt\n", "secret.txt": "x"])
            let refused = try h.berth(["build", ignored], timeout: 60)
            #expect(refused.status == 1 && refused.stderr.contains("COPY failed: file not found in build context or excluded by .dockerignore: stat secret.txt: file does not exist (Dockerfile line 2: COPY)"), "\(refused)")
        }
    }

    @Test func errorsPointAtTheDockerfileLine() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let unknown = try Self.context(h.dir + "/e1", ["Dockerfile": "FROM busybox\nRUNN echo\n"])
            let r1 = try h.berth(["build", unknown])
            #expect(r1.status == 1 && r1.stderr.contains("dockerfile parse error line 2: unknown instruction: RUNN"), "\(r1)")
            let failing = try Self.context(h.dir + "/e2", ["Dockerfile": "FROM busybox\nRUN echo about to fail\nRUN echo failing output; exit 3\n"])
            let r2 = try h.berth(["build", failing], timeout: 60)
            #expect(r2.status == 1 && r2.stdout.contains("failing output\n")
                    && r2.stderr.contains("The command '/bin/sh -c echo failing output; exit 3' returned a non-zero code: 3 (Dockerfile line 3: RUN)"), "\(r2)")
            let missing = try Self.context(h.dir + "/e3", ["Dockerfile": "FROM busybox\n\nCOPY nothere.txt /\n"])
            let r3 = try h.berth(["build", missing])
            #expect(r3.status == 1 && r3.stderr.contains("stat nothere.txt: file does not exist (Dockerfile line 3: COPY)"), "\(r3)")
            let badJSON = try Self.context(h.dir + "/e4", ["Dockerfile": "FROM busybox\nSHELL /bin/sh -c\n"])
            let r4 = try h.berth(["build", badJSON])
            #expect(r4.status == 1 && r4.stderr.contains("line 2"), "\(r4)")
            let url = try Self.context(h.dir + "/e5", ["Dockerfile": "FROM busybox\nADD http://example.invalid/x.tgz /x\n"])
            let r5 = try h.berth(["build", url])
            #expect(r5.status == 1 && r5.stderr.contains("ADD failed: cannot download http://example.invalid/x.tgz") && r5.stderr.contains("(Dockerfile line 2: ADD)"), "\(r5)")
            let noTarget = try h.berth(["build", "--target", "nosuch", failing])
            #expect(noTarget.status == 1 && noTarget.stderr.contains("failed to reach build target nosuch in Dockerfile"), "\(noTarget)")
            // Over the API: a parse error before any step is a 400 with a message.
            let api = try h.shell("tar -C \(unknown) -c . | curl -s -o \(h.dir)/api.out -w '%{http_code} ' --unix-socket \(h.socket) -X POST -H 'Content-Type: application/x-tar' --data-binary @- http://berthd/v1.43/build; cat \(h.dir)/api.out")
            #expect(api.stdout.hasPrefix("400 ") && api.stdout.contains("\"message\":\"dockerfile parse error line 2: unknown instruction: RUNN\""), "\(api)")
            // Nothing from the failed builds is left running, and the failed RUN's container is kept (as Docker does).
            let ps = try h.berth(["ps", "-a", "--format", "{{.Status}}"])
            #expect(ps.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("Exited (3)") } && !ps.stdout.isEmpty, "\(ps)")

            // A client that goes away mid-RUN cancels the build: its container is killed and removed.
            let slow = try Self.context(h.dir + "/e6", ["Dockerfile": "FROM busybox\nRUN echo sleeping; sleep 60\n"])
            let before = try h.berth(["ps", "-aq"]).stdout
            let gone = try h.shell("$BERTH build \(slow) > \(h.dir)/slow.out 2>&1 & pid=$!; echo pid=$pid; for i in $(seq 100); do grep -q sleeping \(h.dir)/slow.out && break; sleep 0.1; done; kill -TERM $pid; wait $pid; cat \(h.dir)/slow.out", timeout: 60)
            #expect(gone.stdout.contains("sleeping"), "\(gone)")
            var after = ""
            for _ in 0..<50 {
                after = try h.berth(["ps", "-aq"]).stdout
                if after == before { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(after == before, "the cancelled build's container is still there: \(after)")
            // The CLI's temporary context tar (named after its pid) does not outlive it.
            let cliPID = gone.stdout.split(separator: "\n").first { $0.hasPrefix("pid=") }.map { String($0.dropFirst(4)) } ?? "?"
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("berth-build-context-\(cliPID)-") }
            #expect(leftovers.isEmpty, "the killed CLI left its context tar: \(leftovers)")
        }
    }

    @Test func dockerCLIClassicBuilderAgainstBerthd() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let ctx = try Self.context(h.dir + "/dk", [
                "Dockerfile": "FROM busybox\nARG V=1\nRUN echo v$V > /v\nCOPY f.txt /f.txt\nCMD [\"cat\", \"/v\", \"/f.txt\"]\n",
                "f.txt": "file\n",
            ])
            let build = try h.shell("cd \(ctx) && DOCKER_BUILDKIT=0 $DOCKER build -t berth-test/dk --build-arg V=7 --label team=berth . 2>&1", timeout: 120)
            #expect(build.status == 0 && build.stdout.contains("Step 1/6 : FROM busybox") && build.stdout.contains("Step 6/6 : LABEL \"team\"=\"berth\"")
                    && build.stdout.contains("Successfully tagged berth-test/dk:latest"), "\(build)")
            let run = try h.docker(["run", "--rm", "berth-test/dk"], timeout: 60)
            #expect(run.status == 0 && run.stdout == "v7\nfile\n", "\(run)")
            let again = try h.shell("cd \(ctx) && DOCKER_BUILDKIT=0 $DOCKER build -q -t berth-test/dk --build-arg V=7 --label team=berth .", timeout: 120)
            let id = try h.docker(["image", "inspect", "-f", "{{.Id}}", "berth-test/dk"])
            #expect(again.status == 0 && again.stdout == id.stdout, "\(again) vs \(id)")
            let label = try h.docker(["image", "inspect", "-f", "{{index .Config.Labels \"team\"}}", "berth-test/dk"])
            #expect(label.stdout == "berth\n", "\(label)")

            // A Dockerfile from outside the context (-f) and from stdin (`build -`).
            try "FROM busybox\nCOPY f.txt /outside.txt\nCMD [\"cat\", \"/outside.txt\"]\n".write(toFile: h.dir + "/other.Dockerfile", atomically: false, encoding: .utf8)
            let outside = try h.berth(["build", "-q", "-t", "berth-test/outside", "-f", h.dir + "/other.Dockerfile", ctx], timeout: 120)
            #expect(outside.status == 0, "\(outside)")
            #expect(try h.berth(["run", "--rm", "berth-test/outside"]).stdout == "file\n")
            let stdin = try h.berth(["build", "-t", "berth-test/stdin", "-"], stdin: "FROM busybox\nENV FROM_STDIN=1\n", timeout: 120)
            #expect(stdin.status == 0 && stdin.stdout.contains("Step 2/2 : ENV FROM_STDIN=1"), "\(stdin)")
            // `docker builder prune` (and the end of `docker system prune`): no BuildKit cache here.
            let prune = try h.docker(["builder", "prune", "-f"])
            #expect(prune.status == 0 && prune.stdout.contains("Total reclaimed space: 0B"), "\(prune)")
        }
    }
}

/// A berth-built image pushed to a real registry, then pulled and run by a real dockerd.
@Suite("BuildDockerInterop", .serialized,
       .enabled(if: geteuid() == 0 && DockerEnvironment.available && TestRegistry.available && BerthdHarness.available
                && access(BerthdHarness.berthCLI, X_OK) == 0),
       DockerEnvironmentScope(runtime: LifecycleHarness.siblingBinary("berth-runtime")))
struct BuildDockerInteropTests {
    @Test func builtImagePushedPulledByDockerAndRun() async throws {
        let env = try DockerEnvironment.required()
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { Issue.record(Comment(rawValue: $0 + "\n" + env.diagnostics())) }) { h in
            let ctx = try BuildTests.context(h.dir + "/push", [
                "Dockerfile": "FROM busybox AS base\nRUN echo layer > /layer.txt\nFROM base\nWORKDIR /work\nCOPY msg.txt .\nENV WHO=docker\nCMD [\"sh\", \"-c\", \"cat /layer.txt msg.txt; echo $WHO $(pwd)\"]\n",
                "msg.txt": "from berth\n",
            ])
            let ref = "\(registry.host)/berth-test/built:1"
            let build = try h.berth(["build", "-t", ref, ctx], timeout: 120)
            #expect(build.status == 0, "\(build)")
            let push = try h.berth(["push", ref], timeout: 120)
            #expect(push.status == 0, "\(push)")
            defer { _ = try? env.docker(["rmi", "-f", ref], timeout: 60) }
            let pull = try env.docker(["pull", ref], timeout: 120)
            #expect(pull.status == 0, "\(pull)")
            let run = try env.docker(["run", "--rm", ref], timeout: 120)
            #expect(run.status == 0 && run.stdout == "layer\nfrom berth\ndocker /work\n", "\(run)")
            let history = try env.docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", ref], timeout: 60)
            #expect(history.stdout.contains("WORKDIR /work") && history.stdout.contains("COPY file:"), "\(history)")
        }
    }
}
