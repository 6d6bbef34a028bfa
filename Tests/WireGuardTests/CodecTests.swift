import Keys
import Glibc
import Testing
@testable import WireGuard

/// Text forms and the UAPI grammar, byte for byte.
@Suite struct CodecTests {
    @Test func keys() throws {
        let key = try #require(Key(base64: "u4AKo5MOhFZbV6TanHSW8F6F7jHpcsQlTEzLhrvrK2s="))
        #expect(Key(hex: key.hex) == key)
        #expect(Key(hex: key.hex.uppercased()) == key)
        #expect(Key(base64: "u4AKo5MOhFZbV6TanHSW8F6F7jHpcsQlTEzLhrvrK2s") == nil)
        #expect(Key(hex: String(key.hex.dropLast())) == nil)
        #expect(Key(hex: String(key.hex.dropLast()) + "g") == nil)
        // RFC 7748 section 6.1 test vector (Alice).
        let alice = try #require(PrivateKey(hex: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        #expect(alice.publicKey.hex == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(!"\(Device(name: "x", privateKey: alice))".contains(alice.secret.base64))
    }

    @Test func addressesAndEndpoints() {
        #expect(AllowedIP("10.1.2.3/24")?.description == "10.1.2.3/24")
        #expect(AllowedIP("10.1.2.3")?.description == "10.1.2.3/32")
        #expect(AllowedIP("fd00::1/64")?.description == "fd00::1/64")
        #expect(AllowedIP("::/0")?.cidr == 0)
        for bad in ["10.1.2.3/33", "10.1.2/24", "10.1.2.3.4", "256.1.1.1", "10.1.2.3/", "fd00::/129", "", "x"] {
            #expect(AllowedIP(bad) == nil, "\(bad)")
        }
        #expect(Endpoint("192.0.2.1:51820")?.description == "192.0.2.1:51820")
        #expect(Endpoint("[2001:db8::1]:443")?.description == "[2001:db8::1]:443")
        #expect(Endpoint("[fe80::1%7]:1")?.description == "[fe80::1%7]:1")
        #expect(Endpoint("192.0.2.1") == nil)
        #expect(Endpoint("192.0.2.1:65536") == nil)
        #expect(Endpoint("example.com:1") == nil)
        let v6 = Endpoint("[fe80::1%7]:1")!
        #expect(Endpoint(sockaddrBytes: v6.sockaddrBytes) == v6)
        #expect(v6.sockaddrBytes.count == 28 && Endpoint("1.2.3.4:5")!.sockaddrBytes.count == 16)
    }

    @Test func setRequests() {
        let key = Key(bytes: [UInt8](repeating: 0xab, count: 32))!
        let peer = Key(bytes: [UInt8](repeating: 0x01, count: 32))!
        let requests = UAPICodec.setRequests(DeviceChange(privateKey: PrivateKey(key), listenPort: 51820, fwmark: 0, replacePeers: true, peers: [
            PeerChange(publicKey: peer, updateOnly: true, endpoint: Endpoint("[2001:db8::1]:9")!, persistentKeepalive: 0,
                       replaceAllowedIPs: true, allowedIPs: [AllowedIP("10.0.0.0/8")!]),
            .remove(key),
        ]))
        #expect(requests == [
            .init(text: "set=1\nlisten_port=51820\n\n", culprit: "listen_port=51820"),
            .init(text: "set=1\nfwmark=0\n\n", culprit: "fwmark=0"),
            .init(text: "set=1\nprivate_key=\(key.hex)\n\n", culprit: "private_key=(hidden)"),
            .init(text: "set=1\nreplace_peers=true\npublic_key=\(peer.hex)\nupdate_only=true\nendpoint=[2001:db8::1]:9\n"
                    + "persistent_keepalive_interval=0\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/8\n"
                    + "public_key=\(key.hex)\nremove=true\n\n",
                  culprit: "the request's 2 peers"),
        ])
    }

    @Test func replies() throws {
        // wireguard-go negates errno; other implementations need not.
        #expect(try UAPICodec.parseErrno(Array("errno=-98\n".utf8), interface: "x") == EADDRINUSE)
        #expect(try UAPICodec.parseErrno(Array("errno=98\n".utf8), interface: "x") == EADDRINUSE)
        #expect(throws: WireGuardError.protocolError(interface: "x", "UAPI reply has no valid errno= line")) {
            try UAPICodec.parseErrno(Array("errno=x\n".utf8), interface: "x")
        }
        let peer = Key(bytes: [UInt8](repeating: 0x02, count: 32))!
        let reply = "listen_port=1\nfwmark=2\npublic_key=\(peer.hex)\npreshared_key=\(String(repeating: "0", count: 64))\n"
            + "protocol_version=1\nendpoint=192.0.2.1:3\nlast_handshake_time_sec=4\nlast_handshake_time_nsec=5\n"
            + "tx_bytes=6\nrx_bytes=7\npersistent_keepalive_interval=8\nallowed_ip=10.0.0.0/8\nfuture_key=z\nerrno=0\n"
        #expect(try UAPICodec.parseGet(Array(reply.utf8), interface: "x") == Device(name: "x", listenPort: 1, fwmark: 2, peers: [
            Peer(publicKey: peer, endpoint: Endpoint("192.0.2.1:3"), persistentKeepalive: 8, allowedIPs: [AllowedIP("10.0.0.0/8")!],
                 lastHandshake: Timestamp(seconds: 4, nanoseconds: 5), rxBytes: 7, txBytes: 6),
        ]))
        #expect(throws: WireGuardError.protocolError(interface: "x", "UAPI reply has an invalid listen_port value")) {
            try UAPICodec.parseGet(Array("listen_port=70000\nerrno=0\n".utf8), interface: "x")
        }
        #expect(throws: WireGuardError.rejected(interface: "x", errno: EPROTO, rejected: "get=1")) {
            try UAPICodec.parseGet(Array("errno=-71\n".utf8), interface: "x")
        }
    }
}
