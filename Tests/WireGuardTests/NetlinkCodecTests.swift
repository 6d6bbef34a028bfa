import Keys
import Glibc
import Testing
@testable import WireGuard

// Byte layouts written out from include/uapi/linux/wireguard.h and <linux/netlink.h>, independently of the
// encoder: little-endian (host order on the targets), attributes padded to 4, NLA_F_NESTED = 0x8000.

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
private func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xff) } }

private func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    var out = le16(UInt16(4 + payload.count)) + le16(type) + payload
    while out.count % 4 != 0 { out.append(0) }
    return out
}
private func nest(_ type: UInt16, _ children: [UInt8]...) -> [UInt8] {
    var body = [UInt8]()
    for child in children { body += child }
    return attr(type | 0x8000, body)
}
private func genlMessage(type: UInt16, flags: UInt16, sequence: UInt32, command: UInt8, _ attributes: [UInt8]...) -> [UInt8] {
    var body: [UInt8] = [command, 1, 0, 0]
    for attribute in attributes { body += attribute }
    var header = le32(UInt32(16 + body.count))
    header += le16(type)
    header += le16(flags)
    header += le32(sequence)
    header += le32(0)
    return header + body
}
private func sockaddrIn(_ a: [UInt8], port: UInt16) -> [UInt8] {
    le16(UInt16(AF_INET)) + [UInt8(port >> 8), UInt8(port & 0xff)] + a + [UInt8](repeating: 0, count: 8)
}
private func sockaddrIn6(_ a: [UInt8], port: UInt16, scope: UInt32) -> [UInt8] {
    le16(UInt16(AF_INET6)) + [UInt8(port >> 8), UInt8(port & 0xff)] + le32(0) + a + le32(scope)
}
private func filled(_ byte: UInt8) -> Key { Key(bytes: [UInt8](repeating: byte, count: 32))! }

// wireguard.h numbering
private let IFNAME: UInt16 = 2, PRIVATE_KEY: UInt16 = 3, PUBLIC_KEY: UInt16 = 4, DFLAGS: UInt16 = 5
private let LISTEN_PORT: UInt16 = 6, FWMARK: UInt16 = 7, PEERS: UInt16 = 8
private let P_PUBLIC_KEY: UInt16 = 1, P_PSK: UInt16 = 2, P_FLAGS: UInt16 = 3, P_ENDPOINT: UInt16 = 4, P_KEEPALIVE: UInt16 = 5
private let P_HANDSHAKE: UInt16 = 6, P_RX: UInt16 = 7, P_TX: UInt16 = 8, P_ALLOWEDIPS: UInt16 = 9, P_VERSION: UInt16 = 10
private let A_FAMILY: UInt16 = 1, A_IPADDR: UInt16 = 2, A_CIDR: UInt16 = 3

private func allowedIP(_ a: [UInt8], _ cidr: UInt8) -> [UInt8] {
    nest(0, attr(A_FAMILY, le16(UInt16(a.count == 4 ? AF_INET : AF_INET6))), attr(A_IPADDR, a), attr(A_CIDR, [cidr]))
}

@Suite struct NetlinkCodecTests {
    @Test func getRequestLayout() {
        let bytes = WireGuardNetlinkCodec.getRequest(family: 0x1b, interface: "wg0", sequence: 9)
        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
        #expect(bytes == genlMessage(type: 0x1b, flags: 0x305, sequence: 9, command: 0, attr(IFNAME, Array("wg0\0".utf8))))
    }

