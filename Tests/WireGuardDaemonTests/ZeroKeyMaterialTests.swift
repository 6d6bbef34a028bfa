import Testing
@testable import WireGuardDaemon

/// The zero-key timer (whitepaper section 6.3).
@Suite struct ZeroKeyMaterialTests {
    /// Zeroing the keys also drops what waited for a session (wireguard-go's ZeroAndFlushAll).
    @Test func zeroKeyMaterialDropsStagedPackets() {
        let device = FuzzDevice().make()
        let id = device.peers.ids[0]
        DevicePair.ipv4(from: 1, to: 2).withUnsafeBytes { device.peers[id]!.stage($0) }
        device.peers[id]!.timers.zeroKeyMaterial = FuzzDevice.start
        device.armed(id, FuzzDevice.start)
        _ = device.runTimers(now: FuzzDevice.start)
        #expect(device.peers[id]!.current == nil)
        #expect(device.peers[id]!.staged.isEmpty)
    }
}
