import Foundation
import Testing
@testable import BerthCLI

/// The pure parts of the image and system commands: rows, references, event lines, df sums.
@Suite struct ImageCommandsTests {
    @Test func imageRowsPerRepositoryTagAndDanglingNone() {
        let img: [String: Any] = ["Id": "sha256:0123456789abcdef0123", "RepoTags": ["busybox:latest", "busybox:1", "127.0.0.1:5000/a/b:2"],
                                  "RepoDigests": ["busybox@sha256:dd"], "Created": 0, "Size": 10, "Containers": 2, "SharedSize": -1]
        let rows = ImageRows.rows(img, digests: false, noTrunc: false)
        #expect(rows.map { "\($0["Repository"]!):\($0["Tag"]!)" } == ["busybox:latest", "busybox:1", "127.0.0.1:5000/a/b:2"])
        #expect(rows[0]["ID"] as? String == "0123456789ab" && rows[0]["Containers"] as? String == "2")
        let withDigests = ImageRows.rows(img, digests: true, noTrunc: true)
        #expect(withDigests[0]["Digest"] as? String == "sha256:dd" && withDigests[2]["Digest"] as? String == "<none>")
        #expect(withDigests[0]["ID"] as? String == "sha256:0123456789abcdef0123")
        let dangling = ImageRows.rows(["Id": "sha256:ff", "RepoTags": [String](), "RepoDigests": [String]()], digests: false, noTrunc: false)
        #expect(dangling.count == 1 && dangling[0]["Repository"] as? String == "<none>" && dangling[0]["Tag"] as? String == "<none>")
        // Digest-only references get a row of their own.
        let byDigest = ImageRows.rows(["Id": "sha256:ee", "RepoTags": [String](), "RepoDigests": ["docker.io/library/alpine@sha256:aa"]],
                                      digests: false, noTrunc: false)
        #expect(byDigest.count == 1 && byDigest[0]["Repository"] as? String == "alpine" && byDigest[0]["Tag"] as? String == "<none>")
    }

    @Test func qualifiedReferences() {
        #expect(ImageReference.qualified("busybox") == "docker.io/library/busybox")
        #expect(ImageReference.qualified("me/app") == "docker.io/me/app")
        #expect(ImageReference.qualified("127.0.0.1:5000/team/bb") == "127.0.0.1:5000/team/bb")
        #expect(ImageReference.qualified("docker.io/library/busybox") == "docker.io/library/busybox")
        #expect(ImageReference.familiar("docker.io/library/busybox:latest") == "busybox:latest")
    }

    @Test func historyTruncatesCreatedByTo45() {
        let long = String(repeating: "x", count: 60)
        let row = History.row(["Id": "<missing>", "Created": 0, "CreatedBy": long, "Size": 0, "Comment": ""], human: true, noTrunc: false)
        #expect((row["CreatedBy"] as? String)?.count == 45 && (row["CreatedBy"] as? String)?.hasSuffix("…") == true)
        #expect(row["ID"] as? String == "<missing>")
        let raw = History.row(["Id": "sha256:abc", "Created": 0, "CreatedBy": "a\tb", "Size": 1234], human: false, noTrunc: true)
        #expect(raw["Size"] as? String == "1234" && raw["CreatedBy"] as? String == "a b" && raw["ID"] as? String == "sha256:abc")
    }

    @Test func eventLinesAsDocker() {
        let e: [String: Any] = ["Type": "container", "Action": "start", "Actor": ["ID": "abc", "Attributes": ["name": "x", "image": "busybox"]],
                                "time": 1_795_546_922, "timeNano": Int64(1_795_546_922_123_456_789)]
        #expect(Events.line(e, timeZone: TimeZone(identifier: "UTC")!)
            == "2026-11-24T19:02:02.123456789Z container start abc (image=busybox, name=x)\n")
        #expect(Events.line(e, timeZone: TimeZone(secondsFromGMT: 3600)!).hasPrefix("2026-11-24T20:02:02.123456789+01:00 "))
    }

    @Test func eventTimestamps() throws {
        let now = Date(timeIntervalSince1970: 1000)
        #expect(try Events.timestamp("1500", now: now) == "1500")
        #expect(try Events.timestamp("10s", now: now) == "990.000000000")
        #expect(try Events.timestamp("1m30s", now: now) == "910.000000000")
        #expect(try Events.timestamp("1970-01-01T00:01:00Z", now: now) == "60.000000000")
        #expect(throws: CLIError.self) { try Events.timestamp("yesterday", now: now) }
    }

    @Test func diskUsageSummary() {
        let du: [String: Any] = [
            "LayersSize": 1000,
            "Images": [["Size": 600, "SharedSize": 0, "Containers": 1], ["Size": 400, "SharedSize": 0, "Containers": 0]],
            "Containers": [["State": "running", "SizeRw": 10], ["State": "exited", "SizeRw": 30]],
            "Volumes": [["UsageData": ["Size": 100, "RefCount": 1]], ["UsageData": ["Size": 50, "RefCount": 0]]],
            "BuildCache": [[String: Any]](),
        ]
        let rows = SystemDF.summary(du)
        #expect(rows.map { $0["Type"] as? String } == ["Images", "Containers", "Local Volumes", "Build Cache"])
        #expect(rows[0]["Active"] as? String == "1" && rows[0]["Reclaimable"] as? String == "\(humanSize(400)) (40%)")
        #expect(rows[1]["Active"] as? String == "1" && rows[1]["Reclaimable"] as? String == "\(humanSize(30)) (75%)")
        #expect(rows[2]["Size"] as? String == humanSize(150) && rows[2]["Reclaimable"] as? String == "\(humanSize(50)) (33%)")
        #expect(rows[3]["TotalCount"] as? String == "0" && rows[3]["Reclaimable"] as? String == humanSize(0))
    }

    @Test func pruneWarnings() {
        #expect(SystemPrune.warning(all: false, volumes: false, filters: []) == """
            WARNING! This will remove:
              - all stopped containers
              - all networks not used by at least one container
              - all dangling images
              - all dangling build cache

            Are you sure you want to continue?
            """)
        #expect(SystemPrune.warning(all: true, volumes: true, filters: []).contains("  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n"))
    }

    @Test func versionTemplateColumns() {
        let text = Version.render(client: ["Version": "0.1.0", "ApiVersion": "1.41", "DefaultAPIVersion": "1.43", "Os": "linux", "Arch": "amd64", "Context": "default"],
                                  server: ["Platform": ["Name": "Berth"], "Components": [["Name": "Engine", "Version": "1.0", "Details": ["ApiVersion": "1.43", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"]]]])
        #expect(text.hasPrefix("Client:\n Version:           0.1.0\n API version:       1.41 (downgraded from 1.43)\n"))
        #expect(text.contains("\nServer: Berth\n Engine:\n  Version:          1.0\n  API version:      1.43 (minimum version 1.24)\n"))
    }

    @Test func filtersAsDockersJSON() throws {
        #expect(try CommandSupport.filters(["dangling=true", "label=a=b", "label=c"]) == #"{"dangling":{"true":true},"label":{"a=b":true,"c":true}}"#)
        #expect(try CommandSupport.filters([]) == nil)
        #expect(throws: CLIError.self) { try CommandSupport.filters(["nope"]) }
    }
}
