import Foundation
import Testing
@testable import BerthCLI

@Suite struct EventsFormatTests {
    @Test func templatesSeeDockersGoFieldNames() throws {
        let e: [String: Any] = ["Type": "container", "Action": "start", "time": 1_700_000_000, "timeNano": 1_700_000_000_123_456_789,
                                "id": "abc", "status": "start", "from": "busybox",
                                "Actor": ["ID": "abc", "Attributes": ["name": "web"]]]
        let t = try GoTemplate("{{.Time}} {{.TimeNano}} {{.Type}} {{.Action}} {{.ID}} {{.Status}} {{.From}} {{.Actor.Attributes.name}}")
        #expect(try t.render(Events.templateContext(e)) == "1700000000 1700000000123456789 container start abc start busybox web")
    }
}
