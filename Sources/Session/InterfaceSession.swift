import Keys
import Blocking
import Foundation
import ICE
import KubernetesSignaling
import Logging
import PortMapping
import Signaling
import WireGuard

/// The session of one WireGuard interface: one signaling subscription with the interface key, one
/// `PeerSlot` (its own inbox and task, holding the `PeerSession`) per selected peer, following peers added and
/// removed with `wg set` and address changes, and ending when the interface disappears or `stop()` is called.
public actor InterfaceSession {
    public nonisolated let interface: String
    private let settings: SessionSettings
    private let link: WireGuardLink
    private let channel: SignalingChannel
    /// STUN/TURN servers and credentials from the signaling server, for files without `URLs`.
    private let signaledICE = SignaledICEServers()
    private let monitor: WireGuardMonitor
    /// Nil without data paths (wg-ice-resolve is too short-lived to follow the network).
    private let networkChanges: NetworkChangeMonitor?
    private let localKey: Key
    private let listenPort: UInt16
    private let paths: PathFactory?
    /// The local TLS relays of `turns:` servers (`settings.ice` names them instead of the servers).
    private let relays: TURNRelays
    /// One for all peers: it remembers which method the router answers and paces retries for all of them.
    private let portMapper: PortMapper?
    private let logger: Logger
    private var peers: [Key: PeerSlot] = [:]
    private var connected: [String: Bool] = [:]
    private var stopped = false
    private var watchdog: Task<Void, Never>?

    /// Reads the interface's key over `connections` (opened before any privilege drop); nothing runs until `run()`.
    /// Without `dataPaths` (wg-ice-resolve) selected pairs are only recorded: WireGuard and nftables stay untouched.
    public init(interface: String, settings: SessionSettings, connections: InterfaceConnections, logger: Logger,
                dataPaths: Bool = true) async throws {
        var logger = logger
        logger[metadataKey: "interface"] = "\(interface)"
        let link = WireGuardLink(control: connections.command, interface: interface)
        let device = try await link.device()
        guard let signalingKey = device.privateKey else {
            link.close()
            throw SessionError.interface("\(interface) has no private key")
        }
        var paths: PathFactory?
        if dataPaths {
            // PathFactory runs nft: a blocking spawn.
            let port = device.listenPort, proxy = settings.proxy
            paths = await Blocking.run { PathFactory(interface: interface, wireGuardPort: port, proxy: proxy) }
        }
        let backend = try makeSignalingBackend(urls: settings.signalingURLs, key: signalingKey, kubernetes: KubernetesBackend.maker)
        let monitor = try WireGuardMonitor(interface: connections.interface, control: connections.monitor)
        var settings = settings
        do {
            (relays, settings.ice) = try await TURNRelays.start(for: settings.ice, logger: logger)
        } catch {
            monitor.cancel()
            link.close()
            throw error
        }
        self.interface = interface
        self.settings = settings
        self.link = link
        self.channel = SignalingChannel(key: signalingKey, backend: backend)
        self.monitor = monitor
        self.localKey = signalingKey.publicKey
        self.listenPort = device.listenPort
        self.networkChanges = dataPaths ? connections.networkChanges : nil
        self.paths = paths
        // wg-ice-resolve maps nothing: its applied path outlives the process, and no one would renew or delete
        // a mapping after it.
        portMapper = dataPaths && !settings.portMapping.isEmpty ? PortMapper(methods: settings.portMapping, logger: logger) : nil
        self.logger = logger
    }

    /// Runs until `stop()` or until the interface goes away; everything is released when it returns.
    public func run() async {
        logger.info("session started", metadata: ["public-key": "\(localKey.base64)", "port": "\(listenPort)"])
        channel.backend.start()
        watchdog = Task { [weak self] in
            while (try? await Task.sleep(for: PeerSession.watchdogInterval)) != nil, let self {
                await self.watchPeers()
            }
        }
        await withTaskGroup(of: Void.self) { group in
            let backend = channel.backend, monitor = monitor
            group.addTask { [weak self] in
                for await event in backend.events { await self?.handle(event) }
            }
            if let changes = networkChanges?.start() {
                group.addTask { [weak self] in
                    for await change in changes { await self?.networkChanged(change) }
                }
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
        watchdog?.cancel()
        monitor.cancel()
        networkChanges?.cancel()
        let all = peers.values
        peers = [:]
        await withTaskGroup(of: Void.self) { group in
            for peer in all { group.addTask { await peer.close(sayBye: !quiet.contains(peer.peer)) } }
        }
        if let paths { await Blocking.run { paths.removeAll() } }
        await portMapper?.stop()
        await relays.close()
        await channel.backend.close()
    }

    public func status() async -> InterfaceStatus {
        let device = try? await link.device()
        var result: [PeerStatus] = []
        for (key, slot) in peers.sorted(by: { $0.key.base64 < $1.key.base64 }) {
            result.append(await slot.status(wireGuard: device?.peer(key)))
        }
        let grant = signaledICE.current
        let source = settings.iceServers(signaled: grant).source
        var servers = "\(source)"
        if case .signaling = source, let grant { servers += ": " + grant.servers.map(\.description).joined(separator: ", ") }
        return InterfaceStatus(interface: interface, publicKey: localKey.base64, listenPort: listenPort,
                               signaling: connected, iceServers: servers,
                               turnCredentialsExpire: source == .file ? nil : grant?.expires.map { Int64($0.timeIntervalSince1970) },
                               peers: result)
    }

    /// Each peer session's ICE state and selected pair (peers whose agent could not be created yet have none).
    public func iceResults() async -> [Key: (state: ICEState, pair: SelectedPair?)] {
        var results: [Key: (state: ICEState, pair: SelectedPair?)] = [:]
        for (key, slot) in peers { results[key] = await slot.ice }
        return results
    }

    // MARK: events

    /// Returns false when the session must end.
    private func handle(_ event: WireGuardEvent) async -> Bool {
        switch event {
        case .interfaceRemoved:
            logger.info("interface removed")
            return false
        case .peerAdded(_, let key) where settings.peers.selects(key):
            startPeer(key)
        case .peerRemoved(_, let key):
            if let slot = peers.removeValue(forKey: key) {
                logger.info("peer removed", metadata: ["peer": "\(key.base64)"])
                await slot.close(sayBye: true)
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
        case .unreachable(let server, let reason):
            connected[server] = false
            logger.warning("signaling server \(server): cannot connect: \(reason) (retrying)")
        case .publishFailed(_, let reason):
            // Once stopping, the backend reports every message it still held (byes without an answer, or all
            // of them if the server was never reached, which `unreachable` said already): expected, not news.
            if stopped {
                logger.debug("signaling publish failed: \(reason)")
            } else {
                logger.warning("signaling publish failed: \(reason)")
            }
        case .iceServers(let grant):
            guard signaledICE.update(grant) else { break }
            guard settings.ice.servers.isEmpty else {
                logger.info("ICE servers from signaling not used: the file's URLs take precedence", metadata: ["offered": "\(grant)"])
                break
            }
            logger.info("ICE servers from signaling: \(grant)")
            // Agents keep the servers and credentials they were made with: each peer whose path is not direct
            // gathers again with a new agent (make-before-break), before the relay refuses the old credentials.
            for slot in peers.values { slot.post(.iceServersChanged) }
        case .message(let envelope):
            // Only the peers this session follows reach the replay memory (docs/PROTOCOL.md §3.4).
            switch channel.open(envelope, isPeer: { peers[$0] != nil }) {
            case .failure(let reason):
                logger.debug("dropped signaling envelope: \(reason)")
            case .success(let message):
                deliver(message)
            }
        }
    }

    /// Hands the message to the peer's inbox: the peer's own task handles it, in order, while this one reads on.
    private func deliver(_ message: ReceivedMessage) {
        let key = message.from
        guard let slot = peers[key], let kind = message.payload.kind else {
            logger.debug("signaling from a peer this session does not follow", metadata: ["peer": "\(key.base64)"])
            return
        }
        slot.post(.signal(kind, sender: message.payload.sessionID))
    }

    private func networkChanged(_ change: NetworkChange) {
        guard !stopped else { return }
        logger.info("network change: \(change)")
        // The signaling connection may have lost its source address too, unnoticed until TCP gives up.
        channel.backend.reconnect()
        for slot in peers.values { slot.post(.networkChanged(change.description)) }
    }

    /// One device read for every peer's watchdog: reads grow with the interval, not with peers × peers.
    private func watchPeers() async {
        guard !stopped, !peers.isEmpty, let device = try? await link.device() else { return }
        for (key, slot) in peers { slot.post(.watch(device.peer(key))) }
    }

    private func startPeer(_ key: Key) {
        guard !stopped, peers[key] == nil, key != localKey else { return }
        peers[key] = PeerSlot(peer: key, logger: logger) { [channel, link, settings, paths, portMapper, localKey, logger, signaledICE] counts, callbacks in
            let grant = signaledICE.current
            let ice = await Blocking.run { settings.gatheringConfiguration(signaled: grant) }
            return try await PeerSession(
                peer: key, localKey: localKey, signaling: channel, link: link, ice: ice, paths: paths,
                portMapper: portMapper, handshakeTimeout: settings.handshakeTimeout, logger: logger, restarts: counts.restarts, failures: counts.failures,
                generation: counts.generation, renew: callbacks.renew, pathReady: callbacks.pathReady)
        }
    }
}
