// DNS messages in wire format (RFC 1035 §4), with name compression (§4.1.4) both ways and the
// EDNS0 OPT pseudo-record (RFC 6891) read for its UDP payload size.
//
// Every packet is treated as hostile: each read is bounds-checked, a label longer than 63 octets
// (the reserved 0x40/0x80 label types) and a name longer than 255 octets are errors, and a
// compression pointer must point strictly before the start of the name part that holds it, so the
// chain of jumps strictly descends and cannot loop.

/// Why a packet or a name was rejected; `offset` is where in the packet the problem was found.
public enum DNSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The packet ends before the field at `offset` does.
    case truncated(offset: Int)
    /// A label length byte with the reserved top bits 01 or 10 (a length over 63).
    case badLabel(offset: Int)
    /// A name whose wire form exceeds 255 octets.
    case nameTooLong(offset: Int)
    /// A compression pointer that does not point before the name part holding it.
    case badPointer(offset: Int)
    /// Record data whose length does not match its contents.
    case badRecordData(offset: Int)
    /// Text that cannot be a domain name (an empty or over-long label, over 255 octets).
    case invalidName(String)
    /// Text that is not an IPv4 or IPv6 address.
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .truncated(let o): return "DNS message truncated at offset \(o)"
        case .badLabel(let o): return "DNS label type reserved or label over 63 octets at offset \(o)"
        case .nameTooLong(let o): return "DNS name over 255 octets at offset \(o)"
        case .badPointer(let o): return "DNS compression pointer not pointing backwards at offset \(o)"
        case .badRecordData(let o): return "DNS record data length mismatch at offset \(o)"
        case .invalidName(let n): return "invalid DNS name \(n)"
        case .invalidAddress(let a): return "invalid IP address \(a)"
        }
    }
}

/// A resource record or question type.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    public static let opt = DNSRecordType(rawValue: 41)
    public static let any = DNSRecordType(rawValue: 255)

    public var description: String {
        switch self {
        case .a: return "A"
        case .ns: return "NS"
        case .cname: return "CNAME"
        case .soa: return "SOA"
        case .ptr: return "PTR"
        case .mx: return "MX"
        case .txt: return "TXT"
        case .aaaa: return "AAAA"
        case .srv: return "SRV"
        case .opt: return "OPT"
        case .any: return "ANY"
        default: return "TYPE\(rawValue)"
        }
    }
}

/// The 4-bit RCODE of a header.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0xF }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)
}

/// Record classes; only IN is in use.
public enum DNSClass {
    public static let internet: UInt16 = 1
}

/// Message ID and the flags word (QR, OPCODE, AA, TC, RD, RA, Z, RCODE).
public struct DNSHeader: Sendable, Equatable {
    public var id: UInt16
    public var flags: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0) { self.id = id; self.flags = flags }

    public var isResponse: Bool {
        get { flags & 0x8000 != 0 }
        set { set(0x8000, newValue) }
    }
    public var opcode: UInt8 {
        get { UInt8((flags >> 11) & 0xF) }
        set { flags = (flags & ~0x7800) | (UInt16(newValue & 0xF) << 11) }
    }
    public var isAuthoritative: Bool {
        get { flags & 0x0400 != 0 }
        set { set(0x0400, newValue) }
    }
    public var isTruncated: Bool {
        get { flags & 0x0200 != 0 }
        set { set(0x0200, newValue) }
    }
    public var recursionDesired: Bool {
        get { flags & 0x0100 != 0 }
        set { set(0x0100, newValue) }
    }
    public var recursionAvailable: Bool {
        get { flags & 0x0080 != 0 }
        set { set(0x0080, newValue) }
    }
    public var responseCode: DNSResponseCode {
        get { DNSResponseCode(rawValue: UInt8(flags & 0xF)) }
        set { flags = (flags & ~0xF) | UInt16(newValue.rawValue) }
    }

    private mutating func set(_ bit: UInt16, _ on: Bool) { if on { flags |= bit } else { flags &= ~bit } }
}

