import ArgumentParser
import Glibc
import BerthOS

struct CreateFlags: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to the bundle directory (default: the current directory).")
    var bundle: String = "."
    @Option(name: .customLong("pid-file"), help: "File to write the container's init pid to.")
    var pidFile: String?
    @Option(name: .customLong("console-socket"), help: "Unix socket to send the pty master to (terminal: true).")
    var consoleSocket: String?
    @Flag(name: .customLong("no-pivot"), help: "Use MS_MOVE and chroot instead of pivot_root.")
    var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Do not create a new session keyring (accepted for runc compatibility).")
    var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Number of extra fds (from 3) to pass to the container.")
    var preserveFds: Int32 = 0

    var options: Runtime.CreateOptions {
        var o = Runtime.CreateOptions(bundle: bundle)
        o.pidFile = pidFile; o.consoleSocket = consoleSocket; o.noPivot = noPivot; o.preserveFds = preserveFds
        return o
    }
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a container; its init waits until `start`.")
    @OptionGroup var flags: CreateFlags
    @Argument(help: "Container id.") var id: String

    func run() throws {
        perform {
            let rt = try globals.runtime()
            try rt.create(id: id, options: flags.options).child.closeSync()
        }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a created container.")
    @Argument(help: "Container id.") var id: String
    func run() throws { perform { try globals.runtime().start(id: id) } }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create and start a container; in the foreground, wait for it and delete it.")
    @OptionGroup var flags: CreateFlags
    @Flag(name: [.short, .long], help: "Detach from the container's process.") var detach = false
    @Flag(name: .customLong("keep"), help: "Do not delete the container after it exits.") var keep = false
    @Argument(help: "Container id.") var id: String

    func run() throws {
        var code: Int32 = 0
        perform { code = try globals.runtime().run(id: id, options: flags.options, detach: detach, keep: keep) }
        Glibc.exit(code)
    }
}
