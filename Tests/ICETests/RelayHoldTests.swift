@testable import ICE
import Testing

/// The peer's relay candidates wait while a direct IPv6 host pair can still be nominated first (`RelayHold`).
@Suite struct RelayHoldTests {
    private func candidate(_ type: CandidateType, _ address: String, _ transport: CandidateTransport = .udp) -> ICECandidate {
        ICECandidate(sdp: "", type: type, transport: transport, address: address, port: 5000,
                     baseAddress: address, basePort: 5000)
    }

    @Test func onlyGlobalIPv6UDPHostCandidatesCount() {
        #expect(RelayHold.isDirectIPv6(candidate(.host, "2001:db8:a::2")))
        #expect(RelayHold.isDirectIPv6(candidate(.host, "3fff::1")))
        #expect(!RelayHold.isDirectIPv6(candidate(.host, "fe80::1")))
        #expect(!RelayHold.isDirectIPv6(candidate(.host, "fd00::1")))
        #expect(!RelayHold.isDirectIPv6(candidate(.host, "192.168.1.2")))
        #expect(!RelayHold.isDirectIPv6(candidate(.host, "2001:db8:a::2", .tcpPassive)))
        #expect(!RelayHold.isDirectIPv6(candidate(.srflx, "2001:db8:a::2")))
        #expect(!RelayHold.isDirectIPv6(candidate(.relay, "2001:db8:a::2")))
    }

    @Test func nothingWaitsUnlessBothSidesHaveIPv6() {
        let hold = RelayHold()
        #expect(hold.holdUntil(now: .now) == nil)
    }

    @Test func relaysWaitForTheDurationFromThePeersIPv6Candidate() {
        let t0 = ContinuousClock.now
        var hold = RelayHold()
        hold.directExpected(at: t0)
        #expect(hold.holdUntil(now: t0 + .milliseconds(100)) == t0 + RelayHold.duration)
        // A second IPv6 candidate does not move the start.
        hold.directExpected(at: t0 + .seconds(1))
        #expect(hold.holdUntil(now: t0 + .seconds(2)) == t0 + RelayHold.duration)
        #expect(hold.holdUntil(now: t0 + RelayHold.duration) == nil)
    }

    @Test func aSelectedPairEndsTheHoldUntilNewCredentials() {
        let t0 = ContinuousClock.now
        var hold = RelayHold()
        hold.directExpected(at: t0)
        hold.release()
        #expect(hold.holdUntil(now: t0) == nil)
        hold.directExpected(at: t0)
        #expect(hold.holdUntil(now: t0) == nil)
        hold.reset(at: t0)
        #expect(hold.holdUntil(now: t0) == nil)
        hold.directExpected(at: t0 + .seconds(5))
        #expect(hold.holdUntil(now: t0 + .seconds(6)) == t0 + .seconds(5) + RelayHold.duration)
    }

    /// The hold covers libnice's first two retransmissions of a check (500 ms, then 1 s) and stays short.
    @Test func durationCoversTwoRetransmissions() {
        #expect(RelayHold.duration > .milliseconds(1500))
        #expect(RelayHold.duration <= .seconds(3))
    }

    /// This side's own port mapping holds every later round of checks from its start (a restart's new credentials).
    @Test func aLocalMappingHoldsEachNewRound() {
        let t0 = ContinuousClock.now
        var hold = RelayHold()
        hold.mapped(at: t0)
        #expect(hold.holdUntil(now: t0) == t0 + RelayHold.duration)
        hold.release()
        #expect(hold.holdUntil(now: t0 + .seconds(1)) == nil)
        hold.reset(at: t0 + .seconds(10))
        #expect(hold.holdUntil(now: t0 + .seconds(10)) == t0 + .seconds(10) + RelayHold.duration)
    }
}
