import Foundation
import Glibc

/// Docker's JSON message rendering (pkg/jsonmessage `DisplayJSONMessagesStream`): on a terminal each
/// layer keeps a line of its own, rewritten in place (cursor up to it, erase, the status and its
/// progress bar, cursor back down); elsewhere plain lines, and progress updates are left out.
final class ProgressRenderer {
    let tty: Bool
    /// The terminal's width: the bar is drawn only above 110 columns, as docker's.
    let width: Int
    private let emit: ([UInt8]) -> Void
    /// Each layer ID's line, counted from the first line of the current block of progress lines.
    private var ids: [String: Int] = [:]

    init(fd: Int32, tty: Bool) {
        self.tty = tty
        width = tty ? Self.terminalWidth(fd) : 200
        emit = { writeAll(fd, $0) }
    }

    /// For tests: output goes to `emit`.
    init(tty: Bool, width: Int, emit: @escaping ([UInt8]) -> Void) {
        self.tty = tty; self.width = width; self.emit = emit
    }

    private func put(_ s: String) { emit(Array(s.utf8)) }

    func show(_ m: [String: Any]) {
        if m["aux"] != nil { return }
        let id = (m["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let detail = m["progressDetail"] as? [String: Any]
        let progressMessage = m["progress"] as? String ?? ""
        var diff = 0
        if let id, detail != nil || !progressMessage.isEmpty {
            let line: Int
            if let l = ids[id] {
                line = l
            } else {
                // A new layer gets a new line below the others.
                line = ids.count
                ids[id] = line
                if tty { put("\n") }
            }
            diff = ids.count - line
            if tty && diff > 0 { put("\u{1b}[\(diff)A") }
        } else {
            // Anything else ends the block: later progress starts lines of its own.
            ids = [:]
        }
        display(m, id: id, detail: detail, progressMessage: progressMessage)
        if id != nil && tty && diff > 0 { put("\u{1b}[\(diff)B") }
    }

    /// `JSONMessage.Display`.
    private func display(_ m: [String: Any], id: String?, detail: [String: Any]?, progressMessage: String) {
        let stream = m["stream"] as? String ?? ""
        let status = m["status"] as? String ?? ""
        let bar = detail.map { Self.progress(current: Self.int($0["current"]), total: Self.int($0["total"]), width: width) } ?? ""
        var endl = ""
        if tty && stream.isEmpty && detail != nil {
            put("\u{1b}[2K")
            endl = "\r"
            put(endl)
        } else if detail != nil && !bar.isEmpty {
            return
        }
        if let id { put("\(id): ") }
        if let from = m["from"] as? String, !from.isEmpty { put("(from \(from)) ") }
        if detail != nil && tty {
            put("\(status) \(bar)\(endl)")
        } else if !progressMessage.isEmpty {
            put("\(status) \(progressMessage)\(endl)")
        } else if !stream.isEmpty {
            put("\(stream)\(endl)")
        } else {
            put("\(status)\(endl)\n")
        }
    }

    func finish() {}

    /// `JSONProgress.String`: `[=====>     ]  1.2MB/4.5MB` (the bar only on terminals wider than 110).
    static func progress(current: Int64, total: Int64, width: Int) -> String {
        if current <= 0 && total <= 0 { return "" }
        func pad(_ s: String) -> String { s.count >= 8 ? s : String(repeating: " ", count: 8 - s.count) + s }
        if total <= 0 { return pad(humanSize(current)) }
        let percentage = min(50, Int(Double(current) / Double(total) * 100) / 2)
        var bar = ""
        if width > 110 {
            bar = "[" + String(repeating: "=", count: percentage) + ">" + String(repeating: " ", count: max(0, 50 - percentage)) + "] "
        }
        let numbers = current > total ? pad(humanSize(current)) : pad(humanSize(current)) + "/" + humanSize(total)
        return bar + numbers
    }

    private static func int(_ v: Any?) -> Int64 {
        switch v {
        case let n as Int64: return n
        case let n as Int: return Int64(n)
        case let n as NSNumber: return n.int64Value
        default: return 0
        }
    }

    /// The terminal's columns, or 200 as docker assumes when it cannot tell.
    static func terminalWidth(_ fd: Int32) -> Int {
        var ws = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        return 200
    }
}
