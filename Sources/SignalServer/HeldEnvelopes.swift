import Keys
import Signaling

/// Envelopes held for offline recipients, bounded in count per recipient, in recipients and in bytes, and
/// freed when their time is up (the Janitor calls `purge` at each expiry), not at some later clean-up.
struct HeldEnvelopes {
    private struct Item {
        let envelope: Envelope
        let expires: ContinuousClock.Instant
        let size: Int
    }

    private var queues: [Key: [Item]] = [:]
    /// Every hold in expiry order (the hold time is the same for all), from `head` on; entries whose
    /// envelopes were delivered meanwhile are skipped when reached.
    private var order: [(key: Key, expires: ContinuousClock.Instant)] = []
    private var head = 0
    private(set) var count = 0
    private(set) var bytes = 0

    /// What an envelope costs while held: its fields plus a fixed allowance for the bookkeeping.
    static func size(of envelope: Envelope) -> Int {
        envelope.sender.count + envelope.recipient.count + envelope.nonce.count + envelope.ciphertext.count + 64
    }

    /// Holds `envelope` for `key` unless a limit is reached.
    mutating func hold(_ envelope: Envelope, for key: Key, config: ServerConfig) -> Bool {
        let now = ContinuousClock.now
        _ = purge(now: now)
        let size = Self.size(of: envelope)
        let queued = queues[key]?.count ?? 0
        guard queued < config.holdPerKey, queued > 0 || queues.count < config.holdKeys,
              bytes + size <= config.holdBytes else { return false }
        let expires = now + config.holdTTL
        queues[key, default: []].append(Item(envelope: envelope, expires: expires, size: size))
        order.append((key, expires))
        count += 1
        bytes += size
        return true
    }

    /// Removes and returns what is held for `key` and still within its time.
    mutating func take(_ key: Key) -> [Envelope] {
        guard let queue = queues.removeValue(forKey: key) else { return [] }
        count -= queue.count
        bytes -= queue.reduce(0) { $0 + $1.size }
        compactOrderIfMostlyStale()
        let now = ContinuousClock.now
        return queue.filter { $0.expires > now }.map(\.envelope)
    }

    /// Frees every envelope whose time is up; returns when the next one will be.
    mutating func purge(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        while head < order.count, order[head].expires <= now {
            let key = order[head].key
            head += 1
            guard var queue = queues[key] else { continue }
            let expired = queue.prefix { $0.expires <= now }
            guard !expired.isEmpty else { continue }
            count -= expired.count
            bytes -= expired.reduce(0) { $0 + $1.size }
            queue.removeFirst(expired.count)
            queues[key] = queue.isEmpty ? nil : queue
        }
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        return head < order.count ? order[head].expires : nil
    }

    /// Deliveries leave their entries in `order` until they expire; a client that makes envelopes be held and
    /// collects them in a loop must not grow it beyond a small multiple of what is actually held.
    private mutating func compactOrderIfMostlyStale() {
        guard order.count - head > 2 * count + 1024 else { return }
        order = queues.flatMap { key, queue in queue.map { (key: key, expires: $0.expires) } }.sorted { $0.expires < $1.expires }
        head = 0
    }
}
