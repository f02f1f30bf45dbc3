import BerthOCI
import BerthTestSupport
import FoundationEssentials
import Glibc
import Testing

/// OCI runtime spec, config "POSIX-platform Hooks" and runtime "Lifecycle".
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct HooksTests {
    struct HookState: Decodable {
        var ociVersion: String
        var id: String
        var status: String
        var pid: Int32?
        var bundle: String
        var annotations: [String: String]?
    }

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
            let st = try JSONDecoder().decode(HookState.self, from: Data(text.utf8))
            #expect(st.id == id, "\(kind)")
            #expect(st.bundle == bundle, "\(kind)")
            #expect(!st.ociVersion.isEmpty, "\(kind)")
            #expect(st.annotations?["org.berth.test"] == "hooks", "\(kind)")
            if ["prestart", "createRuntime", "createContainer", "poststart"].contains(kind) {
                #expect(st.pid == pid, "\(kind): \(text)")
            }
        }
        let stop = try JSONDecoder().decode(HookState.self, from: Data(try Fixtures.read(log + "/poststop.json").utf8))
        #expect(stop.status == "stopped")
    }

    @Test func hookArgsAndEnvAreExactlyAsConfigured() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let out = h.dir + "/hookout"
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.hooks = Hooks(createRuntime: [Hook(path: "/bin/sh", args: ["custom-argv0", "-c", "echo \"$0|$1|$FOO|$PATH\" > \(out); env | wc -l >> \(out)", "first"],
                                                     env: ["FOO=from-hook-env"])])
        }
        let r = try h.runContainer(bundle)
        #expect(r.status == 0, "\(r)")
        let l = lines(try Fixtures.read(out))
        // sh -c SCRIPT first: $0 is "first"; env is only what was configured (no PATH).
        #expect(l.first == "first||from-hook-env|", "\(l)")
        // dash adds PWD (and nothing from the runtime's environment leaks).
        #expect(Int(trimmed(l.last ?? "")) ?? 99 <= 3, "\(l)")
    }

    @Test func hookTimeoutFailsCreateNamingTheHook() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["true"]) { spec in
            spec.hooks = Hooks(prestart: [Hook(path: "/bin/sleep", args: ["sleep", "37"], timeout: 1)])
        }
        let id = h.newID("timeout")
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
        let bundle = try h.makeBundle(args: ["sleep", "1000"]) { spec in
            let bad = [Hook(path: "/bin/false")]
            switch kind {
            case "prestart": spec.hooks = Hooks(prestart: bad)
            case "createRuntime": spec.hooks = Hooks(createRuntime: bad)
            default: spec.hooks = Hooks(createContainer: bad)
            }
        }
        let id = h.newID("badhook")
        let r = try h.run(["create", "--bundle", bundle, id])
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains("/bin/false"), "\(r)")
        #expect(h.stateRootEntries().isEmpty, "state dir left: \(h.stateRootEntries())")
        #expect(try h.listedIDs().isEmpty)
        #expect(existingCgroupDirs("berth/\(id)").isEmpty, "cgroup left")
        #expect(try h.run(["state", id]).status != 0)
    }

    @Test func failingPoststartAndPoststopHooksOnlyWarn() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bundle = try h.makeBundle(args: ["sleep", "1000"]) { spec in
            spec.hooks = Hooks(poststart: [Hook(path: "/bin/false")], poststop: [Hook(path: "/bin/false")])
        }
        let id = h.newID("posthook")
        #expect(try h.run(["create", "--bundle", bundle, id]).status == 0)
        let s = try h.run(["start", id])
        #expect(s.status == 0, "a failing poststart hook must not fail start: \(s)")
        #expect(try h.state(id).status == "running")
        let d = try h.run(["delete", "--force", id])
        #expect(d.status == 0, "a failing poststop hook must not fail delete: \(d)")
        #expect(try h.run(["state", id]).status != 0)
    }
}
