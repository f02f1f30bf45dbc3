import Foundation
import Glibc
import Testing
import BerthOS
@testable import BerthImage

/// Unpack throughput against `tar -xzf`. Off by default (it builds a ~100 MB layer); run with
/// `BERTH_BENCH=1 swift test -c release --filter UnpackBenchmark`. Set BERTH_BENCH_LAYER to
/// reuse an existing .tar.gz.
@Suite struct UnpackBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["BERTH_BENCH"] == "1"))
    func unpackVersusTar() throws {
        let t = try TempDir(); defer { t.cleanup() }
        let layer = ProcessInfo.processInfo.environment["BERTH_BENCH_LAYER"] ?? t.sub("bench.tar.gz")
        if !FS.exists(layer) {
            #expect(try run(["/bin/sh", "-c", "tar -czf \(layer) -C / usr/lib/x86_64-linux-gnu opt/swift/usr/lib/swift/linux 2>/dev/null; true"]) == 0)
        }
        let desc = try descriptor(of: layer)
        func clock() -> Double { var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 }
        var ours: [Double] = [], tars: [Double] = []
        for i in 0..<3 {
            let a = try t.mkdir("ours\(i)")
            let t0 = clock()
            let (_, size) = try LayerUnpacker.unpack(blob: layer, descriptor: desc, into: a, image: "bench")
            ours.append(clock() - t0)
            let b = try t.mkdir("tar\(i)")
            let t1 = clock()
            #expect(try run(["/usr/bin/tar", "-xzf", layer, "-C", b]) == 0)
            tars.append(clock() - t1)
            if i == 0 { print("bench layer: \(desc.size >> 20) MiB compressed, \(size >> 20) MiB uncompressed") }
            try FS.removeAll(a); try FS.removeAll(b)
        }
        let o = ours.min() ?? 0, r = tars.min() ?? 0
        print(String(format: "unpack: berth %.3fs, tar -xzf %.3fs, ratio %.2f", o, r, o / r))
    }
}
