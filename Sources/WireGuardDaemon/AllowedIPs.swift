import Addresses

/// Allowed IPs: longest-prefix match from address to peer, for routing what the TUN gives us and for checking
/// the source of what peers send. One hash table per prefix length, probed from the longest length in use;
/// a lookup hashes at most 33 (IPv4) or 129 (IPv6) keys and allocates nothing. Keys are masked networks.
struct AllowedIPs {
    private var tables = [[IPNetwork: UInt32]](repeating: [:], count: 129 + 33)
    /// Lengths with entries, longest first, per family.
    private var lengths4 = [Int](), lengths6 = [Int]()

    /// An `allowed_ip=` value as wireguard-go takes it: a network with its length (netip.ParsePrefix requires one).
    static func network(_ text: String) -> IPNetwork? { text.contains("/") ? IPNetwork(text) : nil }

    private static func slot(_ isIPv6: Bool, _ length: Int) -> Int { isIPv6 ? length : 129 + length }

    mutating func insert(_ network: IPNetwork, peer: UInt32) {
        let prefix = network.masked
        tables[Self.slot(prefix.address.isIPv6, prefix.prefixLength)][prefix] = peer
        updateLengths(prefix.address.isIPv6)
    }

    /// Removes `network` if it belongs to `peer`.
    mutating func remove(_ network: IPNetwork, peer: UInt32) {
        let prefix = network.masked
        let slot = Self.slot(prefix.address.isIPv6, prefix.prefixLength)
        guard tables[slot][prefix] == peer else { return }
        tables[slot][prefix] = nil
        updateLengths(prefix.address.isIPv6)
    }

    mutating func removeAll(peer: UInt32) {
        for i in tables.indices where tables[i].values.contains(peer) {
            tables[i] = tables[i].filter { $0.value != peer }
        }
        updateLengths(false)
        updateLengths(true)
    }

    func entries(peer: UInt32) -> [IPNetwork] {
        tables.flatMap { $0.filter { $0.value == peer }.map(\.key) }.sorted {
            ($0.address.isIPv6 ? 1 : 0, $0.address.high, $0.address.low, $0.prefixLength)
                < ($1.address.isIPv6 ? 1 : 0, $1.address.high, $1.address.low, $1.prefixLength)
        }
    }

    func lookup(_ address: IPAddress) -> UInt32? {
        for length in address.isIPv6 ? lengths6 : lengths4 {
            let key = IPNetwork(address: address, prefixLength: length).masked
            if let peer = tables[Self.slot(address.isIPv6, length)][key] { return peer }
        }
        return nil
    }

    private mutating func updateLengths(_ isIPv6: Bool) {
        let found = (0...(isIPv6 ? 128 : 32)).reversed().filter { !tables[Self.slot(isIPv6, $0)].isEmpty }
        if isIPv6 { lengths6 = found } else { lengths4 = found }
    }
}
