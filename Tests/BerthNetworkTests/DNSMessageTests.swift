import Testing
@testable import BerthNetwork

@Suite("DNS message codec")
struct DNSMessageTests {
    /// `dig +noedns example.com A` with ID 0xbeef, as the bytes on the wire.
    static let digQuery: [UInt8] = [
        0xBE, 0xEF, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x63, 0x6F, 0x6D, 0,
        0x00, 0x01, 0x00, 0x01,
    ]

    /// A header with the given counts, then `body`.
    static func packet(qd: UInt8 = 1, an: UInt8 = 0, ar: UInt8 = 0, _ body: [UInt8]) -> [UInt8] {
        [0x12, 0x34, 0x01, 0x00, 0, qd, 0, an, 0, 0, 0, ar] + body
    }

    @Test func parsesAQuery() throws {
        let m = try DNSMessage.parse(Self.digQuery)
        #expect(m.header.id == 0xBEEF)
        #expect(!m.header.isResponse)
        #expect(m.header.opcode == 0)
        #expect(m.header.recursionDesired)
        #expect(m.questions == [DNSQuestion(name: try DNSName("example.com"), type: .a)])
        #expect(m.answers.isEmpty && m.additionals.isEmpty)
        #expect(m.ednsUDPSize == nil)
    }

    @Test func readsTheEDNSPayloadSize() throws {
        // The same query with an OPT record for 4096 octets and the DO bit.
        let opt: [UInt8] = [0, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00]
        var bytes = Self.digQuery + opt
        bytes[11] = 1
        let m = try DNSMessage.parse(bytes)
        #expect(m.ednsUDPSize == 4096)
        #expect(m.additionals.count == 1)
        #expect(m.additionals[0].type == .opt)
        #expect(m.additionals[0].name == .root)
    }

