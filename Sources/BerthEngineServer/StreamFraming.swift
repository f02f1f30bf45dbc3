import BerthWire
import Foundation

/// Docker's stdcopy framing: without a TTY each chunk of output is `[stream, 0, 0, 0, size BE32]`
/// then the bytes (stream 1 stdout, 2 stderr); with a TTY the bytes go as they are.
enum StreamFraming {
    static let rawType = "application/vnd.docker.raw-stream"
    static let multiplexedType = "application/vnd.docker.multiplexed-stream"

    static func frame(stream: UInt8, _ payload: Data) -> Data {
        var d = Data([stream, 0, 0, 0])
        let n = UInt32(payload.count)
        d.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
        d.append(payload)
        return d
    }

    static func encode(_ batch: LogBatch, tty: Bool, timestamps: Bool) -> Data {
        var out = Data()
        for e in batch.entries {
            let payload = Data(((timestamps ? e.time + " " : "") + e.log).utf8)
            out.append(tty ? payload : frame(stream: e.stream == "stderr" ? 2 : 1, payload))
        }
        return out
    }

    /// A message of the daemon's own written into a stream, as dockerd does (on stdout).
    static func message(_ text: String, tty: Bool) -> Data {
        tty ? Data(text.utf8) : frame(stream: 1, Data(text.utf8))
    }
}
