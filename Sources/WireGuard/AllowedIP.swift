import Addresses

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
        if let fast = AllowedIP(utf8: Array(text.utf8)) {
            self = fast
            return
        }
        self.init(parsing: text)
    }

    /// IPv4 without going through String and inet_pton (UAPI replies carry thousands); IPv6 the usual way.
    init?(utf8 text: some Collection<UInt8>) {
        if text.contains(UInt8(ascii: ":")) {
            self.init(parsing: String(decoding: text, as: UTF8.self))
            return
        }
        var octets = [UInt8](), value = 0, digits = 0, cidr: Int?
        for c in text {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = value * 10 + Int(c - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, value <= 255 else { return nil }
            case UInt8(ascii: "."), UInt8(ascii: "/"):
                guard digits > 0, cidr == nil, octets.count < 4 else { return nil }
                octets.append(UInt8(value))
                if c == UInt8(ascii: "/") { guard octets.count == 4 else { return nil }; cidr = 0 }
                value = 0
                digits = 0
            default: return nil
            }
        }
        guard digits > 0 else { return nil }
        if cidr == nil {
            octets.append(UInt8(value))
            guard octets.count == 4 else { return nil }
            self.init(address: octets, cidr: 32)
        } else {
            self.init(address: octets, cidr: UInt8(value))
        }
    }

    private init?(parsing text: some StringProtocol) {
        guard let network = IPNetwork(String(text)) else { return nil }
        self.init(address: network.address.bytes, cidr: UInt8(network.prefixLength))
    }
}

extension AllowedIP: CustomStringConvertible {
    public var description: String {
        if family == .v4 { return "\(address[0]).\(address[1]).\(address[2]).\(address[3])/\(cidr)" }
        return "\(IPAddress(bytes: address)!)/\(cidr)"
    }
}