    @Test func followsCompressionPointers() throws {
        // Question "www.example.com"; answer 1 named by a pointer to the question; answer 2
        // "mail" + pointer to "example.com" inside the question; a PTR whose target is
        // "ns" + pointer to the pointer-bearing name of answer 2 (two hops).
        var body: [UInt8] = [3, 0x77, 0x77, 0x77, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1]
        body += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]
        let answer2 = 12 + body.count
        body += [4] + Array("mail".utf8) + [0xC0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 2]
        body += [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 5, 2, 0x6E, 0x73, 0xC0, UInt8(answer2)]
        let m = try DNSMessage.parse(Self.packet(an: 3, body))
        #expect(m.answers.map(\.name.description) == ["www.example.com", "mail.example.com", "www.example.com"])
        #expect(m.answers[0].ipv4 == "192.0.2.1")
        #expect(m.answers[1].ipv4 == "192.0.2.2")
        #expect(m.answers[2].type == .ptr)
        #expect(m.answers[2].target == (try DNSName("ns.mail.example.com")))
        // The PTR data was stored decompressed.
        #expect(m.answers[2].data == (try DNSName("ns.mail.example.com")).wire)
    }

    @Test func rejectsPointerLoopsAndForwardPointers() {
        // A pointer to itself.
        #expect(throws: DNSError.badPointer(offset: 12)) { try DNSMessage.parse(Self.packet([0xC0, 12, 0, 1, 0, 1])) }
        // A label, then a pointer back to that label: would loop forever.
        #expect(throws: DNSError.badPointer(offset: 14)) { try DNSMessage.parse(Self.packet([1, 0x61, 0xC0, 12, 0, 1, 0, 1])) }
        // A pointer forward (to a valid name after it).
        #expect(throws: DNSError.badPointer(offset: 12)) { try DNSMessage.parse(Self.packet([0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1])) }
        // Two names pointing at each other: the second question's pointer goes back to the
        // first name, whose pointer goes forward to the second.
        let mutual: [UInt8] = [1, 0x61, 0xC0, 18, 0, 1, 0, 1, 1, 0x62, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.badPointer(offset: 14)) { try DNSMessage.parse(Self.packet(qd: 2, mutual)) }
        // Pointer to beyond the packet.
        #expect(throws: DNSError.badPointer(offset: 12)) { try DNSMessage.parse(Self.packet([0xFF, 0xFF, 0, 1, 0, 1])) }
    }

    @Test func everyStrictPrefixIsTruncated() throws {
        let full = DNSMessage(
            header: DNSHeader(id: 7, flags: 0x8180),
            questions: [DNSQuestion(name: try DNSName("web.frontend"), type: .a)],
            answers: [try .a(try DNSName("web.frontend"), "10.0.0.1", ttl: 600),
                      .ptr(try DNSName("1.0.0.10.in-addr.arpa"), target: try DNSName("web.frontend"), ttl: 600)],
            additionals: [.opt(udpPayloadSize: 1232)]
        ).encode()
        #expect(throws: Never.self) { try DNSMessage.parse(full) }
        for n in 0..<full.count {
            #expect(throws: DNSError.self, "prefix of \(n) octets") { try DNSMessage.parse(Array(full.prefix(n))) }
        }
        // Record data longer than what is left: the OPT record, last, claims 5 octets.
        var short = full
        short[short.count - 1] = 5
        #expect(throws: DNSError.truncated(offset: short.count)) { try DNSMessage.parse(short) }
    }

    @Test func rejectsLongLabelsAndNames() throws {
        // A length byte of 64 (0x40) and 128 (0x80) are the reserved label types.
        #expect(throws: DNSError.badLabel(offset: 12)) { try DNSMessage.parse(Self.packet([0x40] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1])) }
        #expect(throws: DNSError.badLabel(offset: 12)) { try DNSMessage.parse(Self.packet([0x80, 0x61, 0, 0, 1, 0, 1])) }

        func name(_ lengths: [Int]) -> [UInt8] { lengths.flatMap { [UInt8($0)] + [UInt8](repeating: 0x61, count: $0) } + [0] }
        // 3 × 64 + 62 + 1 = 255 octets: the longest allowed.
        let longest = try DNSMessage.parse(Self.packet(name([63, 63, 63, 61]) + [0, 1, 0, 1]))
        #expect(longest.questions[0].name.wireLength == 255)
        #expect(throws: DNSError.self) { try DNSMessage.parse(Self.packet(name([63, 63, 63, 62]) + [0, 1, 0, 1])) }
        // Too long only once a pointer joins the parts: 250 octets, then 10 + a pointer to them.
        let first = name([63, 63, 63, 56])
        let joined = first + [0, 1, 0, 1] + [9] + [UInt8](repeating: 0x62, count: 9) + [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage.parse(Self.packet(qd: 2, joined)) }

        // From text.
        #expect(throws: DNSError.self) { try DNSName(String(repeating: "a", count: 64) + ".com") }
        #expect(throws: DNSError.self) { try DNSName(Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")) }
        #expect(throws: DNSError.self) { try DNSName("a..b") }
        #expect(throws: DNSError.self) { try DNSName(".a") }
    }

    @Test func namesFromText() throws {
        #expect(try DNSName("Web.Frontend.") == DNSName("Web.Frontend"))
        #expect(try DNSName("Web.Frontend").lookupKey == "web.frontend")
        #expect(try DNSName(".") == .root)
        #expect(try DNSName("") == .root)
        #expect(DNSName.root.wire == [0])
        #expect(DNSName.root.description == ".")
        // A dot inside a label is not a name we serve, and prints escaped.
        let dotted = try DNSName(labels: [Array("a.b".utf8), Array("c".utf8)])
        #expect(dotted.lookupKey == nil)
        #expect(dotted.description == "a\\.b.c")
        #expect(try DNSName(labels: [[0x61, 0x00]]).description == "a\\000")
    }

    @Test func encodesWithCompression() throws {
        let name = try DNSName("pool.frontend")
        var header = DNSHeader(id: 1)
        header.isResponse = true
        let m = DNSMessage(header: header, questions: [DNSQuestion(name: name, type: .a)],
                           answers: [try .a(name, "10.1.0.4", ttl: 600), try .a(try DNSName("POOL.frontend"), "10.1.0.5", ttl: 600),
                                     try .a(try DNSName("x.frontend"), "10.1.0.6", ttl: 600)])
        let bytes = m.encode()
        // Header, question (15 + 4), two answers of 2 + 10 + 4, then "x" + a pointer to
        // "frontend" at offset 17.
        let questionEnd = 12 + name.wireLength + 4
        #expect(bytes.count == questionEnd + 16 + 16 + (2 + 2) + 10 + 4)
        #expect(Array(bytes[questionEnd..<(questionEnd + 2)]) == [0xC0, 12])
        #expect(Array(bytes[(questionEnd + 16)..<(questionEnd + 18)]) == [0xC0, 12])
        #expect(Array(bytes[(questionEnd + 32)..<(questionEnd + 36)]) == [1, 0x78, 0xC0, 17])
        let back = try DNSMessage.parse(bytes)
        // Compression matched case-insensitively, so the second answer reads as the question's case.
        #expect(back.answers.map(\.name) == [name, name, try DNSName("x.frontend")])
        #expect(back.answers.map(\.ipv4) == ["10.1.0.4", "10.1.0.5", "10.1.0.6"])
    }

    @Test func roundTrips() throws {
        var header = DNSHeader(id: 0xABCD)
        header.isResponse = true
        header.opcode = 0
        header.isAuthoritative = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.responseCode = .nameError
        let m = DNSMessage(
            header: header,
            questions: [DNSQuestion(name: try DNSName("web.frontend"), type: .aaaa)],
            answers: [try .aaaa(try DNSName("web.frontend"), "fd00::2", ttl: 600),
                      .ptr(try DNSName("2.0.1.10.in-addr.arpa"), target: try DNSName("web.frontend"), ttl: 600)],
            authorities: [DNSRecord(name: try DNSName("frontend"), type: .txt, ttl: 5, data: [3, 0x61, 0x62, 0x63])],
            additionals: [.opt(udpPayloadSize: 1232)]
        )
        let back = try DNSMessage.parse(m.encode())
        #expect(back == m)
        #expect(back.header.responseCode == .nameError)
        #expect(back.header.isAuthoritative && back.header.recursionAvailable && back.header.recursionDesired)
        #expect(!back.header.isTruncated)
        #expect(back.answers[0].ipv6 == "fd00::2")
        #expect(back.answers[1].target?.description == "web.frontend")
        #expect(DNSMessage.query(id: 9, name: try DNSName("x"), type: .a, ednsUDPSize: 4096).ednsUDPSize == 4096)
    }

    @Test func truncatesToTheSizeLimitKeepingOPT() throws {
        let name = try DNSName("many.frontend")
        let answers = try (0..<100).map { try DNSRecord.a(name, "10.0.\($0 / 250).\($0 % 250)", ttl: 600) }
        var header = DNSHeader(id: 3)
        header.isResponse = true
        let m = DNSMessage(header: header, questions: [DNSQuestion(name: name, type: .a)], answers: answers,
                           additionals: [.opt(udpPayloadSize: 1232)])
        let full = m.encode()
        #expect(try DNSMessage.parse(full).answers.count == 100)
        #expect(try !DNSMessage.parse(full).header.isTruncated)

        let small = m.encode(maxSize: 512)
        #expect(small.count <= 512)
        let back = try DNSMessage.parse(small)
        #expect(back.header.isTruncated)
        // 12 + 19 (question) + 11 (OPT) leave 470 octets: 29 answers of 16.
        #expect(back.answers.count == 29)
        #expect(back.answers == Array(answers.prefix(29)))
        #expect(back.ednsUDPSize == 1232)
    }

    @Test func recordTargetRejectsBadData() {
        #expect(DNSRecord(name: .root, type: .ptr, ttl: 0, data: [3, 0x61]).target == nil)
        #expect(DNSRecord(name: .root, type: .ptr, ttl: 0, data: [0xC0, 0]).target == nil)
        #expect(DNSRecord(name: .root, type: .ptr, ttl: 0, data: [1, 0x61, 0, 0]).target == nil)
        #expect(DNSRecord(name: .root, type: .a, ttl: 0, data: [1, 0x61, 0]).target == nil)
        #expect(DNSRecord(name: .root, type: .ptr, ttl: 0, data: [1, 0x61, 0]).target?.description == "a")
    }

    @Test func ipAddressText() {
        #expect(IPText.v4("10.1.0.255") == [10, 1, 0, 255])
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1..3.4", "a.b.c.d", "1.2.3.4 ", "1234.1.1.1", ""] {
            #expect(IPText.v4(bad) == nil, "\(bad)")
        }
        let v6: [(String, String)] = [
            ("::", "::"), ("::1", "::1"), ("fd00::2", "fd00::2"), ("FD00:0:0:0:0:0:0:2", "fd00::2"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("1::", "1::"),
            ("::ffff:1.2.3.4", "::ffff:102:304"), ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ]
        for (text, canonical) in v6 {
            guard let bytes = IPText.v6(text) else {
                Issue.record("\(text) did not parse")
                continue
            }
            #expect(bytes.count == 16)
            #expect(IPText.string(v6: bytes) == canonical, "\(text)")
        }
        for bad in [":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7", "g::1", "1.2.3.4::", "::1.2.3", ""] {
            #expect(IPText.v6(bad) == nil, "\(bad)")
        }
    }

    @Test func survivesRandomCorruption() throws {
        var rng = SystemRandomNumberGenerator()
        let base = DNSMessage(
            header: DNSHeader(id: 1),
            questions: [DNSQuestion(name: try DNSName("a.b.example"), type: .a)],
            answers: [try .a(try DNSName("a.b.example"), "1.2.3.4", ttl: 1), .ptr(try DNSName("x.b.example"), target: try DNSName("y.example"), ttl: 1)]
        ).encode()
        var parsed = 0
        for _ in 0..<5000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng))) }
            if let m = try? DNSMessage.parse(bytes) {
                parsed += 1
                // Whatever parsed, encodes and parses again.
                #expect(throws: Never.self) { try DNSMessage.parse(m.encode()) }
            }
        }
        #expect(parsed > 0)
    }
}