    @Test func setMessageLayout() {
        let change = DeviceChange(privateKey: PrivateKey(filled(0x11)), listenPort: 51820, fwmark: 7, replacePeers: true, peers: [
            PeerChange(publicKey: filled(0x22), presharedKey: filled(0x33), endpoint: Endpoint("192.0.2.1:51820")!,
                       persistentKeepalive: 25, replaceAllowedIPs: true, allowedIPs: [AllowedIP("10.0.0.0/24")!]),
            PeerChange(publicKey: filled(0x44), updateOnly: true, endpoint: Endpoint("[2001:db8::1]:443")!),
            .remove(filled(0x55)),
        ])
        let messages = WireGuardNetlinkCodec.setMessages(change, interface: "wg0", family: 0x1b, firstSequence: 42)
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        let expected = genlMessage(
            type: 0x1b, flags: 0x5, sequence: 42, command: 1,
            attr(IFNAME, Array("wg0\0".utf8)), attr(PRIVATE_KEY, filled(0x11).bytes), attr(LISTEN_PORT, le16(51820)),
            attr(FWMARK, le32(7)), attr(DFLAGS, le32(1)),
            nest(PEERS,
                 nest(0, attr(P_PUBLIC_KEY, filled(0x22).bytes), attr(P_PSK, filled(0x33).bytes),
                      attr(P_ENDPOINT, sockaddrIn([192, 0, 2, 1], port: 51820)), attr(P_KEEPALIVE, le16(25)),
                      attr(P_FLAGS, le32(2)), nest(P_ALLOWEDIPS, allowedIP([10, 0, 0, 0], 24))),
                 nest(0, attr(P_PUBLIC_KEY, filled(0x44).bytes), attr(P_ENDPOINT, sockaddrIn6(v6, port: 443, scope: 0)),
                      attr(P_FLAGS, le32(4))),
                 nest(0, attr(P_PUBLIC_KEY, filled(0x55).bytes), attr(P_FLAGS, le32(1)))))
        #expect(messages.map(\.bytes) == [expected])
        #expect(messages[0].peers == [filled(0x22), filled(0x44), filled(0x55)])
    }

