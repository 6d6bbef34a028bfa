// swift-tools-version:6.0
import PackageDescription

// The module graph: every module a target imports is one of its direct dependencies (scripts/check-imports
// holds the manifest to that in CI). docs/ARCHITECTURE.md draws it.

// MARK: - Products

let products: [Product] = [
    .executable(name: "wg-ice-hook", targets: ["wg-ice-hook"]),
    .executable(name: "wg-ice-signal", targets: ["wg-ice-signal"]),
    .executable(name: "wg-ice-resolve", targets: ["wg-ice-resolve"]),
    .executable(name: "wg-ice-wireguard", targets: ["wg-ice-wireguard"]),
]

// MARK: - Package dependencies

let packageDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    // Signaling: WebSocket and gRPC clients and server, TLS.
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
    // The Kubernetes API server as a signaling backend (KubernetesSignaling only).
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    // wg-ice-signal: HMAC-SHA1 of coturn's TURN REST API credentials (already in the graph through swift-certificates).
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
]

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let nioWebSocket: Target.Dependency = .product(name: "NIOWebSocket", package: "swift-nio")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let grpcCore: Target.Dependency = .product(name: "GRPCCore", package: "grpc-swift-2")
let grpcHTTP2: Target.Dependency = .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let swiftProtobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")

// MARK: - C libraries and shims

let cTargets: [Target] = [
    // Found through pkg-config; the apt providers are what scripts/deps installs.
    .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
    .systemLibrary(name: "CNice", pkgConfig: "nice", providers: [.apt(["libnice-dev"])]),
    .systemLibrary(name: "CInih", pkgConfig: "inih", providers: [.apt(["libinih-dev"])]),
    .systemLibrary(name: "CBlake2", pkgConfig: "libb2", providers: [.apt(["libb2-dev"])]),
    // UPnP IGD port mapping (SSDP discovery, SOAP calls).
    .systemLibrary(name: "CMiniUPnPc", pkgConfig: "miniupnpc", providers: [.apt(["libminiupnpc-dev"])]),
    .systemLibrary(name: "CNetlink"),
    // libnice's variadic GObject calls, which Swift cannot make.
    .target(name: "CNiceShim", dependencies: ["CNice"]),
    // recvmmsg/sendmmsg for the userspace proxy.
    .target(name: "CDatagramIO"),
    // prctl/capset for the privilege drop (variadic or undeclared in Swift's Glibc).
    .target(name: "CPrivileges"),
    // TUNSETIFF/SIOCSIFMTU: ifreq is a union.
    .target(name: "CTun"),
    // libFuzzer's entry point when a fuzz target is built by scripts/fuzz-*; an input replayer otherwise.
    .target(name: "CFuzzerDriver"),
]

// MARK: - Libraries

