import Glibc

/// `berthd`: not built yet. The runtime (berth-runtime) is the first brick; this program
/// arrives with its own issue. It says so instead of pretending to work.
public enum BerthEngineServerMain {
    public static func run() -> Never {
        let msg = "berthd: not implemented yet; use berth-runtime (see README.md)\n"
        _ = msg.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
}
