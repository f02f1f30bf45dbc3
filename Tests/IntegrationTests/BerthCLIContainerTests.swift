import Foundation
import Glibc
import Testing
import BerthTestSupport

/// The `berth` CLI's container commands end to end against a private berthd, with the real docker
/// CLI beside it where the two outputs should be the same.
@Suite(.serialized, .enabled(if: BerthdHarness.available && access(LifecycleHarness.siblingBinary("berth"), X_OK) == 0),
       .timeLimit(.minutes(6)))
struct BerthCLIContainerTests {
    func ok(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    /// A table row's cells: columns are at least two spaces apart (an empty cell disappears).
    func cells(_ line: String) -> [String] {
        line.replacingOccurrences(of: " {2,}", with: "\t", options: .regularExpression)
            .split(separator: "\t").map(String.init)
    }

    @Test func lifecycleCommandsAndPs() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let run = try h.berth(["run", "-d", "--network", "none", "--name", "one", "busybox", "sh", "-c", "echo hello; exec sleep 100"])
            ok(run, "run -d")
            let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(id.count == 64)
            ok(try h.berth(["create", "--network", "none", "--name", "two", "busybox", "true"]), "create")

            // The table: docker's header, the quoted command, the name without its slash.
            let table = try h.berth(["ps"])
            ok(table, "ps")
            let rows = lines(table.stdout)
            #expect(rows.count == 2, "\(table)")
            #expect(cells(rows.first ?? "") == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], "\(table)")
            let row = cells(rows.last ?? "")
            #expect(row.count == 6 && row[0] == String(id.prefix(12)) && row[1] == "busybox" && row[2] == #""sh -c \"echo hello; …""#
                    && row[3].hasSuffix(" ago") && row[4].hasPrefix("Up ") && row[5] == "one", "\(table)")
            #expect(try h.berth(["ps", "-q"]).stdout == String(id.prefix(12)) + "\n")
            #expect(lines(try h.berth(["ps", "-a", "-q", "--no-trunc"]).stdout).contains(id))
            #expect(lines(try h.berth(["container", "ls", "-a", "--format", "{{.Names}} {{.State}}"]).stdout).sorted()
                    == ["one running", "two created"])
            #expect(try h.berth(["ps", "-a", "--filter", "status=created", "--format", "{{.Names}}"]).stdout == "two\n")
            #expect(try h.berth(["ps", "-l", "--format", "{{.Names}}"]).stdout == "two\n")
            let json = try h.berth(["ps", "--format", "{{json .}}"])
            let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(obj["Names"] as? String == "one" && obj["Networks"] as? String == "none" && obj["Command"] as? String == #""sh -c \"echo hello; …""#, "\(json)")
            // The same as docker's own output against the same daemon.
            let mine = try h.berth(["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Ports}}"])
            let docker = try h.docker(["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}} {{.Ports}}"])
            #expect(mine.stdout == docker.stdout, "berth: \(mine)\ndocker: \(docker)")

            var logs = try h.berth(["logs", "one"])
            for _ in 0..<50 where logs.stdout.isEmpty { usleep(100_000); logs = try h.berth(["logs", "one"]) }
            #expect(logs.stdout == "hello\n", "\(logs)")

            let stop = try h.berth(["stop", "-t", "1", "one", "nosuch"])
            #expect(stop.status == 1 && stop.stdout == "one\n" && stop.stderr == "Error response from daemon: No such container: nosuch\n", "\(stop)")
            #expect(try h.berth(["inspect", "--format", "{{.State.Status}}", "one"]).stdout == "exited\n")
            #expect(try h.berth(["start", "one"]).stdout == "one\n")
            let restart = try h.berth(["restart", "-t", "1", "one"])
            #expect(restart.status == 0 && restart.stdout == "one\n", "\(restart)")
            ok(try h.berth(["pause", "one"]), "pause")
            #expect(try h.berth(["container", "inspect", "--format", "{{.State.Status}}", "one"]).stdout == "paused\n")
            ok(try h.berth(["unpause", "one"]), "unpause")
            let kill = try h.berth(["kill", "-s", "KILL", "one"])
            #expect(kill.status == 0 && kill.stdout == "one\n", "\(kill)")
            let wait = try h.berth(["wait", "one"])
            #expect(wait.status == 0 && wait.stdout == "137\n", "\(wait)")

            ok(try h.berth(["rename", "one", "uno"]), "rename")
            let same = try h.berth(["rename", "uno", "uno"])
            #expect(same.status == 1 && same.stderr.hasSuffix("Error: failed to rename container named uno\n"), "\(same)")
            // The generic inspect finds containers and images; what it cannot find is an error.
            let any = try h.berth(["inspect", "--format", "{{.Id}}", "uno", "busybox", "nothing"])
            #expect(any.status == 1 && lines(any.stdout).count == 2 && any.stderr == "Error: No such object: nothing\n", "\(any)")
            let arr = try h.berth(["container", "inspect", "uno"])
            let parsed = try JSONSerialization.jsonObject(with: Data(arr.stdout.utf8)) as? [[String: Any]]
            #expect(parsed?.first?["Name"] as? String == "/uno", "\(arr)")

            let rm = try h.berth(["rm", "uno", "two"])
            #expect(rm.status == 0 && rm.stdout == "uno\ntwo\n", "\(rm)")
            let gone = try h.berth(["rm", "-f", "nosuch"])
            #expect(gone.status == 0 && gone.stderr.contains("No such container: nosuch"), "\(gone)")
            #expect(try h.berth(["ps", "-a", "-q"]).stdout.isEmpty)
        }
    }

    @Test func execTopDiffCommitExportAndStats() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            ok(try h.berth(["run", "-d", "--network", "none", "--name", "box", "busybox", "sleep", "100"]), "run -d")
            let hi = try h.berth(["exec", "box", "sh", "-c", "echo hi; echo err >&2"])
            #expect(hi.status == 0 && hi.stdout == "hi\n" && hi.stderr == "err\n", "\(hi)")
            #expect(try h.berth(["exec", "box", "sh", "-c", "exit 4"]).status == 4)
            let cat = try h.berth(["exec", "-i", "-e", "X=1", "-w", "/tmp", "box", "sh", "-c", "pwd; echo $X; cat"], stdin: "in\n")
            #expect(cat.status == 0 && cat.stdout == "/tmp\n1\nin\n", "\(cat)")
            let missing = try h.berth(["exec", "box", "/no/such"])
            let dockerMissing = try h.docker(["exec", "box", "/no/such"])
            #expect(missing.status == 127 && missing.status == dockerMissing.status, "\(missing) / \(dockerMissing)")
            ok(try h.berth(["exec", "-d", "box", "touch", "/tmp/detached"]), "exec -d")

            let top = try h.berth(["top", "box"])
            #expect(top.status == 0 && lines(top.stdout).first?.hasPrefix("UID ") == true && top.stdout.contains("sleep 100"), "\(top)")
            #expect(top.stdout == (try h.docker(["top", "box"])).stdout)

            ok(try h.berth(["exec", "box", "mkdir", "/made"]), "exec mkdir")
            let diff = try h.berth(["diff", "box"])
            #expect(lines(diff.stdout).contains("A /made") && lines(diff.stdout).contains("C /tmp"), "\(diff)")

            let commit = try h.berth(["commit", "-m", "snap", "-c", "ENV COMMITTED=yes", "box", "snap:1"])
            #expect(commit.status == 0 && commit.stdout.hasPrefix("sha256:"), "\(commit)")
            let env = try h.berth(["run", "--rm", "--network", "none", "snap:1", "sh", "-c", "echo $COMMITTED; ls -d /made"])
            #expect(env.stdout == "yes\n/made\n", "\(env)")

            let tar = h.dir + "/export.tar"
            ok(try h.berth(["export", "-o", tar, "box"]), "export")
            let listing = try Command.run("/bin/tar", ["-tf", tar])
            #expect(lines(listing.stdout).contains("made/") && lines(listing.stdout).contains("bin/busybox"), "\(listing.stderr)")

            let stats = try h.berth(["stats", "--no-stream"])
            let srows = lines(stats.stdout)
            #expect(stats.status == 0 && srows.count == 2, "\(stats)")
            #expect(cells(srows.first ?? "") == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
                    "\(stats)")
            let srow = cells(srows.last ?? "")
            #expect(srow.count == 8 && srow[1] == "box" && srow[2].hasSuffix("%") && srow[7] == "1", "\(stats)")
            let named = try h.berth(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.Container}}", "box"])
            #expect(named.stdout == "box 1 box\n", "\(named)")
            let none = try h.berth(["stats", "--no-stream", "nosuch"])
            #expect(none.status == 1 && none.stderr.contains("No such container: nosuch"), "\(none)")

            ok(try h.berth(["rm", "-f", "box"]), "rm -f")
        }
    }

    /// A line without its newline (a prompt) reaches `logs` and attached clients while the container
    /// still runs: at once from a terminal, within a fraction of a second from a pipe.
    @Test func unfinishedLinesAreNotHeldBack() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            for tty in [false, true] {
                let name = tty ? "prompt-tty" : "prompt-pipe"
                let run = try h.berth(["run", "-d"] + (tty ? ["-t"] : []) + ["--name", name, "--network", "none", "busybox",
                                       "sh", "-c", "printf 'name: '; sleep 30"])
                #expect(run.status == 0, "\(run)")
                var seen = ""
                for _ in 0..<40 {
                    seen = try h.berth(["logs", name]).stdout
                    if seen == "name: " { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(seen == "name: ", "tty \(tty): \(seen.debugDescription)")
                #expect(try h.berth(["rm", "-f", name]).status == 0)
            }
            let piped = try h.berth(["run", "-i", "--rm", "--network", "none", "busybox", "sh", "-c", "printf 'name: '; read x; echo hi $x"], stdin: "bob\n")
            #expect(piped.stdout == "name: hi bob\n", "\(piped)")
        }
    }

    @Test func cpBothWays() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            ok(try h.berth(["run", "-d", "--network", "none", "--name", "box", "busybox", "sh", "-c",
                            "mkdir -p /data/sub && echo a > /data/a && echo b > /data/sub/b && exec sleep 100"]), "run -d")
            for _ in 0..<50 where try h.berth(["exec", "box", "test", "-f", "/data/sub/b"]).status != 0 { usleep(100_000) }
            let local = h.dir + "/cp"
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)

            // A file to a new name, a directory into an existing one, a directory's contents.
            ok(try h.berth(["cp", "box:/data/a", local + "/a-copy"]), "cp file")
            #expect(try String(contentsOfFile: local + "/a-copy", encoding: .utf8) == "a\n")
            ok(try h.berth(["cp", "box:/data", local]), "cp dir into dir")
            #expect(try String(contentsOfFile: local + "/data/sub/b", encoding: .utf8) == "b\n")
            ok(try h.berth(["cp", "box:/data/.", local + "/contents"]), "cp dir contents")
            #expect(FileManager.default.fileExists(atPath: local + "/contents/sub/b"))
            let dirOverFile = try h.berth(["cp", "box:/data", local + "/a-copy"])
            #expect(dirOverFile.status == 1 && dirOverFile.stderr == "cannot copy directory\n", "\(dirOverFile)")
            let nope = try h.berth(["cp", "box:/nope", local + "/x"])
            #expect(nope.status == 1 && nope.stderr.hasPrefix("Error response from daemon: "), "\(nope)")
            // `-` writes the tar stream to stdout.
            let stream = try h.berth(["cp", "box:/data/a", "-"])
            #expect(stream.status == 0 && stream.stdout.hasPrefix("a\0"), "\(stream.status) \(stream.stderr)")

            // To the container: into a directory, as a new name, a directory's contents.
            try "local\n".write(toFile: local + "/l.txt", atomically: true, encoding: .utf8)
            ok(try h.berth(["cp", local + "/l.txt", "box:/tmp/"]), "cp to dir")
            ok(try h.berth(["cp", local + "/l.txt", "box:/tmp/renamed"]), "cp to new name")
            ok(try h.berth(["cp", local + "/data", "box:/copied"]), "cp dir to new name")
            ok(try h.berth(["cp", local + "/data/.", "box:/tmp"]), "cp contents")
            let check = try h.berth(["exec", "box", "cat", "/tmp/l.txt", "/tmp/renamed", "/copied/sub/b", "/tmp/sub/b"])
            #expect(check.stdout == "local\nlocal\nb\nb\n", "\(check)")
            let noDir = try h.berth(["cp", local + "/l.txt", "box:/nodir/"])
            #expect(noDir.status == 1 && noDir.stderr == "no such directory\n", "\(noDir)")
            ok(try h.berth(["rm", "-f", "box"]), "rm -f")
        }
    }

    @Test func portsAndPrune() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            ok(try h.berth(["run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sleep", "100"]), "run -p")
            let port = try h.berth(["port", "web"])
            let dockerPort = try h.docker(["port", "web"])
            #expect(port.status == 0 && port.stdout.hasPrefix("80/tcp -> 127.0.0.1:") && port.stdout == dockerPort.stdout, "\(port) / \(dockerPort)")
            let one = try h.berth(["port", "web", "80/tcp"])
            #expect(one.stdout == (try h.docker(["port", "web", "80"])).stdout && one.stdout.hasPrefix("127.0.0.1:"), "\(one)")
            let udp = try h.berth(["port", "web", "80/udp"])
            #expect(udp.status == 1 && udp.stderr == "Error: No public port '80/udp' published for web\n", "\(udp)")
            let ps = try h.berth(["ps", "--format", "{{.Names}} {{.Ports}}"])
            #expect(ps.stdout == (try h.docker(["ps", "--format", "{{.Names}} {{.Ports}}"])).stdout && ps.stdout.contains("->80/tcp"), "\(ps)")

            ok(try h.berth(["run", "--network", "none", "--name", "done", "busybox", "true"]), "run")
            // Without -f it asks; no answer keeps everything.
            let asked = try h.berth(["container", "prune"], stdin: "")
            #expect(asked.status == 0 && asked.stdout == "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ", "\(asked)")
            #expect(lines(try h.berth(["ps", "-a", "--format", "{{.Names}}"]).stdout).sorted() == ["done", "web"])
            let pruned = try h.berth(["container", "prune"], stdin: "y\n")
            #expect(pruned.status == 0 && pruned.stdout.contains("Deleted Containers:\n") && pruned.stdout.contains("Total reclaimed space: "), "\(pruned)")
            #expect(try h.berth(["ps", "-a", "--format", "{{.Names}}"]).stdout == "web\n")
            ok(try h.berth(["rm", "-f", "web"]), "rm -f")
            ok(try h.berth(["container", "prune", "-f"]), "prune -f")
        }
    }
}
