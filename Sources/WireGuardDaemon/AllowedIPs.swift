import Addresses

/// Allowed IPs: longest-prefix match from address to peer, for routing what the TUN gives us and for checking
/// the source of what peers send. One hash table per prefix length, probed from the longest length in use;
/// a lookup hashes at most 33 (IPv4) or 129 (IPv6) keys and allocates nothing. Keys are masked networks.
/// Each peer's own prefixes are kept beside the tables, so that listing or removing them (`wg show`, `wg set
/// ... replace_allowed_ips`, removing a peer) costs that peer's prefixes, not every prefix of every peer.
struct AllowedIPs {
    private var tables = [[IPNetwork: UInt32]](repeating: [:], count: 129 + 33)
    private var byPeer = [UInt32: Set<IPNetwork>]()
    /// Lengths with entries, longest first, per family.
    private var lengths4 = [Int](), lengths6 = [Int]()

    /// An `allowed_ip=` value as wireguard-go takes it: a network with its length (netip.ParsePrefix requires one).
    static func network(_ text: String) -> IPNetwork? { text.contains("/") ? IPNetwork(text) : nil }

    private static func slot(_ isIPv6: Bool, _ length: Int) -> Int { isIPv6 ? length : 129 + length }
    private static func slot(_ prefix: IPNetwork) -> Int { slot(prefix.address.isIPv6, prefix.prefixLength) }

    /// Adds `network` for `peer`; a peer that had the same prefix loses it, as in wireguard-go and the kernel.
    mutating func insert(_ network: IPNetwork, peer: UInt32) {
        let prefix = network.masked, slot = Self.slot(prefix)
        if let owner = tables[slot].updateValue(peer, forKey: prefix) {
            guard owner != peer else { return }
            byPeer[owner]?.remove(prefix)
            if byPeer[owner]?.isEmpty == true { byPeer[owner] = nil }
        } else if tables[slot].count == 1 {
            updateLengths(prefix.address.isIPv6)
        }
        byPeer[peer, default: []].insert(prefix)
    }

    /// Removes `network` if it belongs to `peer`.
    mutating func remove(_ network: IPNetwork, peer: UInt32) {
        let prefix = network.masked, slot = Self.slot(prefix)
        guard tables[slot][prefix] == peer else { return }
        tables[slot][prefix] = nil
        byPeer[peer]?.remove(prefix)
        if byPeer[peer]?.isEmpty == true { byPeer[peer] = nil }
        if tables[slot].isEmpty { updateLengths(prefix.address.isIPv6) }
    }

    mutating func removeAll(peer: UInt32) {
        guard let prefixes = byPeer.removeValue(forKey: peer) else { return }
        var emptied = (v4: false, v6: false)
        for prefix in prefixes {
            let slot = Self.slot(prefix)
            tables[slot][prefix] = nil
            if tables[slot].isEmpty {
                if prefix.address.isIPv6 { emptied.v6 = true } else { emptied.v4 = true }
            }
        }
        if emptied.v4 { updateLengths(false) }
        if emptied.v6 { updateLengths(true) }
    }

    func entries(peer: UInt32) -> [IPNetwork] {
        (byPeer[peer] ?? []).sorted {
            ($0.address.isIPv6 ? 1 : 0, $0.address.high, $0.address.low, $0.prefixLength)
                < ($1.address.isIPv6 ? 1 : 0, $1.address.high, $1.address.low, $1.prefixLength)
        }
    }

    func lookup(_ address: IPAddress) -> UInt32? {
        for length in address.isIPv6 ? lengths6 : lengths4 {
            let key = IPNetwork(address: address, prefixLength: length).masked
            if let peer = tables[Self.slot(key)][key] { return peer }
        }
        return nil
    }

    private mutating func updateLengths(_ isIPv6: Bool) {
        let found = (0...(isIPv6 ? 128 : 32)).reversed().filter { !tables[Self.slot(isIPv6, $0)].isEmpty }
        if isIPv6 { lengths6 = found } else { lengths4 = found }
    }
}
