import ICE
import Keys
import Logging
import WireGuard

/// Points a peer's WireGuard at each new path so that its first handshake goes at once, from one side only.
///
/// WireGuard sends at most one initiation per REKEY_TIMEOUT (5 s), and one it tried before ICE gave it an
/// endpoint counts when traffic was already waiting: the tunnel would wait out the rest of the 5 s. Only a new
/// peer starts without that limit (wireguard-go's `Peer.Start`, the kernel's `wg_peer_create`), so a peer
/// without a recent handshake gets its new endpoint by being removed and created again with everything it had
/// (preshared key, allowed IPs), in one set operation that readers never see half done. Doing it in the same
/// operation as the endpoint matters: a peer given the endpoint first could initiate on its own (a packet
/// arriving in between) just before the new peer does, and the other side drops the second initiation as a
/// flood (one per 20 ms); the new peer would then wait 5 s. What WireGuard had queued is dropped with the old
/// peer (senders retry; it would have waited 5 s).
///
/// A peer created with a persistent keepalive sends a keepalive, hence an initiation, at once, and so does one
/// created with an endpoint while traffic waits for it. Exactly one side may initiate: when both do in the same
/// moment, each consumes the other's initiation, overwriting its own handshake, and rejects the response to its
/// own, and both wait 5 s for the next attempt. So the controlling side's new peer starts with a keepalive (the
/// user's, or 1 s put back to off right after), and the controlled side's starts without one and without an
/// endpoint, whatever the user configured: the controlled side learns of the nomination half a round trip before
/// the controlling side, and traffic waiting on it (a ping) would start an initiation within that round trip.
/// Without an endpoint that initiation goes nowhere, while the controlling side's is answered (WireGuard takes
/// the endpoint from it) and completes the handshake. If none came within a moment, the nudge (`nudge`)
/// re-creates the peer with its endpoint and a keepalive, so it initiates itself; the user's keepalive comes back
/// either way.
///
/// Re-creation also forgets what WireGuard keeps per peer: the transfer counters start again from 0, and the
/// greatest handshake timestamp received, so one initiation captured earlier could be replayed once (it gets no
/// session, but moves the endpoint until the peer's next packet). It happens only to a peer without a handshake
/// in the last 180 s, once per new path.
actor FirstHandshake {
    private let link: WireGuardLink
    nonisolated let peer: Key
    private let role: ICERole
    private let logger: Logger
    /// The controlled side's peer runs without endpoint and keepalive until the nudge: the path's endpoint and the
    /// user's keepalive, to set then.
    private var nudgeDue: (endpoint: Endpoint, keepalive: UInt16)?
    /// The path the peer was last re-created for, while its first handshake is due (`retry`).
    private var firstHandshakeFor: Endpoint?

    /// How long the controlled side leaves the first initiation to the controlling side.
    static let controlledDelay: Duration = .milliseconds(300)
    /// How long a first initiation may go unanswered before a fresh peer sends another, instead of WireGuard's own
    /// retry 5 s later (REKEY_TIMEOUT): it may have reached the other side before that side's data path existed
    /// (its redirection is set up after its own nomination, most of a second later on a loaded host), and gone to
    /// the ICE socket instead of WireGuard. The controlled side's retries come `controlledDelay` after the
    /// controlling side's, so the two do not cross.
    static let retryAfter: Duration = .seconds(1)
    static let retries = 2
    private static let restoreAttempts = 3
    private static let restoreRetryDelay: Duration = .milliseconds(200)

    init(link: WireGuardLink, peer: Key, role: ICERole, logger: Logger) {
        self.link = link
        self.peer = peer
        self.role = role
        self.logger = logger
    }

    /// Sets the peer's endpoint, re-creating the peer when it has no recent handshake.
    func point(at endpoint: Endpoint) async throws {
        guard let current = try? await link.device().peer(peer), !current.hasRecentHandshake else {
            firstHandshakeFor = nil
            try await link.apply(.endpoint(endpoint, for: peer))
            return
        }
        firstHandshakeFor = endpoint
        let user = nudgeDue?.keepalive ?? current.persistentKeepalive
        switch role {
        case .controlling:
            let start = user == 0 ? 1 : user
            try await recreate(current, endpoint: endpoint, keepalive: start)
            if start != user { await restoreKeepalive(user) }
        case .controlled:
            try await recreate(current, endpoint: nil, keepalive: 0)
            nudgeDue = (endpoint, user)
        }
    }

    /// Removes the peer and creates it again with everything it had, in one set operation.
    private func recreate(_ current: Peer, endpoint: Endpoint?, keepalive: UInt16) async throws {
        let recreated = PeerChange(publicKey: peer, presharedKey: current.presharedKey, endpoint: endpoint,
                                   persistentKeepalive: keepalive, replaceAllowedIPs: true, allowedIPs: current.allowedIPs)
        try await link.apply(DeviceChange(peers: [.remove(peer), recreated]))
    }

    /// The controlled side's initiation, unless a handshake came meanwhile: the peer created again with its
    /// endpoint and a keepalive (a fresh peer: the attempt traffic made without an endpoint would hold back any
    /// other for 5 s). Then the user's keepalive.
    func nudge() async {
        guard let (endpoint, user) = nudgeDue else { return }
        nudgeDue = nil
        guard let current = try? await link.device().peer(peer) else { return }
        var running: UInt16 = 0
        if !current.hasRecentHandshake {
            do {
                try await recreate(current, endpoint: endpoint, keepalive: 1)
                running = 1
            } catch {
                logger.warning("cannot start the first handshake: \(error)")
                try? await link.apply(.endpoint(endpoint, for: peer))
            }
        } else {
            // WireGuard took the endpoint from the controlling side's initiation; said once more, as the path has it.
            do { try await link.apply(.endpoint(endpoint, for: peer)) } catch { logger.warning("cannot set the endpoint: \(error)") }
        }
        if running != user { await restoreKeepalive(user) }
    }

    /// No handshake yet, a while after the first initiation: a fresh peer initiates once more, and the user's
    /// keepalive comes back. False when there is nothing to retry (a handshake came, or another path was set).
    func retry() async -> Bool {
        guard nudgeDue == nil else { return false }
        guard let endpoint = firstHandshakeFor, let current = try? await link.device().peer(peer),
              !current.hasRecentHandshake else {
            firstHandshakeFor = nil
            return false
        }
        let user = current.persistentKeepalive
        logger.info("no handshake yet on the new path: initiating again")
        do {
            try await recreate(current, endpoint: endpoint, keepalive: user == 0 ? 1 : user)
        } catch {
            logger.warning("cannot start the first handshake again: \(error)")
            return false
        }
        if user == 0 { await restoreKeepalive(user) }
        return true
    }

    /// Puts the user's keepalive back. Retried, and said loudly when it cannot be: the peer would otherwise go on
    /// with a keepalive the user never configured (every second), or without the one they did.
    private func restoreKeepalive(_ user: UInt16) async {
        for attempt in 1...Self.restoreAttempts {
            if await setKeepalive(user) { return }
            if attempt < Self.restoreAttempts { try? await Task.sleep(for: Self.restoreRetryDelay) }
        }
        let setting = user == 0 ? "off" : "\(user)"
        logger.error("""
            persistent keepalive of peer \(peer) is not what is configured (\(setting)); \
            set it back with `wg set <interface> peer \(peer) persistent-keepalive \(setting)`
            """)
    }

    private func setKeepalive(_ seconds: UInt16) async -> Bool {
        do {
            try await link.apply(DeviceChange(peers: [PeerChange(publicKey: peer, updateOnly: true, persistentKeepalive: seconds)]))
            return true
        } catch {
            logger.warning("cannot set persistent keepalive to \(seconds) s for the first handshake: \(error)")
            return false
        }
    }
}
