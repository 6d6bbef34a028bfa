/// The per-peer timers of the whitepaper's section 6, as deadlines on the monotonic clock (0: not armed).
/// Device+Timers.swift arms them on events and runs them when due.
struct PeerTimers {
    var retransmitHandshake: UInt64 = 0
    var sendKeepalive: UInt64 = 0
    var newHandshake: UInt64 = 0
    var zeroKeyMaterial: UInt64 = 0
    var persistentKeepalive: UInt64 = 0
    var handshakeAttempts = 0
    var needAnotherKeepalive = false
    var sentLastMinuteHandshake = false
    /// The deadline this peer is queued for in the device's `TimerQueue` (0: not queued).
    var scheduled: UInt64 = 0

    var nextDeadline: UInt64 {
        [retransmitHandshake, sendKeepalive, newHandshake, zeroKeyMaterial, persistentKeepalive].filter { $0 != 0 }.min() ?? 0
    }

    static func jitter() -> UInt64 {
        UInt64.random(in: 0..<Protocol.rekeyJitterMaxMilliseconds) * 1_000_000
    }
}
