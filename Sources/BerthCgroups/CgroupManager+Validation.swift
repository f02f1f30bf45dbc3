import BerthOCI

// Values go into kernel files verbatim; anything that could smuggle a second value or a path
// into a write (spaces, newlines, slashes) is rejected here, naming the spec field.

extension CgroupManager {
    static func validate(_ r: Resources) throws(CgroupError) {
        let field = "linux.resources"
        if let memory = r.memory {
            for (name, value) in [("limit", memory.limit), ("reservation", memory.reservation),
                                  ("swap", memory.swap), ("kernel", memory.kernel), ("kernelTCP", memory.kernelTCP)] {
                if let value, value < -1 {
                    throw .invalid("\(field).memory.\(name)", "\(value) is negative (use -1 for unlimited)")
                }
            }
            if let swappiness = memory.swappiness, swappiness > 100 {
                throw .invalid("\(field).memory.swappiness", "\(swappiness) is outside 0-100")
            }
        }
        if let cpu = r.cpu {
            if let cpus = cpu.cpus { try validateCpuList(cpus, field: "\(field).cpu.cpus") }
            if let mems = cpu.mems { try validateCpuList(mems, field: "\(field).cpu.mems") }
            if let shares = cpu.shares, shares != 0, shares < 2 || shares > 262_144 {
                throw .invalid("\(field).cpu.shares", "\(shares) is outside 2-262144")
            }
        }
        if let blockIO = r.blockIO {
            try validateWeight(blockIO.weight, field: "\(field).blockIO.weight")
            try validateWeight(blockIO.leafWeight, field: "\(field).blockIO.leafWeight")
            for (index, device) in (blockIO.weightDevice ?? []).enumerated() {
                let name = "\(field).blockIO.weightDevice[\(index)]"
                try validateDeviceNumbers(device.major, device.minor, field: name)
                try validateWeight(device.weight, field: name + ".weight")
                try validateWeight(device.leafWeight, field: name + ".leafWeight")
            }
            let throttles = [("throttleReadBpsDevice", blockIO.throttleReadBpsDevice),
                             ("throttleWriteBpsDevice", blockIO.throttleWriteBpsDevice),
                             ("throttleReadIOPSDevice", blockIO.throttleReadIOPSDevice),
                             ("throttleWriteIOPSDevice", blockIO.throttleWriteIOPSDevice)]
            for (name, devices) in throttles {
                for (index, device) in (devices ?? []).enumerated() {
                    try validateDeviceNumbers(device.major, device.minor, field: "\(field).blockIO.\(name)[\(index)]")
                }
            }
        }
        for (index, limit) in (r.hugepageLimits ?? []).enumerated() {
            if !isHugepageSize(limit.pageSize) {
                throw .invalid("\(field).hugepageLimits[\(index)].pageSize",
                               "\"\(limit.pageSize)\" is not of the form <number>KB, <number>MB or <number>GB")
            }
        }
        for (index, rule) in (r.devices ?? []).enumerated() {
            _ = try DeviceRule(rule, field: "\(field).devices[\(index)]")
        }
        for (index, priority) in (r.network?.priorities ?? []).enumerated() {
            if !isPlainToken(priority.name) {
                throw .invalid("\(field).network.priorities[\(index)].name", "\"\(priority.name)\" is not an interface name")
            }
        }
        for name in (r.rdma ?? [:]).keys.sorted() where !isPlainToken(name) {
            throw .invalid("\(field).rdma", "\"\(name)\" is not an RDMA device name")
        }
        for key in (r.unified ?? [:]).keys.sorted() {
            if key.isEmpty || key == "." || key == ".." || key.contains("/") || key.contains("\0") {
                throw .invalid("\(field).unified[\"\(key)\"]", "the key must be a plain cgroup file name such as memory.high")
            }
        }
    }

    /// runc's `^[0-9,-]*$`: cpu and node lists like `0-3,7`.
    static func validateCpuList(_ list: String, field: String) throws(CgroupError) {
        let allowed = list.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "-") }
        if !allowed {
            throw .invalid(field, "\"\(list)\" is not a list like 0-3,7 (only digits, ',' and '-')")
        }
    }

    /// Block I/O weights are 10-1000 in v1; 0 means unset.
    private static func validateWeight(_ weight: UInt16?, field: String) throws(CgroupError) {
        if let weight, weight != 0, weight < 10 || weight > 1000 {
            throw .invalid(field, "\(weight) is outside 10-1000")
        }
    }

    private static func validateDeviceNumbers(_ major: Int64, _ minor: Int64, field: String) throws(CgroupError) {
        if major < 0 || minor < 0 || major > Int64(UInt32.max) || minor > Int64(UInt32.max) {
            throw .invalid(field, "device \(major):\(minor) is not a valid major:minor pair")
        }
    }

    /// `2MB`, `1GB`, `64KB`: the names hugetlb files use.
    static func isHugepageSize(_ size: String) -> Bool {
        let utf8 = Array(size.utf8)
        guard utf8.count >= 3 else { return false }
        let unit = String(decoding: utf8.suffix(2), as: UTF8.self)
        let digits = utf8.dropLast(2)
        return ["KB", "MB", "GB"].contains(unit) && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// A name written inside a `name value` line must not contain separators.
    private static func isPlainToken(_ name: String) -> Bool {
        !name.isEmpty && !name.contains(where: { $0.isWhitespace || $0 == "\0" })
    }
}
