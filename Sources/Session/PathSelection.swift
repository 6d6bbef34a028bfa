import ConfParser
import DataPath
import ICE

extension ProxyMode {
    /// Which path carries `pair`:
    /// - `Proxy = userspace` → the proxy, always.
    /// - a relayed or TCP pair → the proxy (the kernel cannot speak TURN or ICE-TCP framing), whatever `Proxy` says.
    /// - a direct UDP pair with `Proxy = auto` → kernel redirection if nftables is usable, else the proxy.
    /// - a direct UDP pair with `Proxy = nftables` → kernel redirection; without nftables that is an error,
    ///   since the admin asked for it explicitly.
    public func dataPath(for pair: SelectedPair, nftablesAvailable: Bool) throws -> DataPathKind {
        guard self != .userspace, pair.isDirectUDP else { return .userspaceProxy }
        if nftablesAvailable { return .kernelRedirect }
        guard self == .auto else { throw DataPathError.nftablesUnavailable }
        return .userspaceProxy
    }

    /// The selection a `PathSwitch` applies.
    public func selection(nftablesAvailable: Bool) -> PathSelection {
        { [self] pair in try dataPath(for: pair, nftablesAvailable: nftablesAvailable) }
    }
}
