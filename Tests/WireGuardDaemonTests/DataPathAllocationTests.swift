import CMallocCount
import Glibc
import Keys
import Testing
@testable import WireGuardDaemon

/// The data path allocates nothing per packet: two devices in this process, each with a real TUN device and
/// UDP sockets on loopback, driven through the calls the event loop makes, with this thread's heap
/// allocations counted. (A coroutine accessor on the peer table once cost nine `malloc`s per received packet.)
@Suite(.serialized, .tags(.integration)) struct DataPathAllocationTests {
    @Test func transportPacketsAllocateNothing() throws {
        let tag = getpid() % 10_000
        let alice = try Self.device("wgdma\(tag)"), bob = try Self.device("wgdmb\(tag)")
        let aliceKey = X25519.generatePrivate(), bobKey = X25519.generatePrivate()
        try Self.configure(alice, key: aliceKey, peer: bobKey, peerAddress: "10.99.0.2/32", peerPort: bob.sockets.port)
        try Self.configure(bob, key: bobKey, peer: aliceKey, peerAddress: "10.99.0.1/32", peerPort: alice.sockets.port)

        // The first packet waits for the handshake: initiation, response, then the packet itself.
        var ignored = 0
        Self.send(from: alice, source: 1, destination: 2, allocations: &ignored)
        #expect(Self.deliver(to: bob, allocations: &ignored) == 1 && Self.deliver(to: alice, allocations: &ignored) == 1
                && Self.deliver(to: bob, allocations: &ignored) == 1)
        // Both ways until every lazy structure exists, then counted.
        var allocations = 0
        for _ in 0..<20 { _ = Self.exchange(alice, bob, allocations: &allocations) }
        allocations = 0
        var delivered = 0
        for _ in 0..<500 { delivered += Self.exchange(alice, bob, allocations: &allocations) }
        #expect(delivered == 1000, "every transport message arrived")
        #expect(allocations == 0, "\(allocations) heap allocations for 1,000 packets")
        #expect(alice.peers[0]!.txBytes > 0 && bob.peers[0]!.rxBytes == alice.peers[0]!.txBytes)
    }

    private static func device(_ name: String) throws -> KernelDevice {
        var sockets = UDPSockets()
        try #require(sockets.bind(port: 0) == 0)
        return KernelDevice(interfaceName: name, tun: try TUN(name: name), sockets: sockets)
    }

    private static func configure(_ device: KernelDevice, key: [UInt8], peer: [UInt8], peerAddress: String, peerPort: UInt16) throws {
        let hex = { (bytes: [UInt8]) in Key(bytes: bytes)!.hex }
        let lines = ["private_key=\(hex(key))", "public_key=\(hex(X25519.publicKey(peer)))",
                     "endpoint=127.0.0.1:\(peerPort)", "allowed_ip=\(peerAddress)"]
        try #require(device.uapiSet(lines.map { Substring($0) }, now: Clock.now()) == 0)
    }

    /// An IPv4 packet from 10.99.0.`source` to 10.99.0.`destination`, as if read from the TUN. Only the
    /// device's own calls count towards `allocations`: the test's unoptimized code allocates as it likes.
    private static func send(from device: KernelDevice, source: UInt8, destination: UInt8, allocations: inout Int) {
        let header = Layout.Transport.headerSize, length = 120
        let packet = UnsafeMutableRawBufferPointer(rebasing: device.buffer[header..<(header + length)])
        packet.initializeMemory(as: UInt8.self, repeating: 0)
        packet[0] = 0x45
        packet[2] = UInt8(length >> 8)
        packet[3] = UInt8(length & 0xff)
        packet[8] = 64
        packet[9] = 17
        packet[12] = 10
        packet[13] = 99
        packet[15] = source
        packet[16] = 10
        packet[17] = 99
        packet[19] = destination
        let before = wgd_thread_allocations()
        device.routeFromTUN(length: length, now: Clock.now())
        allocations += Int(wgd_thread_allocations() - before)
    }

    /// Hands every waiting datagram to the device, as the event loop does; returns how many there were.
    private static func deliver(to device: KernelDevice, allocations: inout Int) -> Int {
        var count = 0
        while true {
            let before = wgd_thread_allocations()
            guard let (length, source) = UDPSockets.receive(device.sockets.fd4, into: device.buffer) else { break }
            device.receiveDatagram(count: length, from: source, now: Clock.now())
            allocations += Int(wgd_thread_allocations() - before)
            count += 1
        }
        return count
    }

    private static func exchange(_ alice: KernelDevice, _ bob: KernelDevice, allocations: inout Int) -> Int {
        send(from: alice, source: 1, destination: 2, allocations: &allocations)
        let there = deliver(to: bob, allocations: &allocations)
        send(from: bob, source: 2, destination: 1, allocations: &allocations)
        return there + deliver(to: alice, allocations: &allocations)
    }
}