/// A domain name as its labels (raw octets; comparison of two names with `==` is case-sensitive,
/// `lookupKey` is the case-insensitive form).
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    public static let maxLength = 255
    public static let maxLabelLength = 63

    public let labels: [[UInt8]]

    public static let root = DNSName(unchecked: [])

    init(unchecked labels: [[UInt8]]) { self.labels = labels }

    public init(labels: [[UInt8]]) throws(DNSError) {
        let name = DNSName(unchecked: labels)
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= Self.maxLabelLength }),
              name.wireLength <= Self.maxLength
        else { throw .invalidName(name.description) }
        self = name
    }

    /// Dotted text; one trailing dot is ignored and "" or "." is the root. No escapes are read.
    public init(_ text: String) throws(DNSError) {
        var octets = Array(text.utf8)
        if octets.last == UInt8(ascii: ".") { octets.removeLast() }
        if octets.isEmpty { self = .root; return }
        let labels = octets.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map { Array($0) }
        do { self = try DNSName(labels: labels) } catch { throw .invalidName(text) }
    }

    /// Octets on the wire without compression: a length byte per label and the final zero.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The uncompressed wire form.
    public var wire: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(wireLength)
        for label in labels { out.append(UInt8(label.count)); out.append(contentsOf: label) }
        out.append(0)
        return out
    }

    /// The name in ASCII lowercase with its labels joined by dots, or nil when a label holds a
    /// dot, a space or a byte outside printable ASCII: such a name cannot be one we serve.
    public var lookupKey: String? {
        var out: [UInt8] = []
        out.reserveCapacity(wireLength)
        for (i, label) in labels.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            for b in label {
                guard b > 0x20, b < 0x7F, b != UInt8(ascii: ".") else { return nil }
                out.append(asciiLower(b))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Dotted text as `dig` prints it: dots and backslashes inside a label and unprintable
    /// octets are escaped; the root is ".".
    public var description: String {
        if labels.isEmpty { return "." }
        var out = ""
        for (i, label) in labels.enumerated() {
            if i > 0 { out += "." }
            for b in label {
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(b))
                case 0x21..<0x7F: out += String(UnicodeScalar(b))
                default:
                    let d = String(b)
                    out += "\\" + String(repeating: "0", count: 3 - d.count) + d
                }
            }
        }
        return out
    }

    var lowercasedLabels: [[UInt8]] { labels.map { $0.map(asciiLower) } }
}

@inline(__always) func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

/// One entry of the question section.
public struct DNSQuestion: Sendable, Equatable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSClass.internet) {
        self.name = name; self.type = type; self.recordClass = recordClass
    }
}

/// A resource record. For PTR, CNAME and NS the data is the target name in uncompressed wire
/// form (parsing decompresses it); for other types it is the octets as received.
public struct DNSRecord: Sendable, Equatable {
    public var name: DNSName
    public var type: DNSRecordType
    /// The class, or for OPT the requester's UDP payload size.
    public var recordClass: UInt16
    /// The TTL, or for OPT the extended RCODE, version and flags.
    public var ttl: UInt32
    public var data: [UInt8]

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSClass.internet, ttl: UInt32, data: [UInt8]) {
        self.name = name; self.type = type; self.recordClass = recordClass; self.ttl = ttl; self.data = data
    }

    public static func a(_ name: DNSName, _ address: String, ttl: UInt32) throws(DNSError) -> DNSRecord {
        guard let bytes = IPText.v4(address) else { throw .invalidAddress(address) }
        return DNSRecord(name: name, type: .a, ttl: ttl, data: bytes)
    }

    public static func aaaa(_ name: DNSName, _ address: String, ttl: UInt32) throws(DNSError) -> DNSRecord {
        guard let bytes = IPText.v6(address) else { throw .invalidAddress(address) }
        return DNSRecord(name: name, type: .aaaa, ttl: ttl, data: bytes)
    }

    public static func ptr(_ name: DNSName, target: DNSName, ttl: UInt32) -> DNSRecord {
        DNSRecord(name: name, type: .ptr, ttl: ttl, data: target.wire)
    }

    /// An EDNS0 OPT pseudo-record advertising `udpPayloadSize`, version 0, no options.
    public static func opt(udpPayloadSize: UInt16) -> DNSRecord {
        DNSRecord(name: .root, type: .opt, recordClass: udpPayloadSize, ttl: 0, data: [])
    }

    /// The address of an A record as text.
    public var ipv4: String? { type == .a && data.count == 4 ? IPText.string(v4: data) : nil }
    /// The address of an AAAA record as text (RFC 5952 form).
    public var ipv6: String? { type == .aaaa && data.count == 16 ? IPText.string(v6: data) : nil }
    /// The target of a PTR, CNAME or NS record.
    public var target: DNSName? {
        guard type == .ptr || type == .cname || type == .ns else { return nil }
        var reader = DNSReader(data)
        guard let name = try? reader.name(), reader.offset == data.count else { return nil }
        return name
    }
}

