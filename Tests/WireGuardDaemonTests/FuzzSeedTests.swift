import Testing
@testable import WireGuardDaemon

/// The fuzz targets' seeds reach what they are for: a fuzzer starting from messages the device drops at the
/// MAC check would never get past it.
@Suite struct FuzzSeedTests {
    func feed(_ seed: [UInt8]) -> (device: KernelDevice, peer: Peer) {
        let device = seed.withUnsafeBytes { PacketFuzzing.feed($0) }
        device.checkConsistency()
        return (device, device.peers[device.peers.ids[0]]!)
    }

    @Test func packetSeedsReachTheHandshakeAndTheTunnel() {
        let seeds = PacketFuzzing.seeds()
        // The peer's initiation: answered, with a session waiting for confirmation.
        #expect(feed(seeds[0]).peer.next != nil)
        // Its response to the device's initiation: a new current session.
        #expect(feed(seeds[1]).peer.current?.localIndex == FuzzDevice.initiationIndex)
        // The cookie reply to the device's initiation decrypts.
        var jar = feed(seeds[2]).peer.cookies
        var message = [UInt8](repeating: 0, count: 148)
        jar.stamp(&message, remote: RemoteIdentity(publicKey: [UInt8](repeating: 9, count: 32), local: nil), now: FuzzDevice.start)
        #expect(message[132...].contains { $0 != 0 }, "no mac2: the cookie was not taken")
        // Sealed IPv4 (28 bytes), IPv6 (48) and a keepalive are opened and counted: header, padded data, tag.
        let counted: [UInt64] = seeds[4...6].map { feed($0).peer.rxBytes }
        #expect(counted == [64, 80, 32])
        // A datagram from a new address moves the peer's endpoint there.
        #expect(feed(seeds[8]).peer.endpoint?.description == "198.51.100.7:51820")
    }

    @Test func uapiSeedsRun() {
        for seed in UAPIFuzzing.seeds() { seed.withUnsafeBytes { UAPIFuzzing.run($0) } }
    }
}
