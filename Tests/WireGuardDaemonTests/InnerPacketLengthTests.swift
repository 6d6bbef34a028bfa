import Testing
@testable import WireGuardDaemon

/// The length checks on decrypted packets.
@Suite struct InnerPacketLengthTests {
    /// An IPv4 header claiming fewer bytes than itself is malformed.
    @Test func ipv4TotalLengthBelowTheHeaderIsRejected() {
        var packet = DevicePair.ipv4(from: 1, to: 2)
        for claimed in [0, 1, 19] {
            packet[2] = 0
            packet[3] = UInt8(claimed)
            #expect(packet.withUnsafeBytes { KernelDevice.ipLength(of: $0) } == nil, "total length \(claimed)")
        }
        packet[3] = 20
        #expect(packet.withUnsafeBytes { KernelDevice.ipLength(of: $0) } == 20)
    }
}
