import Keys
import Testing
@testable import WireGuardDaemon

/// The private key as wireguard-go and the kernel keep it.
@Suite struct PrivateKeyClampTests {
    /// `wg show private-key` prints the key as wireguard-go and the kernel store it: clamped.
    @Test func privateKeyIsStoredClamped() {
        let device = FuzzDevice().make()
        let given = [UInt8](repeating: 0xff, count: 32)
        #expect(device.uapiSet(["private_key=\(Key(bytes: given)!.hex)"], now: FuzzDevice.start) == 0)
        let clamped = [0xf8] + [UInt8](repeating: 0xff, count: 30) + [0x7f]
        #expect(device.uapiGet().contains("private_key=\(Key(bytes: clamped)!.hex)\n"))
    }
}
