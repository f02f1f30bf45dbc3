import Foundation
import Glibc
import Testing
import BerthTestSupport

enum DockerPy {
    static let python = "/usr/bin/python3"
    static var available: Bool {
        access(python, X_OK) == 0 && ((try? Command.run(python, ["-c", "import docker"], timeout: 30))?.status == 0)
    }
}

/// berthd driven by docker-py (Debian's python3-docker, run by the system's /usr/bin/python3):
/// the SDK negotiates its version (`version="auto"`) and uses the API as scripts do.
@Suite(.serialized, .enabled(if: BerthdHarness.available && DockerPy.available), .timeLimit(.minutes(5)))
struct DockerPyTests {

    /// Runs `code` after `c = docker.DockerClient(...)` pointed at `h`; extra `args` are sys.argv[2...].
    func py(_ h: BerthdHarness, _ code: String, _ args: [String] = [], timeout: Int = 90) throws -> Command.Result {
        let prelude = """
            import docker, json, sys, time
            c = docker.DockerClient(base_url=sys.argv[1], version="auto", timeout=60)

            """
        return try Command.run(DockerPy.python, ["-c", prelude + code, h.host] + args,
                               env: ["PATH=/usr/bin:/bin", "HOME=\(h.dir)", "DOCKER_CONFIG=\(h.dir)/docker-config"], timeout: timeout)
    }

