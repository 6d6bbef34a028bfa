// swift-tools-version:6.0
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

let package = Package(
    name: "wg-ice",
    products: [
        .executable(name: "wg-ice-hook", targets: ["wg-ice-hook"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; the apt providers are what scripts/deps installs.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CNice", pkgConfig: "nice", providers: [.apt(["libnice-dev"])]),
        .systemLibrary(name: "CInih", pkgConfig: "inih", providers: [.apt(["libinih-dev"])]),

        .target(name: "ConfParser", dependencies: ["CInih"]),
        .target(name: "CLISupport", dependencies: [argumentParser, logging]),
        // ICE: libnice behind a Swift API; CNiceShim wraps the variadic GObject calls.
        .target(name: "CNiceShim", dependencies: ["CNice"]),
        .target(name: "ICE", dependencies: ["CNice", "CNiceShim", logging]),
        // One ICE agent per process, driven over stdin/stdout, for the network-namespace tests and bench/ice.sh.
        .executableTarget(name: "ice-peer", dependencies: ["ICE"]),
        .executableTarget(name: "ice-bench", dependencies: ["ICE"]),

        .executableTarget(name: "wg-ice-hook", dependencies: ["ConfParser", "CLISupport", argumentParser, logging]),
        // libFuzzer target for ConfParser when built by scripts/fuzz-confparser; an input replayer otherwise.
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "confparser-fuzz", dependencies: ["ConfParser", "CFuzzerDriver"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ConfParserTests", dependencies: ["ConfParser", "TestSupport"], exclude: ["Corpus"]),
        .testTarget(name: "ICETests", dependencies: ["ICE", "TestSupport"]),
    ]
)
