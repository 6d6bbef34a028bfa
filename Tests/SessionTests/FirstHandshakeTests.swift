import Foundation
import ICE
import Keys
import Logging
@testable import Session
import Testing
import WireGuard

/// `FirstHandshake` against a recording WireGuard: which side's new peer initiates, for every value of the user's
/// persistent keepalive, and that the user's value always comes back.
@Suite struct FirstHandshakeTests {
    static let peer = Key(bytes: [UInt8](repeating: 7, count: 32))!
    static let endpoint = Endpoint("192.0.2.7:51820")!
    static let keepalives: [UInt16] = [0, 1, 25, 65535]

    /// Both sides of one tunnel, each configured with `keepalive`, get their first path: only one initiation
    /// goes out before the controlled side's nudge (two in the same moment consume each other), and it is the
    /// controlling side's.
    @Test(arguments: keepalives)
    func onlyTheControllingSideInitiatesAtOnce(keepalive: UInt16) async throws {
        let controlling = RecordingWireGuard(peer: Self.peer, keepalive: keepalive)
        let controlled = RecordingWireGuard(peer: Self.peer, keepalive: keepalive)
        try await firstHandshake(controlling, .controlling).point(at: Self.endpoint)
        try await firstHandshake(controlled, .controlled).point(at: Self.endpoint)
        #expect(controlling.initiations == 1)
        #expect(controlled.initiations == 0)
        #expect(controlling.peer?.persistentKeepalive == keepalive)
        #expect(controlling.peer?.endpoint == Self.endpoint)
    }

    /// No handshake came within the controlled side's delay: the nudge initiates, then the user's keepalive is back.
    @Test(arguments: keepalives)
    func theNudgeInitiatesAndRestoresTheUsersKeepalive(keepalive: UInt16) async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: keepalive)
        let first = firstHandshake(wg, .controlled)
        try await first.point(at: Self.endpoint)
        await first.nudge()
        #expect(wg.initiations == 1)
        #expect(wg.peer?.persistentKeepalive == keepalive)
    }

    /// The controlling side's handshake came first: no second initiation, the user's keepalive back.
    @Test(arguments: keepalives)
    func aHandshakeBeforeTheNudgeLeavesOnlyTheKeepalive(keepalive: UInt16) async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: keepalive)
        let first = firstHandshake(wg, .controlled)
        try await first.point(at: Self.endpoint)
        wg.handshakeCompleted()
        await first.nudge()
        #expect(wg.peer?.persistentKeepalive == keepalive)
        #expect(wg.initiations == 0 || keepalive > 0, "only the user's own keepalive may send (a keepalive, on the new session)")
    }

    /// Traffic waiting on the controlled side (a ping) starts no initiation before the nudge: the controlling
    /// side's would cross it. Then the nudge's fresh peer initiates, with the endpoint and the user's keepalive.
    @Test(arguments: keepalives)
    func trafficOnTheControlledSideLeavesTheFirstInitiationToTheControllingSide(keepalive: UInt16) async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: keepalive, trafficWaiting: true)
        let first = firstHandshake(wg, .controlled)
        try await first.point(at: Self.endpoint)
        #expect(wg.initiations == 0)
        await first.nudge()
        #expect(wg.initiations == 1)
        #expect(wg.peer?.endpoint == Self.endpoint)
        #expect(wg.peer?.persistentKeepalive == keepalive)
    }

    /// The controlling side's initiation came (WireGuard answered it, taking the endpoint from it): the nudge only
    /// sets the endpoint and the user's keepalive, and nothing initiates.
    @Test func aHandshakeBeforeTheNudgeSetsTheEndpoint() async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: 0, trafficWaiting: true)
        let first = firstHandshake(wg, .controlled)
        try await first.point(at: Self.endpoint)
        wg.handshakeCompleted()
        await first.nudge()
        #expect(wg.initiations == 0)
        #expect(wg.peer?.endpoint == Self.endpoint)
    }

    /// An initiation that went unanswered (it reached the other side before that side's data path existed) is
    /// sent again by a fresh peer, on either side, instead of after WireGuard's 5 s; not once a handshake came, not
    /// before the controlled side's nudge.
    @Test(arguments: keepalives)
    func anUnansweredFirstInitiationIsSentAgain(keepalive: UInt16) async throws {
        let controlling = RecordingWireGuard(peer: Self.peer, keepalive: keepalive)
        let first = firstHandshake(controlling, .controlling)
        try await first.point(at: Self.endpoint)
        #expect(await first.retry())
        #expect(controlling.initiations == 2)
        #expect(controlling.peer?.endpoint == Self.endpoint && controlling.peer?.persistentKeepalive == keepalive)
        controlling.handshakeCompleted()
        #expect(await !first.retry())
        #expect(controlling.initiations == 2)

        let controlled = RecordingWireGuard(peer: Self.peer, keepalive: keepalive, trafficWaiting: true)
        let other = firstHandshake(controlled, .controlled)
        try await other.point(at: Self.endpoint)
        #expect(await !other.retry())
        await other.nudge()
        #expect(await other.retry())
        #expect(controlled.initiations == 2)
        #expect(controlled.peer?.persistentKeepalive == keepalive)
    }

    /// A second path before the nudge must not take the first handshake's temporary value for the user's.
    @Test func aSecondPathKeepsTheUsersKeepalive() async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: 25)
        let first = firstHandshake(wg, .controlled)
        try await first.point(at: Self.endpoint)
        try await first.point(at: Endpoint("198.51.100.9:4000")!)
        await first.nudge()
        #expect(wg.peer?.persistentKeepalive == 25)
        #expect(wg.peer?.endpoint == Endpoint("198.51.100.9:4000")!)
    }

    /// A peer with a recent handshake only gets the endpoint: its session and counters stay.
    @Test func aRecentHandshakeOnlyMovesTheEndpoint() async throws {
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: 25)
        wg.handshakeCompleted()
        try await firstHandshake(wg, .controlling).point(at: Self.endpoint)
        #expect(wg.changes == [.endpoint(Self.endpoint, for: Self.peer)])
        #expect(wg.initiations == 0)
    }

    /// Re-creation keeps what the user configured besides the endpoint.
    @Test func recreationKeepsThePresharedKeyAndAllowedIPs() async throws {
        let psk = Key(bytes: [UInt8](repeating: 9, count: 32))!
        let allowed = [try #require(AllowedIP("10.0.0.2/32"))]
        let wg = RecordingWireGuard(peer: Self.peer, keepalive: 0, presharedKey: psk, allowedIPs: allowed)
        try await firstHandshake(wg, .controlling).point(at: Self.endpoint)
        #expect(wg.peer?.presharedKey == psk)
        #expect(wg.peer?.allowedIPs == allowed)
    }

    private func firstHandshake(_ wg: RecordingWireGuard, _ role: ICERole) -> FirstHandshake {
        FirstHandshake(link: WireGuardLink(control: wg, interface: wg.interface), peer: Self.peer, role: role,
                       logger: Logger(label: "test"))
    }
}

