import Glibc

/// An IPv4 or IPv6 address as big-endian integers (IPv4 in the low 32 bits of `high`): cheap to mask and hash.
struct IPAddress: Equatable {
    var isIPv6: Bool
    var high: UInt64
    var low: UInt64

    init(isIPv6: Bool, high: UInt64, low: UInt64) {
        self.isIPv6 = isIPv6
        self.high = high
        self.low = low
    }

    init?(_ text: String) {
        if text.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
            self = withUnsafeBytes(of: a) { IPAddress(packet: $0, offset: 0, isIPv6: true) }
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
            self.init(isIPv6: false, high: UInt64(UInt32(bigEndian: a.s_addr)), low: 0)
        }
    }

    /// The address at `offset` of a packet (4 bytes for IPv4, 16 for IPv6).
    init(packet: UnsafeRawBufferPointer, offset: Int, isIPv6: Bool) {
        if isIPv6 {
            self.init(isIPv6: true, high: UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                      low: UInt64(bigEndian: packet.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
        } else {
            self.init(isIPv6: false, high: UInt64(UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: offset, as: UInt32.self))),
                      low: 0)
        }
    }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if isIPv6 {
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) {
                $0.storeBytes(of: high.bigEndian, as: UInt64.self)
                $0.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
        } else {
            var a = in_addr(s_addr: UInt32(truncatingIfNeeded: high).bigEndian)
            inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
        }
        return cString(buffer)
    }
}

/// The text inet_ntop wrote into `buffer`.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
