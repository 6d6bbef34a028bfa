import ICE
import WireGuard

/// Carries one peer's WireGuard packets over the ICE pair the agent selected.
public protocol DataPath: Sendable {
    /// Where WireGuard must send this peer's packets (set it with an endpoint-only update).
    var wireGuardEndpoint: Endpoint { get }
    /// Removes everything this path installed (nftables chains, sockets, receive handler); idempotent.
    func close() async
}

/// Which path carries a pair: the session's policy (`ProxyMode.dataPath(for:nftablesAvailable:)` in Session).
public typealias PathSelection = @Sendable (SelectedPair) throws -> DataPathKind

/// The two ways a selected pair carries WireGuard traffic.
public enum DataPathKind: String, Sendable, Equatable {
    /// nftables rewrites ports in the kernel; WireGuard talks to the remote candidate directly.
    case kernelRedirect = "kernel-redirect"
    /// A loopback UDP socket relays between WireGuard and `ICEAgent.send` / the agent's receive handler.
    case userspaceProxy = "userspace-proxy"
}

public enum DataPathError: Error, Equatable, CustomStringConvertible {
    case nftablesUnavailable
    case nftables(String)
    case notDirectUDP
    case socket(String)

    public var description: String {
        switch self {
        case .nftablesUnavailable: "Proxy = nftables, but nftables is not usable here (nft missing or not permitted)"
        case .nftables(let message): "nft: \(message)"
        case .notDirectUDP: "the kernel can only redirect a direct UDP pair"
        case .socket(let message): message
        }
    }
}
