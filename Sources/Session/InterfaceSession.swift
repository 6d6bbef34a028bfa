import Foundation
import ICE
import Logging
import Signaling
import WireGuard

/// The session of one WireGuard interface: one signaling subscription with the interface key, one
/// `PeerSession` per selected peer, following peers added and removed with `wg set` and ending when the
/// interface disappears or `stop()` is called.
public actor InterfaceSession {
    public nonisolated let interface: String
    private let settings: SessionSettings
    private let link: WireGuardLink
    private let channel: SignalingChannel
    private let monitor: WireGuardMonitor
    private let localKey: Key
    private let listenPort: UInt16
    private let paths: PathFactory?
    private let logger: Logger
    private var peers: [Key: PeerSession] = [:]
    private var connected: [String: Bool] = [:]
    private var stopped = false

    /// Reads the interface's key over `connections` (opened before any privilege drop); nothing runs until `run()`.
    /// Without `dataPaths` (wg-ice-resolve) selected pairs are only recorded: WireGuard and nftables stay untouched.
    public init(interface: String, settings: SessionSettings, connections: InterfaceConnections, logger: Logger,
                dataPaths: Bool = true) async throws {
        var logger = logger
        logger[metadataKey: "interface"] = "\(interface)"
        let link = WireGuardLink(control: connections.command, interface: interface)
        let device = try await link.device()
        guard let privateKey = device.privateKey else {
            link.close()
            throw SessionError.interface("\(interface) has no private key")
        }
        let signalingKey = try PrivateKey(bytes: privateKey.bytes)
        let backend = try makeSignalingBackend(urls: settings.signalingURLs, key: signalingKey)
        self.interface = interface
        self.settings = settings
        self.link = link
        self.channel = SignalingChannel(key: signalingKey, backend: backend)
        self.monitor = try WireGuardMonitor(interface: connections.interface, control: connections.monitor)
        self.localKey = signalingKey.publicKey.wireGuardKey
        self.listenPort = device.listenPort
        self.paths = dataPaths ? PathFactory(interface: interface, wireGuardPort: device.listenPort, proxy: settings.proxy) : nil
        self.logger = logger
    }

    /// Runs until `stop()` or until the interface goes away; everything is released when it returns.
    public func run() async {
        logger.info("session started", metadata: ["public-key": "\(localKey.base64)", "port": "\(listenPort)"])
        channel.backend.start()
        await withTaskGroup(of: Void.self) { group in
            let backend = channel.backend, monitor = monitor
            group.addTask { [weak self] in
                for await event in backend.events { await self?.handle(event) }
            }
            group.addTask { [weak self] in
                // The monitor reports the peers present at start as added, so this also starts them.
                for await event in monitor {
                    guard let self, await self.handle(event) else { break }
                }
                await self?.stop()
            }
        }
        link.close()
        logger.info("session ended")
    }

    /// Says bye to every peer except those in `quiet` (whose path outlives the session: wg-ice-resolve --apply),
    /// removes every data path and closes the agents and signaling. Idempotent.
    public func stop(withoutByeTo quiet: Set<Key> = []) async {
        guard !stopped else { return }
        stopped = true
        monitor.cancel()
        let all = peers.values
        peers = [:]
        for peer in all { await peer.close(sayBye: !quiet.contains(peer.peer)) }
        paths?.removeAll()
        await channel.backend.close()
    }

    public func status() async -> InterfaceStatus {
        let device = try? await link.device()
        var result: [PeerStatus] = []
        for (key, session) in peers.sorted(by: { $0.key.base64 < $1.key.base64 }) {
            result.append(await session.status(wireGuard: device?.peer(key)))
        }
        return InterfaceStatus(interface: interface, publicKey: localKey.base64, listenPort: listenPort,
                               signaling: connected, peers: result)
    }

    /// Each peer session's ICE state and selected pair.
    public func iceResults() -> [Key: (state: ICEState, pair: SelectedPair?)] {
        peers.mapValues(\.ice)
    }

    // MARK: events

    /// Returns false when the session must end.
    private func handle(_ event: WireGuardEvent) async -> Bool {
        switch event {
        case .interfaceRemoved:
            logger.info("interface removed")
            return false
        case .peerAdded(_, let key) where settings.peers.selects(key):
            await startPeer(key)
        case .peerRemoved(_, let key):
            if let session = peers.removeValue(forKey: key) {
                logger.info("peer removed", metadata: ["peer": "\(key.base64)"])
                await session.close(sayBye: true)
            }
        default:
            break
        }
        return true
    }

    private func handle(_ event: SignalingEvent) async {
        switch event {
        case .connected(let server):
            connected[server] = true
            logger.info("signaling connected", metadata: ["server": "\(server)"])
        case .disconnected(let server, let reason):
            connected[server] = false
            logger.warning("signaling disconnected: \(reason)", metadata: ["server": "\(server)"])
        case .publishFailed(_, let reason):
            logger.warning("signaling publish failed: \(reason)")
        case .message(let envelope):
            switch channel.open(envelope) {
            case .failure(let reason):
                logger.debug("dropped signaling envelope: \(reason)")
            case .success(let message):
                await deliver(message)
            }
        }
    }

    private func deliver(_ message: ReceivedMessage) async {
        let key = message.from.wireGuardKey
        guard let session = peers[key], let kind = message.payload.kind else {
            logger.debug("signaling from a peer without a session", metadata: ["peer": "\(key.base64)"])
            return
        }
        if case .bye = kind {
            // A bye held by the server for us may come from the peer's previous process, which this agent never
            // talked to: tearing it down would throw away the exchange with the peer's current process.
            guard await session.isTalking(to: message.payload.sessionID) else {
                logger.debug("ignored a bye from a peer process this agent did not talk to", metadata: ["peer": "\(key.base64)"])
                return
            }
            // The peer's session ended: start afresh so its next session finds ours ready.
            logger.info("peer said bye", metadata: ["peer": "\(key.base64)"])
            peers[key] = nil
            await session.close(sayBye: false)
            await startPeer(key)
            return
        }
        await session.receive(kind, from: message.payload.sessionID)
    }

    /// A peer session gave up on its agent (dead path): replace it, telling the peer with a bye.
    private func renew(_ key: Key, restarts: Int, failures: Int) async {
        guard let session = peers.removeValue(forKey: key) else { return }
        await session.close(sayBye: true)
        await startPeer(key, restarts: restarts, failures: failures)
    }

    private func startPeer(_ key: Key, restarts: Int = 0, failures: Int = 0) async {
        guard !stopped, peers[key] == nil, key != localKey else { return }
        do {
            let session = try await PeerSession(
                peer: key, localKey: localKey, signaling: channel, link: link, ice: settings.ice, paths: paths,
                handshakeTimeout: settings.handshakeTimeout, logger: logger, restarts: restarts, failures: failures,
                renew: { [weak self] key, restarts, failures in
                    await self?.renew(key, restarts: restarts, failures: failures)
                })
            guard !stopped, peers[key] == nil else {
                await session.close(sayBye: false)
                return
            }
            peers[key] = session
            await session.start()
        } catch {
            logger.error("cannot start ICE for peer \(key.base64): \(error)")
        }
    }
}
