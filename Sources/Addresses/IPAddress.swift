#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, parsed with inet_pton like wg does (so `01.2.3.4` and `10.1` are refused).
/// Two integers, no heap: the userspace WireGuard builds one per packet for its allowed-IPs lookup.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let isIPv6: Bool
    /// The address bits, most significant first; IPv4 fills the top 32 bits of `high`, so prefixes of both
    /// families are masked the same way.
    public let high: UInt64
    public let low: UInt64

    public init(isIPv6: Bool, high: UInt64, low: UInt64) {
        self.isIPv6 = isIPv6
        self.high = isIPv6 ? high : high & 0xffff_ffff_0000_0000
        self.low = isIPv6 ? low : 0
    }

    /// The address in network byte order at `offset` of `packet`: 16 bytes for IPv6, 4 for IPv4.
    public init(packet: UnsafeRawBufferPointer, offset: Int, isIPv6: Bool) {
        if isIPv6 {
            self.init(isIPv6: true, high: UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                      low: UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
        } else {
            self.init(isIPv6: false, high: UInt64(UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) << 32,
                      low: 0)
        }
    }

    public init?(_ text: String) {
        guard !text.isEmpty, !text.utf8.contains(0) else { return nil }
        let family = text.contains(":") ? AF_INET6 : AF_INET
        var buffer = (UInt64(0), UInt64(0))
        guard withUnsafeMutableBytes(of: &buffer, { inet_pton(family, text, $0.baseAddress) }) == 1 else { return nil }
        self = withUnsafeBytes(of: buffer) { IPAddress(packet: $0, offset: 0, isIPv6: family == AF_INET6) }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self = bytes.withUnsafeBytes { IPAddress(packet: $0, offset: 0, isIPv6: bytes.count == 16) }
    }

    /// 4 or 16 bytes, network order.
    public var bytes: [UInt8] {
        let all = (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (56 - 8 * ($0 % 8))) }
        return Array(all.prefix(isIPv6 ? 16 : 4))
    }

    /// 32 or 128.
    public var bitCount: Int { isIPv6 ? 128 : 32 }

    /// Calls `body` with the address in network byte order (4 or 16 bytes), on the stack.
    public func withNetworkOrder<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let words = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: words) { body(UnsafeRawBufferPointer(rebasing: $0.prefix(isIPv6 ? 16 : 4))) }
    }

    /// The canonical text form (inet_ntop), e.g. `fe80::1`.
    public var description: String {
        var out = [CChar](repeating: 0, count: 64)
        let family = isIPv6 ? AF_INET6 : AF_INET
        return withNetworkOrder { raw in
            inet_ntop(family, raw.baseAddress, &out, socklen_t(out.count)).map { String(cString: $0) } ?? "?"
        }
    }
}