/// A whole message.
public struct DNSMessage: Sendable, Equatable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    public var additionals: [DNSRecord]

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authorities: [DNSRecord] = [], additionals: [DNSRecord] = []) {
        self.header = header; self.questions = questions; self.answers = answers
        self.authorities = authorities; self.additionals = additionals
    }

    /// A standard query for one name, with an OPT record when `ednsUDPSize` is given.
    public static func query(id: UInt16, name: DNSName, type: DNSRecordType, recursionDesired: Bool = true,
                             ednsUDPSize: UInt16? = nil) -> DNSMessage {
        var header = DNSHeader(id: id)
        header.recursionDesired = recursionDesired
        return DNSMessage(header: header, questions: [DNSQuestion(name: name, type: type)],
                          additionals: ednsUDPSize.map { [.opt(udpPayloadSize: $0)] } ?? [])
    }

    /// The UDP payload size from the first OPT record, or nil without EDNS0.
    public var ednsUDPSize: Int? {
        additionals.first(where: { $0.type == .opt }).map { Int($0.recordClass) }
    }

    /// Parses a whole message; octets after the last record are ignored.
    public static func parse(_ bytes: [UInt8]) throws(DNSError) -> DNSMessage {
        var r = DNSReader(bytes)
        let header = DNSHeader(id: try r.u16(), flags: try r.u16())
        let qd = try r.u16(), an = try r.u16(), ns = try r.u16(), ar = try r.u16()
        var questions: [DNSQuestion] = []
        for _ in 0..<qd {
            let name = try r.name()
            questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: try r.u16()), recordClass: try r.u16()))
        }
        func records(_ n: UInt16) throws(DNSError) -> [DNSRecord] {
            var out: [DNSRecord] = []
            for _ in 0..<n { out.append(try r.record()) }
            return out
        }
        let answers = try records(an), authorities = try records(ns), additionals = try records(ar)
        return DNSMessage(header: header, questions: questions, answers: answers,
                          authorities: authorities, additionals: additionals)
    }

    /// The wire form, with names compressed. Records that would take the message past `maxSize`
    /// are left out, answers and authorities with the TC bit set (RFC 2181 §9); OPT records are
    /// kept, as they are written last with room reserved for them.
    public func encode(maxSize: Int = 65535) -> [UInt8] {
        var w = DNSWriter()
        w.u16(header.id)
        w.u16(header.flags)
        let questions = self.questions.prefix(Int(UInt16.max))
        w.u16(UInt16(questions.count))
        let countsAt = w.bytes.count
        w.u16(0); w.u16(0); w.u16(0)
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.recordClass)
        }
        let opts = additionals.filter { $0.type == .opt }
        let reserved = opts.reduce(0) { $0 + $1.name.wireLength + 10 + $1.data.count }
        var counts: [UInt16] = [0, 0, 0]
        var truncated = false
        sections: for (i, section) in [answers, authorities, additionals.filter { $0.type != .opt }].enumerated() {
            for record in section {
                let saved = w
                w.record(record)
                if w.bytes.count + reserved > maxSize || counts[i] == UInt16.max {
                    w = saved
                    truncated = i < 2
                    break sections
                }
                counts[i] += 1
            }
        }
        for record in opts where counts[2] < UInt16.max {
            w.record(record)
            counts[2] += 1
        }
        for (i, c) in counts.enumerated() { w.set16(c, at: countsAt + 2 * i) }
        if truncated { w.bytes[2] |= 0x02 }
        return w.bytes
    }
}

/// A bounds-checked cursor over a packet.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8], offset: Int = 0) { self.bytes = bytes; self.offset = offset }

    mutating func u8() throws(DNSError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    /// Reads a possibly compressed name and leaves `offset` after its in-place part.
    mutating func name() throws(DNSError) -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var pos = offset
        // Each pointer must point before the start of the part that holds it; the starts strictly
        // decrease, so following pointers ends.
        var partStart = offset
        var resume: Int?
        while true {
            guard pos < bytes.count else { throw .truncated(offset: pos) }
            let len = Int(bytes[pos])
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    offset = resume ?? pos + 1
                    return DNSName(unchecked: labels)
                }
                guard pos + 1 + len <= bytes.count else { throw .truncated(offset: pos) }
                length += 1 + len
                guard length <= DNSName.maxLength else { throw .nameTooLong(offset: pos) }
                labels.append(Array(bytes[(pos + 1)..<(pos + 1 + len)]))
                pos += 1 + len
            case 0xC0:
                guard pos + 1 < bytes.count else { throw .truncated(offset: pos) }
                let target = (len & 0x3F) << 8 | Int(bytes[pos + 1])
                guard target < partStart else { throw .badPointer(offset: pos) }
                if resume == nil { resume = pos + 2 }
                partStart = target
                pos = target
            default:
                throw .badLabel(offset: pos)
            }
        }
    }

    mutating func record() throws(DNSError) -> DNSRecord {
        let name = try name()
        let type = DNSRecordType(rawValue: try u16())
        let recordClass = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let start = offset
        guard start + length <= bytes.count else { throw .truncated(offset: start) }
        let data: [UInt8]
        switch type {
        case .ptr, .cname, .ns:
            var sub = DNSReader(bytes, offset: start)
            let target = try sub.name()
            guard sub.offset == start + length else { throw .badRecordData(offset: start) }
            data = target.wire
        default:
            data = Array(bytes[start..<(start + length)])
        }
        offset = start + length
        return DNSRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }
}

