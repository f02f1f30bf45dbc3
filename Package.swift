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
        .executable(name: "berth-monitor", targets: ["berth-monitor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Thin mains.
        .executableTarget(name: "berth", dependencies: ["BerthCLI"]),
        .executableTarget(name: "berthd", dependencies: ["BerthEngineServer"]),
        .executableTarget(name: "berth-lifecycled", dependencies: ["BerthLifecycle"]),
        .executableTarget(name: "berth-runtime", dependencies: ["BerthRuntime"]),
        // The per-container monitor (the role of containerd's shim or conmon), in C to stay small.
        .executableTarget(name: "berth-monitor", cSettings: [.unsafeFlags(["-O2", "-Wall"])]),

        // Libraries.
        // docker's command tree over the Engine API: one file per command; tables, templates, progress, TTY.
        .target(
            name: "BerthCLI",
            dependencies: ["BerthEngineAPI", "BerthEngineClient", "BerthDockerfile", "BerthArchive", "BerthOS",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The Engine API over a unix socket or TCP, blocking (the CLI's and the tests' client).
        .target(name: "BerthEngineClient"),
        // Codable models of the Engine API subset berthd serves (shared with a future client).
        .target(name: "BerthEngineAPI"),
        // HTTP/1.1 on a unix socket: router → handlers → berth-lifecycled over the wire protocol.
        // Docker's classic builder: Dockerfile steps over a backend (berthd's is the lifecycle wire).
        .target(name: "BerthBuild", dependencies: ["BerthDockerfile", "BerthImage", "BerthArchive", "BerthOS"]),
        .target(
            name: "BerthEngineServer",
            dependencies: [
                "BerthEngineAPI", "BerthWire", "BerthOS", "BerthBuild",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "BerthLifecycle",
            dependencies: [
                "BerthImage", "BerthRegistry", "BerthWire", "BerthOS", "BerthArchive", "BerthOCI", "BerthCgroups", "BerthNetwork",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Container networking pieces below the network service: CNI plugin invocation, network
        // namespaces, iptables rules, host port reservations, the embedded DNS resolver.
        .target(
            name: "BerthNetwork",
            dependencies: [
                "BerthOS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // OCI image types, digests, references, content store, layer unpack, snapshots.
        .target(
            name: "BerthImage",
            dependencies: ["BerthOS", "BerthArchive", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Distribution-spec client: auth, pull, push.
        .target(
            name: "BerthRegistry",
            dependencies: [
                "BerthImage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The lifecycle wire protocol: JSON-RPC 2.0, one object per line, on a unix socket.
        .target(
            name: "BerthWire",
            dependencies: [
                "BerthImage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // libarchive behind a safe streaming reader/writer (the only unsafe code above BerthOS).
        .target(name: "BerthArchive", dependencies: ["CArchive", "BerthOS"]),
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
        .target(name: "BerthDockerfile"),

        // C: the clone/setns/exec fragment that runs single-threaded in the child.
        .target(name: "CBerthInit", cSettings: [.unsafeFlags(["-O2", "-Wall"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),

        // Tests.
        .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI"], exclude: ["Samples"]),
        .testTarget(name: "BerthCgroupsTests", dependencies: ["BerthCgroups", "BerthOCI"]),
        .testTarget(name: "BerthSeccompTests", dependencies: ["BerthSeccomp", "BerthOCI", "BerthTestSupport"]),
        .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime", "BerthOCI", "BerthOS"]),
        .target(name: "BerthTestSupport", dependencies: ["BerthOCI", "BerthImage", "BerthWire", "BerthLifecycle", "BerthNetwork", "BerthOS"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthRegistryTests", dependencies: ["BerthRegistry", "BerthImage", "BerthTestSupport"]),
        .testTarget(name: "BerthImageTests", dependencies: ["BerthImage", "BerthArchive", "BerthOS", "BerthTestSupport"]),
        .testTarget(
            name: "BerthNetworkTests",
            dependencies: [
                "BerthNetwork", "BerthOS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "BerthWireTests", dependencies: ["BerthWire", "BerthOS", "BerthTestSupport"]),
        .testTarget(name: "BerthLifecycleTests", dependencies: ["BerthLifecycle", "BerthNetwork", "BerthImage", "BerthRegistry", "BerthWire", "BerthTestSupport"]),
        .testTarget(name: "BerthEngineServerTests", dependencies: ["BerthEngineServer", "BerthEngineAPI", "BerthWire", "BerthOS", "BerthTestSupport"]),
        .testTarget(name: "BerthBuildTests", dependencies: ["BerthBuild", "BerthArchive", "BerthImage"]),
        .testTarget(name: "BerthCLITests", dependencies: ["BerthCLI", "BerthEngineAPI", "BerthEngineClient"]),
        .testTarget(name: "BerthEngineClientTests", dependencies: ["BerthEngineClient"]),
        .testTarget(name: "IntegrationTests", dependencies: ["BerthEngineClient", "BerthOCI", "BerthNetwork", "BerthOS", "BerthImage", "BerthWire", "BerthLifecycle", "BerthTestSupport"]),
        .testTarget(name: "BerthDockerfileTests", dependencies: ["BerthDockerfile"]),
        .testTarget(name: "ConformanceTests", dependencies: ["BerthOCI", "BerthOS", "BerthTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