    func expectOutput(_ r: Command.Result, _ want: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0 && r.stdout == want, "\(r)", sourceLocation: sourceLocation)
    }

    func report(_ s: String) { Issue.record(Comment(rawValue: s)) }

    @Test func pingVersionImagesAndContainers() async throws {
        try await BerthdHarness.with(report: report) { h in
            expectOutput(try py(h, """
                print(c.ping())
                v = c.version()
                print(v["ApiVersion"], v["MinAPIVersion"], c.api.api_version)
                print(sorted(t for i in c.images.list() for t in i.tags))
                """), "True\n1.43 1.24 1.43\n['busybox:latest']\n")

            expectOutput(try py(h, """
                print(c.containers.run("busybox", ["sh", "-c", "echo hello; echo err >&2"], remove=True))
                print(c.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], stdout=False, stderr=True, remove=True))
                try:
                    c.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
                except docker.errors.ContainerError as e:
                    print("exit", e.exit_status)
                print(len(c.containers.list(all=True)))
                """), "b'hello\\n'\nb'err\\n'\nexit 3\n0\n")

            expectOutput(try py(h, """
                ct = c.containers.run("busybox", ["sh", "-c", "echo started; exec sleep 60"], detach=True, name="py1")
                for _ in range(100):
                    if b"started" in ct.logs(): break
                    time.sleep(0.1)
                ct.reload()
                print(ct.name, ct.status, ct.logs())
                r = ct.exec_run(["sh", "-c", "echo in-exec; exit 3"])
                print(r.exit_code, r.output)
                print(ct.exec_run("cat", stdin=False).exit_code)
                print([x.name for x in c.containers.list()])
                ct.stop(timeout=1)
                ct.reload()
                print(ct.status, ct.attrs["State"]["ExitCode"])
                ct.remove()
                print(len(c.containers.list(all=True)))
                """), "py1 running b'started\\n'\n3 b'in-exec\\n'\n0\n['py1']\nexited 137\n0\n")

            expectOutput(try py(h, """
                v = c.volumes.create("pyvol", labels={"k": "v"})
                print(v.name, v.attrs["Driver"], c.volumes.get("pyvol").attrs["Labels"])
                print([x.name for x in c.volumes.list()])
                out = c.containers.run("busybox", ["sh", "-c", "echo data > /v/f; cat /v/f"], volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
                print(out)
                v.remove()
                print([x.name for x in c.volumes.list()])
                """), "pyvol local {'k': 'v'}\n['pyvol']\nb'data\\n'\n[]\n")

            expectOutput(try py(h, """
                n = c.networks.create("pynet", driver="bridge")
                print(n.name, c.networks.get("pynet").attrs["Driver"], "pynet" in [x.name for x in c.networks.list()])
                ct = c.containers.run("busybox", ["sleep", "60"], detach=True, name="pynetc", network="pynet")
                n.reload()
                print([x.name for x in n.containers])
                n.disconnect(ct)
                n.reload()
                print([x.name for x in n.containers])
                ct.remove(force=True)
                n.remove()
                print("pynet" in [x.name for x in c.networks.list()])
                """), "pynet bridge True\n['pynetc']\n[]\nFalse\n")

            expectOutput(try py(h, """
                since = int(time.time()) - 1
                c.containers.run("busybox", ["true"], name="pyev")
                c.containers.get("pyev").remove()
                until = int(time.time()) + 1
                time.sleep(1.2)
                actions = [e["Action"] for e in c.events(since=since, until=until, decode=True, filters={"container": "pyev"})]
                print([a for a in actions if a in ("create", "start", "die", "destroy")])
                """), "['create', 'start', 'die', 'destroy']\n")
        }
    }

    @Test(.enabled(if: TestRegistry.available)) func imagesPullFromARegistry() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        try await BerthdHarness.with(extraArgs: ["--insecure-registry", registry.host],
                                     report: { report($0 + "\nregistry:\n" + registry.log.suffix(2000)) }) { h in
            let image = try TestImages.multiLayer(in: h.dir + "/push-layout")
            try registry.push(image.ociReference, to: "team/py", tag: "1")
            expectOutput(try py(h, """
                img = c.images.pull(sys.argv[2] + "/team/py", tag="1")
                print(img.tags, img.id.startswith("sha256:"))
                print(c.containers.run(sys.argv[2] + "/team/py:1", ["echo", "pulled"], remove=True))
                c.images.remove(sys.argv[2] + "/team/py:1")
                print(sorted(t for i in c.images.list() for t in i.tags))
                """, [registry.host]), "['\(registry.host)/team/py:1'] True\nb'pulled\\n'\n['busybox:latest']\n")
        }
    }

    /// `images.build`: docker-py tars the context itself (.dockerignore applied) and reads the
    /// image ID from the stream; `buildargs`, `labels`, `target` and the cache as scripts use them.
    @Test func imagesBuild() async throws {
        try await BerthdHarness.with(report: report) { h in
            let ctx = try BuildTests.context(h.dir + "/pyctx", [
                "Dockerfile": "FROM busybox AS base\nARG WHO\nRUN echo $WHO > /who\nFROM base\nCOPY note.txt /note.txt\nCMD [\"cat\", \"/who\", \"/note.txt\"]\n",
                "note.txt": "note\n", "ignored.txt": "x", ".dockerignore": "ignored.txt\n",
            ])
            expectOutput(try py(h, """
                img, logs = c.images.build(path=sys.argv[2], tag="berth-test/py:1", buildargs={"WHO": "py"}, labels={"k": "v"})
                steps = [l["stream"] for l in logs if "stream" in l and l["stream"].startswith("Step ")]
                print(len(steps), img.tags, img.labels)
                print(c.containers.run("berth-test/py:1", remove=True))
                again, logs = c.images.build(path=sys.argv[2], tag="berth-test/py:1", buildargs={"WHO": "py"}, labels={"k": "v"})
                print(again.id == img.id, sum(1 for l in logs if l.get("stream") == " ---> Using cache\\n"))
                base, _ = c.images.build(path=sys.argv[2], target="base", buildargs={"WHO": "py"})
                print(c.containers.run(base.id, ["ls", "/"], remove=True).decode().split().count("note.txt"))
                try:
                    c.images.build(path=sys.argv[2], dockerfile="Missing.Dockerfile")
                except docker.errors.APIError as e:
                    print(e.status_code)
                """, [ctx]), "7 ['berth-test/py:1'] {'k': 'v'}\nb'py\\nnote\\n'\nTrue 5\n0\n400\n")
        }
    }
}
