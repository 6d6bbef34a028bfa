import Testing
@testable import WireGuardDaemon

/// A packet for a peer that has no endpoint yet is a handshake attempt all the same, as in wireguard-go
/// (`SendHandshakeInitiation`): it starts REKEY_TIMEOUT and the retransmission. A daemon that
/// skipped it would initiate the moment an endpoint is set, beside the session's own first initiation, and the
/// peer would drop the second as a flood (one initiation per 20 ms).
@Suite struct InitiationPacingTests {
    @Test func anAttemptWithoutEndpointCountsTowardsRekeyTimeout() {
        let device = FuzzDevice().make()
        let id = device.peers.ids[0]
        for index in device.peers[id]!.indices { device.indexTable[index] = nil }
        device.peers[id]!.current = nil
        device.peers[id]!.initiation = nil
        device.peers[id]!.endpoint = nil
        let start = FuzzDevice.start

        route(to: device, now: start)
        #expect(device.peers[id]!.lastInitiationSent == start, "no attempt counted without an endpoint")
        #expect(device.peers[id]!.initiation != nil)

        device.peers[id]!.endpoint = FuzzDevice.source
        route(to: device, now: start + Clock.second)
        #expect(device.peers[id]!.lastInitiationSent == start, "a second initiation within REKEY_TIMEOUT")

        let retry = start + Protocol.rekeyTimeout + UInt64(Protocol.rekeyJitterMaxMilliseconds) * 1_000_000
        _ = device.runTimers(now: retry)
        #expect(device.peers[id]!.lastInitiationSent == retry)
        #expect(device.peers[id]!.timers.handshakeAttempts == 1)
        device.checkConsistency()
    }

    /// An IPv4 packet to the peer's allowed IPs, as the TUN would hand it over.
    private func route(to device: KernelDevice, now: UInt64) {
        let packet: [UInt8] = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2] + [UInt8](repeating: 0, count: 8)
        packet.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: device.buffer[Layout.Transport.headerSize...]).copyMemory(from: $0)
        }
        device.routeFromTUN(length: packet.count, now: now)
    }
}
