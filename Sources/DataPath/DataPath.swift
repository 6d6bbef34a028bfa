import enum ConfParser.ProxyMode
import ICE
import WireGuard

/// Carries one peer's WireGuard packets over the ICE pair the agent selected.
public protocol DataPath: Sendable {
    /// Where WireGuard must send this peer's packets (set it with an endpoint-only update).
    var wireGuardEndpoint: Endpoint { get }
    /// Removes everything this path installed (nftables chains, sockets, receive handler); idempotent.
    func close() async
}

/// The two ways a selected pair carries WireGuard traffic.
public enum DataPathKind: String, Sendable, Equatable {
    /// nftables rewrites ports in the kernel; WireGuard talks to the remote candidate directly.
    case kernelRedirect = "kernel-redirect"
    /// A loopback UDP socket relays between WireGuard and `ICEAgent.send` / the agent's receive handler.
    case userspaceProxy = "userspace-proxy"

    /// Which path carries `pair`:
    /// - `Proxy = userspace` → the proxy, always.
    /// - a relayed or TCP pair → the proxy (the kernel cannot speak TURN or ICE-TCP framing), whatever `Proxy` says.
    /// - a direct UDP pair with `Proxy = auto` → kernel redirection if nftables is usable, else the proxy.
    /// - a direct UDP pair with `Proxy = nftables` → kernel redirection; without nftables that is an error,
    ///   since the admin asked for it explicitly.
    public static func select(pair: SelectedPair, proxy: ProxyMode, nftablesAvailable: Bool) throws -> DataPathKind {
        guard proxy != .userspace, pair.isDirectUDP else { return .userspaceProxy }
        if nftablesAvailable { return .kernelRedirect }
        guard proxy == .auto else { throw DataPathError.nftablesUnavailable }
        return .userspaceProxy
    }
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
