import Glibc

/// `berth`: not built yet. The runtime (berth-runtime) is the first brick; this program
/// arrives with its own issue. It says so instead of pretending to work.
public enum BerthCLIMain {
    public static func run() -> Never {
        let msg = "berth: not implemented yet; use berth-runtime (see README.md)\n"
        _ = msg.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
}