/// Builds a packet, compressing names against the suffixes already written.
struct DNSWriter {
    var bytes: [UInt8] = []
    private var suffixes: [[[UInt8]]: Int] = [:]

    init() { bytes.reserveCapacity(512) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xFF)) }
    mutating func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xFFFF)) }
    mutating func set16(_ v: UInt16, at i: Int) { bytes[i] = UInt8(v >> 8); bytes[i + 1] = UInt8(v & 0xFF) }

    mutating func name(_ name: DNSName) {
        let lower = name.lowercasedLabels
        for i in name.labels.indices {
            let suffix = Array(lower[i...])
            if let at = suffixes[suffix] {
                u16(0xC000 | UInt16(at))
                return
            }
            // Pointers have 14 bits.
            if bytes.count < 0x4000 { suffixes[suffix] = bytes.count }
            u8(UInt8(name.labels[i].count))
            bytes.append(contentsOf: name.labels[i])
        }
        u8(0)
    }

    mutating func record(_ r: DNSRecord) {
        name(r.name)
        u16(r.type.rawValue)
        u16(r.recordClass)
        u32(r.ttl)
        u16(UInt16(clamping: r.data.count))
        bytes.append(contentsOf: r.data.prefix(Int(UInt16.max)))
    }
}

/// IP addresses as text and octets, in safe Swift (no inet_pton).
enum IPText {
    static func v4(_ text: String) -> [UInt8]? {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), let v = decimal(part), v <= 255 else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func v6(_ text: String) -> [UInt8]? {
        let s = Array(text.utf8)
        let colon = UInt8(ascii: ":")
        var gap: Int?
        var i = 0
        while i + 1 < s.count {
            if s[i] == colon && s[i + 1] == colon {
                guard gap == nil else { return nil }
                gap = i
                i += 2
            } else {
                i += 1
            }
        }
        guard let gap else { return groups(s[...], allowV4: true).flatMap { $0.count == 16 ? $0 : nil } }
        guard let head = groups(s[..<gap], allowV4: false),
              let tail = groups(s[(gap + 2)...], allowV4: true),
              head.count + tail.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    /// Colon-separated hex groups (an IPv4 tail allowed last), as octets; "" is no groups.
    private static func groups(_ s: ArraySlice<UInt8>, allowV4: Bool) -> [UInt8]? {
        if s.isEmpty { return [] }
        let parts = s.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var out: [UInt8] = []
        for (i, part) in parts.enumerated() {
            if allowV4 && i == parts.count - 1 && part.contains(UInt8(ascii: ".")) {
                guard let v4 = v4(String(decoding: part, as: UTF8.self)) else { return nil }
                out += v4
                continue
            }
            guard (1...4).contains(part.count), let v = hex(part) else { return nil }
            out.append(UInt8(v >> 8))
            out.append(UInt8(v & 0xFF))
        }
        return out
    }

    static func decimal(_ s: some Collection<UInt8>) -> Int? {
        var v = 0
        for c in s {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(c - UInt8(ascii: "0"))
        }
        return v
    }

    static func hex(_ s: some Collection<UInt8>) -> Int? {
        var v = 0
        for c in s {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v * 16 + Int(d)
        }
        return v
    }

    static func string(v4 b: [UInt8]) -> String { b.map(String.init).joined(separator: ".") }

    /// RFC 5952: lowercase hex, no leading zeros, the first longest run of two or more zero
    /// groups as "::".
    static func string(v6 b: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        var best = (start: -1, count: 0)
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > best.count && j - i >= 2 { best = (i, j - i) }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if best.start < 0 { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.count)..<8)
    }
}
