/// An address with a prefix length (`10.0.0.1/24`). Without `/n` the prefix is the full length,
/// as wg does for AllowedIPs and wg-quick for Address.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Follows wg's parse_allowedips: the prefix must start with a digit and be all digits.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        var prefix = address.bitCount
        if parts.count == 2 {
            guard let n = parseDecimal(parts[1], Int.self, in: 0...address.bitCount) else { return nil }
            prefix = n
        }
        self.init(address: address, prefixLength: prefix)
    }

    /// The network with host bits cleared, which is what WireGuard stores (`10.1.2.3/24` → `10.1.2.0/24`).
    /// Allocates nothing: the userspace WireGuard masks every packet's address with it.
    public var masked: IPNetwork {
        let length = prefixLength
        let high = length >= 64 ? address.high : (length <= 0 ? 0 : address.high & ~(UInt64.max >> length))
        let low = length >= 128 ? address.low : (length <= 64 ? 0 : address.low & ~(UInt64.max >> (length - 64)))
        return IPNetwork(address: IPAddress(isIPv6: address.isIPv6, high: high, low: low), prefixLength: length)
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// A decimal number in `range`, digits only (no sign, no spaces, no service names).
package func parseDecimal<T: FixedWidthInteger>(_ text: some StringProtocol, _ type: T.Type, in range: ClosedRange<T>) -> T? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    let trimmed = text.drop(while: { $0 == "0" })
    guard trimmed.count <= 20, let value = T(trimmed.isEmpty ? "0" : String(trimmed)), range.contains(value) else { return nil }
    return value
}
