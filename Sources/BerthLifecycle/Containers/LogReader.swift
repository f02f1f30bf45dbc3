import Foundation
import Glibc
import BerthOS
import BerthWire

/// Reads a Docker json-file log as berth-monitor writes it (Specs/monitor.md): the rotated files
/// oldest first, then the live one, and follows it across rotations.
struct LogReader {
    let path: String
    var fd: Int32 = -1
    var inode: ino_t = 0
    var pending: [UInt8] = []

    init(path: String) { self.path = path }

    /// Rotated files that exist, oldest first, then `path`.
    static func files(_ path: String) -> [String] {
        var rotated: [String] = []
        var n = 1
        while FS.exists("\(path).\(n)") { rotated.append("\(path).\(n)"); n += 1 }
        return rotated.reversed() + [path]
    }

    /// Every entry in the rotated files and the live file, leaving the live file open at its end.
    mutating func readAll() -> [LogEntry] {
        var out: [LogEntry] = []
        let all = Self.files(path)
        for f in all.dropLast() {
            guard let bytes = try? FS.readBytes(f, limit: 1 << 40) else { continue }
            var p = bytes
            out += Self.parse(&p, final: true)
        }
        open(atEnd: false)
        out += readNew()
        return out
    }

    /// Positions at the end of the live file: only entries written from now on are read.
    mutating func skipToEnd() { open(atEnd: true) }

    mutating func open(atEnd: Bool) {
        if fd >= 0 { Glibc.close(fd) }
        fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        pending = []
        guard fd >= 0 else { inode = 0; return }
        var st = stat()
        fstat(fd, &st)
        inode = st.st_ino
        if atEnd { lseek(fd, 0, SEEK_END) }
    }

    /// Entries appended since the last call; follows a rotation (the old file is drained first).
    mutating func readNew() -> [LogEntry] {
        if fd < 0 { open(atEnd: false); if fd < 0 { return [] } }
        var out = drain()
        var st = stat()
        if stat(path, &st) == 0, st.st_ino != inode {
            out += Self.parse(&pending, final: true)
            open(atEnd: false)
            out += drain()
        }
        return out
    }

    private mutating func drain() -> [LogEntry] {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buf[0..<n])
        }
        return Self.parse(&pending, final: false)
    }

    mutating func close() { if fd >= 0 { Glibc.close(fd); fd = -1 } }

    /// Complete lines of `buffer` as entries; an incomplete last line stays unless `final`.
    static func parse(_ buffer: inout [UInt8], final: Bool) -> [LogEntry] {
        var out: [LogEntry] = []
        var start = 0
        let decoder = JSONDecoder()
        var i = 0
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i > start, let e = try? decoder.decode(LogEntry.self, from: Data(buffer[start..<i])) { out.append(e) }
                start = i + 1
            }
            i += 1
        }
        if final, start < buffer.count, let e = try? decoder.decode(LogEntry.self, from: Data(buffer[start...])) {
            out.append(e)
            start = buffer.count
        }
        buffer.removeFirst(start)
        return out
    }

    /// RFC 3339 with up to nine fractional digits → Unix seconds.
    static func parseRFC3339(_ s: String) -> Double? {
        let u = Array(s.utf8)
        guard u.count >= 20, u[4] == 45, u[7] == 45, u[10] == 84 || u[10] == 116, u[13] == 58, u[16] == 58 else { return nil }
        func num(_ a: Int, _ b: Int) -> Int32? {
            var v: Int32 = 0
            for i in a..<b { guard u[i] >= 48 && u[i] <= 57 else { return nil }; v = v * 10 + Int32(u[i] - 48) }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 7), let d = num(8, 10), let h = num(11, 13), let mi = num(14, 16), let sec = num(17, 19) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d; tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec
        var secs = Double(timegm(&tm))
        var i = 19
        if i < u.count && u[i] == 46 {
            var frac = 0.0, scale = 0.1
            i += 1
            while i < u.count, u[i] >= 48 && u[i] <= 57 { frac += Double(u[i] - 48) * scale; scale /= 10; i += 1 }
            secs += frac
        }
        if i == u.count { return secs }
        if u[i] == 90 || u[i] == 122 { return i + 1 == u.count ? secs : nil }
        guard u[i] == 43 || u[i] == 45, u.count == i + 6, let oh = num(i + 1, i + 3), let om = num(i + 4, i + 6) else { return nil }
        let sign: Double = u[i] == 45 ? -1 : 1
        return secs - sign * Double(oh * 3600 + om * 60)
    }
}

extension ContainerService {
    static let batch = 512

