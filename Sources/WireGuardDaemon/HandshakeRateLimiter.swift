import Addresses

/// Under load, handshake messages with a valid mac2 from one source: at most 20 a second, 5 at once, as
/// wireguard-go and the kernel allow. A cookie proves only that the sender receives at its address, and each
/// admitted message costs a Diffie-Hellman: without this, one host that answers its cookie replies would keep the
/// one thread busy with DH and starve every peer. IPv6 sources count per /64, which one host can hold whole (the
/// kernel does the same). The table is bounded: entries idle for a second go, and while it is full of active
/// sources a new one is refused (the kernel also refuses when its table is full).
struct HandshakeRateLimiter {
    static let perSecond: UInt64 = 20
    static let burst: UInt64 = 5
    static let capacity = 4096
    private static let cost = Clock.second / perSecond
    private static let maximum = cost * burst

    private struct Bucket {
        var tokens: UInt64
        var last: UInt64
    }

    private var buckets: [IPAddress: Bucket] = [:]
    private var lastSweep: UInt64 = 0

    mutating func allow(_ source: IPAddress, now: UInt64) -> Bool {
        let key = source.isIPv6 ? IPAddress(isIPv6: true, high: source.high, low: 0) : source
        if Clock.elapsed(now, since: lastSweep) >= Clock.second { sweep(now: now) }
        guard var bucket = buckets[key] else {
            guard buckets.count < Self.capacity else { return false }
            buckets[key] = Bucket(tokens: Self.maximum - Self.cost, last: now)
            return true
        }
        bucket.tokens = min(Self.maximum, bucket.tokens + Clock.elapsed(now, since: bucket.last))
        bucket.last = now
        let allowed = bucket.tokens >= Self.cost
        if allowed { bucket.tokens -= Self.cost }
        buckets[key] = bucket
        return allowed
    }

    private mutating func sweep(now: UInt64) {
        lastSweep = now
        buckets = buckets.filter { Clock.elapsed(now, since: $0.value.last) < Clock.second }
    }

    var count: Int { buckets.count }
}
