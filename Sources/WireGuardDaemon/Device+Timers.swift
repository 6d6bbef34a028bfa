/// The timer events and expirations of the whitepaper's section 6, after wireguard-go's timers.go.
extension Device {
    func dataSent(_ id: UInt32, now: UInt64) {
        guard peers[id]!.timers.newHandshake == 0 else { return }
        set(id, \.newHandshake, now + Protocol.keepaliveTimeout + Protocol.rekeyTimeout + PeerTimers.jitter())
    }

    func dataReceived(_ id: UInt32, now: UInt64) {
        if peers[id]!.timers.sendKeepalive == 0 {
            set(id, \.sendKeepalive, now + Protocol.keepaliveTimeout)
        } else {
            peers[id]!.timers.needAnotherKeepalive = true
        }
    }

    func anyAuthenticatedPacketSent(_ id: UInt32) { peers[id]?.timers.sendKeepalive = 0 }

    func anyAuthenticatedPacketReceived(_ id: UInt32) { peers[id]?.timers.newHandshake = 0 }

    func handshakeInitiated(_ id: UInt32, now: UInt64) {
        set(id, \.retransmitHandshake, now + Protocol.rekeyTimeout + PeerTimers.jitter())
    }

    func handshakeComplete(_ id: UInt32) {
        peers[id]!.timers.retransmitHandshake = 0
        peers[id]!.timers.handshakeAttempts = 0
        peers[id]!.timers.sentLastMinuteHandshake = false
        peers[id]!.lastHandshake = Clock.wallNow()
    }

    func sessionDerived(_ id: UInt32, now: UInt64) {
        set(id, \.zeroKeyMaterial, now + 3 * Protocol.rejectAfterTime)
    }

    func anyAuthenticatedPacketTraversal(_ id: UInt32, now: UInt64) {
        let interval = UInt64(peers[id]!.persistentKeepalive)
        if interval > 0 { set(id, \.persistentKeepalive, now + interval * Clock.second) }
    }

    private func set(_ id: UInt32, _ timer: WritableKeyPath<PeerTimers, UInt64>, _ deadline: UInt64) {
        peers[id]!.timers[keyPath: timer] = deadline
        armed(id, deadline)
    }

    /// Runs the timers due at `now`, visiting only the peers queued for them; returns the next deadline (0: none).
    func runTimers(now: UInt64) -> UInt64 {
        while let entry = timerQueue.popDue(now: now) {
            let id = entry.peer
            // Stale: the peer was queued again for an earlier time since, or it is gone (an id may be reused).
            guard peers[id]?.timers.scheduled == entry.deadline else { continue }
            peers[id]!.timers.scheduled = 0
            if due(id, \.retransmitHandshake, now) { retransmitHandshake(id, now: now) }
            if due(id, \.sendKeepalive, now) {
                sendKeepalive(id, now: now)
                if peers[id]?.timers.needAnotherKeepalive == true {
                    peers[id]!.timers.needAnotherKeepalive = false
                    set(id, \.sendKeepalive, now + Protocol.keepaliveTimeout)
                }
            }
            if due(id, \.newHandshake, now) { sendInitiation(id, retry: false, now: now) }
            if due(id, \.zeroKeyMaterial, now) {
                // wireguard-go's ZeroAndFlushAll: what still waits would otherwise start a handshake nobody asked for.
                expireSessions(id)
                peers[id]?.staged = []
            }
            if due(id, \.persistentKeepalive, now), peers[id]?.persistentKeepalive ?? 0 > 0 { sendKeepalive(id, now: now) }
            if let deadline = peers[id]?.timers.nextDeadline { armed(id, deadline) }
        }
        return nextTimerDeadline
    }

    /// Whether `timer` of peer `id` is due; if so it is disarmed.
    private func due(_ id: UInt32, _ timer: WritableKeyPath<PeerTimers, UInt64>, _ now: UInt64) -> Bool {
        guard let deadline = peers[id]?.timers[keyPath: timer], deadline != 0, deadline <= now else { return false }
        peers[id]!.timers[keyPath: timer] = 0
        return true
    }

    private func retransmitHandshake(_ id: UInt32, now: UInt64) {
        guard peers[id]!.timers.handshakeAttempts <= Protocol.maxTimerHandshakes else {
            // Give up: what waited is dropped, and the keys go too unless they are already due to.
            peers[id]!.timers.sendKeepalive = 0
            peers[id]!.staged = []
            if peers[id]!.timers.zeroKeyMaterial == 0 { set(id, \.zeroKeyMaterial, now + 3 * Protocol.rejectAfterTime) }
            return
        }
        peers[id]!.timers.handshakeAttempts += 1
        sendInitiation(id, retry: true, now: now)
    }
}
