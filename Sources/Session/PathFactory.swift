import Keys
import ConfParser
import DataPath
import ICE
import Logging
import WireGuard

/// Builds each peer's `PathSwitch`. Every kernel redirection of the interface lives in one
/// nftables table, which `removeAll()` deletes when the session ends.
struct PathFactory: Sendable {
    let table: NFTablesTable
    let wireGuardPort: UInt16
    let proxy: ProxyMode
    let nftablesAvailable: Bool

    init(interface: String, wireGuardPort: UInt16, proxy: ProxyMode) {
        table = NFTablesTable(interface: interface)
        self.wireGuardPort = wireGuardPort
        self.proxy = proxy
        // Probing runs nft; skip it when the configuration rules kernel redirection out anyway.
        nftablesAvailable = proxy != .userspace && NFTablesTable.isAvailable()
        // The table is named after the interface: chains left by a killed session or by wg-ice-resolve --apply
        // would otherwise still rewrite WireGuard's packets for a pair this session no longer uses.
        if nftablesAvailable { try? table.delete() }
    }

    /// The path switch of one peer: `firstHandshake` points its WireGuard at each new path.
    func makeSwitch(agent: ICEAgent, firstHandshake: FirstHandshake, logger: Logger) -> PathSwitch {
        PathSwitch(agent: agent, peer: firstHandshake.peer, wireGuardPort: wireGuardPort, table: table,
                   select: proxy.selection(nftablesAvailable: nftablesAvailable), logger: logger,
                   clearDontFragment: nftablesAvailable, pointWireGuard: firstHandshake.point)
    }

    func removeAll() {
        guard nftablesAvailable else { return }
        try? table.delete()
    }
}

/// Deletes the interface's nftables table when no session owns it: left by a killed session or by
/// wg-ice-resolve --apply. No table or no nft: nothing to do.
public func removeLeftoverPaths(interface: String) {
    try? NFTablesTable(interface: interface).delete()
}
