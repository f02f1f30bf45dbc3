import Foundation

/// Renders JSON messages: plain lines when not a terminal. (Progress bars: TODO in this file.)
final class ProgressRenderer {
    let fd: Int32
    let tty: Bool
    init(fd: Int32, tty: Bool) { self.fd = fd; self.tty = tty }

    func show(_ m: [String: Any]) {
        guard let status = m["status"] as? String else {
            if let stream = m["stream"] as? String { writeAll(fd, Array(stream.utf8)) }
            return
        }
        if m["progressDetail"] as? [String: Any] != nil, m["progress"] != nil, !tty { return }
        let id = m["id"] as? String
        writeAll(fd, Array(((id.map { "\($0): " } ?? "") + status + "\n").utf8))
    }

    func finish() {}
}