/// A WireGuard device of one peer that applies changes as WireGuard does, records them, and counts the initiations
/// a real one would send because of them: a peer created with an endpoint and a persistent keepalive sends one
/// at once, and so does one whose keepalive goes from off to on. With `trafficWaiting` (packets for the peer
/// keep coming), a peer with an endpoint and no session initiates at once too, and one without an endpoint makes
/// an attempt that goes nowhere but holds back every other initiation of that peer for 5 s (REKEY_TIMEOUT).
final class RecordingWireGuard: WireGuardControl, @unchecked Sendable {
    let interface = "wgtest0"
    private let lock = NSLock()
    private var peers: [Peer]
    private let trafficWaiting: Bool
    /// The peer made an attempt without an endpoint: no initiation until it is created again.
    private var heldBack = false
    private(set) var changes: [DeviceChange] = []
    private(set) var initiations = 0

    init(peer: Key, keepalive: UInt16, presharedKey: Key? = nil, allowedIPs: [AllowedIP] = [], trafficWaiting: Bool = false) {
        peers = [Peer(publicKey: peer, presharedKey: presharedKey, persistentKeepalive: keepalive, allowedIPs: allowedIPs)]
        self.trafficWaiting = trafficWaiting
    }

    var peer: Peer? { lock.withLock { peers.first } }

    func handshakeCompleted() {
        lock.withLock { peers[0].lastHandshake = Timestamp(seconds: Int64(time(nil)), nanoseconds: 0) }
    }

    func device() throws(WireGuardError) -> Device {
        lock.withLock { Device(name: interface, peers: peers) }
    }

    func apply(_ change: DeviceChange) throws(WireGuardError) {
        lock.withLock {
            changes.append(change)
            for c in change.peers {
                let index = peers.firstIndex { $0.publicKey == c.publicKey }
                if c.remove {
                    if let index { peers.remove(at: index) }
                    continue
                }
                if let index {
                    let wasOff = peers[index].persistentKeepalive == 0, hadEndpoint = peers[index].endpoint != nil
                    if let e = c.endpoint { peers[index].endpoint = e }
                    if let k = c.persistentKeepalive { peers[index].persistentKeepalive = k }
                    if c.replaceAllowedIPs { peers[index].allowedIPs = c.allowedIPs }
                    if let psk = c.presharedKey { peers[index].presharedKey = psk }
                    let p = peers[index]
                    guard !heldBack, p.lastHandshake == nil, p.endpoint != nil else { continue }
                    if (wasOff && p.persistentKeepalive > 0) || (trafficWaiting && !hadEndpoint) { initiations += 1 }
                } else if !c.updateOnly {
                    let created = Peer(publicKey: c.publicKey, presharedKey: c.presharedKey, endpoint: c.endpoint,
                                       persistentKeepalive: c.persistentKeepalive ?? 0, allowedIPs: c.allowedIPs)
                    peers.append(created)
                    heldBack = created.endpoint == nil && trafficWaiting
                    if created.endpoint != nil, created.persistentKeepalive > 0 || trafficWaiting { initiations += 1 }
                }
            }
        }
    }

    func close() {}
}
