/// Allowed IPs: longest-prefix match from address to peer, for routing what the TUN gives us and for checking
/// the source of what peers send. One hash table per prefix length, probed from the longest length in use;
/// a lookup hashes at most 33 (IPv4) or 129 (IPv6) keys and allocates nothing.
struct AllowedIPs {
    struct Prefix: Hashable {
        var isIPv6: Bool
        /// Big-endian address bits, masked to `length`.
        var high: UInt64
        var low: UInt64
        var length: Int

        init(isIPv6: Bool, high: UInt64, low: UInt64, length: Int) {
            self.isIPv6 = isIPv6
            self.length = length
            let bits = isIPv6 ? 128 : 32
            let shiftedHigh = isIPv6 ? high : high << 32
            let masked = Self.mask(shiftedHigh, low, length: length, bits: bits)
            self.high = isIPv6 ? masked.0 : masked.0 >> 32
            self.low = masked.1
        }

        private static func mask(_ high: UInt64, _ low: UInt64, length: Int, bits: Int) -> (UInt64, UInt64) {
            let h = length >= 64 ? high : (length == 0 ? 0 : high & ~(UInt64.max >> length))
            let l = length <= 64 ? 0 : (length >= 128 ? low : low & ~(UInt64.max >> (length - 64)))
            return (h, l)
        }

        /// Parses `10.0.0.0/8` or `fd00::/64` (the length is required, as wireguard-go requires it).
        init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let length = Int(parts[1]), parts[1].allSatisfy(\.isNumber),
                  let address = IPAddress(String(parts[0])), length <= (address.isIPv6 ? 128 : 32) else { return nil }
            self.init(isIPv6: address.isIPv6, high: address.high, low: address.low, length: length)
        }

        var description: String {
            IPAddress(isIPv6: isIPv6, high: high, low: low).description + "/\(length)"
        }
    }

    private var tables = [[Prefix: UInt32]](repeating: [:], count: 129 + 33)
    /// Lengths with entries, longest first, per family.
    private var lengths4 = [Int](), lengths6 = [Int]()

    private static func slot(_ isIPv6: Bool, _ length: Int) -> Int { isIPv6 ? length : 129 + length }

    mutating func insert(_ prefix: Prefix, peer: UInt32) {
        tables[Self.slot(prefix.isIPv6, prefix.length)][prefix] = peer
        updateLengths(prefix.isIPv6)
    }

    /// Removes `prefix` if it belongs to `peer`.
    mutating func remove(_ prefix: Prefix, peer: UInt32) {
        let slot = Self.slot(prefix.isIPv6, prefix.length)
        guard tables[slot][prefix] == peer else { return }
        tables[slot][prefix] = nil
        updateLengths(prefix.isIPv6)
    }

    mutating func removeAll(peer: UInt32) {
        for i in tables.indices where tables[i].values.contains(peer) {
            tables[i] = tables[i].filter { $0.value != peer }
        }
        updateLengths(false)
        updateLengths(true)
    }

    func entries(peer: UInt32) -> [Prefix] {
        tables.flatMap { $0.filter { $0.value == peer }.map(\.key) }.sorted { ($0.isIPv6 ? 1 : 0, $0.high, $0.low, $0.length) < ($1.isIPv6 ? 1 : 0, $1.high, $1.low, $1.length) }
    }

    func lookup(_ address: IPAddress) -> UInt32? {
        for length in address.isIPv6 ? lengths6 : lengths4 {
            let key = Prefix(isIPv6: address.isIPv6, high: address.high, low: address.low, length: length)
            if let peer = tables[Self.slot(address.isIPv6, length)][key] { return peer }
        }
        return nil
    }

    private mutating func updateLengths(_ isIPv6: Bool) {
        let found = (0...(isIPv6 ? 128 : 32)).reversed().filter { !tables[Self.slot(isIPv6, $0)].isEmpty }
        if isIPv6 { lengths6 = found } else { lengths4 = found }
    }
}
