import BerthEngineAPI
import BerthWire
import Foundation
import NIOConcurrencyHelpers

extension Router {
    func containerCreate(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = ["config": DaemonConfig.withDefaultUlimits(try jsonBody(r), options.defaultUlimits)]
        if let name = r.string("name") { p["name"] = .string(name) }
        w.json(.created, try await lifecycle.call("container.create", p).text)
    }

    func containerList(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = [:]
        if r.bool("all") == true { p["all"] = .bool(true) }
        if let n = r.int("limit"), n > 0 { p["limit"] = .int(Int64(n)) }
        if let f = try filters(r) { p["filters"] = f }
        w.json(.ok, try await lifecycle.call("container.list", p).text)
    }

    func containerInspect(_ id: String, _ w: ResponseWriter) async throws {
        w.json(.ok, try await lifecycle.call("container.inspect", ["id": id]).text)
    }

    /// What the stream handlers need to know about a container before answering.
    struct ContainerBrief: Decodable {
        struct State: Decodable { var Status: String; var Running: Bool }
        struct Config: Decodable { var Tty: Bool?; var OpenStdin: Bool? }
        var Id: String
        var State: State
        var Config: Config
    }

    func brief(_ id: String) async throws -> ContainerBrief {
        try await lifecycle.call("container.inspect", ["id": id], returning: ContainerBrief.self)
    }

