import Foundation
import Glibc
import Testing
import BerthTestSupport

/// berthd driven by the real docker CLI (and raw HTTP through curl), each test with its own berthd,
/// berth-lifecycled, temp roots and cgroup parent.
@Suite(.serialized, .enabled(if: BerthdHarness.available), .timeLimit(.minutes(4)))
struct EngineAPITests {
    func expectOK(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    @Test func dockerVersionShowsClientAndServer() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let r = try h.docker(["version"])
            expectOK(r, "docker version")
            #expect(r.stdout.contains("Client:") && r.stdout.contains("Server: Berth Engine"), "\(r)")
            #expect(r.stdout.contains("1.43 (minimum version 1.24)"), "\(r)")
            let info = try h.docker(["info", "--format", "{{.Driver}} {{.Images}} {{.OSType}}"])
            expectOK(info, "docker info")
            #expect(info.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "overlay2 1 linux", "\(info)")
        }
    }

    @Test func dockerRunForegroundExitCodesAndAutoRemove() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let hello = try h.docker(["run", "--rm", "busybox", "echo", "hello"])
            expectOK(hello, "docker run --rm")
            #expect(hello.stdout == "hello\n", "\(hello)")
            let three = try h.docker(["run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(three.status == 3, "\(three)")
            #expect(three.stdout == "out\n" && three.stderr.contains("err\n"), "\(three)")
            // --rm removed the first container; the second stays, exited.
            let all = try h.docker(["ps", "-a", "--format", "{{.Status}}"])
            #expect(all.stdout.split(separator: "\n").map { String($0.prefix(10)) } == ["Exited (3)"], "\(all)")
            let input = try h.docker(["run", "-i", "--rm", "busybox", "tr", "a-z", "A-Z"], stdin: "piped\n")
            #expect(input.status == 0 && input.stdout == "PIPED\n", "\(input)")
            // --rm removes the container right after its exit: its output must still all arrive.
            let many = try h.docker(["run", "--rm", "busybox", "seq", "1", "100000"])
            #expect(many.status == 0 && many.stdout.split(separator: "\n").count == 100_000 && many.stdout.hasSuffix("\n100000\n"),
                    "\(many.status) \(many.stdout.suffix(40)) \(many.stderr)")
            // A --rm container that cannot start is removed (the CLI waits for that), 127 as Docker.
            let missing = try h.docker(["run", "--rm", "busybox", "/no/such/binary"], timeout: 30)
            #expect(missing.status == 127 && missing.stderr.contains("no such file or directory"), "\(missing)")
            #expect(try h.docker(["ps", "-a", "-q", "--filter", "status=created"]).stdout.isEmpty)
            let tty = try h.docker(["run", "-t", "--rm", "busybox", "echo", "tty"])
            #expect(tty.status == 0 && tty.stdout.contains("tty"), "\(tty)")
        }
    }

    @Test func detachedContainerLifecycleThroughTheCLI() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let run = try h.docker(["run", "-d", "--name", "berth-x", "busybox", "sh", "-c", "echo started; exec sleep 60"])
            expectOK(run, "docker run -d")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 64, "\(run)")
            let ps = try h.docker(["ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"])
            #expect(ps.stdout.hasPrefix("\(id.prefix(12)) berth-x Up"), "\(ps)")
            var logs = try h.docker(["logs", "berth-x"])
            for _ in 0..<50 where logs.stdout.isEmpty {
                usleep(100_000)
                logs = try h.docker(["logs", "berth-x"])
            }
            #expect(logs.status == 0 && logs.stdout == "started\n", "\(logs)")
            let stamped = try h.docker(["logs", "-t", "berth-x"])
            #expect(stamped.stdout.hasPrefix("20") && stamped.stdout.hasSuffix("Z started\n"), "\(stamped)")
            let hi = try h.docker(["exec", "berth-x", "echo", "hi"])
            #expect(hi.status == 0 && hi.stdout == "hi\n", "\(hi)")
            let four = try h.docker(["exec", "berth-x", "sh", "-c", "exit 4"])
            #expect(four.status == 4, "\(four)")
            let cat = try h.docker(["exec", "-i", "berth-x", "cat"], stdin: "through exec\n")
            #expect(cat.status == 0 && cat.stdout == "through exec\n", "\(cat)")
            let inspect = try h.docker(["inspect", "--format", "{{.State.Status}} {{.Name}} {{.Config.Image}}", "berth-x"])
            #expect(inspect.stdout == "running /berth-x busybox\n", "\(inspect)")
            expectOK(try h.docker(["pause", "berth-x"]), "pause")
            #expect(try h.docker(["inspect", "--format", "{{.State.Status}}", "berth-x"]).stdout == "paused\n")
            expectOK(try h.docker(["unpause", "berth-x"]), "unpause")
            let stop = try h.docker(["stop", "-t", "1", "berth-x"])
            #expect(stop.status == 0 && stop.stdout == "berth-x\n", "\(stop)")
            let exited = try h.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
            // sleep as PID 1 has no SIGTERM handler, so the kernel ignores it: killed after the 1 s.
            #expect(exited.stdout.hasPrefix("berth-x Exited (137)"), "\(exited)")
            // Stopping a stopped container is fine (304 to the CLI).
            expectOK(try h.docker(["stop", "berth-x"]), "second stop")
            expectOK(try h.docker(["rm", "berth-x"]), "rm")
            let none = try h.docker(["ps", "-a", "-q"])
            #expect(none.status == 0 && none.stdout.isEmpty, "\(none)")
        }
    }

    @Test func imagesAndErrorsThroughTheCLI() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let images = try h.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(images.status == 0 && images.stdout == "busybox:latest\n", "\(images)")
            expectOK(try h.docker(["tag", "busybox", "berth/test:1"]), "tag")
            let tagged = try h.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            #expect(Set(tagged.stdout.split(separator: "\n")) == ["busybox:latest", "berth/test:1"], "\(tagged)")
            let inspect = try h.docker(["image", "inspect", "--format", "{{.Os}} {{len .RootFS.Layers}}", "berth/test:1"])
            #expect(inspect.status == 0 && inspect.stdout.hasPrefix("linux "), "\(inspect)")
            let rmi = try h.docker(["rmi", "berth/test:1"])
            #expect(rmi.status == 0 && rmi.stdout.contains("Untagged: berth/test:1"), "\(rmi)")

            let start = try h.docker(["start", "nosuch"])
            #expect(start.status != 0 && start.stderr.contains("No such container: nosuch"), "\(start)")
            let inspectMissing = try h.docker(["inspect", "nosuch"])
            #expect(inspectMissing.status != 0 && inspectMissing.stderr.contains("No such object: nosuch"), "\(inspectMissing)")
            let badName = try h.docker(["create", "--name", "bad name", "busybox"])
            #expect(badName.status != 0 && badName.stderr.contains("Invalid container name"), "\(badName)")
            expectOK(try h.docker(["create", "--name", "berth-dup", "busybox", "true"]), "create")
            let dup = try h.docker(["create", "--name", "berth-dup", "busybox", "true"])
            #expect(dup.status != 0 && dup.stderr.contains("is already in use"), "\(dup)")
            let missingCmd = try h.docker(["run", "busybox", "/no/such/binary"])
            #expect(missingCmd.status == 127, "\(missingCmd)")
        }
    }

    @Test func rawHTTPErrorsAndVersionNegotiation() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let ping = try h.http("GET", "/_ping")
            #expect(ping.status == 200 && ping.body == "OK")
            #expect(ping.headers["api-version"] == "1.43" && ping.headers["ostype"] == "linux")
            #expect(ping.headers["docker-experimental"] == "false" && ping.headers["builder-version"] == "1")
            let head = try h.http("HEAD", "/_ping")
            #expect(head.status == 200 && head.headers["api-version"] == "1.43", "\(head)")
            #expect(try h.http("GET", "/v1.24/version").status == 200)
            #expect(try h.http("GET", "/v1.43/containers/json").body.hasPrefix("["))

            let tooNew = try h.http("GET", "/v1.44/version")
            #expect(tooNew.status == 400 && tooNew.body.contains("client version 1.44 is too new. Maximum supported API version is 1.43"), "\(tooNew)")
            let tooOld = try h.http("GET", "/v1.12/version")
            #expect(tooOld.status == 400 && tooOld.body.contains("too old"), "\(tooOld)")
            let unknown = try h.http("GET", "/v1.43/nope")
            #expect(unknown.status == 404 && unknown.body.contains("\"message\":\"page not found\""), "\(unknown)")
            let missing = try h.http("GET", "/containers/nosuch/json")
            #expect(missing.status == 404 && missing.body.contains("No such container: nosuch"), "\(missing)")
            let malformed = try h.http("POST", "/containers/create", body: "{not json")
            #expect(malformed.status == 400 && malformed.body.contains("\"message\""), "\(malformed)")
            let notObject = try h.http("POST", "/containers/create", body: "[1,2]")
            #expect(notObject.status == 400, "\(notObject)")
            let badType = try h.http("POST", "/containers/create", body: #"{"Image":"busybox","Cmd":7}"#)
            #expect(badType.status == 400, "\(badType)")
            let noImage = try h.http("POST", "/containers/create", body: #"{"Image":"nosuch:image","Cmd":["true"]}"#)
            #expect(noImage.status == 404 && noImage.body.contains("No such image"), "\(noImage)")
            let badFilter = try h.http("GET", "/containers/json?filters=%7Bnope")
            #expect(badFilter.status == 400, "\(badFilter)")
            let badWait = try h.http("POST", "/containers/nosuch/wait?condition=whenever")
            #expect(badWait.status == 400, "\(badWait)")

            // An oversized body is refused, and the server lives on.
            let big = String(repeating: "a", count: 17 << 20)
            let tooBig = try h.http("POST", "/containers/create", body: "{\"Image\":\"\(big)\"}")
            #expect(tooBig.status == 413, "\(tooBig.status)")

            // create → start → wait → logs over plain HTTP; 304 for a second start.
            let created = try h.http("POST", "/v1.43/containers/create?name=berth-raw", body: #"{"Image":"busybox","Cmd":["sh","-c","echo raw; exit 5"]}"#)
            #expect(created.status == 201 && created.body.contains("\"Id\""), "\(created)")
            #expect(try h.http("POST", "/containers/berth-raw/start").status == 204)
            let wait = try h.http("POST", "/containers/berth-raw/wait")
            #expect(wait.status == 200 && wait.body.contains("\"StatusCode\":5"), "\(wait)")
            let logs = try h.http("GET", "/containers/berth-raw/logs?stdout=1")
            #expect(Array(logs.body.utf8) == [1, 0, 0, 0, 0, 0, 0, 4] + Array("raw\n".utf8), "\(logs)")
            let noStream = try h.http("GET", "/containers/berth-raw/logs")
            #expect(noStream.status == 400, "\(noStream)")
            let conflict = try h.http("POST", "/containers/berth-raw/pause")
            #expect(conflict.status == 409, "\(conflict)")
            #expect(try h.http("DELETE", "/containers/berth-raw").status == 204)
            #expect(try h.http("GET", "/_ping").status == 200)
        }
    }

    @Test(.enabled(if: TestRegistry.available)) func dockerPullStreamsProgressAndRunsThePulledImage() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host], report: { Issue.record(Comment(rawValue: $0 + "\nregistry:\n" + registry.log.suffix(2000))) }) { h in
            // busybox below (already present: "Already exists"), two new layers above.
            let image = try TestImages.multiLayer(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "team/bb", tag: "1")
            let ref = "\(registry.host)/team/bb:1"
            let pull = try h.docker(["pull", ref])
            expectOK(pull, "docker pull")
            #expect(pull.stdout.contains("Already exists") && pull.stdout.contains("Pull complete")
                    && pull.stdout.contains("Status: Downloaded newer image for \(ref)"), "\(pull)")
            let again = try h.docker(["pull", ref])
            #expect(again.status == 0 && again.stdout.contains("Image is up to date"), "\(again)")
            let run = try h.docker(["run", "--rm", ref, "cat", "/data/b"])
            #expect(run.status == 0 && run.stdout == "b from layer 2\n", "\(run)")
            let pushed = "\(registry.host)/team/pushed:2"
            expectOK(try h.docker(["tag", "busybox", pushed]), "tag")
            let push = try h.docker(["push", pushed])
            #expect(push.status == 0 && push.stdout.contains("The push refers to repository [\(registry.host)/team/pushed]")
                    && push.stdout.contains("2: digest: sha256:"), "\(push)")
            expectOK(try h.docker(["rmi", pushed]), "rmi")
            expectOK(try h.docker(["pull", pushed]), "pull back")
            let missing = try h.docker(["pull", "\(registry.host)/team/nosuch:1"])
            #expect(missing.status != 0 && !missing.stderr.isEmpty, "\(missing)")
        }
    }

    @Test func eventsAndClientDisconnects() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let since = Int(Date().timeIntervalSince1970) - 1
            expectOK(try h.docker(["run", "--name", "berth-ev", "busybox", "true"]), "run")
            let until = Int(Date().timeIntervalSince1970) + 1
            let events = try h.docker(["events", "--since", "\(since)", "--until", "\(until)", "--filter", "container=berth-ev",
                                       "--format", "{{.Type}} {{.Action}}"])
            #expect(events.status == 0, "\(events)")
            let actions = events.stdout.split(separator: "\n").map(String.init)
            #expect(actions.prefix(4) == ["container create", "container attach", "container start", "container die"]
                    || actions.prefix(3) == ["container create", "container start", "container die"], "\(events)")

            // Clients that hang up mid-stream (wait, followed logs, events) cancel their calls;
            // the server goes on answering.
            expectOK(try h.docker(["run", "-d", "--name", "berth-long", "busybox", "sleep", "60"]), "run -d")
            for path in ["/containers/berth-long/wait", "/containers/berth-long/logs?stdout=1&follow=1", "/events"] {
                let method = path.contains("wait") ? "POST" : "GET"
                let r = try Command.run("/usr/bin/curl", ["-s", "--max-time", "1", "--unix-socket", h.socket, "-X", method, "http://berthd" + path])
                #expect(r.status == 28, "\(path): \(r)")   // curl's timeout: the stream stayed open
            }
            let ping = try h.http("GET", "/_ping")
            #expect(ping.status == 200)
            let ps = try h.docker(["ps", "--format", "{{.Names}}"])
            #expect(ps.stdout == "berth-long\n", "\(ps)")
        }
    }

    @Test func volumesTopAndHistoryThroughTheCLI() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            expectOK(try h.docker(["volume", "create", "berth-vol"]), "volume create")
            let ls = try h.docker(["volume", "ls", "--format", "{{.Driver}} {{.Name}}"])
            #expect(ls.stdout == "local berth-vol\n", "\(ls)")
            expectOK(try h.docker(["run", "--rm", "-v", "berth-vol:/data", "busybox", "sh", "-c", "echo kept > /data/f"]), "write")
            let read = try h.docker(["run", "--rm", "-v", "berth-vol:/data", "busybox", "cat", "/data/f"])
            #expect(read.stdout == "kept\n", "\(read)")
            let missing = try h.docker(["volume", "inspect", "nosuch"])
            #expect(missing.status != 0 && missing.stderr.contains("No such volume: nosuch"), "\(missing)")
            expectOK(try h.docker(["volume", "rm", "berth-vol"]), "volume rm")

            expectOK(try h.docker(["run", "-d", "--name", "berth-top", "busybox", "sleep", "60"]), "run -d")
            let top = try h.docker(["top", "berth-top"])
            #expect(top.status == 0 && top.stdout.contains("sleep 60"), "\(top)")
            let stats = try h.docker(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "berth-top"])
            #expect(stats.status == 0 && stats.stdout.hasPrefix("berth-top 1 ") && !stats.stdout.contains("EiB"), "\(stats)")
            expectOK(try h.docker(["rm", "-f", "berth-top"]), "rm -f")
            expectOK(try h.docker(["create", "--name", "berth-stopped", "busybox", "true"]), "create")
            let prune = try h.docker(["container", "prune", "-f"])
            #expect(prune.status == 0 && prune.stdout.contains("Deleted Containers:"), "\(prune)")
            #expect(try h.docker(["ps", "-a", "-q"]).stdout.isEmpty)
            expectOK(try h.docker(["image", "prune", "-f"]), "image prune")
            let history = try h.docker(["history", "--format", "{{.ID}}", "busybox"])
            #expect(history.status == 0 && history.stdout.hasPrefix("sha256:") == false && !history.stdout.isEmpty, "\(history)")
        }
    }

    @Test func containersOutliveABerthdRestart() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            expectOK(try h.docker(["run", "-d", "--name", "berth-live", "busybox", "sleep", "60"]), "run -d")
            let pidText = try h.docker(["inspect", "--format", "{{.State.Pid}}", "berth-live"]).stdout
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            h.stop()
            #expect(access(h.socket, F_OK) != 0, "berthd removes its socket")
            #expect(kill(pid, 0) == 0, "the container's process survives berthd and berth-lifecycled")
            try await h.start()
            let ps = try h.docker(["ps", "--format", "{{.Names}} {{.Status}}"])
            #expect(ps.stdout.hasPrefix("berth-live Up"), "\(ps)")
            let hi = try h.docker(["exec", "berth-live", "echo", "still here"])
            #expect(hi.stdout == "still here\n", "\(hi)")
            expectOK(try h.docker(["rm", "-f", "berth-live"]), "rm -f")
        }
    }

    @Test func saveLoadExportAndCopyThroughTheCLI() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let saved = h.dir + "/busybox-saved.tar"
            expectOK(try h.docker(["save", "-o", saved, "busybox"]), "save")
            let listing = try Command.run("/bin/tar", ["-tf", saved])
            #expect(listing.stdout.contains("manifest.json"), "\(listing)")
            expectOK(try h.docker(["rmi", "busybox"]), "rmi")
            let load = try h.docker(["load", "-i", saved])
            #expect(load.status == 0 && load.stdout.contains("Loaded image: busybox:latest"), "\(load)")

            expectOK(try h.docker(["run", "-d", "--name", "berth-cp", "busybox", "sh", "-c", "echo inside > /tmp/f; exec sleep 60"]), "run -d")
            try Fixtures.write(h.dir + "/in.txt", "from the host\n")
            expectOK(try h.docker(["cp", h.dir + "/in.txt", "berth-cp:/tmp/in.txt"]), "cp in")
            #expect(try h.docker(["exec", "berth-cp", "cat", "/tmp/in.txt"]).stdout == "from the host\n")
            var out = try h.docker(["exec", "berth-cp", "cat", "/tmp/f"])
            for _ in 0..<50 where out.stdout.isEmpty { usleep(100_000); out = try h.docker(["exec", "berth-cp", "cat", "/tmp/f"]) }
            expectOK(try h.docker(["cp", "berth-cp:/tmp/f", h.dir + "/out.txt"]), "cp out")
            #expect(try Fixtures.read(h.dir + "/out.txt") == "inside\n")
            let missing = try h.docker(["cp", "berth-cp:/nope", h.dir + "/nope"])
            #expect(missing.status != 0 && missing.stderr.contains("No such container:path: berth-cp:/nope"), "\(missing)")
            let exported = h.dir + "/export.tar"
            expectOK(try h.docker(["export", "-o", exported, "berth-cp"]), "export")
            let files = try Command.run("/bin/tar", ["-tf", exported])
            #expect(files.stdout.contains("tmp/in.txt") && files.stdout.contains("bin/busybox"), "\(files.stdout.prefix(300))")
            let imported = try Command.run("/bin/sh", ["-c", "/usr/bin/docker -H \(h.host) import -c 'CMD [\"cat\",\"/tmp/in.txt\"]' \(exported) berth/imported:1"],
                                           env: ["PATH=/usr/bin:/bin", "DOCKER_CONFIG=\(h.dir)/docker-config"])
            #expect(imported.status == 0 && imported.stdout.hasPrefix("sha256:"), "\(imported)")
            let runImported = try h.docker(["run", "--rm", "berth/imported:1"])
            #expect(runImported.stdout == "from the host\n", "\(runImported)")
            let committed = try h.docker(["commit", "-c", "CMD [\"cat\",\"/tmp/f\"]", "-m", "test", "berth-cp", "berth/committed:1"])
            #expect(committed.status == 0 && committed.stdout.hasPrefix("sha256:"), "\(committed)")
            let runCommitted = try h.docker(["run", "--rm", "berth/committed:1"])
            #expect(runCommitted.stdout == "inside\n", "\(runCommitted)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.lc.root + "/tmp/berthd")) ?? []).isEmpty, "temp tars removed")
        }
    }

    /// `docker run -it` and `docker exec -it` under a real terminal (script(1) gives the CLI a pty):
    /// raw stream, the terminal size through resize, the exit code.
    @Test(.enabled(if: access("/usr/bin/script", X_OK) == 0)) func interactiveTerminal() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            func underTerminal(_ dockerArgs: String, typing: String) throws -> Command.Result {
                let cmd = "stty rows 33 cols 101; /usr/bin/docker -H \(h.host) \(dockerArgs)"
                return try Command.run("/bin/sh", ["-c", "(printf '\(typing)'; sleep 3) | script -qfec '\(cmd)' /dev/null"],
                                       env: ["PATH=/usr/bin:/bin", "DOCKER_CONFIG=\(h.dir)/docker-config"], timeout: 30)
            }
            let run = try underTerminal("run -it --rm busybox sh", typing: "stty size; exit 5\\n")
            #expect(run.status == 5 && run.stdout.contains("33 101"), "\(run)")
            expectOK(try h.docker(["run", "-d", "--name", "berth-tty", "busybox", "sleep", "60"]), "run -d")
            let exec = try underTerminal("exec -it berth-tty sh", typing: "stty size; exit 7\\n")
            #expect(exec.status == 7 && exec.stdout.contains("33 101"), "\(exec)")
        }
    }

    @Test func followWaitAttachRenameKillRestart() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            expectOK(try h.docker(["run", "-d", "--name", "berth-f", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.3; done; exit 6"]), "run -d")
            let follow = try h.docker(["logs", "-f", "berth-f"])
            #expect(follow.status == 0 && follow.stdout == "1\n2\n3\n", "\(follow)")
            let wait = try h.docker(["wait", "berth-f"])
            #expect(wait.stdout == "6\n", "\(wait)")

            expectOK(try h.docker(["run", "-d", "--name", "berth-a", "busybox", "sh", "-c", "sleep 1; echo from-attach; exit 2"]), "run -d")
            let attach = try h.docker(["attach", "berth-a"])
            #expect(attach.status == 2 && attach.stdout == "from-attach\n", "\(attach)")

            expectOK(try h.docker(["run", "-d", "--name", "berth-r", "busybox", "sleep", "60"]), "run -d")
            expectOK(try h.docker(["rename", "berth-r", "berth-r2"]), "rename")
            let restart = try h.docker(["restart", "-t", "0", "berth-r2"])
            #expect(restart.status == 0, "\(restart)")
            let count = try h.docker(["inspect", "--format", "{{.State.Running}} {{.Name}}", "berth-r2"])
            #expect(count.stdout == "true /berth-r2\n", "\(count)")
            expectOK(try h.docker(["kill", "-s", "KILL", "berth-r2"]), "kill")
            let killed = try h.docker(["wait", "berth-r2"])
            #expect(killed.stdout == "137\n", "\(killed)")
            let badSignal = try h.docker(["kill", "-s", "NOPE", "berth-r2"])
            #expect(badSignal.status != 0, "\(badSignal)")
        }
    }
}
