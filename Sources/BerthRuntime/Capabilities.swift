import CCap
import Glibc
import BerthOCI
import BerthOS

/// Capability names to numbers, through libcap (so names track the installed kernel headers).
enum CapabilityNames {
    static func number(_ name: String) -> Int32? {
        var value: cap_value_t = 0
        // libcap takes names without the CAP_ prefix, case-insensitively.
        let bare = name.hasPrefix("CAP_") ? String(name.dropFirst(4)).lowercased() : name.lowercased()
        if cap_from_name(bare, &value) == 0 { return Int32(value) }
        return Spec.capabilityNames.firstIndex(of: name.uppercased()).map { Int32($0) }
    }

    /// Highest capability the running kernel knows.
    static var lastCap: Int32 {
        let bits = cap_max_bits()
        return bits > 0 ? Int32(bits) - 1 : Int32(Spec.capabilityNames.count - 1)
    }

    /// All capabilities this kernel knows, by name.
    static var all: [String] {
        (0...Int(lastCap)).map { i in
            if let cstr = cap_to_name(cap_value_t(i)) {
                defer { cap_free(cstr) }
                let n = String(cString: cstr)
                return n.hasPrefix("cap_") ? "CAP_" + n.dropFirst(4).uppercased() : n.uppercased()
            }
            return i < Spec.capabilityNames.count ? Spec.capabilityNames[i] : "CAP_\(i)"
        }
    }

    static func mask(_ names: [String]?, field: String) throws(SpecError) -> UInt64 {
        var m: UInt64 = 0
        for (i, n) in (names ?? []).enumerated() {
            guard let v = number(n) else { throw SpecError(field: "\(field)[\(i)]", "unknown capability \"\(n)\"") }
            // Capabilities the kernel doesn't know are skipped, as runc does (with a warning there).
            if v <= lastCap { m |= 1 << UInt64(v) }
        }
        return m
    }

    static func sets(_ caps: Capabilities, field: String) throws(SpecError) -> InitPlan.CapSets {
        var s = InitPlan.CapSets()
        s.bounding = try mask(caps.bounding, field: "\(field).bounding")
        s.effective = try mask(caps.effective, field: "\(field).effective")
        s.permitted = try mask(caps.permitted, field: "\(field).permitted")
        s.inheritable = try mask(caps.inheritable, field: "\(field).inheritable")
        s.ambient = try mask(caps.ambient, field: "\(field).ambient")
        s.lastCap = lastCap
        return s
    }
}
