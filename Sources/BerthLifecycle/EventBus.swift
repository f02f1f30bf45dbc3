import Foundation
import NIOConcurrencyHelpers
import BerthWire

/// Docker's event stream: every tier publishes here; `system.events` replays the recent past
/// (Docker keeps the last 256 events for `--since`) and then follows live events.
public final class EventBus: Sendable {
    struct State {
        var recent: [Event] = []
        var subscribers: [UUID: AsyncStream<Event>.Continuation] = [:]
    }
    let state = NIOLockedValueBox(State())
    static let kept = 256

    public init() {}

    public func publish(type: String, action: String, id: String, attributes: [String: String] = [:]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let e = Event(type: type, action: action, actor: .init(id: id, attributes: attributes),
                      timeNano: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
        let subs = state.withLockedValue { s -> [AsyncStream<Event>.Continuation] in
            s.recent.append(e)
            if s.recent.count > Self.kept { s.recent.removeFirst(s.recent.count - Self.kept) }
            return Array(s.subscribers.values)
        }
        for c in subs { c.yield(e) }
    }

    /// The recent events and a live stream from that point on (no gap, no duplicate).
    func subscribe() -> (past: [Event], live: AsyncStream<Event>, cancel: @Sendable () -> Void) {
        let key = UUID()
        let (stream, cont) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let past = state.withLockedValue { s -> [Event] in
            s.subscribers[key] = cont
            return s.recent
        }
        let cancel: @Sendable () -> Void = { [state] in
            _ = state.withLockedValue { $0.subscribers.removeValue(forKey: key) }
            cont.finish()
        }
        return (past, stream, cancel)
    }

    /// Streams events matching `p` through `send` until `until` passes or the caller goes away.
    public func stream(_ p: EventsParams, send: @escaping @Sendable (Event) -> Void) async throws {
        let filters = p.filters ?? [:]
        for key in filters.keys where !["type", "event", "container", "image", "volume", "network", "label", "scope"].contains(key) {
            throw LifecycleError.invalidArgument("invalid filter '\(key)'")
        }
        let since = try p.since.map { try Self.parseTime($0) }
        let until = try p.until.map { try Self.parseTime($0) }
        let now = Double(Date().timeIntervalSince1970)
        let sub = subscribe()
        defer { sub.cancel() }
        func wanted(_ e: Event) -> Bool {
            let t = Double(e.timeNano) / 1e9
            if let since, t < since { return false }
            if let until, t > until { return false }
            return Self.matches(e, filters)
        }
        if since != nil || until != nil { for e in sub.past where wanted(e) { send(e) } }
        // Without `since`, only live events; with an `until` in the past, only the replay.
        guard until.map({ $0 > now }) ?? true else { return }
        let timer: Task<Void, Never>? = until.map { u in
            Task { try? await Task.sleep(nanoseconds: UInt64(max(0, u - now) * 1e9)); sub.cancel() }
        }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            for await e in sub.live where wanted(e) { send(e) }
        } onCancel: { sub.cancel() }
    }

    static func matches(_ e: Event, _ filters: [String: [String]]) -> Bool {
        for (key, values) in filters where !values.isEmpty {
            let ok: Bool
            switch key {
            case "type": ok = values.contains(e.type)
            case "event": ok = values.contains(e.action) || values.contains { e.action.hasPrefix($0 + ":") }
            case "container", "image", "volume", "network":
                ok = e.type == key && values.contains { $0 == e.actor.id || $0 == e.actor.attributes["name"] || e.actor.id.hasPrefix($0) }
                    || (key == "image" && e.type == "container" && values.contains(e.actor.attributes["image"] ?? "\u{0}"))
            case "label":
                ok = values.allSatisfy { l in
                    let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
                    guard let v = e.actor.attributes[kv[0]] else { return false }
                    return kv.count == 1 || v == kv[1]
                }
            case "scope": ok = values.contains("local")
            default: ok = true
            }
            if !ok { return false }
        }
        return true
    }

    /// Docker's time arguments: Unix seconds (fractional allowed) or RFC 3339.
    static func parseTime(_ s: String) throws -> Double {
        if let d = Double(s) { return d }
        if let d = LogReader.parseRFC3339(s) { return d }
        throw LifecycleError.invalidArgument("invalid time \"\(s)\": use Unix seconds or RFC 3339")
    }
}
