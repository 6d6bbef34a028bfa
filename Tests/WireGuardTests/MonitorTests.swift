import Foundation
import Testing
import TestSupport
@testable import WireGuard

/// The monitor against real wireguard-go interfaces changed with stock `wg`, and a real handshake.
@Suite(.tags(.integration)) struct MonitorTests {
    @Test func interfaceAndPeerEvents() async throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let prefix = "wm\(uniqueSuffix().prefix(4))"
        let monitor = try WireGuardMonitor(pollInterval: .milliseconds(100)) { $0.hasPrefix(prefix) }
        let log = EventLog(monitor)
        defer { monitor.cancel() }

        let name = try ns.addWireGuardGo(prefix: prefix)
        await log.wait { $0.count >= 1 }
        let peer = publicKey()
        try runChecked(["wg", "set", name, "peer", peer.base64, "allowed-ips", "10.9.0.1/32"])
        await log.wait { $0.count >= 2 }
        try runChecked(["wg", "set", name, "peer", peer.base64, "endpoint", "192.0.2.50:4000"])
        await log.wait { $0.count >= 3 }
        try runChecked(["wg", "set", name, "peer", peer.base64, "allowed-ips", "10.9.0.1/32,10.9.0.2/32"])
        await log.wait { $0.count >= 4 }
        try runChecked(["wg", "set", name, "peer", peer.base64, "remove"])
        await log.wait { $0.count >= 5 }
        try ns.exec(["ip", "link", "del", name])
        await log.wait { $0.count >= 6 }
        try await Task.sleep(for: .milliseconds(400))  // nothing else may arrive

        #expect(log.all == [
            .interfaceAdded(name),
            .peerAdded(interface: name, peer: peer),
            .endpointChanged(interface: name, peer: peer, endpoint: Endpoint("192.0.2.50:4000")),
            .peerChanged(interface: name, peer: peer),
            .peerRemoved(interface: name, peer: peer),
            .interfaceRemoved(name),
        ])
    }

    @Test func existingStateIsReportedFirst() async throws {
        let ns = try NetNS()
        defer { ns.destroy() }
        let prefix = "wx\(uniqueSuffix().prefix(4))"
        let name = try ns.addWireGuardGo(prefix: prefix)
        let peers = [publicKey(), publicKey()]
        try UAPIClient(interface: name).apply(DeviceChange(peers: peers.map { PeerChange(publicKey: $0) }))

        let monitor = try WireGuardMonitor(pollInterval: .milliseconds(100)) { $0.hasPrefix(prefix) }
        let log = EventLog(monitor)
        await log.wait { $0.count >= 3 }
        monitor.cancel()
        try await Task.sleep(for: .milliseconds(300))
        // wireguard-go lists peers in Go map order, so only the set of peer events is fixed.
        #expect(log.all.count == 3 && log.all.first == .interfaceAdded(name))
        #expect(Set(log.all.dropFirst().map { "\($0)" }) == Set(peers.map { "\(WireGuardEvent.peerAdded(interface: name, peer: $0))" }))
    }

    /// Two namespaces joined by a veth pair (named otherwise, libnice ignores veth*), one wireguard-go
    /// interface each, a ping through the tunnel: the monitor must see exactly one handshake on each side and
    /// the responder learning the initiator's endpoint.
    @Test func realHandshake() async throws {
        let a = try NetNS(), b = try NetNS()
        defer { a.destroy(); b.destroy() }
        let suffix = uniqueSuffix()
        try a.exec(["ip", "link", "add", "la\(suffix)", "type", "veth", "peer", "name", "lb\(suffix)", "netns", b.name])
        try a.exec(["ip", "addr", "add", "192.168.77.1/24", "dev", "la\(suffix)"])
        try b.exec(["ip", "addr", "add", "192.168.77.2/24", "dev", "lb\(suffix)"])
        try a.exec(["ip", "link", "set", "la\(suffix)", "up"])
        try b.exec(["ip", "link", "set", "lb\(suffix)", "up"])

        let prefix = "wh\(uniqueSuffix().prefix(4))"
        let monitor = try WireGuardMonitor(pollInterval: .milliseconds(100)) { $0.hasPrefix(prefix) }
        let log = EventLog(monitor)
        defer { monitor.cancel() }
        let wgA = try a.addWireGuardGo(prefix: prefix + "a"), wgB = try b.addWireGuardGo(prefix: prefix + "b")
        let keyA = key(), keyB = key()
        try UAPIClient(interface: wgA).apply(DeviceChange(privateKey: keyA, listenPort: 51801, peers: [
            PeerChange(publicKey: keyB.publicKey, endpoint: Endpoint("192.168.77.2:51802")!, allowedIPs: [AllowedIP("10.77.0.2/32")!]),
        ]))
        try UAPIClient(interface: wgB).apply(DeviceChange(privateKey: keyB, listenPort: 51802, peers: [
            PeerChange(publicKey: keyA.publicKey, allowedIPs: [AllowedIP("10.77.0.1/32")!]),
        ]))
        try a.exec(["ip", "addr", "add", "10.77.0.1/24", "dev", wgA])
        try b.exec(["ip", "addr", "add", "10.77.0.2/24", "dev", wgB])
        try a.exec(["ip", "link", "set", wgA, "up"])
        try b.exec(["ip", "link", "set", wgB, "up"])
        // The monitor must have seen both peers before the handshake, or B's endpoint is part of its peerAdded.
        await log.wait { events in
            [wgA, wgB].allSatisfy { wg in events.contains { if case .peerAdded(wg, _) = $0 { true } else { false } } }
        }
        let before = Int64(Date().timeIntervalSince1970) - 1
        try a.exec(["ping", "-c", "2", "-i", "0.2", "-W", "5", "10.77.0.2"])

        let done: ([WireGuardEvent]) -> Bool = { events in
            events.contains { if case .handshake(wgA, _, _) = $0 { true } else { false } }
                && events.contains { if case .handshake(wgB, _, _) = $0 { true } else { false } }
        }
        await log.wait(until: done)
        try await Task.sleep(for: .milliseconds(400))

        let eventsA = log.of(wgA), eventsB = log.of(wgB)
        #expect(eventsA.count == 3 && eventsB.count == 4)
        #expect(Array(eventsA.prefix(2)) == [.interfaceAdded(wgA), .peerAdded(interface: wgA, peer: keyB.publicKey)])
        #expect(Array(eventsB.prefix(3)) == [
            .interfaceAdded(wgB), .peerAdded(interface: wgB, peer: keyA.publicKey),
            .endpointChanged(interface: wgB, peer: keyA.publicKey, endpoint: Endpoint("192.168.77.1:51801")),
        ])
        for (events, peer) in [(eventsA, keyB.publicKey), (eventsB, keyA.publicKey)] {
            guard case .handshake(_, let who, let time)? = events.last else {
                Issue.record("no handshake: \(events)")
                continue
            }
            #expect(who == peer)
            #expect(time.seconds >= before && time.seconds <= Int64(Date().timeIntervalSince1970))
        }
    }

    @Test func diffIgnoresCountersAndReportsHandshakes() {
        let k = publicKey()
        let old = Device(name: "x", peers: [Peer(publicKey: k, rxBytes: 1)])
        var new = old
        new.peers[0].rxBytes = 500
        new.peers[0].txBytes = 700
        #expect(WireGuardMonitor.diff(old, new) == [])
        new.peers[0].lastHandshake = Timestamp(seconds: 5, nanoseconds: 0)
        #expect(WireGuardMonitor.diff(old, new) == [.handshake(interface: "x", peer: k, at: Timestamp(seconds: 5, nanoseconds: 0))])
        // A peer that appears already handshaken (added and used between two polls) reports both.
        #expect(WireGuardMonitor.diff(Device(name: "x"), new) == [
            .peerAdded(interface: "x", peer: k), .handshake(interface: "x", peer: k, at: Timestamp(seconds: 5, nanoseconds: 0)),
        ])
    }
}