    /// Streams a container's log (Docker's `logs` options) through `send`; with `follow`, until
    /// the container stops.
    public func logs(_ p: ContainerLogsParams, send: @escaping @Sendable (LogBatch) -> Void) async throws {
        let c = try resolve(p.id)
        if c.hostConfig.logConfig?.type == "none" {
            throw LifecycleError.invalidArgument("configured logging driver does not support reading")
        }
        let wantOut = p.stdout ?? false, wantErr = p.stderr ?? false
        guard wantOut || wantErr else { throw LifecycleError.invalidArgument("Bad parameters: you must choose at least one stream") }
        let since = try p.since.flatMap { $0.isEmpty || $0 == "0" ? nil : try EventBus.parseTime($0) }
        let until = try p.until.flatMap { $0.isEmpty || $0 == "0" ? nil : try EventBus.parseTime($0) }
        var tail = -1
        if let t = p.tail, !t.isEmpty, t != "all" {
            guard let n = Int(t) else { throw LifecycleError.invalidArgument("invalid tail \"\(t)\": use a number or all") }
            tail = n < 0 ? -1 : n
        }
        let filter: @Sendable (LogEntry) -> Bool = { e in
            if e.stream == "stdout" && !wantOut { return false }
            if e.stream == "stderr" && !wantErr { return false }
            if since != nil || until != nil, let t = LogReader.parseRFC3339(e.time) {
                if let since, t < since { return false }
                if let until, t > until { return false }
            }
            return true
        }
        var reader = LogReader(path: logPath(c.id))
        defer { reader.close() }
        var past = reader.readAll().filter(filter)
        if tail >= 0 { past = Array(past.suffix(tail)) }
        for i in stride(from: 0, to: past.count, by: Self.batch) {
            send(LogBatch(entries: Array(past[i..<min(i + Self.batch, past.count)])))
        }
        guard p.follow == true, until.map({ $0 > Date().timeIntervalSince1970 }) ?? true else { return }
        try await follow(c.id, reader: &reader, filter: filter, untilTime: until, send: send)
    }

    /// Streams output while the container runs: from now on, or (with `logs`) its past output first.
    public func attach(_ p: ContainerAttachParams, send: @escaping @Sendable (LogBatch) -> Void) async throws {
        let c = try resolve(p.id)
        // As Docker: a created container may be attached to before its start (docker run), a
        // finished one only for its past output.
        if p.stream ?? true, !c.state.running, !c.state.restarting, c.hasBeenStarted, p.logs != true {
            throw LifecycleError.conflict("You cannot attach to a stopped container, start it first")
        }
        let wantOut = p.stdout ?? true, wantErr = p.stderr ?? true
        let filter: @Sendable (LogEntry) -> Bool = { e in e.stream == "stdout" ? wantOut : wantErr }
        // The monitor creates the log at start (O_APPEND): making it now lets the reader hold it
        // open from the beginning, so a container that runs and is removed (`run --rm`) between
        // two polls still has its output read.
        let fd = Glibc.open(logPath(c.id), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if fd >= 0 { Glibc.close(fd) }
        var reader = LogReader(path: logPath(c.id))
        defer { reader.close() }
        if p.logs == true {
            let past = reader.readAll().filter(filter)
            for i in stride(from: 0, to: past.count, by: Self.batch) { send(LogBatch(entries: Array(past[i..<min(i + Self.batch, past.count)]))) }
        } else {
            reader.skipToEnd()
        }
        // An empty batch: the attach has its place in the log (berthd starts forwarding stdin now).
        send(LogBatch(entries: []))
        guard p.stream ?? true else { return }
        try await follow(c.id, reader: &reader, filter: filter, untilTime: nil, waitForStart: !c.state.running, send: send)
    }

    /// Polls the log for new entries until the container is no longer running (and, when
    /// `waitForStart`, has run since the call began), then sends what is left.
    func follow(_ id: String, reader: inout LogReader, filter: @Sendable (LogEntry) -> Bool, untilTime: Double?,
                waitForStart: Bool = false, send: @Sendable (LogBatch) -> Void) async throws {
        let startedAt = record(id)?.state.startedAt
        while true {
            let fresh = reader.readNew().filter(filter)
            var entries = fresh
            if let untilTime { entries = entries.filter { (LogReader.parseRFC3339($0.time) ?? 0) <= untilTime } }
            for i in stride(from: 0, to: entries.count, by: Self.batch) { send(LogBatch(entries: Array(entries[i..<min(i + Self.batch, entries.count)]))) }
            if let untilTime, Date().timeIntervalSince1970 > untilTime { return }
            // Gone means removed after its exit (AutoRemove, `docker run --rm`): the log file is
            // unlinked but still readable through the open reader, so its end is sent as well.
            let c = record(id)
            let active = c.map { $0.state.running || $0.state.restarting } ?? false
            let begun = c.map { !waitForStart || $0.state.startedAt != startedAt || $0.state.running } ?? true
            if !active && begun {
                // The monitor drained the output before the exit was recorded: read the rest.
                var rest = reader.readNew().filter(filter)
                rest += LogReader.parse(&reader.pending, final: true).filter(filter)
                if !rest.isEmpty { send(LogBatch(entries: rest)) }
                return
            }
            try await Task.sleep(nanoseconds: fresh.isEmpty ? 50_000_000 : 5_000_000)
        }
    }
}
