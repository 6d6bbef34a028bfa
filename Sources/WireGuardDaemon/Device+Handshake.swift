/// Sending and receiving the three handshake messages (whitepaper section 5.4), with their timer events.
extension Device {
    /// Starts a handshake unless one was sent less than REKEY_TIMEOUT ago; `retry` keeps the attempt count.
    func sendInitiation(_ id: UInt32, retry: Bool, now: UInt64) {
        // Without an endpoint the attempt still counts and arms the retransmission, as in wireguard-go: a peer
        // given its endpoint later waits out REKEY_TIMEOUT as wireguard-go's would. (The kernel refuses packets for
        // a peer without an endpoint, EDESTADDRREQ, and never starts a handshake for them.)
        guard !isDown, var peer = peers[id], let identity, peer.remote.staticShared != nil else { return }
        if !retry { peer.timers.handshakeAttempts = 0 }
        guard peer.lastInitiationSent == 0 || Clock.elapsed(now, since: peer.lastInitiationSent) >= Protocol.rekeyTimeout else {
            // Too soon after the last one: the attempt is made when allowed, not left to the next packet.
            if peer.timers.retransmitHandshake == 0 {
                peer.timers.retransmitHandshake = peer.lastInitiationSent + Protocol.rekeyTimeout + PeerTimers.jitter()
            }
            peers[id] = peer
            armed(id, peer.timers.retransmitHandshake)
            return
        }
        if let old = peer.initiation { indexTable[old.localIndex] = nil }
        let index = freshIndex(for: id)
        guard let (initiation, state) = Noise.createInitiation(local: identity, remote: peer.remote, localIndex: index,
                                                              timestamp: TAI64N.now()) else {
            indexTable[index] = nil
            return
        }
        var message = initiation
        peer.initiation = state
        peer.lastInitiationSent = now
        peer.cookies.stamp(&message, remote: peer.remote, now: now)
        peers[id] = peer
        if message.withUnsafeBytes({ send($0, toPeer: id) }) { peers[id]!.txBytes += UInt64(message.count) }
        anyAuthenticatedPacketTraversal(id, now: now)
        anyAuthenticatedPacketSent(id)
        handshakeInitiated(id, now: now)
    }

    func receiveInitiation(_ m: UnsafeRawBufferPointer, from source: Endpoint, now: UInt64) {
        guard let identity else { return }
        guard let consumed = Noise.consumeInitiation(m, local: identity, staticShared: { key in
            peerIDs[key].flatMap { peers[$0]?.remote.staticShared }
        }), let id = peerIDs[consumed.remoteStatic], var peer = peers[id] else { return }
        // Replays carry an old timestamp; floods from a peer are cut to one expensive handshake per 20 ms.
        guard TAI64N.isAfter(consumed.timestamp, peer.lastTimestamp),
              peer.lastInitiationConsumed == 0 || Clock.elapsed(now, since: peer.lastInitiationConsumed) > Protocol.initiationRate else { return }
        peer.lastTimestamp = consumed.timestamp
        peer.lastInitiationConsumed = now
        peer.endpoint = source
        peer.rxBytes += UInt64(m.count)
        let index = freshIndex(for: id)
        guard let (response, keys) = Noise.createResponse(to: consumed, presharedKey: peer.presharedKey, localIndex: index)
        else {
            indexTable[index] = nil
            return
        }
        var message = response
        if let old = peer.initiation { indexTable[old.localIndex] = nil }
        peer.initiation = nil
        // The responder may not send on the new session before the initiator used it: it waits in `next`.
        for old in [peer.next, peer.previous].compactMap({ $0 }) { indexTable[old.localIndex] = nil }
        peer.next = Keypair(keys: keys, localIndex: index, remoteIndex: consumed.remoteIndex, isInitiator: false, now: now)
        peer.previous = nil
        peer.cookies.stamp(&message, remote: peer.remote, now: now)
        peers[id] = peer
        anyAuthenticatedPacketTraversal(id, now: now)
        anyAuthenticatedPacketReceived(id)
        sessionDerived(id, now: now)
        if message.withUnsafeBytes({ send($0, toPeer: id) }) { peers[id]!.txBytes += UInt64(message.count) }
        anyAuthenticatedPacketSent(id)
    }

    func receiveResponse(_ m: UnsafeRawBufferPointer, from source: Endpoint, now: UInt64) {
        let index = m.le32(at: Layout.Response.receiver)
        guard let identity, let id = indexTable[index], var peer = peers[id], let state = peer.initiation,
              state.localIndex == index,
              let (remoteIndex, keys) = Noise.consumeResponse(m, state: state, local: identity,
                                                              presharedKey: peer.presharedKey) else { return }
        peer.initiation = nil
        let keypair = Keypair(keys: keys, localIndex: index, remoteIndex: remoteIndex, isInitiator: true, now: now)
        if let next = peer.next {
            if let c = peer.current { indexTable[c.localIndex] = nil }
            if let p = peer.previous { indexTable[p.localIndex] = nil }
            peer.previous = next
            peer.next = nil
        } else {
            if let p = peer.previous { indexTable[p.localIndex] = nil }
            peer.previous = peer.current
        }
        peer.current = keypair
        peer.endpoint = source
        peer.rxBytes += UInt64(m.count)
        peers[id] = peer
        sessionDerived(id, now: now)
        handshakeComplete(id)
        anyAuthenticatedPacketTraversal(id, now: now)
        anyAuthenticatedPacketReceived(id)
        // The initiator confirms the session at once: with what waited for it, or with a keepalive.
        if peers[id]!.staged.isEmpty { sendKeepalive(id, now: now) } else { sendStaged(id, now: now) }
    }

    func receiveCookieReply(_ m: UnsafeRawBufferPointer, now: UInt64) {
        guard let id = indexTable[m.le32(at: Layout.CookieReply.receiver)], var peer = peers[id] else { return }
        _ = peer.cookies.consume(m, remote: peer.remote, now: now)
        peers[id] = peer
    }

    /// mac1 always; under load mac2 too, else the sender gets a cookie to prove its address with, and then
    /// no more than its address's share (`HandshakeRateLimiter`).
    func admitHandshake(_ m: UnsafeRawBufferPointer, sender: UInt32, from source: Endpoint, now: UInt64) -> Bool {
        guard let identity, CookieChecker.validMAC1(m, local: identity) else { return false }
        guard load.isUnderLoad(now: now) else { return true }
        if cookieChecker.validMAC2(m, source: source.cookieSource, now: now) {
            return handshakeLimiter.allow(source.address, now: now)
        }
        let reply = cookieChecker.reply(to: m, receiver: sender, source: source.cookieSource, local: identity, now: now)
        var destination = source
        _ = send(reply, to: &destination)
        return false
    }
}
