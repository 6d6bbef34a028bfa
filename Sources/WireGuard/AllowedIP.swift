import Glibc

/// An allowed-IPs entry: an address and prefix length (CIDR), e.g. `10.0.0.0/24` or `fd00::/64`.
public struct AllowedIP: Hashable, Sendable {
    public enum Family: Sendable { case v4, v6 }
    public let address: [UInt8]   // 4 or 16 bytes, network order
    public let cidr: UInt8

    public var family: Family { address.count == 4 ? .v4 : .v6 }

    public init?(address: [UInt8], cidr: UInt8) {
        guard address.count == 4 && cidr <= 32 || address.count == 16 && cidr <= 128 else { return nil }
        self.address = address
        self.cidr = cidr
    }

    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a host route, like wg(8) accepts).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let host = String(parts[0])
        let family = host.contains(":") ? AF_INET6 : AF_INET
        guard let bytes = parseAddress(host, family: family) else { return nil }
        let maxCIDR: UInt8 = family == AF_INET ? 32 : 128
        guard let cidr = parts.count == 2 ? UInt8(parts[1]) : maxCIDR else { return nil }
        self.init(address: bytes, cidr: cidr)
    }
}

extension AllowedIP: CustomStringConvertible {
    public var description: String {
        formatAddress(address, family: family == .v4 ? AF_INET : AF_INET6) + "/\(cidr)"
    }
}
