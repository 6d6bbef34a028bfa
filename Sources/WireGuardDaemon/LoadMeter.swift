/// Whether handshakes come in faster than we should spend DH on them without mac2. wireguard-go looks at its
/// handshake queue (an eighth full: under load, and for a second after); one thread has no queue, so this counts
/// handshake messages and the time spent on them per second: 512 messages, or a quarter of the second.
struct LoadMeter {
    static let messageThreshold = 512
    static let busyThreshold = Clock.second / 4
    private var windowStart: UInt64 = 0
    private var count = 0
    private var busy: UInt64 = 0
    private var underLoadUntil: UInt64 = 0

    func isUnderLoad(now: UInt64) -> Bool { now < underLoadUntil }

    /// Counts one handshake message that arrived at `start` and took `cost` nanoseconds to handle.
    mutating func record(start: UInt64, cost: UInt64) {
        if Clock.elapsed(start, since: windowStart) >= Clock.second {
            windowStart = start
            count = 0
            busy = 0
        }
        count += 1
        busy += cost
        if count > Self.messageThreshold || busy > Self.busyThreshold { underLoadUntil = start + cost + Clock.second }
    }
}
