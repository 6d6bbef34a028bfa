import Addresses

/// Big-endian field reads that check bounds: a short or garbage datagram yields nil, never a trap.
struct ByteReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func u8(_ at: Int) -> UInt8? { at >= 0 && at < bytes.count ? bytes[at] : nil }

    func u16(_ at: Int) -> UInt16? {
        guard let a = u8(at), let b = u8(at + 1) else { return nil }
        return UInt16(a) << 8 | UInt16(b)
    }

    func u32(_ at: Int) -> UInt32? {
        guard let a = u16(at), let b = u16(at + 2) else { return nil }
        return UInt32(a) << 16 | UInt32(b)
    }

    func slice(_ at: Int, _ count: Int) -> [UInt8]? {
        guard at >= 0, count >= 0, at <= bytes.count - count else { return nil }
        return Array(bytes[at..<at + count])
    }
}

extension Array where Element == UInt8 {
    mutating func put(_ value: UInt16) { append(contentsOf: [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)]) }
    mutating func put(_ value: UInt32) { put(UInt16(value >> 16)); put(UInt16(truncatingIfNeeded: value)) }
}

extension IPAddress {
    /// 16 bytes: IPv6 as is, IPv4 as IPv4-mapped (`::ffff:a.b.c.d`), as PCP carries every address.
    var pcpBytes: [UInt8] {
        isIPv6 ? bytes : [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + bytes
    }

    /// The reverse of `pcpBytes`: IPv4-mapped addresses become IPv4.
    init?(pcpBytes: [UInt8]) {
        guard pcpBytes.count == 16 else { return nil }
        if pcpBytes[0..<10].allSatisfy({ $0 == 0 }), pcpBytes[10] == 0xff, pcpBytes[11] == 0xff {
            self.init(bytes: Array(pcpBytes[12..<16]))
        } else {
            self.init(bytes: pcpBytes)
        }
    }
}
