/// The device: configuration, peers and the tables that find them. One thread owns it (EventLoop), so it needs
/// no locks; it is a class because the event loop, the UAPI and the data path all act on the same state. Generic
/// over its TUN and sockets so that tests run two devices in memory; the daemon's `KernelDevice` is specialized.
final class Device<Tun: TUNInterface, Bind: DatagramBind> {
    static var maxPeers: Int { 1 << 16 }

    let interfaceName: String
    var identity: LocalIdentity?
    var fwmark: UInt32 = 0
    var peers = PeerTable()
    var peerIDs = [[UInt8]: UInt32]()
    var allowedIPs = AllowedIPs()
    /// Our session and handshake indices to the peer holding them.
    var indexTable = [UInt32: UInt32]()
    var cookieChecker = CookieChecker()
    var load = LoadMeter()
    var handshakeLimiter = HandshakeRateLimiter()
    var sockets: Bind
    let tun: Tun
    /// The TUN's MTU, refreshed by the event loop: transport padding stays within it.
    var mtu = TUN.defaultMTU
    /// The link was set down: no sockets, no sessions, no handshakes until it is up again (Device+Link.swift).
    var isDown = false
    /// The peers with armed timers (Device+Timers.swift).
    var timerQueue = TimerQueue()
    /// The earliest armed peer timer, so the loop knows how long it may sleep (0: none).
    var nextTimerDeadline: UInt64 { timerQueue.earliest }

    /// Scratch space for one message, reused for every packet (header room, the largest IP packet, padding, tag).
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536 + 64, alignment: 16)

    init(interfaceName: String, tun: Tun, sockets: Bind) {
        self.interfaceName = interfaceName
        self.tun = tun
        self.sockets = sockets
    }

    deinit { buffer.deallocate() }

    /// The old key, if any, is wiped as `identity` lets go of it.
    func setPrivateKey(_ key: Secret) {
        let isZero = key.isZero
        // Stored clamped, as wireguard-go and the kernel store it: `wg show private-key` prints it so.
        if !isZero { X25519.clamp(key.bytes) }
        guard identity.map({ $0.privateKey != key }) ?? !isZero else { return }
        identity = isZero ? nil : LocalIdentity(privateKey: key)
        // A peer with our own public key cannot exist (wireguard-go removes it); the others need the new DH.
        if let own = identity?.publicKey, let id = peerIDs[own] { removePeer(id) }
        for id in peers.ids {
            peers[id]!.remote = RemoteIdentity(publicKey: peers[id]!.remote.publicKey, local: identity)
            expireSessions(id)
        }
    }

    func peerID(publicKey: [UInt8]) -> UInt32? { peerIDs[publicKey] }

    func addPeer(publicKey: [UInt8]) -> UInt32? {
        guard peers.count < Self.maxPeers else { return nil }
        let id = peers.insert(Peer(remote: RemoteIdentity(publicKey: publicKey, local: identity)))
        peerIDs[publicKey] = id
        return id
    }

    func removePeer(_ id: UInt32) {
        guard let peer = peers.remove(id) else { return }
        for index in peer.indices { indexTable[index] = nil }
        peerIDs[peer.remote.publicKey] = nil
        allowedIPs.removeAll(peer: id)
    }

    func removeAllPeers() {
        for id in peers.ids { removePeer(id) }
    }

    /// Forgets every session and handshake of a peer (its keys changed): the next packet starts a handshake, at
    /// once (wireguard-go's ExpireCurrentKeypairs also lifts the REKEY_TIMEOUT pacing: the last initiation was
    /// made with keys that no longer hold).
    func expireSessions(_ id: UInt32) {
        guard var peer = peers[id] else { return }
        for index in peer.indices { indexTable[index] = nil }
        peer.lastInitiationSent = 0
        peer.initiation = nil
        peer.previous = nil
        peer.current = nil
        peer.next = nil
        peers[id] = peer
    }

    /// At exit, as the kernel's device teardown: the private key, each preshared key, session and handshake are
    /// dropped, and so wiped.
    func forgetKeys() {
        removeAllPeers()
        identity = nil
    }

    /// A random local index not in use.
    func freshIndex(for id: UInt32) -> UInt32 {
        while true {
            let index = UInt32.random(in: 1...UInt32.max)
            if indexTable[index] == nil {
                indexTable[index] = id
                return index
            }
        }
    }

    func send(_ message: UnsafeRawBufferPointer, to endpoint: inout Endpoint) -> Bool {
        sockets.send(message, to: &endpoint)
    }

    func send(_ message: [UInt8], to endpoint: inout Endpoint) -> Bool {
        message.withUnsafeBytes { sockets.send($0, to: &endpoint) }
    }

    /// Sends to peer `id`'s endpoint, keeping what the send learned about it (a sticky source gone).
    func send(_ message: UnsafeRawBufferPointer, toPeer id: UInt32) -> Bool {
        guard var endpoint = peers[id]!.endpoint else { return false }
        defer { if endpoint.source == nil { peers[id]!.endpoint!.source = nil } }
        return send(message, to: &endpoint)
    }

    /// The routes changed. As the kernel does when its cached route to a peer goes stale, an IPv4 sticky source
    /// stays only while the way to the peer still leaves by the interface the source was learnt on: a route
    /// added since through another interface wins, with that interface's address, not ours from the old one.
    /// (IPv6 keeps its source while the address is ours, as the kernel's send6 does.)
    func routesChanged() {
        for id in peers.ids {
            guard let endpoint = peers[id]!.endpoint, !endpoint.isIPv6, let source = endpoint.source, source.interface != 0,
                  let interface = sockets.routeInterface(to: endpoint.remote, from: source.address),
                  interface != source.interface else { continue }
            peers[id]!.endpoint!.source = nil
        }
    }

    /// Peer `id` has a timer due at `deadline`: it is queued unless it already is for an earlier time (then
    /// that wakeup queues it again for what is left).
    func armed(_ id: UInt32, _ deadline: UInt64) {
        guard deadline != 0, let scheduled = peers[id]?.timers.scheduled, scheduled == 0 || deadline < scheduled else { return }
        peers[id]!.timers.scheduled = deadline
        timerQueue.push(deadline, peer: id)
    }
}
