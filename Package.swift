// swift-tools-version:6.0
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let wsClient: Target.Dependency = .product(name: "WSClient", package: "swift-websocket")
let signalingDependencies: [Target.Dependency] = [
    "CSodium", "Keys", "ConfParser", logging,
    .product(name: "WSCore", package: "swift-websocket"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    .product(name: "GRPCCore", package: "grpc-swift-2"),
    .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOSSL", package: "swift-nio-ssl"),
]
let signalServerDependencies: [Target.Dependency] = [
    "Signaling", "Blocking", logging,
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "HummingbirdCore", package: "hummingbird"),
    .product(name: "HummingbirdTLS", package: "hummingbird"),
    .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
]
// Kubernetes signaling backend (issue 5), part of the Signaling module.
let kubernetesDependencies: [Target.Dependency] = [
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
    .product(name: "Yams", package: "Yams"),
]

let package = Package(
    name: "wg-ice",
    products: [
        .executable(name: "wg-ice-hook", targets: ["wg-ice-hook"]),
        .executable(name: "wg-ice-signal", targets: ["wg-ice-signal"]),
        .executable(name: "wg-ice-resolve", targets: ["wg-ice-resolve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Signaling (issue 4)
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.2.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // Kubernetes signaling backend (issue 5)
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C libraries, found through pkg-config; the apt providers are what scripts/deps installs.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CNice", pkgConfig: "nice", providers: [.apt(["libnice-dev"])]),
        .systemLibrary(name: "CInih", pkgConfig: "inih", providers: [.apt(["libinih-dev"])]),

        .target(name: "Keys", dependencies: ["CSodium"]),
        .target(name: "Addresses"),
        .target(name: "ConfParser", dependencies: ["CInih", "Keys", "Addresses"]),
        .target(name: "CLISupport", dependencies: [argumentParser, logging]),
        // ICE: libnice behind a Swift API; CNiceShim wraps the variadic GObject calls.
        .target(name: "CNiceShim", dependencies: ["CNice"]),
        // Blocking work (spawns, DNS, UAPI/netlink) off the cooperative pool.
        .target(name: "Blocking"),
        .target(name: "ICE", dependencies: ["CNice", "CNiceShim", "Blocking", logging]),
        // One ICE agent per process, driven over stdin/stdout, for the network-namespace tests and bench/ice.sh.
        .executableTarget(name: "ice-peer", dependencies: ["ICE", "Session"]),
        .executableTarget(name: "ice-bench", dependencies: ["ICE"]),
        .systemLibrary(name: "CNetlink"),
        .target(name: "WireGuard", dependencies: ["Keys", "Addresses", "CNetlink"]),

        .executableTarget(name: "wg-ice-hook", dependencies: ["ConfParser", "CLISupport", "Session", "WireGuard", argumentParser, logging]),
        // libFuzzer target for ConfParser when built by scripts/fuzz-confparser; an input replayer otherwise.
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "confparser-fuzz", dependencies: ["ConfParser", "CFuzzerDriver"]),

        // Signaling (issue 4): protocol, crypto, envelopes, client backends; the server; their tests.
        .target(name: "Signaling", dependencies: signalingDependencies + kubernetesDependencies),
        .target(name: "SignalServer", dependencies: signalServerDependencies),
        .executableTarget(name: "wg-ice-signal", dependencies: ["SignalServer", "CLISupport", argumentParser, logging]),
        .executableTarget(name: "signal-bench", dependencies: ["Signaling", "Keys", logging, .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")], path: "Sources/signal-bench"),
        .testTarget(name: "SignalingTests", dependencies: ["Signaling", "SignalServer", "TestSupport", wsClient] + signalingDependencies),
        .testTarget(name: "KubernetesBackendTests", dependencies: [
            "Signaling", "TestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], exclude: ["Emulator"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ConfParserTests", dependencies: ["ConfParser", "TestSupport"], exclude: ["Corpus"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "TestSupport", "ICETestSupport"]),
        .target(name: "ICETestSupport", dependencies: ["ICE", "TestSupport"], path: "Tests/ICETestSupport"),
        .testTarget(name: "WireGuardTests", dependencies: ["WireGuard", "Addresses", "TestSupport"]),
        // Drives the WireGuard module from bench/uapi.sh and tests/kernel.sh; not a product.
        // Data paths (issue 7): kernel redirection with nftables, userspace proxy.
        .target(name: "DataPath", dependencies: ["ICE", "WireGuard", "Blocking", "CDatagramIO", logging]),
        .target(name: "CDatagramIO"),
        .testTarget(name: "DataPathTests", dependencies: ["DataPath", "ICE", "WireGuard", "TestSupport", "ICETestSupport"]),
        // One ICE agent plus its data path per process (so per namespace), driven by DataPathTests; not a product.
        .executableTarget(name: "datapath-peer", dependencies: ["DataPath", "ICE", "WireGuard", "ConfParser", "Session", logging],
                          path: "Tests/DataPathPeer"),
        .executableTarget(name: "wireguard-driver", dependencies: ["WireGuard", "TestSupport"], path: "Tests/WireGuardDriver"),
        // The per-interface session (issue 7): ties configuration, WireGuard, signaling, ICE and the data paths.
        .target(name: "Session", dependencies: ["Keys", "ConfParser", "WireGuard", "Signaling", "ICE", "DataPath", "Blocking", "PrivilegeDrop", "TURNTLS", logging]),
        // prctl/capset for the privilege drop (variadic or undeclared in Swift's Glibc).
        .target(name: "CPrivileges"),
        // The one privilege drop of the session and of wg-ice-wireguard: Foundation-free (the daemon links no Foundation).
        .target(name: "PrivilegeDrop", dependencies: ["CPrivileges"]),
        .testTarget(name: "SessionTests", dependencies: ["Session", "TestSupport", "Keys", "ICE", "WireGuard", "ConfParser", "DataPath", logging]),
        // One-shot ICE for scripts (issue 7): the session's machinery without a long-running process.
        .executableTarget(name: "wg-ice-resolve", dependencies: [
            "Session", "ConfParser", "CLISupport", "ICE", "WireGuard", argumentParser, logging,
        ]),
        // TURN over TLS (issue 15): a local TCP listener per turns: server, each connection carried over its own TLS
        // connection (libnice would speak plain TCP to a turns: server).
        .target(name: "TURNTLS", dependencies: [
            "Blocking", logging,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "TURNTLSTests", dependencies: [
            "TURNTLS", "TestSupport", logging,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
    ]
)

// The bundled userspace WireGuard (issue 16): a drop-in for wireguard-go that needs only libsodium and libb2.
package.products.append(.executable(name: "wg-ice-wireguard", targets: ["wg-ice-wireguard"]))
package.targets += [
    .systemLibrary(name: "CBlake2", pkgConfig: "libb2", providers: [.apt(["libb2-dev"])]),
    // TUNSETIFF/SIOCSIFMTU: ifreq is a union.
    .target(name: "CTun"),
    // Optimized in debug builds too: unoptimized generics heap-allocate (coroutine frames, boxes) on every
    // packet, so the test that the data path allocates nothing must see the code as it ships.
    .target(name: "WireGuardDaemon", dependencies: ["Keys", "CSodium", "CBlake2", "CTun", "PrivilegeDrop"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
    .executableTarget(name: "wg-ice-wireguard", dependencies: ["WireGuardDaemon"]),
    .target(name: "CMallocCount", path: "Tests/CMallocCount"),
    .testTarget(name: "WireGuardDaemonTests", dependencies: ["WireGuardDaemon", "Keys", "CMallocCount"]),
]
// libFuzzer targets for the daemon's packet and UAPI parsers when built by scripts/fuzz-wireguard; a replayer
// and seed writer otherwise.
package.targets.append(.executableTarget(name: "wireguard-fuzz", dependencies: ["WireGuardDaemon", "CFuzzerDriver"]))
// The daemon's addresses, networks and endpoints are the project's (module Addresses).
package.targets.first { $0.name == "WireGuardDaemon" }!.dependencies.append("Addresses")
package.targets.first { $0.name == "WireGuardDaemonTests" }!.dependencies.append("Addresses")
