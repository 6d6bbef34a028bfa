/// The sliding anti-replay window of RFC 6479 with wireguard-go's and the kernel's geometry: a ring of 128
/// 64-bit blocks, of which 127 are the window (8128 counters behind the newest are still accepted once).
struct ReplayWindow {
    private static let blockBits: UInt64 = 64
    private static let ringBlocks: UInt64 = 128
    static let size = (ringBlocks - 1) * blockBits

    private var last: UInt64 = 0
    private var ring = [UInt64](repeating: 0, count: Int(ringBlocks))

    /// Accepts `counter` once if it is below `limit` and not too old; records it.
    mutating func accept(_ counter: UInt64, limit: UInt64 = Protocol.rejectAfterMessages) -> Bool {
        guard counter < limit else { return false }
        let index = counter / Self.blockBits
        if counter > last {
            let current = last / Self.blockBits
            let advance = min(index - current, Self.ringBlocks)
            if advance > 0 {
                for i in 1...advance { ring[Int((current + i) % Self.ringBlocks)] = 0 }
            }
            last = counter
        } else if last - counter > Self.size {
            return false
        }
        let block = Int(index % Self.ringBlocks), bit = UInt64(1) << (counter % Self.blockBits)
        guard ring[block] & bit == 0 else { return false }
        ring[block] |= bit
        return true
    }
}
