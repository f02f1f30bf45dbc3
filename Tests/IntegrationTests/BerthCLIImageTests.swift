import Foundation
import Glibc
import Testing
import BerthTestSupport

/// The berth CLI's image, network, volume and system commands against a private berthd (and a real
/// docker-registry for pull, push and login), compared with what docker prints.
@Suite(.serialized, .enabled(if: BerthdHarness.available && access(BerthdHarness.berthCLI, X_OK) == 0), .timeLimit(.minutes(5)))
struct BerthCLIImageTests {
    func expectOK(_ r: Command.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(what): \(r)", sourceLocation: sourceLocation)
    }

    func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

    @Test(.enabled(if: TestRegistry.available)) func pullPushImagesTagRmiHistory() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { Issue.record(Comment(rawValue: $0 + "\nregistry:\n" + registry.log.suffix(2000))) }) { h in
            let image = try TestImages.multiLayer(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "team/bb", tag: "1")
            let ref = "\(registry.host)/team/bb:1"

            // Not a terminal: plain lines, no progress updates, the reference last.
            let pull = try h.berth(["pull", ref])
            expectOK(pull, "berth pull")
            #expect(pull.stdout.contains("1: Pulling from team/bb\n") && pull.stdout.contains("Pull complete\n")
                    && pull.stdout.contains("\nDigest: sha256:") && pull.stdout.contains("Status: Downloaded newer image for \(ref)\n"), "\(pull)")
            #expect(lines(pull.stdout).last == ref && !pull.stdout.contains("\u{1b}[") && !pull.stdout.contains("Downloading"), "\(pull)")
            let quiet = try h.berth(["image", "pull", "-q", ref])
            #expect(quiet.status == 0 && quiet.stdout == ref + "\n", "\(quiet)")
            let untagged = try h.berth(["pull", "\(registry.host)/team/bb"])
            #expect(untagged.status != 0 && untagged.stdout.hasPrefix("Using default tag: latest\n"), "\(untagged)")
            #expect(try h.berth(["pull", "-a", ref]).stderr.contains("tag can't be used with --all-tags/-a"))

            // images: table, -q, --format, a reference argument.
            let table = try h.berth(["images"])
            expectOK(table, "images")
            let header = lines(table.stdout).first ?? ""
            for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] { #expect(header.contains(col), "\(table)") }
            #expect(table.stdout.contains("\(registry.host)/team/bb") && table.stdout.contains("busybox"), "\(table)")
            let ids = try h.berth(["images", "-q"])
            #expect(ids.status == 0 && lines(ids.stdout).count == 2 && lines(ids.stdout).allSatisfy { $0.count == 12 }, "\(ids)")
            let formatted = try h.berth(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "busybox"])
            #expect(formatted.stdout == "busybox:latest\n", "\(formatted)")
            let dockerIDs = try h.docker(["images", "-q"])
            #expect(Set(lines(dockerIDs.stdout)) == Set(lines(ids.stdout)), "\(dockerIDs)")

            // tag, push (the daemon's messages as docker prints them), rmi.
            let pushed = "\(registry.host)/team/pushed:2"
            expectOK(try h.berth(["tag", "busybox", pushed]), "tag")
            let push = try h.berth(["push", pushed])
            #expect(push.status == 0 && push.stdout.hasPrefix("The push refers to repository [\(registry.host)/team/pushed]\n")
                    && push.stdout.contains("2: digest: sha256:"), "\(push)")
            let rmi = try h.berth(["rmi", pushed])
            #expect(rmi.status == 0 && rmi.stdout == "Untagged: \(pushed)\n", "\(rmi)")
            let back = try h.berth(["pull", "-q", pushed])
            #expect(back.status == 0 && back.stdout == pushed + "\n", "\(back)")
            let rmiMissing = try h.berth(["rmi", "nosuch:1"])
            #expect(rmiMissing.status == 1 && rmiMissing.stderr == "Error: No such image: nosuch:1\n", "\(rmiMissing)")
            let removed = try h.berth(["image", "rm", ref])
            #expect(removed.status == 0 && removed.stdout.contains("Untagged: \(ref)\n") && removed.stdout.contains("Deleted: sha256:"), "\(removed)")

            // history: docker's columns, IDs and sizes as the docker CLI shows them.
            let history = try h.berth(["history", "busybox"])
            expectOK(history, "history")
            #expect(lines(history.stdout).first.map { h in ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"].allSatisfy(h.contains) } == true, "\(history)")
            let hq = try h.berth(["image", "history", "-q", "--no-trunc", "busybox"])
            let dq = try h.docker(["history", "-q", "--no-trunc", "busybox"])
            #expect(hq.status == 0 && hq.stdout == dq.stdout, "\(hq)\n\(dq)")
            let missing = try h.berth(["pull", "\(registry.host)/team/nosuch:1"])
            #expect(missing.status == 1 && !missing.stderr.isEmpty, "\(missing)")
        }
    }

    @Test(.enabled(if: TestRegistry.available)) func loginStoresCredentialsAndPullUsesThem() async throws {
        let registry = try TestRegistry(auth: .htpasswd(username: "berth", password: "s3cret"))
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { Issue.record(Comment(rawValue: $0 + "\nregistry:\n" + registry.log.suffix(2000))) }) { h in
            let image = try TestImages.multiLayer(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "private/bb", tag: "1")
            let ref = "\(registry.host)/private/bb:1"
            let anonymous = try h.berth(["pull", ref])
            #expect(anonymous.status == 1 && anonymous.stderr.lowercased().contains("unauthorized"), "\(anonymous)")

            let wrong = try h.berth(["login", "-u", "berth", "--password-stdin", registry.host], stdin: "nope\n")
            #expect(wrong.status == 1 && wrong.stderr.contains("Error response from daemon:") && wrong.stderr.contains("unauthorized"), "\(wrong)")
            #expect(!FileManager.default.fileExists(atPath: h.dir + "/berth-config/config.json"))
            // The real docker CLI gets the same answer from berthd's POST /auth.
            let dockerWrong = try h.docker(["login", "-u", "berth", "--password-stdin", registry.host], stdin: "nope\n")
            #expect(dockerWrong.status == 1 && dockerWrong.stderr.contains("unauthorized"), "\(dockerWrong)")

            let login = try h.berth(["login", "-u", "berth", "--password-stdin", registry.host], stdin: "s3cret\n")
            #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "\(login)")
            let path = h.dir + "/berth-config/config.json"
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            let entry = (config?["auths"] as? [String: Any])?[registry.host] as? [String: String]
            #expect(entry?["auth"] == Data("berth:s3cret".utf8).base64EncodedString(), "\(String(describing: config))")

            let pull = try h.berth(["pull", "-q", ref])
            #expect(pull.status == 0 && pull.stdout == ref + "\n", "\(pull)")
            let dockerLogin = try h.docker(["login", "-u", "berth", "-p", "s3cret", registry.host])
            #expect(dockerLogin.status == 0 && dockerLogin.stdout.contains("Login Succeeded"), "\(dockerLogin)")

            let logout = try h.berth(["logout", registry.host])
            #expect(logout.stdout == "Removing login credentials for \(registry.host)\n", "\(logout)")
            #expect(try h.berth(["logout", registry.host]).stdout == "Removing login credentials for \(registry.host)\n")
            let nowhere = try h.berth(["login", "-u", "x", "-p", "y", "127.0.0.1:1"])
            #expect(nowhere.status == 1 && nowhere.stderr.contains("Error response from daemon:"), "\(nowhere)")
            let noTTY = try h.berth(["login", registry.host])
            #expect(noTTY.status == 1 && noTTY.stderr.contains("Cannot perform an interactive login from a non TTY device"), "\(noTTY)")
        }
    }

    @Test(.enabled(if: TestRegistry.available)) func loginFollowsTheTokenFlow() async throws {
        let registry = try TestRegistry(auth: .token(username: "berth", password: "tok3n"))
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { Issue.record(Comment(rawValue: $0 + "\nregistry:\n" + registry.log.suffix(2000))) }) { h in
            let bad = try h.berth(["login", "-u", "berth", "-p", "wrong", registry.host])
            #expect(bad.status == 1 && bad.stderr.contains("unauthorized"), "\(bad)")
            let good = try h.berth(["login", "-u", "berth", "-p", "tok3n", registry.host])
            #expect(good.status == 0 && good.stdout == "Login Succeeded\n", "\(good)")
            #expect(good.stderr.contains("WARNING! Using --password via the CLI is insecure. Use --password-stdin."), "\(good)")
            // Pushing with the stored credentials goes through the token service too.
            expectOK(try h.berth(["tag", "busybox", "\(registry.host)/mine/bb:1"]), "tag")
            let push = try h.berth(["push", "\(registry.host)/mine/bb:1"])
            #expect(push.status == 0 && push.stdout.contains("1: digest: sha256:"), "\(push)")
        }
    }

    @Test func saveLoadImportAndPrune() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let tar = h.dir + "/bb.tar"
            expectOK(try h.berth(["save", "-o", tar, "busybox"]), "save -o")
            #expect((try? FileManager.default.attributesOfItem(atPath: tar)[.size] as? Int) ?? 0 > 1_000_000)
            expectOK(try h.berth(["tag", "busybox", "copy:1"]), "tag")
            expectOK(try h.berth(["rmi", "busybox", "copy:1"]), "rmi")
            let load = try h.berth(["load", "-i", tar])
            #expect(load.status == 0 && load.stdout == "Loaded image: busybox:latest\n", "\(load)")
            let quiet = try h.berth(["image", "load", "-q", "-i", tar])
            #expect(quiet.status == 0 && quiet.stdout == "Loaded image: busybox:latest\n", "\(quiet)")
            // save | load through pipes, and docker's CLI reading berth's archive.
            let piped = try h.shell("$BERTH save busybox | $BERTH load && $BERTH save busybox | $DOCKER load")
            #expect(piped.status == 0 && piped.stdout == "Loaded image: busybox:latest\nLoaded image: busybox:latest\n", "\(piped)")
            let none = try h.berth(["load"], stdin: "")
            #expect(none.status == 1 && none.stderr.contains("requested load from stdin, but stdin is empty"), "\(none)")

            // import: a file, and stdin, with -c and -m.
            let rootfs = h.dir + "/rootfs.tar"
            let t = try Command.run("/bin/tar", ["-C", "/etc", "-cf", rootfs, "hostname", "passwd"])
            #expect(t.status == 0)
            let imp = try h.berth(["import", "-m", "from a file", "-c", "CMD [\"/bin/true\"]", rootfs, "imported:1"])
            #expect(imp.status == 0 && imp.stdout.hasPrefix("sha256:") && imp.stdout.count == 72, "\(imp)")
            let cmd = try h.berth(["image", "inspect", "--format", "{{json .Config.Cmd}} {{.Comment}}", "imported:1"])
            #expect(cmd.stdout == "[\"/bin/true\"] from a file\n", "\(cmd)")
            let fromStdin = try h.shell("$BERTH import - stdin:1 < \(rootfs)")
            #expect(fromStdin.status == 0 && fromStdin.stdout.hasPrefix("sha256:"), "\(fromStdin)")

            // prune: dangling images only without -a; -a takes every image no container uses.
            let untag = try h.berth(["rmi", "stdin:1"])
            expectOK(untag, "rmi stdin:1")
            let prune = try h.berth(["image", "prune", "-f"])
            #expect(prune.status == 0 && prune.stdout.contains("Total reclaimed space: "), "\(prune)")
            let cancelled = try h.berth(["image", "prune", "-a"], stdin: "n\n")
            #expect(cancelled.status == 0 && cancelled.stdout.hasSuffix("[y/N] Total reclaimed space: 0B\n") && cancelled.stdout.hasPrefix("WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "), "\(cancelled)")
            let all = try h.berth(["image", "prune", "-a"], stdin: "y\n")
            #expect(all.status == 0 && all.stdout.contains("Deleted Images:\nuntagged: imported:1\n") && all.stdout.contains("Total reclaimed space: "), "\(all)")
            #expect(try h.berth(["images", "-q"]).stdout.isEmpty)
        }
    }

    @Test func networksAndVolumes() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let created = try h.berth(["network", "create", "--label", "team=core", "berth-cli-net"])
            #expect(created.status == 0 && created.stdout.count == 65, "\(created)")
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let ls = try h.berth(["network", "ls"])
            #expect(lines(ls.stdout).first.map { h in ["NETWORK ID", "NAME", "DRIVER", "SCOPE"].allSatisfy(h.contains) } == true, "\(ls)")
            #expect(ls.stdout.contains(String(id.prefix(12))) && ls.stdout.contains("berth-cli-net"), "\(ls)")
            let names = try h.berth(["network", "ls", "--format", "{{.Name}}"])
            #expect(lines(names.stdout) == lines(names.stdout).sorted() && lines(names.stdout).contains("bridge"), "\(names)")
            let filtered = try h.berth(["network", "ls", "-q", "--no-trunc", "-f", "label=team=core"])
            #expect(filtered.stdout == id + "\n", "\(filtered)")
            let inspect = try h.berth(["network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.team}}", "berth-cli-net"])
            #expect(inspect.stdout == "berth-cli-net bridge core\n", "\(inspect)")
            expectOK(try h.berth(["run", "-d", "--name", "berth-cli-c", "busybox", "sleep", "30"]), "run -d")
            expectOK(try h.berth(["network", "connect", "--alias", "web", "berth-cli-net", "berth-cli-c"]), "connect")
            let connected = try h.docker(["inspect", "-f", "{{json .NetworkSettings.Networks}}", "berth-cli-c"])
            #expect(connected.stdout.contains("berth-cli-net") && connected.stdout.contains("web"), "\(connected)")
            expectOK(try h.berth(["network", "disconnect", "berth-cli-net", "berth-cli-c"]), "disconnect")
            let rm = try h.berth(["network", "rm", "berth-cli-net", "nosuch-net"])
            #expect(rm.status == 1 && rm.stdout == "berth-cli-net\n" && rm.stderr == "Error: No such network: nosuch-net\n", "\(rm)")
            #expect(try h.berth(["network", "rm", "-f", "nosuch-net"]).status == 0)

            let v = try h.berth(["volume", "create", "--label", "k=v", "berth-cli-vol"])
            #expect(v.status == 0 && v.stdout == "berth-cli-vol\n", "\(v)")
            let anon = try h.berth(["volume", "create"])
            #expect(anon.status == 0 && anon.stdout.count == 65, "\(anon)")
            let vls = try h.berth(["volume", "ls"])
            #expect(lines(vls.stdout).first.map { $0.hasPrefix("DRIVER") && $0.contains("VOLUME NAME") } == true
                    && vls.stdout.contains("berth-cli-vol"), "\(vls)")
            #expect(try h.berth(["volume", "ls", "-q", "-f", "label=k=v"]).stdout == "berth-cli-vol\n")
            let vi = try h.berth(["volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Labels.k}}", "berth-cli-vol"])
            #expect(vi.stdout == "berth-cli-vol local v\n", "\(vi)")
            // Without -a only the anonymous volume goes (API 1.42+); with -a the named one too.
            let prune = try h.berth(["volume", "prune", "-f"])
            #expect(prune.status == 0 && prune.stdout.hasPrefix("Deleted Volumes:\n\(anon.stdout)\n") && !prune.stdout.contains("berth-cli-vol"), "\(prune)")
            let cancelled = try h.berth(["volume", "prune", "-a"], stdin: "\n")
            #expect(cancelled.stdout.hasPrefix("WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "), "\(cancelled)")
            expectOK(try h.berth(["volume", "create", "berth-cli-vol2"]), "create")
            let rmv = try h.berth(["volume", "rm", "berth-cli-vol2"])
            #expect(rmv.stdout == "berth-cli-vol2\n", "\(rmv)")
            let all = try h.berth(["volume", "prune", "-a", "-f"])
            #expect(all.stdout.contains("berth-cli-vol\n") && all.stdout.contains("Total reclaimed space:"), "\(all)")
        }
    }

    @Test func versionInfoDiskUsageAndEvents() async throws {
        try await BerthdHarness.with(report: { Issue.record(Comment(rawValue: $0)) }) { h in
            let version = try h.berth(["version"])
            #expect(version.status == 0 && version.stdout.hasPrefix("Client:\n Version:           0.1.0\n API version:       1.43\n")
                    && version.stdout.contains("\nServer: Berth Engine\n Engine:\n"), "\(version)")
            let dockerVersion = try h.docker(["version"])
            let serverPart = { (s: String) in s.components(separatedBy: "\nServer:").last ?? "" }
            #expect(serverPart(version.stdout) == serverPart(dockerVersion.stdout), "\(version)\n\(dockerVersion)")
            #expect(try h.berth(["version", "--format", "{{.Client.Version}} {{.Server.ApiVersion}}"]).stdout == "0.1.0 1.43\n")
            #expect(try h.berth(["-v"]).stdout == "Berth version 0.1.0\n")

            let info = try h.berth(["info"])
            #expect(info.status == 0 && info.stdout.contains("\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 1\n"), "\(info)")
            let dockerInfo = try h.docker(["info"])
            let infoLines = { (s: String) in Set(self.lines(s.components(separatedBy: "\nServer:").last ?? "").filter { !$0.contains("Total Memory") }) }
            #expect(infoLines(info.stdout) == infoLines(dockerInfo.stdout), "\(info)\n\(dockerInfo)")
            #expect(try h.berth(["system", "info", "--format", "{{.Driver}} {{.OSType}}"]).stdout == "overlay2 linux\n")

            let since = Int(Date().timeIntervalSince1970) - 1
            expectOK(try h.berth(["run", "--name", "berth-cli-ev", "busybox", "true"]), "run")
            expectOK(try h.berth(["volume", "create", "berth-cli-dfvol"]), "volume create")
            expectOK(try h.berth(["network", "create", "berth-cli-evnet"]), "network create")
            let until = Int(Date().timeIntervalSince1970) + 1
            let df = try h.berth(["system", "df"])
            let rows = lines(df.stdout)
            #expect(df.status == 0 && rows.count == 5 && ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"].allSatisfy(rows[0].contains), "\(df)")
            #expect(rows[1].hasPrefix("Images") && rows[2].hasPrefix("Containers") && rows[3].hasPrefix("Local Volumes") && rows[4].hasPrefix("Build Cache"), "\(df)")
            let counts = try h.berth(["system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"])
            #expect(counts.stdout == "Images=1/1\nContainers=1/0\nLocal Volumes=1/0\nBuild Cache=0/0\n", "\(counts)")
            // The real docker CLI renders berthd's GET /system/df.
            let dockerDF = try h.docker(["system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}"])
            #expect(dockerDF.status == 0 && dockerDF.stdout == counts.stdout, "\(dockerDF)")
            let verbose = try h.docker(["system", "df", "-v"])
            #expect(verbose.status == 0 && verbose.stdout.contains("berth-cli-dfvol") && verbose.stdout.contains("berth-cli-ev"), "\(verbose)")
            #expect(try h.berth(["system", "df", "-v"]).stdout.contains("Local Volumes space usage:"))

            let events = try h.berth(["events", "--since", "\(since)", "--until", "\(until)", "-f", "container=berth-cli-ev"])
            let evLines = lines(events.stdout)
            #expect(events.status == 0 && evLines.first.map { $0.contains(" container create ") && $0.contains("(image=busybox, name=berth-cli-ev)") } == true, "\(events)")
            let dockerEvents = try h.docker(["events", "--since", "\(since)", "--until", "\(until)", "-f", "container=berth-cli-ev"])
            #expect(events.stdout == dockerEvents.stdout, "\(events)\n\(dockerEvents)")
            let formatted = try h.berth(["system", "events", "--since", "\(since)", "--until", "\(until)", "--format", "{{.Type}} {{.Action}}",
                                         "--filter", "type=network"])
            #expect(lines(formatted.stdout).contains("network create") && lines(formatted.stdout).allSatisfy { $0.hasPrefix("network ") }, "\(formatted)")
            let relative = try h.berth(["events", "--since", "30s", "--until", "0s", "-f", "type=network"])
            #expect(relative.status == 0 && relative.stdout.contains(" network create ") && relative.stdout.contains("name=berth-cli-evnet"), "\(relative)")

            let sysPrune = try h.berth(["system", "prune", "-f"])
            #expect(sysPrune.status == 0 && sysPrune.stdout.hasPrefix("Deleted Containers:\n") && sysPrune.stdout.hasSuffix("Total reclaimed space: " + (lines(sysPrune.stdout).last?.components(separatedBy: ": ").last ?? "") + "\n"), "\(sysPrune)")
        }
    }
}
