import Keys
import Foundation

/// Remembers which (sender, session, sequence) triples were accepted, in bounded memory.
///
/// Per session it keeps a sliding window like WireGuard's and IPsec's: the highest sequence seen and a
/// bitmap of the `windowSize` sequences below it; anything older is refused. Per sender it keeps the
/// `sessionsPerSender` most recently used sessions, and at most `maxSenders` senders (least recently
/// heard evicted). Eviction can only re-admit a message that is still within the ±60 s timestamp window,
/// which takes that many distinct authenticated senders or sender restarts inside one minute.
public struct ReplayFilter: Sendable {
    public static let windowSize = 1024
    public let sessionsPerSender: Int
    public let maxSenders: Int

    private struct Window: Sendable {
        var highest: UInt64 = 0
        var bits = [UInt64](repeating: 0, count: ReplayFilter.windowSize / 64)  // bit i: highest - i seen
        var lastUsed: Date

        mutating func accept(_ seq: UInt64) -> Bool {
            if seq > highest {
                shift(by: seq - highest)
                highest = seq
                bits[0] |= 1
                return true
            }
            let back = highest - seq
            guard back < UInt64(ReplayFilter.windowSize) else { return false }
            let (word, bit) = (Int(back / 64), back % 64)
            if bits[word] & (1 << bit) != 0 { return false }
            bits[word] |= 1 << bit
            return true
        }

        /// Moves the bitmap so bit 0 stands for the new highest sequence.
        private mutating func shift(by n: UInt64) {
            guard n < UInt64(ReplayFilter.windowSize) else {
                bits = bits.map { _ in 0 }
                return
            }
            let words = Int(n / 64), shiftBits = n % 64
            for i in stride(from: bits.count - 1, through: 0, by: -1) {
                let src = i - words
                var v: UInt64 = src >= 0 ? bits[src] << shiftBits : 0
                if shiftBits > 0, src - 1 >= 0 { v |= bits[src - 1] >> (64 - shiftBits) }
                bits[i] = v
            }
        }
    }

    private struct Sender: Sendable {
        var sessions: [UInt64: Window] = [:]
        var lastUsed: Date
    }

    private var senders: [Key: Sender] = [:]

    public init(sessionsPerSender: Int = 8, maxSenders: Int = 4096) {
        self.sessionsPerSender = sessionsPerSender
        self.maxSenders = maxSenders
    }

    /// True the first time a triple is seen (and records it); false for a repeat or a too-old sequence.
    public mutating func accept(sender: Key, session: UInt64, sequence: UInt64, now: Date) -> Bool {
        guard sequence > 0 else { return false }
        if senders[sender] == nil, senders.count >= maxSenders, let oldest = senders.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            senders[oldest.key] = nil
        }
        var entry = senders[sender] ?? Sender(lastUsed: now)
        if entry.sessions[session] == nil, entry.sessions.count >= sessionsPerSender,
           let oldest = entry.sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            entry.sessions[oldest.key] = nil
        }
        var window = entry.sessions[session] ?? Window(lastUsed: now)
        let fresh = window.accept(sequence)
        window.lastUsed = now
        entry.sessions[session] = window
        entry.lastUsed = now
        senders[sender] = entry
        return fresh
    }
}
