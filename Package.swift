// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth-lifecycled", targets: ["berth-lifecycled"]),
        .executable(name: "berth-runtime", targets: ["berth-runtime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Thin mains.
        .executableTarget(name: "berth", dependencies: ["BerthCLI"]),
        .executableTarget(name: "berthd", dependencies: ["BerthEngineServer"]),
        .executableTarget(name: "berth-lifecycled", dependencies: ["BerthLifecycle"]),
        .executableTarget(name: "berth-runtime", dependencies: ["BerthRuntime"]),

        // Libraries.
        .target(name: "BerthCLI"),
        .target(name: "BerthEngineServer"),
        .target(name: "BerthLifecycle"),
        .target(
            name: "BerthRuntime",
            dependencies: [
                "BerthOCI", "BerthOS", "BerthCgroups", "BerthSeccomp", "CBerthInit", "CCap",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "BerthOCI"),
        .target(name: "BerthCgroups", dependencies: ["BerthOCI", "BerthOS"]),
        .target(name: "BerthSeccomp", dependencies: ["BerthOCI", "BerthOS", "CSeccomp"]),
        .target(name: "BerthOS", dependencies: ["CBerthInit"]),

        // C: the clone/setns/exec fragment that runs single-threaded in the child.
        .target(name: "CBerthInit", cSettings: [.unsafeFlags(["-O2", "-Wall"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),

        // Tests.
        .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI"], exclude: ["Samples"]),
        .testTarget(name: "BerthCgroupsTests", dependencies: ["BerthCgroups", "BerthOCI"]),
        .testTarget(name: "BerthSeccompTests", dependencies: ["BerthSeccomp", "BerthOCI", "BerthTestSupport"]),
        .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime", "BerthOCI", "BerthOS"]),
        .target(name: "BerthTestSupport", dependencies: ["BerthOCI"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "IntegrationTests", dependencies: ["BerthOCI", "BerthTestSupport"]),
        .testTarget(name: "ConformanceTests", dependencies: ["BerthOCI", "BerthTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
