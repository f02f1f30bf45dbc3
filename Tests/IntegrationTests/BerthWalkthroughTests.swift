import BerthTestSupport
import Foundation
import Glibc
import Testing

/// The walkthroughs in the documents Berth was made from (../shared/seeds), typed into the berth CLI
/// as a docker user would, against a berthd of the test's own: pull, image ls, an interactive shell
/// driven through tmux (ps inside, ctrl-p ctrl-q), container ls, exec -it, stop, rm, hello-world,
/// `ls -la`, and `container ls -a` showing every run.
@Suite(.serialized, .enabled(if: BerthdHarness.available && TestRegistry.available && Tmux.available))
struct BerthWalkthroughTests {
    func expectOK(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    @Test func dockerGettingStartedWithBerth() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { Issue.record(Comment(rawValue: $0)) }) { h in
            try h.importDefaultImages()
            let image = try TestImages.busybox(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "library/ubuntu", tag: "latest")
            try registry.push(image.ociReference, to: "library/alpine", tag: "latest")
            let ubuntu = "\(registry.host)/library/ubuntu", alpine = "\(registry.host)/library/alpine"

            // $ docker image pull ubuntu ; docker image ls
            let pull = try h.berth(["image", "pull", ubuntu])
            expectOK(pull, "image pull")
            #expect(pull.stdout.contains("Status: Downloaded newer image for \(ubuntu):latest"), "\(pull)")
            let ls = try h.berth(["image", "ls"])
            expectOK(ls, "image ls")
            let header = ls.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(header.hasPrefix("REPOSITORY") && header.contains("TAG") && header.contains("IMAGE ID")
                    && header.contains("CREATED") && header.hasSuffix("SIZE"), "\(ls)")
            #expect(ls.stdout.split(separator: "\n").contains { $0.hasPrefix(ubuntu) && $0.contains("latest") }, "\(ls)")

            // $ docker container run -it ubuntu /bin/bash (busybox has sh): ps shows the shell as PID 1;
            // ctrl-p ctrl-q leaves it running.
            let tmux = try Tmux(dir: h.dir)
            defer { tmux.kill() }
            try tmux.start(window: "run", command: [BerthdHarness.berthCLI, "container", "run", "-it", "--name", "walk", ubuntu, "/bin/sh"],
                           env: ["BERTH_HOST": h.host])
            try await tmux.waitFor("run", timeout: 30) { $0.hasSuffix("#") }
            try tmux.send("run", "ps")
            let inside = try await tmux.waitFor("run", timeout: 15) { $0.contains("PID") && $0.contains("/bin/sh") }
            let pid1 = inside.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("1 ") }
            #expect(pid1?.hasSuffix("/bin/sh") == true, "PID 1 is the shell:\n\(inside)")
            // The terminal's size reaches the container, at start and when the window changes.
            let size = try tmux.paneSize("run")
            try tmux.send("run", "echo size=$(stty size)")
            try await tmux.waitFor("run", timeout: 15) { $0.contains("size=\(size.rows) \(size.columns)") }
            try tmux.resize(columns: 100, rows: 30)
            let smaller = try tmux.paneSize("run")
            #expect(smaller.columns == 100, "tmux resized the window: \(smaller)")
            try tmux.send("run", "echo resized=$(stty size)")
            try await tmux.waitFor("run", timeout: 15) { $0.contains("resized=\(smaller.rows) \(smaller.columns)") }
            try tmux.sendKeys("run", ["C-p", "C-q"])
            let detached = try await tmux.waitFor("run", timeout: 15) { $0.contains("BERTH-EXIT=") }
            #expect(detached.contains("BERTH-EXIT=0"), "detach exits 0:\n\(detached)")

            // $ docker container ls
            let running = try h.berth(["container", "ls", "--format", "{{.Names}} {{.Status}} {{.Command}}"])
            expectOK(running, "container ls")
            #expect(running.stdout.hasPrefix("walk Up "), "\(running)")
            #expect(running.stdout.contains("\"/bin/sh\""), "\(running)")

