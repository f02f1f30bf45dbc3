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

    /// Names this runtime or kernel doesn't know are skipped and reported through `unknown`,
    /// as runc does (it warns and runs).
    static func mask(_ names: [String]?, field: String, unknown: inout [String]) -> UInt64 {
        var m: UInt64 = 0
        for n in names ?? [] {
            guard let v = number(n), v <= lastCap else {
                if !unknown.contains(n) { unknown.append(n) }
                continue
            }
            m |= 1 << UInt64(v)
        }
        return m
    }

    static func sets(_ caps: Capabilities, field: String, unknown: inout [String]) -> InitPlan.CapSets {
        var s = InitPlan.CapSets()
        s.bounding = mask(caps.bounding, field: "\(field).bounding", unknown: &unknown)
        s.effective = mask(caps.effective, field: "\(field).effective", unknown: &unknown)
        s.permitted = mask(caps.permitted, field: "\(field).permitted", unknown: &unknown)
        s.inheritable = mask(caps.inheritable, field: "\(field).inheritable", unknown: &unknown)
        s.ambient = mask(caps.ambient, field: "\(field).ambient", unknown: &unknown)
        s.lastCap = lastCap
        return s
    }
}
