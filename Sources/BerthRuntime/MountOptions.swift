import Glibc
import BerthOCI

/// An OCI mount's `options` split the way mount(2) needs them (runc's parseMountOptions).
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    public var clearedFlags: UInt = 0
    public var propagation: UInt = 0
    public var data: [String] = []

    static let MS_NOSYMFOLLOW: UInt = 256

    static let setFlags: [String: UInt] = [
        "bind": UInt(MS_BIND), "rbind": UInt(MS_BIND) | UInt(MS_REC), "dirsync": UInt(MS_DIRSYNC),
        "iversion": UInt(MS_I_VERSION), "lazytime": UInt(MS_LAZYTIME), "mand": UInt(MS_MANDLOCK),
        "noatime": UInt(MS_NOATIME), "nodev": UInt(MS_NODEV), "nodiratime": UInt(MS_NODIRATIME),
        "noexec": UInt(MS_NOEXEC), "nosuid": UInt(MS_NOSUID), "nosymfollow": MS_NOSYMFOLLOW,
        "relatime": UInt(MS_RELATIME), "remount": UInt(MS_REMOUNT), "ro": UInt(MS_RDONLY),
        "silent": UInt(MS_SILENT), "strictatime": UInt(MS_STRICTATIME), "sync": UInt(MS_SYNCHRONOUS),
    ]
    static let clearFlags: [String: UInt] = [
        "async": UInt(MS_SYNCHRONOUS), "atime": UInt(MS_NOATIME), "defaults": 0, "dev": UInt(MS_NODEV),
        "diratime": UInt(MS_NODIRATIME), "exec": UInt(MS_NOEXEC), "loud": UInt(MS_SILENT),
        "noiversion": UInt(MS_I_VERSION), "nolazytime": UInt(MS_LAZYTIME), "nomand": UInt(MS_MANDLOCK),
        "norelatime": UInt(MS_RELATIME), "nostrictatime": UInt(MS_STRICTATIME), "rw": UInt(MS_RDONLY),
        "suid": UInt(MS_NOSUID), "symfollow": MS_NOSYMFOLLOW,
    ]
    public static let propagationFlags: [String: UInt] = [
        "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE) | UInt(MS_REC),
        "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED) | UInt(MS_REC),
        "slave": UInt(MS_SLAVE), "rslave": UInt(MS_SLAVE) | UInt(MS_REC),
        "unbindable": UInt(MS_UNBINDABLE), "runbindable": UInt(MS_UNBINDABLE) | UInt(MS_REC),
    ]
    /// Id-mapped mounts, which Berth does not do yet.
    static let unsupported: Set<String> = ["idmap", "ridmap"]

    /// Recursive attributes, applied with mount_setattr(AT_RECURSIVE) to the whole mounted tree:
    /// option → (attributes to set, attributes to clear). MOUNT_ATTR_* values from <linux/mount.h>.
    static let recursive: [String: (set: UInt64, clear: UInt64)] = {
        let rdonly: UInt64 = 0x1, nosuid: UInt64 = 0x2, nodev: UInt64 = 0x4, noexec: UInt64 = 0x8
        let atime: UInt64 = 0x70, noatime: UInt64 = 0x10, strictatime: UInt64 = 0x20, relatime: UInt64 = 0
        let nodiratime: UInt64 = 0x80, nosymfollow: UInt64 = 0x200000
        return [
            "rro": (rdonly, 0), "rrw": (0, rdonly), "rnosuid": (nosuid, 0), "rsuid": (0, nosuid),
            "rnodev": (nodev, 0), "rdev": (0, nodev), "rnoexec": (noexec, 0), "rexec": (0, noexec),
            "rnodiratime": (nodiratime, 0), "rdiratime": (0, nodiratime),
            "rrelatime": (relatime, atime), "rnorelatime": (0, atime), "rnoatime": (noatime, atime),
            "ratime": (0, atime), "rstrictatime": (strictatime, atime), "rnostrictatime": (0, atime),
            "rnosymfollow": (nosymfollow, 0), "rsymfollow": (0, nosymfollow),
        ]
    }()

    public var recursiveSet: UInt64 = 0
    public var recursiveClear: UInt64 = 0

    public static let known: [String] = (Array(setFlags.keys) + Array(clearFlags.keys) + Array(propagationFlags.keys)
                                         + Array(recursive.keys) + ["tmpcopyup"]).sorted()

    public init(_ options: [String], field: String) throws(SpecError) {
        for o in options {
            if let f = MountOptions.setFlags[o] { flags |= f; clearedFlags &= ~f }
            else if let f = MountOptions.clearFlags[o] { flags &= ~f; clearedFlags |= f }
            else if let p = MountOptions.propagationFlags[o] { propagation = p }
            else if let r = MountOptions.recursive[o] {
                recursiveSet = (recursiveSet & ~r.clear) | r.set
                recursiveClear |= r.clear
            }
            else if MountOptions.unsupported.contains(o) {
                throw SpecError(field: field, "mount option \"\(o)\" is not supported")
            } else if o == "tmpcopyup" {
                continue   // runc extension: copy the image's content into a tmpfs; ignored
            } else { data.append(o) }
        }
    }

    public var isBind: Bool { flags & UInt(MS_BIND) != 0 }
}