            // $ docker container exec -it 0acc2d5f2fef sh (the ID from `ls`): a second shell beside
            // PID 1; exit ends only it.
            let shortID = try h.berth(["container", "ls", "-q", "--filter", "name=walk"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(shortID.count == 12, "\(shortID)")
            try tmux.start(window: "exec", command: [BerthdHarness.berthCLI, "container", "exec", "-it", shortID, "sh"],
                           env: ["BERTH_HOST": h.host])
            try await tmux.waitFor("exec", timeout: 30) { $0.hasSuffix("#") }
            // The marker is computed, so the echoed command line does not match it.
            try tmux.send("exec", "ps; echo exec-$((40+2))")
            let both = try await tmux.waitFor("exec", timeout: 15) { $0.contains("exec-42") }
            #expect(both.contains("1 root") && both.split(separator: "\n").filter { $0.hasSuffix(" sh") || $0.hasSuffix("/bin/sh") }.count >= 2, "\(both)")
            try tmux.send("exec", "exit 7")
            let execExit = try await tmux.waitFor("exec", timeout: 15) { $0.contains("BERTH-EXIT=") }
            #expect(execExit.contains("BERTH-EXIT=7"), "exec's exit code:\n\(execExit)")
            let still = try h.berth(["container", "ls", "-q", "--filter", "name=walk"])
            #expect(still.stdout.count == 13, "walk still runs after exec exits: \(still)")

            // $ docker container stop walk ; docker container rm walk
            let stop = try h.berth(["container", "stop", "walk"])
            #expect(stop.status == 0 && stop.stdout == "walk\n", "\(stop)")
            let rm = try h.berth(["container", "rm", "walk"])
            #expect(rm.status == 0 && rm.stdout == "walk\n", "\(rm)")

            // $ docker version
            let version = try h.berth(["version"])
            #expect(version.status == 0 && version.stdout.contains("Client:") && version.stdout.contains("Server:")
                    && version.stdout.contains("API version:"), "\(version)")

            // $ docker container run alpine /bin/sh: no terminal, no stdin: the shell ends at once.
            let noTTY = try h.berth(["container", "run", ubuntu, "/bin/sh"])
            #expect(noTTY.status == 0 && noTTY.stdout.isEmpty, "\(noTTY)")

            // $ docker run hello-world
            let hello = try h.berth(["run", "hello-world"])
            expectOK(hello, "run hello-world")
            #expect(hello.stdout.contains("Hello from Berth!") && hello.stdout.contains("working correctly"), "\(hello)")

            // $ docker run alpine ls -la (pulled on first use)
            let alpineLS = try h.berth(["run", alpine, "ls", "-la"])
            expectOK(alpineLS, "run alpine ls -la")
            #expect(alpineLS.stderr.contains("Unable to find image '\(alpine):latest' locally"), "\(alpineLS)")
            for entry in ["bin", "etc", "proc", "root", "tmp"] {
                #expect(alpineLS.stdout.split(separator: "\n").contains { $0.hasPrefix("d") && $0.hasSuffix(" " + entry) }, "\(entry): \(alpineLS)")
            }
            let again = try h.berth(["run", alpine, "ls", "-la"])
            expectOK(again, "second run")

            // $ docker container ls -a: each run is its own exited container.
            let all = try h.berth(["container", "ls", "-a", "--format", "{{.ID}}|{{.Image}}|{{.Status}}|{{.Names}}"])
            expectOK(all, "container ls -a")
            let rows = all.stdout.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.count == 4, "\(all)")
            #expect(Set(rows.map { $0[0] }).count == 4 && Set(rows.map { $0[3] }).count == 4, "distinct IDs and names: \(all)")
            #expect(rows.allSatisfy { $0[2].hasPrefix("Exited (0) ") }, "\(all)")
            #expect(rows.filter { $0[1] == alpine }.count == 2 && rows.filter { $0[1] == "hello-world" }.count == 1, "\(all)")
            let table = try h.berth(["container", "ls", "-a"])
            #expect(table.stdout.hasPrefix("CONTAINER ID   IMAGE"), "\(table)")
        }
    }
}

/// A tmux server of the test's own (its own socket under the test's temp dir), for driving
/// interactive `-it` sessions through a real terminal. Each window's command ends by printing
/// `BERTH-EXIT=<code>` and keeps the pane for inspection.
final class Tmux {
    static var available: Bool { access("/usr/bin/tmux", X_OK) == 0 }
    let socket: String

    init(dir: String) throws { socket = dir + "/tmux.sock" }

    private func tmux(_ args: [String]) throws -> Command.Result {
        try Command.run("/usr/bin/tmux", ["-S", socket] + args, timeout: 20)
    }

    func start(window: String, command: [String], env: [String: String]) throws {
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let exports = env.map { "export \($0.key)='\($0.value)'; " }.joined()
        let script = exports + quoted + "; echo BERTH-EXIT=$?; sleep 600"
        let exists = (try? tmux(["has-session", "-t", "walk"]))?.status == 0
        let r = exists ? try tmux(["new-window", "-t", "walk", "-n", window, "/bin/sh", "-c", script])
                       : try tmux(["new-session", "-d", "-s", "walk", "-n", window, "-x", "120", "-y", "40", "/bin/sh", "-c", script])
        guard r.status == 0 else { throw HarnessError("tmux: \(r)") }
    }

    func send(_ window: String, _ line: String) throws {
        let r = try tmux(["send-keys", "-t", "walk:\(window)", "-l", line])
        let e = try tmux(["send-keys", "-t", "walk:\(window)", "Enter"])
        guard r.status == 0, e.status == 0 else { throw HarnessError("tmux send-keys: \(r) \(e)") }
    }

    func sendKeys(_ window: String, _ keys: [String]) throws {
        let r = try tmux(["send-keys", "-t", "walk:\(window)"] + keys)
        guard r.status == 0 else { throw HarnessError("tmux send-keys: \(r)") }
    }

    func paneSize(_ window: String) throws -> (rows: Int, columns: Int) {
        let r = try tmux(["display-message", "-p", "-t", "walk:\(window)", "#{pane_height} #{pane_width}"])
        let parts = r.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard parts.count == 2 else { throw HarnessError("tmux display-message: \(r)") }
        return (parts[0], parts[1])
    }

    func resize(columns: Int, rows: Int) throws {
        let r = try tmux(["resize-window", "-t", "walk", "-x", String(columns), "-y", String(rows)])
        guard r.status == 0 else { throw HarnessError("tmux resize-window: \(r)") }
    }

    func capture(_ window: String) throws -> String {
        let r = try tmux(["capture-pane", "-p", "-t", "walk:\(window)", "-S", "-100"])
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
            .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// The pane once `ready` holds for it.
    @discardableResult
    func waitFor(_ window: String, timeout: Int, _ ready: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(Double(timeout))
        var last = ""
        while Date() < deadline {
            last = (try? capture(window)) ?? last
            if ready(last) { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("tmux window \(window): timed out; the pane shows:\n\(last)")
    }

    /// Ends this test's tmux server (and the berth processes in its panes) through its own socket.
    func kill() {
        _ = try? tmux(["kill-server"])
        unlink(socket)
    }
}
