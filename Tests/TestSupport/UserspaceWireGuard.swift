import Foundation

/// The userspace WireGuard that tests start (through wg-quick or directly), from `WG_ICE_USERSPACE` as in
/// scripts/lab: `wireguard-go` (the default), `wg-ice-wireguard` (the one built beside the tests) or a path.
/// The same suites then run against either implementation.
public func userspaceWireGuard() -> String {
    switch ProcessInfo.processInfo.environment["WG_ICE_USERSPACE"] ?? "" {
    case "", "wireguard-go": "wireguard-go"
    case "wg-ice-wireguard": builtProduct("wg-ice-wireguard")
    case let path: path
    }
}
