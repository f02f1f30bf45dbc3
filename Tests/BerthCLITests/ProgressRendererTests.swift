import Foundation
import Testing
@testable import BerthCLI

/// docker's jsonmessage rendering, byte for byte: cursor movement and bars on a terminal, plain
/// lines without progress updates elsewhere.
@Suite struct ProgressRendererTests {
    /// Feeds the JSON lines through a renderer and returns what it wrote.
    func render(_ lines: [String], tty: Bool, width: Int = 200) -> String {
        var out: [UInt8] = []
        let r = ProgressRenderer(tty: tty, width: width) { out += $0 }
        for l in lines { r.show(try! JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]) }
        r.finish()
        return String(decoding: out, as: UTF8.self)
    }

    let pull = [
        #"{"status":"Pulling from library/busybox","id":"latest"}"#,
        #"{"status":"Pulling fs layer","id":"aaa","progressDetail":{}}"#,
        #"{"status":"Pulling fs layer","id":"bbb","progressDetail":{}}"#,
        #"{"status":"Downloading","id":"aaa","progressDetail":{"current":1000,"total":4000}}"#,
        #"{"status":"Pull complete","id":"bbb","progressDetail":{}}"#,
        #"{"status":"Digest: sha256:abc"}"#,
        #"{"status":"Status: Downloaded newer image for busybox:latest"}"#,
    ]

    @Test func plainLinesLeaveOutProgressUpdates() {
        #expect(render(pull, tty: false) == """
            latest: Pulling from library/busybox
            aaa: Pulling fs layer
            bbb: Pulling fs layer
            bbb: Pull complete
            Digest: sha256:abc
            Status: Downloaded newer image for busybox:latest

            """)
    }

    @Test func terminalRewritesEachLayersLineInPlace() {
        let esc = "\u{1b}["
        let bar = "[" + String(repeating: "=", count: 12) + ">" + String(repeating: " ", count: 38) + "] "
        let numbers = String(repeating: " ", count: max(0, 8 - humanSize(1000).count)) + humanSize(1000) + "/" + humanSize(4000)
        let expected =
            "latest: Pulling from library/busybox\n"
            + "\n\(esc)1A\(esc)2K\raaa: Pulling fs layer \r\(esc)1B"
            + "\n\(esc)1A\(esc)2K\rbbb: Pulling fs layer \r\(esc)1B"
            + "\(esc)2A\(esc)2K\raaa: Downloading \(bar)\(numbers)\r\(esc)2B"
            + "\(esc)1A\(esc)2K\rbbb: Pull complete \r\(esc)1B"
            + "Digest: sha256:abc\nStatus: Downloaded newer image for busybox:latest\n"
        #expect(render(pull, tty: true) == expected)
    }

    @Test func progressStringMatchesDocker() {
        #expect(ProgressRenderer.progress(current: 0, total: 0, width: 200) == "")
        let half = ProgressRenderer.progress(current: 50, total: 100, width: 200)
        #expect(half.hasPrefix("[" + String(repeating: "=", count: 25) + ">" + String(repeating: " ", count: 25) + "] "))
        // Narrow terminals get the numbers only; a current past the total drops the total.
        #expect(!ProgressRenderer.progress(current: 50, total: 100, width: 80).contains("["))
        #expect(!ProgressRenderer.progress(current: 200, total: 100, width: 80).contains("/"))
        #expect(ProgressRenderer.progress(current: 100, total: 100, width: 200).contains("[" + String(repeating: "=", count: 50) + ">] "))
    }

    @Test func streamAndErrorlessMessages() {
        #expect(render([#"{"stream":"Loaded image: busybox:latest\n"}"#], tty: false) == "Loaded image: busybox:latest\n")
        #expect(render([#"{"stream":"Loaded image: busybox:latest\n"}"#], tty: true) == "Loaded image: busybox:latest\n")
        #expect(render([#"{"aux":{"ID":"sha256:x"}}"#], tty: true) == "")
    }
}
