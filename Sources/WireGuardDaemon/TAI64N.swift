import Glibc

/// TAI64N timestamps for initiations: they only ever have to increase per sender.
enum TAI64N {
    static let size = 12
    private static let base: UInt64 = 0x4000_0000_0000_000a
    /// Nanoseconds are rounded down to this, so timestamps do not leak fine-grained clock readings (as wireguard-go).
    private static let whitener: UInt32 = 0x100_0000

    static func now() -> [UInt8] {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return make(seconds: UInt64(ts.tv_sec), nanoseconds: UInt32(ts.tv_nsec))
    }

    static func make(seconds: UInt64, nanoseconds: UInt32) -> [UInt8] {
        let s = base + seconds, n = nanoseconds - nanoseconds % whitener
        return (0..<8).map { UInt8(truncatingIfNeeded: s >> (56 - 8 * $0)) }
            + (0..<4).map { UInt8(truncatingIfNeeded: n >> (24 - 8 * $0)) }
    }

    /// Big-endian byte order makes byte-wise comparison the time order.
    static func isAfter(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b) == false && a != b
    }
}
