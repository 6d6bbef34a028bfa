import ICE
import Keys
import Logging
import WireGuard

/// Points a peer's WireGuard at each new path so that its first handshake goes at once.
///
/// WireGuard sends at most one initiation per REKEY_TIMEOUT (5 s), and one it tried before ICE gave it an
/// endpoint counts when traffic was already waiting: the tunnel would wait out the rest of the 5 s. Only a new
/// peer starts without that limit (wireguard-go's `Peer.Start`, the kernel's `wg_peer_create`), so a peer
/// without a recent handshake gets its new endpoint by being removed and created again with everything it had
/// (preshared key, allowed IPs, keepalive), in one set operation that readers never see half done. Doing it in
/// the same operation as the endpoint matters: a peer given the endpoint first could initiate on its own (a
/// packet arriving in between) just before the new peer does, and the other side drops the second initiation
/// as a flood (one per 20 ms); the new peer would then wait 5 s. What WireGuard had queued is dropped with the
/// old peer (senders retry; it would have waited 5 s).
///
/// Persistent keepalive going from 0 to non-zero makes a peer send a keepalive, hence an initiation, at once.
/// The controlling side's new peer starts with it on; the user's value is put back right after. The
/// controlled side learns of the nomination half a round trip before the controlling side and would often
/// initiate before the peer's data path exists, so its new peer starts with the user's value and is nudged a
/// moment later (`nudge`) if no handshake came by then. Whichever initiation arrives first completes.
struct FirstHandshake: Sendable {
    let link: WireGuardLink
    let peer: Key
    let role: ICERole
    let logger: Logger

    /// How long the controlled side leaves the first initiation to the controlling side.
    static let controlledDelay: Duration = .milliseconds(300)

    /// Sets the peer's endpoint, re-creating the peer when it has no recent handshake.
    func point(at endpoint: Endpoint) async throws {
        guard let current = try? await link.device().peer(peer), !current.hasRecentHandshake else {
            try await link.apply(.endpoint(endpoint, for: peer))
            return
        }
        let user = current.persistentKeepalive
        let initiate = role == .controlling && user == 0
        let recreated = PeerChange(publicKey: peer, presharedKey: current.presharedKey, endpoint: endpoint,
                                   persistentKeepalive: initiate ? 1 : user, replaceAllowedIPs: true,
                                   allowedIPs: current.allowedIPs)
        try await link.apply(DeviceChange(peers: [.remove(peer), recreated]))
        if initiate { await restoreKeepalive() }
    }

    /// The controlled side's initiation, unless a handshake came meanwhile (or the user's keepalive already
    /// started one when the peer was created).
    func nudge() async {
        guard let current = try? await link.device().peer(peer), !current.hasRecentHandshake,
              current.persistentKeepalive == 0 else { return }
        guard await setKeepalive(1) else { return }
        await restoreKeepalive()
    }

    /// Puts the user's keepalive (off) back. Retried, and said loudly when it cannot be, because the peer would
    /// otherwise go on sending a keepalive every second that the user never configured.
    private func restoreKeepalive() async {
        for attempt in 1...Self.restoreAttempts {
            if await setKeepalive(0) { return }
            if attempt < Self.restoreAttempts { try? await Task.sleep(for: .milliseconds(200)) }
        }
        logger.error("""
            persistent keepalive of peer \(peer) is left at 1 s (configured: off); \
            set it back with `wg set <interface> peer \(peer) persistent-keepalive off`
            """)
    }

    private static let restoreAttempts = 3

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
