import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, config "POSIX-platform Hooks" and runtime "Lifecycle".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct HooksTests {
    /// A host hook (path resolves on the host) that saves its stdin and appends its kind to `order`.
    static func hostHook(_ kind: String, dir: String) -> Hook {
        Hook(path: "/bin/sh", args: ["sh", "-c", "cat > \(dir)/\(kind).json; echo \(kind) >> \(dir)/order"])
    }

    @Test func allSixKindsRunInOrderWithTheState() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let log = h.dir + "/hooks"
        try Fixtures.mkdirAll(log)
        chmod(log, 0o777)
        let bundle = try h.makeBundle(args: ["sh", "-c", "echo process >> /hooks/order"]) { spec in
            spec.mounts?.append(Mount(destination: "/hooks", type: "bind", source: log, options: ["rbind", "rw"]))
            spec.annotations = ["org.berth.test": "hooks"]
            spec.hooks = Hooks(
                prestart: [Self.hostHook("prestart", dir: log)],
                createRuntime: [Self.hostHook("createRuntime", dir: log)],
                // Runs in the container's namespaces before pivot_root; its path resolves in the runtime's.
                createContainer: [Self.hostHook("createContainer", dir: log)],
                // Runs in the container after pivot_root: path and log resolve inside the container.
                startContainer: [Hook(path: "/bin/sh", args: ["sh", "-c", "cat > /hooks/startContainer.json; echo startContainer >> /hooks/order"])],
                poststart: [Self.hostHook("poststart", dir: log)],
                poststop: [Self.hostHook("poststop", dir: log)])
        }
        let id = h.newID("hooks")
        let c = try h.run(["create", "--bundle", bundle, id])
        try #require(c.status == 0, "\(c)")
        let pid = try h.state(id).pid
        let afterCreate = lines((try? Fixtures.read(log + "/order")) ?? "")
        #expect(afterCreate == ["prestart", "createRuntime", "createContainer"], "only the create hooks run on create")
        let s = try h.run(["start", id])
        try #require(s.status == 0, "\(s)")
        #expect(h.waitForStatus(id, "stopped"))
        let d = try h.run(["delete", id])
        #expect(d.status == 0, "\(d)")

        let order = lines(try Fixtures.read(log + "/order"))
        #expect(Set(order) == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", "process"], "\(order)")
        func idx(_ k: String) -> Int { order.firstIndex(of: k) ?? -1 }
        #expect(idx("prestart") < idx("createRuntime"))
        #expect(idx("createRuntime") < idx("createContainer"))
        #expect(idx("createContainer") < idx("startContainer"))
        #expect(idx("startContainer") < idx("process"), "startContainer runs before the user process")
        #expect(idx("createContainer") < idx("poststart"))
        #expect(order.last == "poststop", "\(order)")

        for kind in ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] {
            let text = try Fixtures.read(log + "/\(kind).json")
            let st = try JSONDecoder().decode(State.self, from: Data(text.utf8))
            #expect(st.id == id, "\(kind)")
            #expect(st.bundle == bundle, "\(kind)")
            #expect(!st.ociVersion.isEmpty, "\(kind)")
            #expect(st.annotations?["org.berth.test"] == "hooks", "\(kind)")
            if ["prestart", "createRuntime", "createContainer", "poststart"].contains(kind) {
                #expect(st.pid == pid, "\(kind): \(text)")
            }
        }
        let stop = try JSONDecoder().decode(State.self, from: Data(try Fixtures.read(log + "/poststop.json").utf8))
        #expect(stop.status == .stopped)
    }

    @Test func hookArgsAndEnvAreExactlyAsConfigured() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = h.dir + "/hookout"
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.hooks = Hooks(createRuntime: [Hook(path: "/bin/sh", args: ["custom-argv0", "-c", "cat >/dev/null; echo \"$0|$1|$FOO\" > \(out); /usr/bin/env >> \(out)", "first", "second"],
                                                     env: ["FOO=from-hook-env"])])
        }
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        let l = lines(try Fixtures.read(out))
        // sh -c SCRIPT first second: $0 is "first", $1 "second".
        #expect(l.first == "first|second|from-hook-env", "\(l)")
        // The environment is exactly the configured one (the shell itself adds PWD).
        #expect(Set(l.dropFirst().filter { !$0.hasPrefix("PWD=") }) == ["FOO=from-hook-env"], "\(l)")
    }

    @Test func hookTimeoutFailsCreateNamingTheHook() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.hooks = Hooks(prestart: [Hook(path: "/bin/sleep", args: ["sleep", "37"], timeout: 1)])
        }
        let id = h.newID("timeout")
        h.reapCgroupOnCleanup("berth/\(id)")
        let start = time(nil)
        let r = try h.run(["create", "--bundle", bundle, id], timeout: 30)
        #expect(time(nil) - start < 10, "the timeout must stop the hook")
        #expect(r.status != 0)
        #expect(r.stderr.contains("/bin/sleep"), "the error names the hook: \(r)")
        #expect(r.stderr.contains("prestart"), "\(r)")
        #expect(r.stderr.contains("timed out") || r.stderr.contains("timeout"), "\(r)")
        #expect(h.stateRootEntries().isEmpty)
        #expect(existingCgroupDirs("berth/\(id)").isEmpty)
        #expect(try host("pgrep -x -f 'sleep 37'").status != 0, "the hook process was left running")
    }

    @Test(arguments: ["prestart", "createRuntime", "createContainer"])
    func failingCreateHookFailsCreateAndLeavesNothing(_ kind: String) throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        // Reads its stdin first, so the failure is the exit status (not a closed pipe).
        let script = h.dir + "/failing-hook.sh"
        try Fixtures.write(script, "#!/bin/sh\ncat >/dev/null\nexit 3\n", mode: 0o755)
        let bundle = try h.makeBundle(args: ["sleep", "1000"]) { spec in
            let bad = [Hook(path: script)]
            switch kind {
            case "prestart": spec.hooks = Hooks(prestart: bad)
            case "createRuntime": spec.hooks = Hooks(createRuntime: bad)
            default: spec.hooks = Hooks(createContainer: bad)
            }
        }
        let id = h.newID("badhook")
        h.reapCgroupOnCleanup("berth/\(id)")
        let r = try h.run(["create", "--bundle", bundle, id])
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains(script), "the error names the hook: \(r)")
        #expect(h.stateRootEntries().isEmpty, "state dir left: \(h.stateRootEntries())")
        #expect(try h.listedIDs().isEmpty)
        #expect(existingCgroupDirs("berth/\(id)").isEmpty, "cgroup left")
        #expect(try h.run(["state", id]).status != 0)
    }

    /// The spec: a failing poststop hook is only logged; delete still succeeds. (The hook reads its
    /// stdin first so this is not about SIGPIPE.)
    @Test func failingPoststopHookOnlyWarns() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "1000"]) { spec in
            spec.hooks = Hooks(poststop: [Hook(path: "/bin/sh", args: ["sh", "-c", "cat >/dev/null; exit 1"])])
        }
        let id = h.newID("posthook")
        #expect(try h.run(["create", "--bundle", bundle, id]).status == 0)
        #expect(try h.run(["start", id]).status == 0)
        let d = try h.run(["delete", "--force", id])
        #expect(d.status == 0, "a failing poststop hook must not fail delete: \(d)")
        #expect(try h.run(["state", id]).status != 0)
        #expect(h.stateRootEntries().isEmpty)
    }

    /// Hooks need not read the state on their stdin. With a state larger than a pipe buffer (big
    /// annotations) a hook that exits without reading must not break the runtime (runc: fine).
    @Test(arguments: ["prestart", "createRuntime", "createContainer", "poststart", "poststop"])
    func hooksThatIgnoreTheirStdin(_ kind: String) throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let id = h.newID("stdin")
        let (path, _) = CgroupsTests.uniqueCgroupsPath(h, id: id)
        // If the runtime dies mid-create its init is orphaned: kill whatever is left in the cgroup.
        h.reapCgroupOnCleanup(String(path.dropFirst()))
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.linux?.cgroupsPath = path
            spec.annotations = ["big": String(repeating: "x", count: 200_000)]
            let hook = [Hook(path: "/bin/true")]
            switch kind {
            case "prestart": spec.hooks = Hooks(prestart: hook)
            case "createRuntime": spec.hooks = Hooks(createRuntime: hook)
            case "createContainer": spec.hooks = Hooks(createContainer: hook)
            case "poststart": spec.hooks = Hooks(poststart: hook)
            default: spec.hooks = Hooks(poststop: hook)
            }
        }
        let r = try h.runContainer(bundle, id: id)
        #expect(r.status == 0, "\(kind): \(r)")
        #expect(try h.listedIDs().isEmpty)
    }
}