let libraries: [Target] = [
    .target(name: "Keys", dependencies: ["CSodium"]),
    .target(name: "Addresses"),
    // The one exponential backoff of every retry loop (signaling reconnects, ICE restarts, port mapping, watch).
    .target(name: "Retry"),
    // Blocking work (spawns, DNS, UAPI/netlink) off the cooperative pool.
    .target(name: "Blocking"),
    // The one privilege drop of the session and of wg-ice-wireguard: Foundation-free (the daemon links no Foundation).
    .target(name: "PrivilegeDrop", dependencies: ["CPrivileges"]),
    .target(name: "CLISupport", dependencies: [argumentParser, logging]),
    // The URLs of the services wg-ice talks to (signaling, STUN/TURN) and their one parser: what `check` accepts is
    // what the clients and wg-ice-signal take. Its own module so that these link no config parser (libinih).
    .target(name: "ServiceURLs", dependencies: ["Addresses"]),
    .target(name: "ConfParser", dependencies: ["CInih", "Keys", "Addresses", "ServiceURLs"]),
    // libnice behind a Swift API.
    .target(name: "ICE", dependencies: ["CNice", "CNiceShim", "Blocking", logging]),
    // WireGuard's configuration interfaces: UAPI (userspace) and generic netlink (kernel), rtnetlink watchers.
    .target(name: "WireGuard", dependencies: ["Keys", "Addresses", "CNetlink"]),
    // Signaling: protocol, end-to-end sealing, envelopes, and the WebSocket and gRPC clients.
    .target(name: "Signaling", dependencies: [
        "CSodium", "Keys", "ServiceURLs", "Retry", logging, nioCore, nioPosix, nioHTTP1, nioWebSocket, nioSSL, grpcCore, grpcHTTP2,
        swiftProtobuf,
        .product(name: "WSCore", package: "swift-websocket"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    ]),
    // The Kubernetes API server as a signaling backend: apart, so that only the session links its HTTP client and
    // YAML parser (kubeconfigs); Signaling takes it as `KubernetesBackend.maker`.
    .target(name: "KubernetesSignaling", dependencies: [
        "Signaling", "CSodium", "Keys", nioCore, nioHTTP1, nioSSL, asyncHTTPClient, swiftProtobuf,
        .product(name: "Yams", package: "Yams"),
    ]),
    .target(name: "SignalServer", dependencies: [
        "Signaling", "Keys", "ServiceURLs", "Blocking", logging, nioCore, nioHTTP1, nioWebSocket, nioSSL, grpcCore, grpcHTTP2,
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]),
    // TURN over TLS: a local TCP listener per turns: server, each connection carried over its own TLS connection
    // (libnice would speak plain TCP to a turns: server).
    .target(name: "TURNTLS", dependencies: ["Blocking", logging, nioCore, nioPosix, nioTLS, nioSSL]),
    // Port mappings on the home router for the ICE agents' UDP ports: PCP, NAT-PMP, UPnP IGD.
    .target(name: "PortMapping", dependencies: ["Addresses", "Blocking", "Retry", "CMiniUPnPc", logging]),
    // Data paths: kernel redirection with nftables, the userspace proxy.
    .target(name: "DataPath", dependencies: ["ICE", "WireGuard", "Keys", "Blocking", "CDatagramIO", logging]),
    // The per-interface session: ties configuration, WireGuard, signaling, ICE and the data paths.
    .target(name: "Session", dependencies: [
        "Keys", "Addresses", "ConfParser", "ServiceURLs", "WireGuard", "Signaling", "KubernetesSignaling", "ICE", "DataPath",
        "Blocking", "PrivilegeDrop", "TURNTLS", "PortMapping", "Retry", logging,
    ]),
    // What `wg-ice-hook watch` decides (which sessions to start, restart after a backoff, stop), with the processes
    // and the time passed in so that it is tested without spawning anything.
    .target(name: "Supervision", dependencies: ["Retry", logging]),
    // The userspace WireGuard, a drop-in for wireguard-go that needs only libsodium and libb2. Optimized in debug
    // builds too: unoptimized generics heap-allocate (coroutine frames, boxes) on every packet, so the test that
    // the data path allocates nothing must see the code as it ships.
    .target(name: "WireGuardDaemon", dependencies: ["Keys", "Addresses", "CSodium", "CBlake2", "CTun", "PrivilegeDrop"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
]

// MARK: - Executables

let executables: [Target] = [
    .executableTarget(name: "wg-ice-hook", dependencies: [
        "ConfParser", "CLISupport", "Session", "Supervision", "WireGuard", argumentParser, logging,
    ]),
    .executableTarget(name: "wg-ice-signal", dependencies: ["SignalServer", "ServiceURLs", "CLISupport", argumentParser, logging]),
    // One-shot ICE for scripts: the session's machinery without a long-running process.
    .executableTarget(name: "wg-ice-resolve", dependencies: [
        "Session", "ConfParser", "CLISupport", "ICE", "WireGuard", "Keys", argumentParser, logging,
    ]),
    .executableTarget(name: "wg-ice-wireguard", dependencies: ["WireGuardDaemon"]),
    // Benchmarks and fuzzers (bench/, scripts/fuzz-*), not products.
    .executableTarget(name: "ice-peer", dependencies: ["ICE", "Session"]),
    .executableTarget(name: "ice-bench", dependencies: ["ICE"]),
    .executableTarget(name: "signal-bench", dependencies: ["Signaling", "Keys", logging, nioCore, nioPosix]),
    .executableTarget(name: "confparser-fuzz", dependencies: ["ConfParser", "Keys", "CFuzzerDriver"]),
    // The daemon's packet and UAPI parsers under libFuzzer; a replayer and seed writer otherwise.
    .executableTarget(name: "wireguard-fuzz", dependencies: ["WireGuardDaemon", "CFuzzerDriver"]),
]

// MARK: - Tests and their tools

let tests: [Target] = [
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .target(name: "ICETestSupport", dependencies: ["ICE", "TestSupport"], path: "Tests/ICETestSupport"),
    .target(name: "CMallocCount", path: "Tests/CMallocCount"),
    // One ICE agent plus its data path per process (so per namespace), driven by DataPathTests.
    .executableTarget(name: "datapath-peer", dependencies: ["DataPath", "ICE", "WireGuard", "ConfParser", "Session", "Keys", logging],
                      path: "Tests/DataPathPeer"),
    // Drives the WireGuard module from bench/uapi.sh and tests/kernel.sh.
    .executableTarget(name: "wireguard-driver", dependencies: ["WireGuard", "Keys", "TestSupport"], path: "Tests/WireGuardDriver"),
    // A PortMapper in a network namespace, driven by PortMappingTests' integration tests.
    .executableTarget(name: "portmap-client", dependencies: ["PortMapping", "Addresses", logging], path: "Tests/PortMapClient"),
    .testTarget(name: "ConfParserTests", dependencies: ["ConfParser", "ServiceURLs", "Keys", "TestSupport"], exclude: ["Corpus"]),
    .testTarget(name: "ICETests", dependencies: ["ICE", "TestSupport", "ICETestSupport"]),
    .testTarget(name: "WireGuardTests", dependencies: ["WireGuard", "Keys", "Addresses", "TestSupport"]),
    .testTarget(name: "DataPathTests", dependencies: ["DataPath", "ICE", "WireGuard", "Keys", "TestSupport", "ICETestSupport"]),
    .testTarget(name: "SignalingTests", dependencies: [
        "Signaling", "SignalServer", "TestSupport", "CSodium", "Keys", "ServiceURLs", "Retry", logging, nioCore, nioPosix, nioHTTP1,
        nioWebSocket, nioSSL, grpcCore, grpcHTTP2, swiftProtobuf,
        .product(name: "WSClient", package: "swift-websocket"),
        .product(name: "WSCore", package: "swift-websocket"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
    ]),
    .testTarget(name: "KubernetesBackendTests", dependencies: [
        "KubernetesSignaling", "Signaling", "Keys", "TestSupport", asyncHTTPClient, nioCore, nioSSL,
    ], exclude: ["Emulator"]),
    .testTarget(name: "TURNTLSTests", dependencies: ["TURNTLS", "TestSupport", logging, nioCore, nioPosix, nioTLS, nioSSL]),
    .testTarget(name: "SessionTests", dependencies: [
        "Session", "TestSupport", "Keys", "ICE", "WireGuard", "ConfParser", "ServiceURLs", "DataPath", "Signaling", "Retry", logging,
    ]),
    .testTarget(name: "PortMappingTests", dependencies: ["PortMapping", "Addresses", "TestSupport", logging]),
    .testTarget(name: "RetryTests", dependencies: ["Retry"]),
    .testTarget(name: "SupervisionTests", dependencies: ["Supervision", logging]),
    .testTarget(name: "WireGuardDaemonTests", dependencies: ["WireGuardDaemon", "Keys", "Addresses", "CMallocCount"]),
]

let package = Package(
    name: "wg-ice",
    products: products,
    dependencies: packageDependencies,
    targets: cTargets + libraries + executables + tests
)
