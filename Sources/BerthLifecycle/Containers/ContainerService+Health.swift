import Foundation
import Glibc
import BerthImage
import BerthOS
import BerthWire

/// Docker's healthchecks (daemon/health.go): a probe exec every Interval, killed after Timeout;
/// Retries consecutive failures make the container unhealthy; failures during StartPeriod don't
/// count. Each status change is an event (`health_status: healthy`).
extension ContainerService {
    static let defaultProbeInterval: Double = 30, defaultProbeTimeout: Double = 30, defaultRetries = 3
    static let maxProbeOutput = 4096

    static func healthEnabled(_ h: HealthConfig) -> Bool {
        guard let first = h.test?.first else { return false }
        return first != "NONE"
    }

    static func probeCommand(_ h: HealthConfig) -> [String]? {
        guard let test = h.test, let kind = test.first else { return nil }
        switch kind {
        case "CMD": return test.count > 1 ? Array(test.dropFirst()) : nil
        case "CMD-SHELL": return test.count > 1 ? ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")] : nil
        default: return nil
        }
    }

    func startHealthcheck(_ id: String) {
        guard let c = record(id), let h = c.config.healthcheck, Self.healthEnabled(h), let cmd = Self.probeCommand(h) else { return }
        func seconds(_ ns: Int64?, _ d: Double) -> Double { (ns ?? 0) > 0 ? Double(ns ?? 0) / 1e9 : d }
        let interval = seconds(h.interval, Self.defaultProbeInterval)
        let timeout = seconds(h.timeout, Self.defaultProbeTimeout)
        let startPeriod = seconds(h.startPeriod, 0)
        let retries = (h.retries ?? 0) > 0 ? h.retries ?? Self.defaultRetries : Self.defaultRetries
        let began = Date()
        let task = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                if Task.isCancelled { return }
                guard let now = record(id), now.state.running else { return }
                if now.state.paused { continue }
                let start = Self.now()
                let (code, output) = await probe(id, cmd: cmd, timeout: timeout)
                let inStart = Date().timeIntervalSince(began) < startPeriod
                recordProbe(id, log: ContainerState.HealthLog(start: start, end: Self.now(), exitCode: code, output: output),
                            retries: retries, inStartPeriod: inStart)
            }
        }
        slot(id).live.withLockedValue { l in l.healthTask?.cancel(); l.healthTask = task }
    }

    func stopHealthcheck(_ id: String) {
        let t = slot(id).live.withLockedValue { l -> Task<Void, Never>? in let t = l.healthTask; l.healthTask = nil; return t }
        t?.cancel()
    }

    /// Runs one probe: its exit code (-1 on timeout, as Docker's) and output.
    func probe(_ id: String, cmd: [String], timeout: Double) async -> (Int, String) {
        do {
            let execID = try execCreate(ExecCreateParams(id: id, config: ExecConfig(cmd: cmd)), internalProbe: true)
            defer { discardExec(execID) }
            let collected = OutputCollector()
            let run = Task { [self] in try await execStart(ExecStartParams(execId: execID), send: { collected.add($0) }) }
            let timer = Task { [self] in
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                guard !Task.isCancelled, let e = try? exec(execID), e.running, e.pid > 0 else { return }
                collected.timedOut()
                _ = Glibc.kill(Int32(e.pid), SIGKILL)
            }
            let r = try await run.value
            timer.cancel()
            if collected.didTimeOut { return (-1, "Health check exceeded timeout (\(Int(timeout))s)") }
            return (r.exitCode ?? -1, collected.text)
        } catch {
            return (-1, "\(error)")
        }
    }

    final class OutputCollector: Sendable {
        let state = NIOLockedValueBox<(text: String, timedOut: Bool)>(("", false))
        func add(_ b: LogBatch) {
            state.withLockedValue { s in
                for e in b.entries where s.text.utf8.count < ContainerService.maxProbeOutput { s.text += e.log }
                if s.text.utf8.count > ContainerService.maxProbeOutput { s.text = String(s.text.utf8.prefix(ContainerService.maxProbeOutput)) ?? s.text }
            }
        }
        func timedOut() { state.withLockedValue { $0.timedOut = true } }
        var didTimeOut: Bool { state.withLockedValue { $0.timedOut } }
        var text: String { state.withLockedValue { $0.text } }
    }

    func recordProbe(_ id: String, log: ContainerState.HealthLog, retries: Int, inStartPeriod: Bool) {
        var changed: String?
        guard let c = try? update(id, { r in
            guard r.state.running else { return }
            var h = r.state.health ?? ContainerState.Health(status: "starting")
            let before = h.status
            if log.exitCode == 0 {
                h.status = "healthy"; h.failingStreak = 0
            } else if !inStartPeriod {
                h.failingStreak += 1
                if h.failingStreak >= retries { h.status = "unhealthy" }
            }
            h.log = Array((h.log + [log]).suffix(5))
            r.state.health = h
            if h.status != before { changed = h.status }
        }) else { return }
        emit(c, "exec_die", extra: ["execID": "health", "exitCode": String(log.exitCode)])
        if let changed { emit(c, "health_status: " + changed) }
    }
}

import NIOConcurrencyHelpers
