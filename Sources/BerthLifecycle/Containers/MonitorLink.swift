import Foundation
import Glibc
import NIOCore
import NIOPosix
import BerthOS

/// berth-lifecycled's side of a berth-monitor (Specs/monitor.md): launching it, learning when it
/// finished (its control socket closes), reading its exit record, sending control commands.
enum MonitorLink {
    /// What `exit.json` records.
    struct Exit: Decodable {
        var exitCode: Int
        var signal: Int?
        var finishedAt: String
        var oomKilled: Bool?
    }

    /// Launches the monitor; returns once the process runs, or throws the monitor's message.
    static func launch(_ binary: String, args: [String]) throws -> Void {
        let r: Subprocess.Result
        do {
            r = try Subprocess.run(path: binary, args: [binary] + args, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                   captureStderr: true, timeoutSeconds: 120)
        } catch {
            throw LifecycleError.internalError("run \(binary): \(error)")
        }
        guard r.status == 0 else {
            var msg = String(decoding: r.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if msg.hasPrefix("berth-monitor: ") { msg.removeFirst("berth-monitor: ".count) }
            throw MonitorFailure(message: msg.isEmpty ? "berth-monitor exited with status \(r.status)" : msg)
        }
    }

    struct MonitorFailure: Error { var message: String }

    /// Holds a connection to the monitor's control socket and calls `onExit` when it closes (the
    /// monitor exited). False if there is no monitor to connect to.
    static func watch(stateDir: String, onExit: @escaping @Sendable () -> Void) async -> Bool {
        do {
            let ch = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: stateDir + "/monitor.sock").get()
            ch.closeFuture.whenComplete { _ in onExit() }
            return true
        } catch {
            return false
        }
    }

    static func exitRecord(_ stateDir: String) -> Exit? {
        guard let bytes = try? FS.readBytes(stateDir + "/exit.json") else { return nil }
        return try? JSONDecoder().decode(Exit.self, from: Data(bytes))
    }

    /// The monitor's pid if that process still runs (and is a berth-monitor).
    static func alivePid(_ stateDir: String) -> Int32? {
        guard let s = try? FS.readString(stateDir + "/monitor.pid"),
              let pid = Int32(s.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let comm = try? FS.readString("/proc/\(pid)/comm"), comm.hasPrefix("berth-monitor"),
              // A zombie (its reaper may be slow) has finished.
              let state = Proc.stateLetter(pid), state != "Z" && state != "X" else { return nil }
        return pid
    }

    static func initPid(_ stateDir: String) -> Int {
        (try? FS.readString(stateDir + "/init.pid")).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    /// One control command (`resize 24 80`), its `ok` or error.
    static func command(_ stateDir: String, _ line: String) throws {
        let fd: Int32
        do { fd = try UnixSocket.connect(stateDir + "/monitor.sock") } catch {
            throw LifecycleError.conflict("the container's monitor is not running")
        }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let msg = Array((line + "\n").utf8)
        _ = msg.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buf, buf.count, 0)
        let reply = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        guard reply == "ok" else {
            throw LifecycleError.conflict(reply.hasPrefix("error ") ? String(reply.dropFirst(6)) : "monitor did not answer \(line)")
        }
    }
}
