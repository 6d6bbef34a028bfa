import CNice

/// Holds the peer's relay candidates back from libnice for a moment when a direct pair is to be expected, so that
/// the first pair nominated is the direct one rather than a relay: when both sides have global IPv6 host
/// candidates, and when a home router maps a port for either side (a port-mapped candidate reaches a host behind
/// a NAT that maps every destination anew, where STUN's address does not).
///
/// With TCP candidates in the exchange (`NetworkTypes` with tcp4/tcp6, the default), libnice 0.1.21's controlling
/// agent switches itself to regular nomination (RFC 6544 §8) as soon as a remote TCP candidate arrives before its
/// first check, and regular nomination decides once: when a host/host pair is valid, or any two pairs are, it
/// nominates the best valid pair and never nominates again. Relay pairs need no hole in the peer's firewall; the
/// IPv6 host pair does, behind stateful home-router firewalls, and its first check is dropped unless the other side
/// has already sent on that pair. So two relay pairs were often valid first, the relay was nominated, and the IPv6
/// pair that validated a moment later was never used until the controlling side's relay → direct retry, 20-30 s
/// later. (In aggressive nomination libnice would switch, but only after selecting the relay first.)
///
/// Both sides hold: a relay pair of ours can only become valid through the peer's checks to our relay candidate,
/// which the peer holds, or through our checks to the peer's relay candidate, which we hold. The hold ends when a
/// pair is selected or `duration` after the peer's first global IPv6 UDP host candidate arrived, whichever is first;
/// it applies only when this side has such a candidate too, so a path without IPv6 on both sides is not delayed.
/// A port mapping holds on both sides too: the peer's mapped candidate starts the hold here, and ours (which the
/// session reports, `ICEAgent.expectDirectPath`) starts it for every round of checks from then on.
struct RelayHold {
    /// Long enough for two retransmissions of the IPv6 host pair's check (libnice's 500 ms, then 1 s); the cost,
    /// paid only when both sides have global IPv6 host candidates that do not connect, is the relay that much later.
    static let duration: Duration = .milliseconds(2500)

    /// When the peer's first global IPv6 UDP host candidate arrived (both sides have one), for its current credentials.
    private(set) var since: ContinuousClock.Instant?
    /// A pair was selected or the hold expired: relay candidates go straight to libnice until new credentials.
    private(set) var released = false

    /// A global IPv6 UDP host candidate (2000::/3), the kind a direct IPv6 path starts from.
    static func isDirectIPv6(_ c: ICECandidate) -> Bool {
        guard c.type == .host, c.transport == .udp, c.isIPv6, let first = c.address.first else { return false }
        return first == "2" || first == "3"
    }

    /// This side has a port-mapped candidate: every round of checks from now on expects the peer to reach it.
    private(set) var locallyMapped = false

    /// A direct pair is to be expected (the peer sent a global IPv6 host candidate and this side has one, or the
    /// peer sent a port-mapped candidate): relay candidates from now on may wait.
    mutating func directExpected(at now: ContinuousClock.Instant) {
        if since == nil, !released { since = now }
    }

    /// This side's port is mapped on its router (see `locallyMapped`); holds from `now` in the current round.
    mutating func mapped(at now: ContinuousClock.Instant) {
        locallyMapped = true
        directExpected(at: now)
    }

    /// Until when a relay candidate arriving `now` waits (nil: it goes to libnice now).
    func holdUntil(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard !released, let since, now < since + Self.duration else { return nil }
        return since + Self.duration
    }

    /// A pair was selected, or the hold expired.
    mutating func release() { released = true }

    /// New remote credentials: new checks, a new hold (at once when this side's port is mapped).
    mutating func reset(at now: ContinuousClock.Instant) {
        since = locallyMapped ? now : nil
        released = false
    }
}

extension AgentCore {
    /// Notes the peer's global IPv6 host candidates and holds its relay candidates (see `RelayHold`). Returns whether
    /// `candidate` was held. Loop thread.
    func holdsBackRelay(_ candidate: ICECandidate, sdp: String, now: ContinuousClock.Instant = .now) -> Bool {
        if RelayHold.isDirectIPv6(candidate) {
            if ((try? localCandidates()) ?? []).contains(where: RelayHold.isDirectIPv6) {
                state.withLock { $0.relayHold.directExpected(at: now) }
            }
            return false
        }
        if ICECandidate.isPortMapped(sdp: sdp) {
            state.withLock { $0.relayHold.directExpected(at: now) }
            return false
        }
        guard candidate.type == .relay else { return false }
        let (until, first) = state.withLock { s -> (ContinuousClock.Instant?, Bool) in
            guard let until = s.relayHold.holdUntil(now: now) else { return (nil, false) }
            s.heldRelays.append((sdp, s.remoteCredentials?.ufrag))
            return (until, s.heldRelays.count == 1)
        }
        guard let until else { return false }
        if first {
            logger.debug("a direct pair is expected (IPv6 host candidates on both sides, or a port mapping): the peer's relay candidates wait until a pair is selected, at most \(RelayHold.duration)")
        }
        let milliseconds = max(0, (until - now) / .milliseconds(1))
        loop.after(milliseconds: UInt32(milliseconds.rounded(.up))) { [self] in releaseHeldRelays() }
        return true
    }

    /// This side's port is mapped on its router: the peer's relay candidates wait in this and every later round of
    /// checks (`RelayHold`). Loop thread.
    func portMapped(now: ContinuousClock.Instant = .now) {
        state.withLock { $0.relayHold.mapped(at: now) }
    }

    /// Ends the hold (a pair was selected, or its time is up) and gives libnice the relay candidates it held that
    /// belong to the current credentials. Loop thread.
    func releaseHeldRelays() {
        guard open.withLock({ $0 }) else { return }
        let (held, ufrag) = state.withLock { s in
            s.relayHold.release()
            defer { s.heldRelays = [] }
            return (s.heldRelays, s.remoteCredentials?.ufrag)
        }
        for h in held where h.ufrag == ufrag {
            guard let parsed = nice_agent_parse_remote_candidate_sdp(agent.raw, stream, "a=" + h.sdp) else { continue }
            if !setRemoteCandidate(parsed) { logger.warning("libnice rejected remote candidate \(h.sdp.prefix(200))") }
            nice_candidate_free(parsed)
        }
    }
}
