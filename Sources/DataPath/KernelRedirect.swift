import Blocking
import Foundation
import ICE
import Logging
import Synchronization
import WireGuard

/// A direct UDP pair carried by the kernel: WireGuard sends straight to the remote candidate, and two
/// stateless nftables rules swap ports so the packets travel on the ICE socket's 5-tuple (reusing the NAT
/// mappings and holes ICE made) while STUN keeps reaching libnice. No WireGuard packet enters userspace.
///
/// Per peer, in the session's table (R = remote candidate, P = ICE socket's port, W = WireGuard's port):
///
///     chain out-TAG-N { type filter hook output priority raw; policy accept;
///         ip daddr R udp sport W udp dport Rport counter udp sport set P }
///     chain in-TAG-N { type filter hook prerouting priority dstnat + 10; policy accept;
///         ip saddr R udp sport Rport udp dport P @th,96,32 != 0x2112a442 counter udp dport set W }
///
/// Priorities: outbound is rewritten at `raw` (-300), before conntrack (-200), so conntrack and any NAT on
/// this host see WireGuard's packets as the ICE socket's flow (same entry, same mapping); inbound is rewritten
/// after conntrack and destination NAT (-100), so the reply is matched to that flow (and un-NATed) before its
/// port changes, and a stateful firewall sees an established flow. No notrack is needed: there is only ever
/// one tuple. Checksums: nft's payload statement updates the UDP checksum incrementally (a zero IPv4 UDP
/// checksum is left zero). `@th,96,32` is the UDP payload's bytes 4-7: the STUN magic cookie.
public final class KernelRedirect: DataPath {
    public let wireGuardEndpoint: Endpoint
    public let table: NFTablesTable
    private let chains: [String]
    private let closed = Mutex(false)
    private static let instances = Atomic<UInt64>(0)

    /// Installs the rules. `wireGuardPort` is WireGuard's listen port; `peer` names the chains.
    public init(pair: SelectedPair, wireGuardPort: UInt16, peer: Key, table: NFTablesTable,
                logger: Logger = Logger(label: "wg-ice.datapath")) throws {
        guard pair.isDirectUDP, wireGuardPort != 0 else { throw DataPathError.notDirectUDP }
        let remote = pair.remote
        // The address comes from the peer: only its canonical numeric form, without a scope, reaches the nft script.
        guard let endpoint = Endpoint(remote.isIPv6 ? "[\(remote.address)]:\(remote.port)" : "\(remote.address):\(remote.port)"),
              !endpoint.host.contains("%")
        else { throw DataPathError.socket("remote candidate address \(remote.address) is not a numeric IP address") }
        let address = endpoint.host
        let family = remote.isIPv6 ? "ip6" : "ip"
        // Unique per instance: while a peer switches between two direct pairs, the new rules are installed
        // before the old ones are removed, so the two must not share chains.
        let tag = "\(Self.tag(peer))-\(Self.instances.add(1, ordering: .relaxed).newValue)"
        let (out, into) = ("out-\(tag)", "in-\(tag)")
        let t = "inet \(table.name)"
        let localPort = pair.local.basePort
        try NFTables.run("""
            add table \(t)
            add chain \(t) \(out) { type filter hook output priority raw; policy accept; }
            add rule \(t) \(out) \(family) daddr \(address) udp sport \(wireGuardPort) udp dport \(remote.port) counter udp sport set \(localPort)
            add chain \(t) \(into) { type filter hook prerouting priority dstnat + 10; policy accept; }
            add rule \(t) \(into) \(family) saddr \(address) udp sport \(remote.port) udp dport \(localPort) @th,96,32 != 0x2112a442 counter udp dport set \(wireGuardPort)

            """)
        wireGuardEndpoint = endpoint
        self.table = table
        chains = [out, into]
        logger.info("kernel redirect \(endpoint) WireGuard port \(wireGuardPort) <-> ICE port \(localPort) in table \(table.name)")
    }

    private static func tag(_ peer: Key) -> String { String(peer.hex.prefix(16)) }

    /// Removes the chains of every redirection of `peer` in `table`, including those of earlier processes
    /// (wg-ice-resolve --apply replacing its previous result). No table, no chains: nothing to do.
    public static func removeAll(of peer: Key, in table: NFTablesTable) throws {
        guard let listing = table.list() else { return }
        let prefixes = ["out-\(tag(peer))-", "in-\(tag(peer))-"]
        let chains = listing.split(separator: "\n").compactMap { line -> Substring? in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "chain", prefixes.contains(where: words[1].hasPrefix) else { return nil }
            return words[1]
        }
        guard !chains.isEmpty else { return }
        try NFTables.run(chains.map { "flush chain inet \(table.name) \($0)\ndelete chain inet \(table.name) \($0)\n" }.joined())
    }

    public func close() async {
        guard closed.withLock({ let was = $0; $0 = true; return !was }) else { return }
        let script = chains.map { "flush chain inet \(table.name) \($0)\ndelete chain inet \(table.name) \($0)\n" }
        // nft is a process to wait for: not on the cooperative pool, which other tasks need.
        await Blocking.run {
            for chain in script { _ = try? NFTables.run(chain, ignoring: "No such file or directory") }
        }
    }
}
