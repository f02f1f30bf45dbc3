import BerthOCI
import BerthTestSupport
import Glibc
import Testing

/// OCI runtime spec, config "Process" capabilities: the five sets, as /proc/self/status shows them.
@Suite(.enabled(if: RuntimeHarness.canRunContainers))
struct CapabilitiesTests {
    static let script = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status"

    static func sets(_ out: String) -> [String: String] { statusFields(out) }

    /// As root the kernel's execve raises permitted and effective to bounding ∪ inheritable (no file
    /// capabilities, no securebits), so a config with effective = permitted = bounding and
    /// ambient ⊆ inheritable ⊆ bounding shows every set exactly as configured.
    @Test func allFiveSetsAsRoot() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bounding = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"]
        let inheritable = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]
        let ambient = ["CAP_KILL", "CAP_NET_RAW"]
        let out = try h.shOK(Self.script) { spec in
            spec.process?.capabilities = Capabilities(bounding: bounding, effective: bounding, inheritable: inheritable,
                                                      permitted: bounding, ambient: ambient)
        }
        let s = Self.sets(out)
        #expect(s["CapBnd"] == Cap.hex(Cap.mask(bounding)))
        #expect(s["CapPrm"] == Cap.hex(Cap.mask(bounding)))
        #expect(s["CapEff"] == Cap.hex(Cap.mask(bounding)))
        #expect(s["CapInh"] == Cap.hex(Cap.mask(inheritable)))
        #expect(s["CapAmb"] == Cap.hex(Cap.mask(ambient)))
    }

    /// The runc-style default spec: the same three capabilities in bounding, effective, permitted and
    /// ambient, none inheritable. The kernel only raises an ambient capability that is also
    /// inheritable, so the ambient set ends up empty (runc shows the same).
    @Test func defaultSpecCapabilities() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let s = Self.sets(try h.shOK(Self.script))
        let want = Cap.hex(Cap.mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]))
        #expect(s["CapBnd"] == want)
        #expect(s["CapPrm"] == want)
        #expect(s["CapEff"] == want)
        #expect(s["CapInh"] == Cap.hex(0), "inheritable is not configured")
        #expect(s["CapAmb"] == Cap.hex(0), "ambient needs inheritable")
    }

    /// A non-root process keeps only its ambient capabilities across execve (permitted and
    /// effective become the ambient set); bounding and inheritable are as configured.
    @Test func nonRootUserGetsAmbientAsPermittedAndEffective() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let bounding = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_FOWNER"]
        let out = try h.shOK(Self.script) { spec in
            spec.process?.user = User(uid: 1000, gid: 1000)
            spec.process?.capabilities = Capabilities(bounding: bounding, effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                                      inheritable: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
                                                      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                                                      ambient: ["CAP_NET_BIND_SERVICE"])
        }
        let s = Self.sets(out)
        #expect(s["CapBnd"] == Cap.hex(Cap.mask(bounding)))
        #expect(s["CapInh"] == Cap.hex(Cap.mask(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])))
        #expect(s["CapAmb"] == Cap.hex(Cap.mask(["CAP_NET_BIND_SERVICE"])))
        #expect(s["CapPrm"] == Cap.hex(Cap.mask(["CAP_NET_BIND_SERVICE"])))
        #expect(s["CapEff"] == Cap.hex(Cap.mask(["CAP_NET_BIND_SERVICE"])))
    }

    @Test func noCapabilitiesObjectMeansNoCapabilities() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let s = Self.sets(try h.shOK(Self.script) { $0.process?.capabilities = nil })
        for k in ["CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"] {
            #expect(s[k] == Cap.hex(0), "\(k)")
        }
    }

    @Test func missingCapabilityIsEnforced() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let script = "touch /tmp/f && chown 123 /tmp/f && echo CHOWN_OK"
        let without = try h.sh(script)   // default caps: no CAP_CHOWN
        #expect(without.status != 0)
        #expect(without.stderr.contains("Operation not permitted"), "\(without)")
        let with = try h.sh(script) { spec in
            spec.process?.capabilities?.bounding?.append("CAP_CHOWN")
            spec.process?.capabilities?.effective?.append("CAP_CHOWN")
            spec.process?.capabilities?.permitted?.append("CAP_CHOWN")
        }
        #expect(with.stdout == "CHOWN_OK\n", "\(with)")
    }

    @Test func dockerDefaultCapabilities() throws {
        let h = try RuntimeHarness(); defer { h.cleanup() }
        let caps = Spec.defaultCapabilities
        let s = Self.sets(try h.shOK(Self.script) { spec in
            spec.process?.capabilities = Capabilities(bounding: caps, effective: caps, permitted: caps)
        })
        #expect(s["CapBnd"] == "00000000a80425fb")   // Docker's well-known default mask
        #expect(s["CapEff"] == "00000000a80425fb")
        #expect(s["CapBnd"] == Cap.hex(Cap.mask(caps)))
    }
}
