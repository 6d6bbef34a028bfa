import Addresses

/// The libFuzzer target for what arrives on the UDP sockets: the input is a sequence of records, each fed to the
/// device through `receiveDatagram`, the event loop's own entry. Random bytes rarely pass mac1 or the AEAD, so
/// records can ask for the peer's help to reach what lies behind them:
///   kind (1 byte), length (2 bytes, little-endian), payload; kind modulo 5 selects
///   0: the payload as a datagram;
///   1: the payload with a valid mac1 from the peer (handshake messages past the MAC check into Noise);
///   2: the payload sealed by the peer on the current session (the decrypted IP packet checks and the TUN write);
///   3: time passes by the payload's nanoseconds (8 bytes, little-endian) and the timers run;
///   4: later datagrams come from another address (the payload's bytes), as a roaming peer's would.
public enum PacketFuzzing {
    private static let fixture = FuzzDevice()

    public static func run(_ input: UnsafeRawBufferPointer) {
        feed(input).checkConsistency()
    }

    /// The device after `input`.
    static func feed(_ input: UnsafeRawBufferPointer) -> KernelDevice {
        let device = fixture.make()
        var now = FuzzDevice.start
        var source = FuzzDevice.source
        var sender = Keypair(keys: .init(send: FuzzDevice.sessionKeys.receive, receive: FuzzDevice.sessionKeys.send),
                             localIndex: FuzzDevice.peerIndex, remoteIndex: FuzzDevice.currentIndex, isInitiator: false,
                             now: now)
        var rest = input[...]
        while rest.count >= 3 {
            let kind = rest[rest.startIndex] % 5
            let length = min(Int(rest[rest.startIndex + 1]) | Int(rest[rest.startIndex + 2]) << 8, rest.count - 3)
            let payload = Array(rest.dropFirst(3).prefix(length))
            rest = rest.dropFirst(3 + length)
            switch kind {
            case 0: deliver(payload, to: device, from: source, now: now)
            case 1:
                var message = payload
                if message.count >= 32 {
                    var jar = CookieJar()
                    jar.stamp(&message, remote: fixture.deviceAtPeer, now: now)
                }
                deliver(message, to: device, from: source, now: now)
            case 2:
                guard payload.count <= 65_536 - Layout.Transport.minimumSize else { continue }
                let buffer = device.buffer
                buffer.baseAddress!.advanced(by: Layout.Transport.headerSize).copyMemory(from: payload, byteCount: payload.count)
                let count = sender.seal(buffer, length: payload.count, mtu: 65_536 - Layout.Transport.minimumSize - 16)
                device.receiveDatagram(count: count, from: source, now: now)
            case 3:
                let step = payload.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
                now &+= step % (1 << 48)
                _ = device.runTimers(now: now)
            default:
                source = endpoint(payload)
            }
        }
        return device
    }

    private static func deliver(_ datagram: [UInt8], to device: KernelDevice, from source: Endpoint, now: UInt64) {
        let count = min(datagram.count, device.buffer.count)
        device.buffer.copyBytes(from: datagram.prefix(count))
        device.receiveDatagram(count: count, from: source, now: now)
    }

    /// IPv4 from fewer than 18 bytes (address, port), IPv6 from 18 and more.
    private static func endpoint(_ bytes: [UInt8]) -> Endpoint {
        let isIPv6 = bytes.count >= 18
        let padded = bytes + [UInt8](repeating: 0, count: 18)
        let port = UInt16(padded[isIPv6 ? 16 : 4]) << 8 | UInt16(padded[isIPv6 ? 17 : 5])
        let address = padded.withUnsafeBytes { IPAddress(packet: $0, offset: 0, isIPv6: isIPv6) }
        return Endpoint(address: address, port: port)
    }

    /// Valid messages to start from: the peer's initiation, its response to the device's initiation, a cookie reply
    /// to that initiation, and sealed IPv4 and IPv6 packets and a keepalive.
    public static func seeds() -> [[UInt8]] {
        let f = fixture
        var initiation = Noise.createInitiation(local: f.peer, remote: f.deviceAtPeer, localIndex: FuzzDevice.peerIndex,
                                                timestamp: TAI64N.make(seconds: 1_700_000_000, nanoseconds: 0))!.message
        var jar = CookieJar()
        jar.stamp(&initiation, remote: f.deviceAtPeer, now: FuzzDevice.start)
        // The peer answering the device's initiation: the same Noise steps, from the other side.
        let atPeer = initiationMessageConsumedByPeer()
        var response = Noise.createResponse(to: atPeer, presharedKey: Secret(count: 32),
                                            localIndex: FuzzDevice.peerIndex)!.message
        jar.stamp(&response, remote: f.deviceAtPeer, now: FuzzDevice.start)
        var checker = CookieChecker()
        let cookieReply = f.initiationMessage.withUnsafeBytes {
            checker.reply(to: $0, receiver: FuzzDevice.initiationIndex, source: FuzzDevice.source.cookieSource, local: f.peer,
                          now: FuzzDevice.start)
        }
        let ipv4 = ipPacket(version: 4, source: [10, 9, 0, 2], destination: [10, 9, 0, 1])
        let ipv6 = ipPacket(version: 6, source: [0xfd, 0, 0, 9] + [UInt8](repeating: 0, count: 11) + [2],
                            destination: [0xfd, 0, 0, 9] + [UInt8](repeating: 0, count: 11) + [1])
        return [
            record(0, initiation), record(0, response), record(0, cookieReply),
            record(1, initiation), record(2, ipv4), record(2, ipv6), record(2, []),
            record(2, ipv4) + record(3, [0, 0, 0, 0, 0x20, 0, 0, 0]) + record(2, ipv6),
            record(4, [198, 51, 100, 7, 0xca, 0x6c]) + record(2, ipv4),
            record(4, [0x20, 1, 0xd, 0xb8] + [UInt8](repeating: 0, count: 11) + [1, 0xca, 0x6c]) + record(0, initiation),
        ]
    }

    private static func initiationMessageConsumedByPeer() -> Noise.ConsumedInitiation {
        let f = fixture
        return f.initiationMessage.withUnsafeBytes {
            Noise.consumeInitiation($0, local: f.peer) { $0 == f.device.publicKey ? f.deviceAtPeer.staticShared : nil }
        }!
    }

    private static func record(_ kind: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [kind, UInt8(payload.count & 0xff), UInt8(payload.count >> 8)] + payload
    }

    /// A minimal IP packet (a header and 8 bytes of payload) with the lengths its header claims.
    private static func ipPacket(version: UInt8, source: [UInt8], destination: [UInt8]) -> [UInt8] {
        if version == 4 {
            return [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0] + source + destination + [UInt8](repeating: 0, count: 8)
        }
        return [0x60, 0, 0, 0, 0, 8, 17, 64] + source + destination + [UInt8](repeating: 0, count: 8)
    }
}
