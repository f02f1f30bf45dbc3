import Foundation
import Glibc
import Testing
import BerthWire
import BerthTestSupport

/// The error a call fails with, or nil when it succeeds or fails with something else.
func wireError<T>(_ body: () async throws -> T) async -> WireError? {
    do {
        _ = try await body()
        return nil
    } catch let e as WireError {
        return e
    } catch {
        return nil
    }
}

@Suite("Wire: calls through WireClient and WireServer")
struct WireCallTests {
    @Test func typedParamsAndResultRoundTrip() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let p = EchoParams(text: "héllo \"wire\"\nsecond line / slash", count: -42, ratio: 0.125,
                                   flags: [true, false], nested: ["a": [1, Int64.max], "b": []])
                let r = try await client.call("echo", p, returning: EchoParams.self)
                #expect(r == p)
                let bare = EchoParams(text: "", count: 0, ratio: 1e300, flags: [], nested: nil)
                #expect(try await client.call("echo", bare, returning: EchoParams.self) == bare)
                #expect(try await client.call("none", Empty(), returning: Empty.self) == Empty())
            }
        }
    }

    @Test func largeMessageRoundTrips() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                // Several reads' worth on both sides: the line decoder must stitch them together.
                let text = String(repeating: "0123456789abcdef", count: 1 << 16)
                let p = EchoParams(text: text, count: 1, ratio: 0, flags: [], nested: nil)
                let r = try await client.call("echo", p, returning: EchoParams.self)
                #expect(r.text.count == text.count)
                #expect(r == p)
            }
        }
    }

    @Test func progressEventsArriveInOrderBeforeTheResult() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let events = Recorder<CountEvent>()
                let r = try await client.call("count", CountParams(n: 200), returning: CountResult.self,
                                              progress: CountEvent.self) { events.append($0) }
                #expect(r == CountResult(done: 200))
                // Every event was delivered before the call returned, in the order sent.
                #expect(events.values == (0..<200).map { CountEvent(seq: $0, status: "step \($0)") })

                let none = Recorder<CountEvent>()
                let r0 = try await client.call("count", CountParams(n: 0), returning: CountResult.self,
                                               progress: CountEvent.self) { none.append($0) }
                #expect(r0.done == 0)
                #expect(none.values.isEmpty)
            }
        }
    }

    @Test func progressGoesOnlyToItsOwnCall() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let a = Recorder<CountEvent>(), b = Recorder<CountEvent>()
                async let ra = client.call("count", CountParams(n: 50), returning: CountResult.self, progress: CountEvent.self) { a.append($0) }
                async let rb = client.call("count", CountParams(n: 30), returning: CountResult.self, progress: CountEvent.self) { b.append($0) }
                let (x, y) = try await (ra, rb)
                #expect(x.done == 50 && y.done == 30)
                #expect(a.values.map(\.seq) == Array(0..<50))
                #expect(b.values.map(\.seq) == Array(0..<30))
            }
        }
    }

    @Test func concurrentCallsOnOneConnectionAreMatchedByID() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let results = try await withThrowingTaskGroup(of: (Int, EchoParams).self) { group in
                    for i in 0..<40 {
                        group.addTask {
                            let p = EchoParams(text: "call \(i)", count: i, ratio: Double(i) / 4, flags: [i % 2 == 0], nested: nil)
                            return (i, try await client.call("echo", p, returning: EchoParams.self))
                        }
                    }
                    var out: [(Int, EchoParams)] = []
                    for try await r in group { out.append(r) }
                    return out
                }
                #expect(results.count == 40)
                for (i, r) in results {
                    #expect(r.text == "call \(i)")
                    #expect(r.count == i)
                }
            }
        }
    }

    @Test func slowCallDoesNotHoldUpAFastOne() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let order = Recorder<String>()
                async let slow: Void = {
                    let r = try await client.call("sleep", SleepParams(ms: 800, tag: "slow"), returning: TagResult.self)
                    order.append(r.tag)
                }()
                // Give the slow request a head start so it is sent first.
                try await Task.sleep(for: .milliseconds(50))
                let fast = try await client.call("sleep", SleepParams(ms: 1, tag: "fast"), returning: TagResult.self)
                order.append(fast.tag)
                try await slow
                // Requests run concurrently: the response to the later request came back first.
                #expect(order.values == ["fast", "slow"])
            }
        }
    }

    @Test func wireErrorsKeepTheirCodeAndMessage() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let e = await wireError { try await client.call("conflict", Empty(), returning: Empty.self) }
                #expect(e == WireError(code: 409, message: "name already in use: app"))

                let t = await wireError { try await client.call("teapot", Empty(), returning: Empty.self) }
                #expect(t == WireError(code: 418, message: "short and stout"))

                let o = await wireError { try await client.call("opaque", Empty(), returning: Empty.self) }
                #expect(o?.code == 500)
                #expect(o?.message.contains("opaque failure") == true)

                // A failed call leaves the connection usable.
                let after = try await client.call("none", Empty(), returning: Empty.self)
                #expect(after == Empty())
            }
        }
    }

    @Test func unknownMethodIsMinus32601() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let e = await wireError { try await client.call("no.such.method", Empty(), returning: Empty.self) }
                #expect(e?.code == -32601)
                #expect(e?.message.contains("no.such.method") == true)
            }
        }
    }

    @Test func missingParameterIsMinus32602NamingTheKey() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let e = await wireError {
                    try await client.call("echo", RawJSON(#"{"text":"x","ratio":1,"flags":[]}"#), returning: RawJSON.self)
                }
                #expect(e?.code == -32602)
                #expect(e?.message.contains("count") == true, "message: \(e?.message ?? "nil")")
            }
        }
    }

    @Test func mistypedParameterIsMinus32602NamingTheKey() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let e = await wireError {
                    try await client.call("echo", RawJSON(#"{"text":5,"count":1,"ratio":1,"flags":[]}"#), returning: RawJSON.self)
                }
                #expect(e?.code == -32602)
                #expect(e?.message.contains("text") == true, "message: \(e?.message ?? "nil")")

                // Nested keys are named with their path.
                let n = await wireError {
                    try await client.call("echo", RawJSON(#"{"text":"","count":1,"ratio":1,"flags":[true,"no"]}"#), returning: RawJSON.self)
                }
                #expect(n?.code == -32602)
                #expect(n?.message.contains("flags") == true, "message: \(n?.message ?? "nil")")

                let null = await wireError {
                    try await client.call("sleep", RawJSON(#"{"ms":null,"tag":"t"}"#), returning: RawJSON.self)
                }
                #expect(null?.code == -32602)
                #expect(null?.message.contains("ms") == true, "message: \(null?.message ?? "nil")")
            }
        }
    }

    @Test func rawJSONParamsAndResultsPassThrough() async throws {
        try await withServer { server in
            try await withClient(server) { client in
                let text = #"{"b":[1,2.5,true,null,"x"],"a":{"n":-3,"s":"q\"uote"}}"#
                let r = try await client.call("raw", RawJSON(text), returning: RawJSON.self)
                #expect(r.text == #"{"a":{"n":-3,"s":"q\"uote"},"b":[1,2.5,true,null,"x"]}"#)
                // A typed method answers a generic caller too.
                let typed = try await client.call("count", RawJSON(#"{"n":2}"#), returning: RawJSON.self)
                #expect(typed.text == #"{"done":2}"#)
            }
        }
    }

    @Test func socketIsMode0600() async throws {
        try await withServer { server in
            var st = stat()
            #expect(lstat(server.path, &st) == 0)
            #expect(Int(st.st_mode) & Int(S_IFMT) == Int(S_IFSOCK))
            #expect(Int(st.st_mode) & 0o7777 == 0o600)
        }
    }

    @Test func closeRemovesTheSocket() async throws {
        try await withTempDir { dir in
            let server = try await WireServer.start(path: dir + "/s.sock", router: testRouter())
            #expect(access(server.path, F_OK) == 0)
            await server.close()
            #expect(access(server.path, F_OK) != 0)
            let e = await wireError { try await WireClient.connect(path: dir + "/s.sock") }
            #expect(e?.code == 503)
        }
    }

    @Test func connectingToNothingIs503() async throws {
        try await withTempDir { dir in
            let e = await wireError { try await WireClient.connect(path: dir + "/absent.sock") }
            #expect(e?.code == 503)
        }
    }

    @Test func serverCancelsTheRequestsOfAClosedConnection() async throws {
        let flag = CancelFlag()
        try await withServer(cancelFlag: flag) { server in
            let client = try await WireClient.connect(path: server.path)
            let call = Task { try await client.call("wait", Empty(), returning: Empty.self) }
            #expect(await eventually { flag.didStart })
            await client.close()
            // The client's own pending call fails as 503 …
            let e = await wireError { try await call.value }
            #expect(e?.code == 503)
            // … and the server stops the handler instead of letting it run for 30 s.
            #expect(await eventually { flag.wasCancelled })
        }
    }
}

@Suite("Wire: raw frames on a plain unix socket")
struct WireFramingTests {
    @Test func malformedLineIsParseErrorAndConnectionSurvives() async throws {
        try await withServer { server in
            let s = try RawSocket.connect(server.path)
            #expect(await s.write("this is {not json\n"))
            let err = try await s.readObject()
            #expect(err["jsonrpc"] as? String == "2.0")
            // JSON-RPC 2.0 and Specs/lifecycle-protocol.md: a parse error carries `"id": null`.
            #expect(err["id"] is NSNull)
            let e = err["error"] as? [String: Any]
            #expect(e?["code"] as? Int == -32700)
            #expect((e?["message"] as? String)?.isEmpty == false)

            #expect(await s.write(#"{"jsonrpc":"2.0","id":5,"method":"count","params":{"n":1}}"# + "\n"))
            let progress = try await s.readObject()
            #expect(progress["method"] as? String == "progress")
            #expect((progress["params"] as? [String: Any])?["id"] as? Int == 5)
            let ok = try await s.readObject()
            #expect(ok["id"] as? Int == 5)
            #expect((ok["result"] as? [String: Any])?["done"] as? Int == 1)
        }
    }

    @Test func requestsThatAreNotRequestsAreRejected() async throws {
        try await withServer { server in
            let s = try RawSocket.connect(server.path)
            // Valid JSON, but not a request object.
            for bad in [#"[1,2,3]"#, #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","method":"none","params":{}}"#, #""str""#] {
                #expect(await s.write(bad + "\n"))
                let o = try await s.readObject()
                #expect((o["error"] as? [String: Any])?["code"] as? Int == -32700, "for \(bad)")
            }
            // Unknown method: its id comes back.
            #expect(await s.write(#"{"jsonrpc":"2.0","id":77,"method":"nope","params":{}}"# + "\n"))
            let o = try await s.readObject()
            #expect(o["id"] as? Int == 77)
            #expect((o["error"] as? [String: Any])?["code"] as? Int == -32601)
            // A request without params at all is invalid params for a method that takes some.
            #expect(await s.write(#"{"jsonrpc":"2.0","id":78,"method":"count"}"# + "\n"))
            let p = try await s.readObject()
            #expect(p["id"] as? Int == 78)
            #expect((p["error"] as? [String: Any])?["code"] as? Int == -32602)
        }
    }

    @Test func pipelinedCRLFAndBlankLinesAreFramedCorrectly() async throws {
        try await withServer { server in
            let s = try RawSocket.connect(server.path)
            // Two requests in one write, a CRLF terminator, blank lines in between: one response each.
            let frames = #"{"jsonrpc":"2.0","id":1,"method":"none","params":{}}"# + "\r\n\n   \n" +
                #"{"jsonrpc":"2.0","id":2,"method":"none","params":{}}"# + "\n"
            #expect(await s.write(frames))
            var ids = Set<Int>()
            for _ in 0..<2 {
                let o = try await s.readObject()
                #expect(o["error"] == nil, "\(o)")
                if let id = o["id"] as? Int { ids.insert(id) }
            }
            #expect(ids == [1, 2])
            // A request split across writes is reassembled.
            let req = Array((#"{"jsonrpc":"2.0","id":3,"method":"none","params":{}}"# + "\n").utf8)
            #expect(await s.write(Array(req[..<10])))
            try await Task.sleep(for: .milliseconds(50))
            #expect(await s.write(Array(req[10...])))
            #expect(try await s.readObject()["id"] as? Int == 3)
        }
    }

    @Test func lineOverTheLimitClosesTheConnection() async throws {
        try await withServer { server in
            let s = try RawSocket.connect(server.path, timeoutSeconds: 30)
            // No newline ever: the server must give up once the line passes the limit.
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            var sent = 0
            while sent <= Wire.maxLineBytes + (1 << 20) {
                guard await s.write(chunk) else { break }
                sent += chunk.count
            }
            // What is left is at most an error line, then the end of the stream (or a reset, since
            // the server closed with unread bytes).
            var sawParseError = false
            readLoop: while true {
                switch await s.readLine() {
                case .line(let l):
                    let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any]
                    #expect((o?["error"] as? [String: Any])?["code"] as? Int == -32700)
                    sawParseError = true
                case .eof:
                    break readLoop
                case .error(let e):
                    #expect(e == ECONNRESET, "connection should be closed, got errno \(e)")
                    break readLoop
                }
            }
            _ = sawParseError
            // The server itself is fine: a new connection works.
            try await withClient(server) { client in
                let r = try await client.call("none", Empty(), returning: Empty.self)
                #expect(r == Empty())
            }
        }
    }
}

@Suite("Wire: client when the server goes away")
struct WireClientFailureTests {
    @Test func pendingCallsFailWith503WhenTheServerCloses() async throws {
        try await withTempDir { dir in
            let listener = try RawListener(path: dir + "/fake.sock")
            let client = try await WireClient.connect(path: listener.path)
            let conn = try await listener.accept()
            let first = Task { try await client.call("sleep", SleepParams(ms: 1, tag: "a"), returning: TagResult.self) }
            let second = Task { try await client.call("sleep", SleepParams(ms: 1, tag: "b"), returning: TagResult.self) }
            // Both requests reach the "server", which never answers and hangs up.
            for _ in 0..<2 {
                guard case .line(let l) = await conn.readLine() else { throw TestFailure("no request arrived") }
                #expect(l.contains(#""method":"sleep""#))
                #expect(l.contains(#""jsonrpc":"2.0""#))
            }
            shutdown(conn.fd, Int32(SHUT_RDWR))
            let e1 = await wireError { try await first.value }
            let e2 = await wireError { try await second.value }
            #expect(e1?.code == 503)
            #expect(e2?.code == 503)
            // Calls made after the loss fail at once, the same way.
            let e3 = await wireError { try await client.call("none", Empty(), returning: Empty.self) }
            #expect(e3?.code == 503)
            await client.close()
        }
    }

    @Test func responsesToUnknownIDsAndGarbageAreIgnored() async throws {
        try await withTempDir { dir in
            let (client, conn, call, id) = try await callFakeServer(dir)
            #expect(await conn.write("garbage\n"))
            #expect(await conn.write(#"{"jsonrpc":"2.0","id":\#(id + 1000),"result":{"done":99}}"# + "\n"))
            #expect(await conn.write(#"{"jsonrpc":"2.0","method":"progress","params":{"id":\#(id),"event":{"seq":0,"status":"s"}}}"# + "\n"))
            #expect(await conn.write(#"{"jsonrpc":"2.0","id":\#(id),"result":{"done":1}}"# + "\n"))
            #expect(try await call.value == CountResult(done: 1))
            await client.close()
        }
    }

    @Test func malformedResultIsAnInternalError() async throws {
        try await withTempDir { dir in
            let (client, conn, call, id) = try await callFakeServer(dir)
            #expect(await conn.write(#"{"jsonrpc":"2.0","id":\#(id),"result":{"done":"many"}}"# + "\n"))
            let e = await wireError { try await call.value }
            #expect(e?.code == 500)
            #expect(e?.message.contains("done") == true)
            await client.close()
        }
    }
}

@Suite("Wire: RawJSON and JSONValue")
struct RawJSONTests {
    func decode<T: Decodable>(_ t: T.Type, _ s: String) throws -> T { try JSONDecoder().decode(T.self, from: Data(s.utf8)) }
    func encode<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    @Test(arguments: [
        (#"{"b":[1,2.5,true,null,"x"],"a":{}}"#, #"{"a":{},"b":[1,2.5,true,null,"x"]}"#),
        (#"[]"#, #"[]"#),
        (#"[[],[{}],[[null]]]"#, #"[[],[{}],[[null]]]"#),
        (#"  { "k" : "v" }  "#, #"{"k":"v"}"#),
        (#"9007199254740993"#, #"9007199254740993"#),
        (#"-9223372036854775808"#, #"-9223372036854775808"#),
        (#"0.5"#, #"0.5"#),
        (#"true"#, #"true"#),
        (#"false"#, #"false"#),
        (#"null"#, #"null"#),
        (#""a/b \"q\" \u00e9 \n""#, #""a/b \"q\" é \n""#),
    ])
    func rawJSONNormalisesAndRoundTrips(input: String, normalised: String) throws {
        let raw = try decode(RawJSON.self, input)
        #expect(raw.text == normalised)
        // Encoding it again gives the same value.
        let again = try decode(JSONValue.self, try encode(raw))
        #expect(again == (try decode(JSONValue.self, input)))
    }

    @Test func rawJSONInsideAnotherValue() throws {
        struct Holder: Codable { var name: String; var payload: RawJSON }
        let h = try decode(Holder.self, #"{"name":"n","payload":{"z":[false,{"y":null}],"a":1}}"#)
        #expect(h.payload.text == #"{"a":1,"z":[false,{"y":null}]}"#)
        #expect(try encode(h) == #"{"name":"n","payload":{"a":1,"z":[false,{"y":null}]}}"#)
    }

    @Test func jsonValueKeepsKinds() throws {
        let v = try decode(JSONValue.self, #"{"i":3,"d":3.25,"b":true,"n":null,"s":"3","a":[1,"1",true],"o":{"x":{}}}"#)
        #expect(v == .object([
            "i": .int(3), "d": .double(3.25), "b": .bool(true), "n": .null, "s": .string("3"),
            "a": .array([.int(1), .string("1"), .bool(true)]), "o": .object(["x": .object([:])]),
        ]))
        // Big integers stay exact.
        #expect(try decode(JSONValue.self, "9007199254740993") == .int(9_007_199_254_740_993))
        #expect(try decode(JSONValue.self, "false") == .bool(false))
        // And encode back to the same JSON.
        let round = try decode(JSONValue.self, try encode(v))
        #expect(round == v)
    }

    @Test func invalidRawJSONFailsToEncode() {
        #expect(throws: (any Error).self) { try encode(RawJSON("{not json")) }
    }
}
