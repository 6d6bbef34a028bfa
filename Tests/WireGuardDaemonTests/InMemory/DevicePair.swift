import Addresses
import Keys
@testable import WireGuardDaemon

typealias MemoryDevice = Device<MemoryTUN, MemoryBind>

/// Two devices peered over a `MemoryNetwork`: alice at 192.0.2.1 with tunnel address 10.99.0.1, bob at
/// 192.0.2.2 with 10.99.0.2, both on port 51820. Nothing moves until the test delivers it.
struct DevicePair {
    let network = MemoryNetwork()
    let alice: MemoryDevice
    let bob: MemoryDevice
    let aliceKey = X25519.generatePrivate(), bobKey = X25519.generatePrivate()

    init(now: UInt64 = Clock.now()) {
        alice = Self.device("alice", network: network, address: "192.0.2.1")
        bob = Self.device("bob", network: network, address: "192.0.2.2")
        Self.configure(alice, key: aliceKey, peer: bobKey, endpoint: "192.0.2.2:51820", allowed: "10.99.0.2/32", now: now)
        Self.configure(bob, key: bobKey, peer: aliceKey, endpoint: "192.0.2.1:51820", allowed: "10.99.0.1/32", now: now)
    }

    private static func device(_ name: String, network: MemoryNetwork, address: String) -> MemoryDevice {
        var bind = MemoryBind(network: network, address: address)
        _ = bind.bind(port: 51820)
        return MemoryDevice(interfaceName: name, tun: MemoryTUN(), sockets: bind)
    }

    static func configure(_ device: MemoryDevice, key: [UInt8], peer: [UInt8], endpoint: String, allowed: String,
                          now: UInt64) {
        let lines = ["private_key=\(Key(bytes: key)!.hex)", "public_key=\(Key(bytes: X25519.publicKey(peer))!.hex)",
                     "endpoint=\(endpoint)", "allowed_ip=\(allowed)"]
        precondition(device.uapiSet(lines.map { Substring($0) }, now: now) == 0)
    }

    /// The peer id each device gave the other.
    var alicePeer: UInt32 { alice.peers.ids[0] }
    var bobPeer: UInt32 { bob.peers.ids[0] }

    /// `packet` as if the kernel routed it into `device`'s TUN.
    func inject(_ packet: [UInt8], into device: MemoryDevice, now: UInt64 = Clock.now()) {
        let header = Layout.Transport.headerSize
        packet.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: device.buffer[header...]).copyMemory(from: $0) }
        device.routeFromTUN(length: packet.count, now: now)
    }

    /// Hands `device` what waits for it, as its event loop would; returns how many datagrams that was.
    @discardableResult
    func deliver(to device: MemoryDevice, now: UInt64 = Clock.now()) -> Int {
        let waiting = network.take(for: device.sockets.addresses, port: device.sockets.port)
        guard device.sockets.isOpen else { return 0 }
        for datagram in waiting {
            device.buffer.copyBytes(from: datagram.bytes)
            // As the kernel's IP_PKTINFO: the address it was sent to.
            let from = Endpoint(datagram.source.remote, source: StickySource(address: datagram.destination.address, interface: 1))
            device.receiveDatagram(count: datagram.bytes.count, from: from, now: now)
        }
        return waiting.count
    }

    /// Delivers both ways until nothing moves; returns the datagrams delivered.
    @discardableResult
    func settle(now: UInt64 = Clock.now()) -> Int {
        var total = 0
        while true {
            let n = deliver(to: alice, now: now) + deliver(to: bob, now: now)
            if n == 0 { return total }
            total += n
        }
    }

    /// An IPv4 packet from 10.99.0.`source` to 10.99.0.`destination` carrying `payload` (UDP, no checksum).
    static func ipv4(from source: UInt8, to destination: UInt8, payload: [UInt8] = Array("hello".utf8)) -> [UInt8] {
        let length = 28 + payload.count
        return [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 0, 0, 0, 64, 17, 0, 0, 10, 99, 0, source,
                10, 99, 0, destination, 0x30, 0x39, 0x30, 0x39, UInt8((8 + payload.count) >> 8),
                UInt8((8 + payload.count) & 0xff), 0, 0] + payload
    }
}
