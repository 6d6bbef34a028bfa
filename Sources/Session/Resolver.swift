import Keys
import ConfParser
import DataPath
import ICE
import Logging
import WireGuard

/// wg-ice-resolve: one ICE run per peer with the interface session's own machinery (signaling, `PeerSession`)
/// but no data path while it runs; `apply` then hands a direct result to the kernel so it outlives the process.
public final class Resolver: Sendable {
    public let interface: String
    /// The peers being resolved, in the order given (or the interface's order).
    public let peers: [Key]
    private let listenPort: UInt16
    private let proxy: ProxyMode
    private let link: WireGuardLink
    private let session: InterfaceSession
    private let running: Task<Void, Never>

    /// Checks `requested` against the interface's peers (none: those the configuration's `Peers` selects),
    /// then starts ICE for them. Throws `ResolveError` for a request that cannot be served; nothing has
    /// started then.
    public init(interface: String, settings: SessionSettings, requested: [Key], logger: Logger) async throws {
        let link = WireGuardLink(control: try WireGuard.open(interface), interface: interface)
        do {
            let device = try await link.device()
            let present = device.peers.map(\.publicKey)
            if let unknown = requested.first(where: { !present.contains($0) }) {
                throw ResolveError.notAPeer(unknown.base64, interface: interface)
            }
            var peers: [Key] = []
            for key in requested.isEmpty ? present.filter(settings.peers.selects) : requested where !peers.contains(key) {
                peers.append(key)
            }
            guard !peers.isEmpty else { throw ResolveError.noPeers(interface) }
            var settings = settings
            settings.peers = .only(Set(peers))
            let session = try await InterfaceSession(interface: interface, settings: settings,
                                                     connections: try InterfaceConnections(interface: interface),
                                                     logger: logger, dataPaths: false)
            self.interface = interface
            self.peers = peers
            self.listenPort = device.listenPort
            self.proxy = settings.proxy
            self.link = link
            self.session = session
            running = Task { await session.run() }
        } catch {
            link.close()
            throw error
        }
    }

    /// Waits until every peer's agent is `ready` (checks finished, the pair is final) or `timeout` passes;
    /// returns the pairs selected by then. Polls: the session's state is small and this runs once per process.
    public func pairs(timeout: Duration) async -> [Key: SelectedPair] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let results = await session.iceResults()
            let ready = results.compactMapValues { $0.state == .ready ? $0.pair : nil }
            if ready.count == peers.count || ContinuousClock.now >= deadline {
                return results.compactMapValues { [.connected, .ready].contains($0.state) ? $0.pair : nil }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The session's view of each peer and of its signaling servers, as `wg-ice-hook status` shows it: what
    /// a peer without a pair had reached.
    public func status() async -> InterfaceStatus {
        await session.status()
    }

    /// Points WireGuard at `pair` for `peer` through a kernel redirection that stays after this process:
    /// earlier redirections of the peer are replaced. Returns nil (and changes nothing) when the pair needs the
    /// userspace proxy (relayed, TCP, or `Proxy = userspace`), which cannot outlive the process.
    public func apply(_ pair: SelectedPair, for peer: Key, logger: Logger) async throws -> DataPathKind? {
        let kind = try proxy.dataPath(for: pair, nftablesAvailable: NFTablesTable.isAvailable())
        guard kind == .kernelRedirect else { return nil }
        let table = NFTablesTable(interface: interface)
        try KernelRedirect.removeAll(of: peer, in: table)
        let redirect = try KernelRedirect(pair: pair, wireGuardPort: listenPort, peer: peer, table: table, logger: logger)
        do {
            try await link.apply(.endpoint(redirect.wireGuardEndpoint, for: peer))
        } catch {
            await redirect.close()
            throw error
        }
        return kind
    }

    /// Ends ICE: bye to every peer except those in `applied`, whose session must keep its side of the path.
    public func finish(applied: Set<Key>) async {
        await session.stop(withoutByeTo: applied)
        await running.value
        link.close()
    }
}

public enum ResolveError: Error, CustomStringConvertible {
    case notAPeer(String, interface: String)
    case noPeers(String)

    public var description: String {
        switch self {
        case .notAPeer(let key, let interface): "\(key) is not a peer of \(interface)"
        case .noPeers(let interface): "\(interface) has no peer to resolve (see Peers in the [ICE] settings)"
        }
    }
}
