import Foundation
import Testing
@testable import BerthCLI

@Suite struct HumanTests {
    @Test func humanSizeDecimal() {
        #expect(humanSize(0) == "0B")
        #expect(humanSize(999) == "999B")
        #expect(humanSize(1000) == "1kB")
        #expect(humanSize(1024) == "1.02kB")
        #expect(humanSize(4_260_000) == "4.26MB")
        #expect(humanSize(4_264_999) == "4.26MB")
        #expect(humanSize(7_847_425) == "7.85MB")
        #expect(humanSize(1_234_567_890) == "1.23GB")
        #expect(humanSize(5_000_000_000_000) == "5TB")
        #expect(humanSize(2_000_000_000_000_000) == "2PB")
        // %.3g would give 1e+03kB: go-units prints %.0f instead.
        #expect(humanSize(999_500) == "1000kB")
        #expect(humanSize(1_500_000, precision: 4) == "1.5MB")
    }

    @Test func bytesSizeBinary() {
        #expect(bytesSize(0) == "0B")
        #expect(bytesSize(1023) == "1023B")
        #expect(bytesSize(1024) == "1KiB")
        #expect(bytesSize(1536) == "1.5KiB")
        #expect(bytesSize(2_048_000) == "1.953MiB")
        #expect(bytesSize(8_345_000_000) == "7.772GiB")
        #expect(bytesSize(1 << 40) == "1TiB")
    }

    @Test func humanDurationThresholds() {
        let minute = 60.0, hour = 3600.0, day = 86400.0
        #expect(humanDuration(seconds: -5) == "Less than a second")
        #expect(humanDuration(seconds: 0) == "Less than a second")
        #expect(humanDuration(seconds: 0.999) == "Less than a second")
        #expect(humanDuration(seconds: 1) == "1 second")
        #expect(humanDuration(seconds: 1.9) == "1 second")
        #expect(humanDuration(seconds: 2) == "2 seconds")
        #expect(humanDuration(seconds: 59.9) == "59 seconds")
        #expect(humanDuration(seconds: minute) == "About a minute")
        #expect(humanDuration(seconds: 2 * minute - 1) == "About a minute")
        #expect(humanDuration(seconds: 2 * minute) == "2 minutes")
        #expect(humanDuration(seconds: hour - 1) == "59 minutes")
        #expect(humanDuration(seconds: hour) == "About an hour")
        #expect(humanDuration(seconds: hour + 29 * minute) == "About an hour")
        #expect(humanDuration(seconds: hour + 30 * minute) == "2 hours")
        #expect(humanDuration(seconds: 47 * hour) == "47 hours")
        #expect(humanDuration(seconds: 47 * hour + 30 * minute) == "2 days")
        #expect(humanDuration(seconds: 3 * day) == "3 days")
        #expect(humanDuration(seconds: 14 * day - 1) == "14 days")
        #expect(humanDuration(seconds: 14 * day) == "2 weeks")
        #expect(humanDuration(seconds: 59 * day) == "8 weeks")
        #expect(humanDuration(seconds: 60 * day) == "2 months")
        #expect(humanDuration(seconds: 729 * day) == "24 months")
        #expect(humanDuration(seconds: 730 * day) == "2 years")
        #expect(humanDuration(seconds: 3 * 365 * day) == "3 years")
    }

    @Test func agoIsHumanDurationAgo() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ago(now.addingTimeInterval(-7200), now: now) == "2 hours ago")
        #expect(ago(now, now: now) == "Less than a second ago")
    }

    @Test func parseDockerDates() throws {
        let d = try #require(parseDockerDate("2026-11-24T19:02:02.123456789Z"))
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        let base = try #require(utc.date(from: DateComponents(year: 2026, month: 11, day: 24, hour: 19, minute: 2, second: 2)))
        #expect(abs(d.timeIntervalSince(base) - 0.123456789) < 1e-6)
        #expect(parseDockerDate("1970-01-01T00:00:00Z")?.timeIntervalSince1970 == 0)
        #expect(parseDockerDate("2024-01-02T03:04:05+01:00") == parseDockerDate("2024-01-02T02:04:05Z"))
        #expect(parseDockerDate("2024-01-02T03:04:05.5-02:30")?.timeIntervalSince1970
            == (parseDockerDate("2024-01-02T05:34:05Z")?.timeIntervalSince1970).map { $0 + 0.5 })
        #expect(parseDockerDate("0001-01-01T00:00:00Z") == nil)
        #expect(parseDockerDate("") == nil)
        #expect(parseDockerDate("yesterday") == nil)
        #expect(parseDockerDate("2024-13-01T00:00:00Z") == nil)
        #expect(parseDockerDate("2024-01-01T00:00:00") == nil)
    }

    @Test func containerStatusLikeDockerPs() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func before(_ s: Double) -> Date { now.addingTimeInterval(-s) }
        #expect(containerStatus(state: "running", startedAt: before(5), finishedAt: nil, exitCode: 0, health: nil, now: now) == "Up 5 seconds")
        #expect(containerStatus(state: "running", startedAt: before(125), finishedAt: nil, exitCode: 0, health: "healthy", now: now)
            == "Up 2 minutes (healthy)")
        #expect(containerStatus(state: "running", startedAt: before(1), finishedAt: nil, exitCode: 0, health: "starting", now: now)
            == "Up 1 second (health: starting)")
        #expect(containerStatus(state: "running", startedAt: before(7200), finishedAt: nil, exitCode: 0, health: "unhealthy", now: now)
            == "Up 2 hours (unhealthy)")
        #expect(containerStatus(state: "paused", startedAt: before(3), finishedAt: nil, exitCode: 0, health: "healthy", now: now)
            == "Up 3 seconds (Paused)")
        #expect(containerStatus(state: "exited", startedAt: before(60), finishedAt: before(5), exitCode: 0, health: nil, now: now)
            == "Exited (0) 5 seconds ago")
        #expect(containerStatus(state: "exited", startedAt: before(9000), finishedAt: before(4000), exitCode: 137, health: nil, now: now)
            == "Exited (137) About an hour ago")
        #expect(containerStatus(state: "exited", startedAt: nil, finishedAt: nil, exitCode: 0, health: nil, now: now) == "Created")
        #expect(containerStatus(state: "created", startedAt: nil, finishedAt: nil, exitCode: 0, health: nil, now: now) == "Created")
        #expect(containerStatus(state: "restarting", startedAt: before(10), finishedAt: before(2), exitCode: 1, health: nil, now: now)
            == "Restarting (1) 2 seconds ago")
        #expect(containerStatus(state: "removing", startedAt: before(10), finishedAt: nil, exitCode: 0, health: nil, now: now)
            == "Removal In Progress")
        #expect(containerStatus(state: "dead", startedAt: before(10), finishedAt: before(5), exitCode: 0, health: nil, now: now) == "Dead")
    }
}
