import Addresses
import Foundation
import Glibc
import Testing
import TestSupport
@testable import WireGuard

/// The UAPI client against real wireguard-go interfaces, with `wg showconf` as the oracle.
@Suite(.tags(.integration)) struct UAPITests {
    @Test func configureAndReadBack() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let name = try ns.addWireGuardGo()
        let client = try UAPIClient(interface: name)
        let privateKey = key(), psk = key().secret, peer1 = publicKey(), peer2 = publicKey()
        let port = UInt16.random(in: 20000...40000)
        try client.apply(DeviceChange(privateKey: privateKey, listenPort: port, fwmark: 0x1234, replacePeers: true, peers: [
            PeerChange(publicKey: peer1, presharedKey: psk, endpoint: Endpoint("192.0.2.1:51820")!, persistentKeepalive: 25,
                       allowedIPs: [AllowedIP("10.0.0.0/24")!, AllowedIP("fd00::/64")!]),
            PeerChange(publicKey: peer2, endpoint: Endpoint("[2001:db8::1]:51821")!, allowedIPs: [AllowedIP("10.0.1.1/32")!]),
        ]))

        var device = try client.device()
        #expect(device.privateKey == privateKey)
        #expect(device.publicKey == privateKey.publicKey)
        #expect(device.listenPort == port)
        #expect(device.fwmark == 0x1234)
        #expect(Set(device.peers.map(\.publicKey)) == [peer1, peer2])
        device.peers.sort { $0.publicKey == peer1 && $1.publicKey == peer2 }
        #expect(device.peers[0].presharedKey == psk)
        #expect(device.peers[0].endpoint == Endpoint("192.0.2.1:51820"))
        #expect(device.peers[0].persistentKeepalive == 25)
        #expect(Set(device.peers[0].allowedIPs) == [AllowedIP("10.0.0.0/24")!, AllowedIP("fd00::/64")!])
        #expect(device.peers[1].endpoint == Endpoint(address: .v6(IPAddress("2001:db8::1")!.bytes, scopeID: 0), port: 51821))
        #expect(device.peers[1].allowedIPs == [AllowedIP("10.0.1.1/32")!])
        #expect(device.peers[1].presharedKey == nil)
        #expect(sortedPeers(device.showconf) == (try wgShowconf(name)))
        #expect(client.connections == 1)
        #expect(try runChecked(["wg", "show", name, "public-key"]).stdout == privateKey.publicKey.base64 + "\n")
    }

    @Test func peerUpdatesOnOneConnection() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let name = try ns.addWireGuardGo()
        let client = try UAPIClient(interface: name)
        let peer = publicKey(), stranger = publicKey()
        try client.apply(DeviceChange(peers: [PeerChange(publicKey: peer, endpoint: Endpoint("192.0.2.7:1000")!,
                                                          allowedIPs: [AllowedIP("10.1.0.0/16")!])]))

        // Endpoint-only updates change an existing peer and never create one.
        try client.apply(.endpoint(Endpoint("[2001:db8::7]:2000")!, for: peer))
        try client.apply(.endpoint(Endpoint("192.0.2.8:3000")!, for: stranger))
        var device = try client.device()
        #expect(device.peers.map(\.publicKey) == [peer])
        #expect(device.peers[0].endpoint == Endpoint("[2001:db8::7]:2000"))
        #expect(device.peers[0].allowedIPs == [AllowedIP("10.1.0.0/16")!])

        try client.apply(DeviceChange(peers: [PeerChange(publicKey: peer, replaceAllowedIPs: true,
                                                          allowedIPs: [AllowedIP("10.2.0.1")!])]))
        device = try client.device()
        #expect(device.peers[0].allowedIPs == [AllowedIP("10.2.0.1/32")!])
        #expect(sortedPeers(device.showconf) == (try wgShowconf(name)))

        try client.apply(DeviceChange(peers: [.remove(peer)]))
        let emptied = try client.device()
        #expect(emptied.peers.isEmpty)
        let oracle = try wgShowconf(name)
        #expect(emptied.showconf == oracle, "\(emptied.showconf.debugDescription) vs \(oracle.debugDescription)")
        #expect(!emptied.showconf.contains("[Peer]"))
    }

    @Test func thousandPeersRoundTrip() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let name = try ns.addWireGuardGo()
        let client = try UAPIClient(interface: name)
        let peers = (0..<1000).map { i in
            PeerChange(publicKey: publicKey(), endpoint: Endpoint("198.51.100.\(i % 250 + 1):\(10000 + i)")!,
                       persistentKeepalive: UInt16(i % 60), replaceAllowedIPs: true,
                       allowedIPs: (0..<20).map { j in AllowedIP("10.\(i / 250).\(i % 250).\(j)/32")! })
        }
        try client.apply(DeviceChange(privateKey: key(), listenPort: 0, replacePeers: true, peers: peers))
        let device = try client.device()
        #expect(device.peers.count == 1000)
        #expect(device.peers.reduce(0) { $0 + $1.allowedIPs.count } == 20000)
        let byKey = Dictionary(uniqueKeysWithValues: device.peers.map { ($0.publicKey, $0) })
        for sent in peers {
            guard let got = byKey[sent.publicKey] else {
                Issue.record("peer \(sent.publicKey) missing")
                continue
            }
            #expect(sent.endpoint == got.endpoint)
            #expect(sent.persistentKeepalive == got.persistentKeepalive)
            #expect(Set(sent.allowedIPs) == Set(got.allowedIPs))
        }
        #expect(sortedPeers(device.showconf) == (try wgShowconf(name)))
    }

    @Test func rejectedSetNamesTheLineAndKeepsTheConnection() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let first = try ns.addWireGuardGo(), second = try ns.addWireGuardGo()
        let port = UInt16.random(in: 20000...40000)
        try UAPIClient(interface: first).apply(DeviceChange(listenPort: port))

        let client = try UAPIClient(interface: second)
        let peer = publicKey()
        // Same namespace, same port: wireguard-go cannot bind it.
        #expect(throws: WireGuardError.rejected(interface: second, errno: EADDRINUSE, rejected: "listen_port=\(port)")) {
            try client.apply(DeviceChange(listenPort: port, peers: [PeerChange(publicKey: peer)]))
        }
        let message = "\(WireGuardError.rejected(interface: second, errno: EADDRINUSE, rejected: "listen_port=\(port)"))"
        #expect(message == "\(second): change rejected at `listen_port=\(port)`: EADDRINUSE (Address already in use)")
        // Nothing after the refused line was applied, and the same connection keeps working.
        #expect(try client.device().peers.isEmpty)
        try client.apply(DeviceChange(listenPort: port + 1, peers: [PeerChange(publicKey: peer)]))
        let device = try client.device()
        #expect(device.listenPort == port + 1)
        #expect(device.peers.map(\.publicKey) == [peer])
        #expect(client.connections == 1)
    }

    @Test func vanishedInterfaceIsAClearError() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let name = try ns.addWireGuardGo()
        let client = try UAPIClient(interface: name)
        _ = try client.device()
        try ns.exec(["ip", "link", "del", name])
        for _ in 0..<100 where FileManager.default.fileExists(atPath: "/var/run/wireguard/\(name).sock") { usleep(20_000) }
        #expect(throws: WireGuardError.noSuchInterface(name)) { try client.device() }
        #expect(throws: WireGuardError.noSuchInterface(name)) { try UAPIClient(interface: name) }
    }

    @Test func selectionAndDiscovery() throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let name = try ns.addWireGuardGo()
        #expect(try WireGuard.open(name) is UAPIClient)
        #expect(try WireGuard.interfaces().contains(WireGuardInterface(name: name, implementation: .userspace)))
        // No socket: like wg(8), fall back to the kernel, which has no such interface (or no WireGuard at all).
        let missing = "nowg\(uniqueSuffix())"
        let error = #expect(throws: WireGuardError.self) { try WireGuard.open(missing) }
        #expect(error == .noSuchInterface(missing)
            || error == .notSupported("kernel WireGuard: no generic netlink family \"wireguard\" (module not loaded?)"))
    }
}
