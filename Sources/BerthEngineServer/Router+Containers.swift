import BerthEngineAPI
import BerthWire
import Foundation

extension Router {
    func containerCreate(_ r: HTTPRequest, _ w: ResponseWriter) async throws {
        var p: [String: JSONValue] = ["config": try jsonBody(r)]
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
        let input = try await w.hijack(upgrade: r.wantsUpgrade, contentType: tty ? StreamFraming.rawType : StreamFraming.multiplexedType)
        let stdin: Task<Void, Never>? = wantIn ? Task { await forwardStdin(input, ioMethod: "container.io", params: ["id": c.Id]) } : nil
        defer { stdin?.cancel() }
        do {
            _ = try await lifecycle.stream("container.attach", p, progress: LogBatch.self) { batch in
                w.raw(StreamFraming.encode(batch, tty: tty, timestamps: false))
            }
        } catch {
            w.raw(StreamFraming.message(EngineError.from(error).message + "\r\n", tty: tty))
        }
        w.closeHijacked()
    }

    func execCreate(_ id: String, _ r: HTTPRequest, _ w: ResponseWriter) async throws {
        let body = try jsonBody(r)
        w.json(.created, try await lifecycle.call("exec.create", ["id": .string(id), "config": body]).text)
    }

    struct ExecBrief: Decodable {
        struct Process: Decodable { var tty: Bool }
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
        let input = try await w.hijack(upgrade: r.wantsUpgrade, contentType: tty ? StreamFraming.rawType : StreamFraming.multiplexedType)
        let stdin: Task<Void, Never>? = info.OpenStdin ? Task { await forwardStdin(input, ioMethod: "exec.io", params: ["execId": execID]) } : nil
        defer { stdin?.cancel() }
        do {
            _ = try await lifecycle.stream("exec.start", ["execId": execID], progress: LogBatch.self) { batch in
                w.raw(StreamFraming.encode(batch, tty: tty, timestamps: false))
            }
        } catch {
            // As dockerd: a start failure on a hijacked stream is written into it as text.
            w.raw(StreamFraming.message(EngineError.from(error).message + "\r\n", tty: tty))
        }
        w.closeHijacked()
    }
}
