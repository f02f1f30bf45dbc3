/// Everything the container's init must do after clone(), computed by the runtime in Swift
/// and carried out by the C fragment (CBerthInit) without allocating.
public struct InitPlan: Sendable, Equatable {
    public struct MountOp: Sendable, Equatable {
        public var source: String?
        public var destination: String
        public var type: String?
        public var data: String?
        public var flags: UInt
        public var remountFlags: UInt = 0
        public var propagation: UInt = 0
        public var bind = false
        public var destinationIsFile = false
        public var symlink = false
        /// mount_setattr(AT_RECURSIVE) attributes for the recursive options ("rro", …).
        public var recursiveSet: UInt64 = 0
        public var recursiveClear: UInt64 = 0
        public init(source: String?, destination: String, type: String?, data: String?, flags: UInt) {
            self.source = source; self.destination = destination; self.type = type; self.data = data; self.flags = flags
        }
    }

    public struct DeviceOp: Sendable, Equatable {
        public var path: String
        public var hostPath: String
        public var mode: UInt32      // S_IFCHR/S_IFBLK/S_IFIFO | permissions
        public var major: UInt32
        public var minor: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var bind: Bool
        public init(path: String, hostPath: String, mode: UInt32, major: UInt32, minor: UInt32, uid: UInt32, gid: UInt32, bind: Bool) {
            self.path = path; self.hostPath = hostPath; self.mode = mode; self.major = major; self.minor = minor
            self.uid = uid; self.gid = gid; self.bind = bind
        }
    }

    public struct HookOp: Sendable, Equatable {
        public var path: String
        public var args: [String]
        public var env: [String]
        public var timeout: Int
        public init(path: String, args: [String], env: [String], timeout: Int) {
            self.path = path; self.args = args; self.env = env; self.timeout = timeout
        }
    }

    public struct CapSets: Sendable, Equatable {
        public var bounding: UInt64 = 0, effective: UInt64 = 0, permitted: UInt64 = 0
        public var inheritable: UInt64 = 0, ambient: UInt64 = 0
        public var lastCap: Int32 = 40
        public init() {}
    }

    /// How the init waits between create and start.
    public enum StartGate: Sendable, Equatable {
        case fifo(path: String)   // `create`: block opening exec.fifo until `start`
        case syncMessage          // `run`: wait for {"type":"start"} on the sync socket
        case none                 // `exec`: go straight on
    }

    public var cloneFlags: Int32 = 0
    public var unshareCgroupNS = false
    /// Namespaces the child unshares after its joins (when it joins a user namespace, the new
    /// namespaces must belong to it). With a new pid namespace the child forks once more.
    public var unshareFlags: Int32 = 0
    /// Namespaces to setns() into inside the child, in order: (path, CLONE_NEW* type).
    public var joins: [(path: String, type: Int32)] = []
    /// A pid namespace to join: entered by the parent thread before clone(), since setns()
    /// into a pid namespace only affects children.
    public var joinPIDNamespace: String?
    public var isExec = false
    public var execRoot: String?           // /proc/<pid>/root for exec

    public var setupRootfs = false
    public var rootfs = ""
    public var rootPropagation: UInt = 0
    public var rootfsPropagation: UInt = 0
    public var readonlyRoot = false
    public var noPivot = false
    public var mounts: [MountOp] = []
    public var devices: [DeviceOp] = []
    public var devLinks = false
    public var devConsole = false
    /// Flags to remount /dev with once its nodes and links exist (a read-only /dev), 0 = none.
    public var devReadonlyFlags: UInt = 0
    /// Binds are made from detached copies of their sources (open_tree in the parent), so a
    /// source only the host's root can reach still mounts into a user-namespaced container.
    public var bindFromParent = false
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []

    public var hostname: String?
    public var domainname: String?
    public var sysctls: [(key: String, value: String)] = []
    public var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)] = []
    public var personality: UInt?

    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var additionalGids: [UInt32] = []
    public var setGroups = true
    public var umask: Int32 = -1
    public var caps: CapSets?
    public var noNewPrivileges = false

    public var seccompFilter: [UInt64] = []  // struct sock_filter[], one per element
    public var seccompFlags: UInt32 = 0

    public var cwd = "/"
    public var args: [String] = []
    public var env: [String] = []
    public var preserveFds: Int32 = 0

    public var terminal = false
    public var consoleSize: (cols: UInt16, rows: UInt16)?

    public var gate: StartGate = .none
    public var createContainerHooks: [HookOp] = []
    public var startContainerHooks: [HookOp] = []
    public var wantRuntimeHooks = false

    public init() {}

    /// The PATH the init searches for args[0], from the process environment.
    public var pathEnv: String? {
        env.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
    }

    public static func == (a: InitPlan, b: InitPlan) -> Bool {
        a.cloneFlags == b.cloneFlags && a.mounts == b.mounts && a.devices == b.devices && a.args == b.args
            && a.joins.map(\.path) == b.joins.map(\.path) && a.maskedPaths == b.maskedPaths
            && a.readonlyPaths == b.readonlyPaths && a.caps == b.caps && a.uid == b.uid && a.gid == b.gid
            && a.env == b.env && a.cwd == b.cwd && a.gate == b.gate
    }
}