    /// `POST /containers/{id}/wait`: the headers go out at once (the docker CLI waits for them
    /// before it starts the container), the result when the condition is met.
    func containerWait(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let condition = r.string("condition") ?? "not-running"
        guard ["not-running", "next-exit", "removed"].contains(condition) else {
            throw EngineError.badRequest("invalid condition: \"\(condition)\"")
        }
        let c = try await brief(id)
        w.startStream(contentType: "application/json")
        let result: ContainerWaitResult
        do {
            result = try await lifecycle.stream("container.wait", ["id": c.Id, "condition": condition],
                                                returning: ContainerWaitResult.self, progress: Empty.self) { _ in }
        } catch {
            // Once the headers are out the status is 200; dockerd reports the failure in the body.
            let m = (try? JSONEncoder().encode(["Message": EngineError.from(error).message])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            w.chunk(Data("{\"StatusCode\":-1,\"Error\":\(m)}\n".utf8))
            w.endStream()
            return
        }
        let err = result.error.map { e -> String in
            let m = (try? JSONEncoder().encode(["Message": e.message])).map { String(decoding: $0, as: UTF8.self) }
            return m ?? "null"
        } ?? "null"
        w.chunk(Data("{\"StatusCode\":\(result.statusCode),\"Error\":\(err)}\n".utf8))
        w.endStream()
    }

    /// `GET /containers/{id}/logs`: multiplexed frames without a TTY, raw text with one.
    func containerLogs(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let out = r.bool("stdout") ?? false, err = r.bool("stderr") ?? false
        guard out || err else { throw EngineError.badRequest("Bad parameters: you must choose at least one stream") }
        let c = try await brief(id)
        let tty = c.Config.Tty ?? false
        var p: [String: JSONValue] = ["id": .string(c.Id), "stdout": .bool(out), "stderr": .bool(err)]
        if r.bool("follow") == true { p["follow"] = .bool(true) }
        for k in ["since", "until", "tail"] { if let v = r.string(k) { p[k] = .string(v) } }
        let timestamps = r.bool("timestamps") ?? false
        w.startStream(contentType: tty ? StreamFraming.rawType : StreamFraming.multiplexedType)
        _ = try await lifecycle.stream("container.logs", p, progress: LogBatch.self) { batch in
            w.chunk(StreamFraming.encode(batch, tty: tty, timestamps: timestamps))
        }
        w.endStream()
    }

    /// `POST /containers/{id}/attach`: hijacks the connection; output from now on (or, with
    /// `logs`, from the beginning), input to the monitor's control socket.
    func containerAttach(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let c = try await brief(id)
        let tty = c.Config.Tty ?? false
        let wantIn = r.bool("stdin") ?? false
        var p: [String: JSONValue] = ["id": .string(c.Id), "stream": .bool(r.bool("stream") ?? false),
                                      "stdout": .bool(r.bool("stdout") ?? false), "stderr": .bool(r.bool("stderr") ?? false)]
        // A container that never ran has an empty log: reading it from the start loses nothing
        // even if the container starts (and writes) before the lifecycle daemon has set up the attach.
        p["logs"] = .bool(r.bool("logs") == true || c.State.Status == "created")
        let keys = try DetachScanner.parse(r.string("detachKeys"))
        let input = try await w.hijack(upgrade: r.wantsUpgrade, contentType: tty ? StreamFraming.rawType : StreamFraming.multiplexedType)
        let id = c.Id
        let forward: StdinForwarder = { onDetach in
            await self.forwardStdin(input, ioMethod: "container.io", params: ["id": id], detachKeys: keys, onDetach: onDetach)
        }
        let lifecycle = self.lifecycle
        try await hijackedSession(w, tty: tty, stdin: wantIn ? forward : nil) { [p] ready in
            // The first batch (empty) says berth-lifecycled has taken its place in the log: input
            // sent from then on has its echo read. Forwarding earlier could lose that echo.
            _ = try await lifecycle.stream("container.attach", p, progress: LogBatch.self) { batch in
                ready()
                if !batch.entries.isEmpty { w.raw(StreamFraming.encode(batch, tty: tty, timestamps: false)) }
            }
        }
    }

    /// The output side of a hijacked attach or exec, with the stdin forwarder beside it; the
    /// detach keys end both (the container runs on) and close the client's connection.
    typealias StdinForwarder = @Sendable (_ onDetach: @escaping @Sendable () -> Void) async -> Void

    /// `output` calls `ready` once its stream is in place; stdin is forwarded from then on.
    func hijackedSession(_ w: ResponseWriter, tty: Bool, stdin: StdinForwarder?,
                         output: @escaping @Sendable (_ ready: @escaping @Sendable () -> Void) async throws -> Void) async throws {
        let outTask = NIOLockedValueBox<Task<(any Error)?, Never>?>(nil)
        let forwarder = NIOLockedValueBox<Task<Void, Never>?>(nil)
        let ready: @Sendable () -> Void = {
            guard let stdin else { return }
            forwarder.withLockedValue { f in
                guard f == nil else { return }
                f = Task { await stdin { outTask.withLockedValue { $0 }?.cancel() } }
            }
        }
        let out = Task { () -> (any Error)? in
            do { try await output(ready); return nil } catch { return error }
        }
        outTask.withLockedValue { $0 = out }
        defer { forwarder.withLockedValue { $0 }?.cancel() }
        // A failure on a hijacked stream is written into it as text, as dockerd does; a detach is not a failure.
        if let error = await out.value, !out.isCancelled {
            w.raw(StreamFraming.message(EngineError.from(error).message + "\r\n", tty: tty))
        }
        w.closeHijacked()
    }

    func execCreate(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let body = try jsonBody(r)
        var keys: [UInt8]?
        if case .object(let o) = body, case .string(let k)? = o["DetachKeys"] {
            do { keys = try DetachScanner.parse(k) } catch { throw EngineError.badRequest("Invalid escape keys (\(k)) provided") }
        }
        let created = try await lifecycle.call("exec.create", ["id": .string(id), "config": body])
        if let keys, let exec = try? JSONDecoder().decode(ContainerCreateResult.self, from: Data(created.text.utf8)) {
            Self.execDetachKeys.withLockedValue { $0[exec.id] = keys }
        }
        w.json(.created, created.text)
    }

    /// Each exec's own DetachKeys until it starts (process-wide: every listener's router sees them).
    static let execDetachKeys = NIOLockedValueBox<[String: [UInt8]]>([:])

    /// `POST /containers/{id}/update` (docker update): the body is Docker's UpdateConfig, the
    /// resource keys of a HostConfig and RestartPolicy.
    func containerUpdate(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        _ = try jsonBody(r)
        let update: HostConfig
        do { update = r.body.isEmpty ? HostConfig() : try JSONDecoder().decode(HostConfig.self, from: r.body) } catch {
            throw EngineError.badRequest("invalid JSON in request body: \(error)")
        }
        let result = try await lifecycle.call("container.update", ContainerUpdateParams(id: id, update: update), returning: ContainerUpdateResult.self)
        w.json(encoding: result)
    }

    struct ExecBrief: Decodable {
        struct Process: Decodable { var tty: Bool }
        var ID: String
        var ProcessConfig: Process
        var OpenStdin: Bool
    }

    /// `POST /exec/{id}/start`: detached, or hijacked like attach until the process exits.
    func execStart(_ execID: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        struct Body: Decodable { var Detach: Bool?; var Tty: Bool? }
        _ = try jsonBody(r)
        let body = (try? JSONDecoder().decode(Body.self, from: r.body)) ?? Body()
        let info = try await lifecycle.call("exec.inspect", ["execId": execID], returning: ExecBrief.self)
        if body.Detach == true {
            _ = try await lifecycle.call("exec.start", ["execId": JSONValue.string(execID), "detach": .bool(true)])
            w.send(.ok, contentType: "application/json", body: Data())
            return
        }
        let tty = info.ProcessConfig.tty
        let keys = Self.execDetachKeys.withLockedValue { $0.removeValue(forKey: info.ID) } ?? DetachScanner.defaultKeys
        let input = try await w.hijack(upgrade: r.wantsUpgrade, contentType: tty ? StreamFraming.rawType : StreamFraming.multiplexedType)
        let forward: StdinForwarder = { onDetach in
            await self.forwardStdin(input, ioMethod: "exec.io", params: ["execId": execID], detachKeys: keys, onDetach: onDetach)
        }
        let lifecycle = self.lifecycle
        try await hijackedSession(w, tty: tty, stdin: info.OpenStdin ? forward : nil) { ready in
            ready()
            _ = try await lifecycle.stream("exec.start", ["execId": execID], progress: LogBatch.self) { batch in
                w.raw(StreamFraming.encode(batch, tty: tty, timestamps: false))
            }
        }
    }
}