    /// One peer's allowed IPs over three messages. Each v4 allowed IP costs 28 bytes; a message is closed only when
    /// the next would pass 4096. First message: 20 header + 8 ifname + 4 peers + 4 peer + 36 key + 8 flags
    /// + 4 allowedips = 84, so 143 IPs; later ones repeat only ifname and key (76 bytes): 143 again, then 14.
    @Test func peerSplitAcrossSetMessages() throws {
        let ips = (0..<300).map { AllowedIP(address: [10, 1, UInt8($0 / 256), UInt8($0 % 256)], cidr: 32)! }
        let change = DeviceChange(peers: [PeerChange(publicKey: filled(0x22), replaceAllowedIPs: true, allowedIPs: ips)])
        let messages = WireGuardNetlinkCodec.setMessages(change, interface: "wg0", family: 0x1b, firstSequence: 1, limit: 4096)
        #expect(messages.count == 3)
        #expect(messages.map { $0.bytes.count } == [84 + 143 * 28, 76 + 143 * 28, 76 + 14 * 28])
        #expect(messages.map { $0.bytes.readU32(at: 8) } == [1, 2, 3])
        var decodedIPs = [AllowedIP]()
        for (index, message) in messages.enumerated() {
            let attributes = try #require(NetlinkAttribute.parse(message.bytes[20...]))
            #expect(attributes.map(\.type) == [IFNAME, PEERS])
            let peer = try #require(attributes[1].nested?.first?.nested)
            // Only the first part carries the peer's flags (REPLACE_ALLOWEDIPS); later parts add to it.
            #expect(peer.map(\.type) == (index == 0 ? [P_PUBLIC_KEY, P_FLAGS, P_ALLOWEDIPS] : [P_PUBLIC_KEY, P_ALLOWEDIPS]))
            for ip in try #require(peer.last?.nested) {
                let fields = try #require(ip.nested)
                decodedIPs.append(AllowedIP(address: Array(fields[1].payload), cidr: fields[2].u8!)!)
            }
        }
        #expect(decodedIPs == ips)
    }

    /// Peers that do not fit start the next message: 20 + 8 + 4 = 32 bytes, then 40 per key-only peer → 101.
    @Test func peersSplitAcrossSetMessages() {
        let keys = (0..<250).map { _ in publicKey() }
        let change = DeviceChange(privateKey: PrivateKey(filled(1)), peers: keys.map { PeerChange(publicKey: $0) })
        let messages = WireGuardNetlinkCodec.setMessages(change, interface: "wg0", family: 0x1b, firstSequence: 1, limit: 4096)
        #expect(messages.map(\.peers.count) == [100, 101, 49])  // the first also carries the 36-byte private key
        #expect(messages.flatMap(\.peers) == keys)
        #expect(messages.allSatisfy { $0.bytes.count <= 4096 && $0.bytes.count + 40 > 4096 || $0.peers.count == 49 })
        #expect(messages.dropFirst().allSatisfy { NetlinkAttribute.parse($0.bytes[20...])!.map(\.type) == [IFNAME, PEERS] })
    }

    /// A dump whose second message continues the first message's last peer (more allowed IPs, same key).
    @Test func peerSplitAcrossDumpMessages() throws {
        let v6: [UInt8] = [0xfe, 0x80] + [UInt8](repeating: 0, count: 13) + [1]
        let first = genlMessage(
            type: 0x1b, flags: 0x2, sequence: 5, command: 0,
            attr(1, le32(3)), attr(IFNAME, Array("wg0\0".utf8)), attr(PRIVATE_KEY, filled(0x11).bytes),
            attr(PUBLIC_KEY, filled(0x12).bytes), attr(LISTEN_PORT, le16(51820)), attr(FWMARK, le32(0x20)),
            nest(PEERS, nest(0, attr(P_PUBLIC_KEY, filled(0x22).bytes), attr(P_PSK, filled(0x33).bytes),
                             attr(P_ENDPOINT, sockaddrIn6(v6, port: 51821, scope: 2)), attr(P_KEEPALIVE, le16(25)),
                             attr(P_HANDSHAKE, le64(1_700_000_000) + le64(123)), attr(P_RX, le64(1000)), attr(P_TX, le64(2000)),
                             attr(P_VERSION, le32(1)),
                             nest(P_ALLOWEDIPS, allowedIP([10, 0, 0, 0], 8), allowedIP(v6, 64)))))
        let second = genlMessage(
            type: 0x1b, flags: 0x2, sequence: 5, command: 0,
            attr(1, le32(3)), attr(IFNAME, Array("wg0\0".utf8)),
            nest(PEERS, nest(0, attr(P_PUBLIC_KEY, filled(0x22).bytes), nest(P_ALLOWEDIPS, allowedIP([192, 168, 0, 0], 16))),
                 nest(0, attr(P_PUBLIC_KEY, filled(0x44).bytes), attr(P_PSK, [UInt8](repeating: 0, count: 32)),
                      attr(P_ENDPOINT, sockaddrIn([192, 0, 2, 9], port: 9)), attr(P_HANDSHAKE, le64(0) + le64(0)))))
        let messages = try #require(NetlinkMessage.parse(first + second))
        let device = try WireGuardNetlinkCodec.decodeDevice(messages, interface: "wg0")
        #expect(device == Device(name: "wg0", privateKey: PrivateKey(filled(0x11)), publicKey: filled(0x12), listenPort: 51820, fwmark: 0x20, peers: [
            Peer(publicKey: filled(0x22), presharedKey: filled(0x33),
                 endpoint: Endpoint(address: .v6(v6, scopeID: 2), port: 51821), persistentKeepalive: 25,
                 allowedIPs: [AllowedIP("10.0.0.0/8")!, AllowedIP("fe80::1/64")!, AllowedIP("192.168.0.0/16")!],
                 lastHandshake: Timestamp(seconds: 1_700_000_000, nanoseconds: 123), rxBytes: 1000, txBytes: 2000),
            Peer(publicKey: filled(0x44), endpoint: Endpoint("192.0.2.9:9")!),
        ]))
    }

    @Test func malformedDumpIsAnError() throws {
        let truncated = genlMessage(type: 0x1b, flags: 0x2, sequence: 5, command: 0,
                                    nest(PEERS, nest(0, attr(P_ENDPOINT, [1, 2, 3]))))
        let messages = try #require(NetlinkMessage.parse(truncated))
        #expect(throws: WireGuardError.protocolError(interface: "wg0", "netlink GET_DEVICE: bad endpoint")) {
            try WireGuardNetlinkCodec.decodeDevice(messages, interface: "wg0")
        }
    }

    @Test func errorAndDoneMessages() throws {
        // NLMSG_ERROR carries -errno then the request header.
        let error = le32(36) + le16(2) + le16(0) + le32(7) + le32(0) + le32(UInt32(bitPattern: -ENODEV)) + [UInt8](repeating: 0, count: 16)
        let done = le32(20) + le16(3) + le16(2) + le32(7) + le32(0) + le32(0)
        let messages = try #require(NetlinkMessage.parse(error + done))
        #expect(messages.map(\.type) == [2, 3])
        #expect(messages.map(\.errorCode) == [ENODEV, 0])
        #expect(NetlinkMessage.parse(le32(400) + [UInt8](repeating: 0, count: 16)) == nil)
    }
}
