import Keys
import Blocking
import ICE
import Logging
import WireGuard
import enum ConfParser.ProxyMode

/// The data path of one peer, replaced as its agent selects pairs. The rules (docs/ARCHITECTURE.md, "Path
/// changes"):
/// - make before break: the new path is installed and WireGuard pointed at it before the old one is removed;
/// - each path removes only what it installed (its own nftables chains, its own receive handler), so closing
///   the old path never undoes the new one;
/// - a proxy carries whatever pair its agent has selected, so a move between two proxied pairs keeps it:
///   WireGuard's endpoint stays, nothing in flight is lost;
/// - the same pair selected again changes nothing.
/// Changes run one at a time, in the order they were asked for.
public actor PathSwitch {
    public struct Current: Sendable {
        public let kind: DataPathKind
        public let pair: SelectedPair
        public let wireGuardEndpoint: Endpoint
    }

    public private(set) var current: Current?
    private var path: (any DataPath)?
    private var closed = false
    private var last: Task<Void, Never>?

    private let agent: ICEAgent
    private let peer: Key
    private let wireGuardPort: UInt16
    private let table: NFTablesTable
    private var proxy: ProxyMode
    private let nftablesAvailable: Bool
    private let logger: Logger
    private let pointWireGuard: @Sendable (Endpoint) async throws -> Void

    /// `pointWireGuard` sets the peer's WireGuard endpoint (an endpoint-only update).
    public init(agent: ICEAgent, peer: Key, wireGuardPort: UInt16, table: NFTablesTable, proxy: ProxyMode,
                nftablesAvailable: Bool, logger: Logger,
                pointWireGuard: @escaping @Sendable (Endpoint) async throws -> Void) {
        self.agent = agent
        self.peer = peer
        self.wireGuardPort = wireGuardPort
        self.table = table
        self.proxy = proxy
        self.nftablesAvailable = nftablesAvailable
        self.logger = logger
        self.pointWireGuard = pointWireGuard
    }

    /// Carries `pair` from now on. Returns true when WireGuard was pointed at a new path.
    @discardableResult
    public func use(_ pair: SelectedPair) async throws -> Bool {
        try await serialized { try await $0.switchTo(pair) }
    }

    /// Applies another `Proxy` setting to the current pair (a path change without a new pair).
    public func setProxy(_ mode: ProxyMode) async throws {
        _ = try await serialized { me in
            me.proxy = mode
            guard let pair = me.current?.pair else { return false }
            me.current = nil
            return try await me.switchTo(pair)
        }
    }

    /// Removes the path; later `use` calls do nothing.
    public func close() async {
        _ = try? await serialized { me in
            me.closed = true
            await me.path?.close()
            me.path = nil
            me.current = nil
            return false
        }
    }

    private func switchTo(_ pair: SelectedPair) async throws -> Bool {
        guard !closed, current?.pair != pair else { return false }
        let kind = try DataPathKind.select(pair: pair, proxy: proxy, nftablesAvailable: nftablesAvailable)
        if let current, current.kind == .userspaceProxy, kind == .userspaceProxy {
            self.current = Current(kind: kind, pair: pair, wireGuardEndpoint: current.wireGuardEndpoint)
            logger.info("data path userspace-proxy kept: it carries the agent's new pair")
            return false
        }
        let (agent, peer, wireGuardPort, table, logger) = (agent, peer, wireGuardPort, table, logger)
        // Installing runs nft: a process to wait for, off the cooperative pool.
        let new: any DataPath = try await Blocking.run {
            switch kind {
            case .kernelRedirect:
                try KernelRedirect(pair: pair, wireGuardPort: wireGuardPort, peer: peer, table: table, logger: logger)
            case .userspaceProxy:
                try UserspaceProxy(agent: agent, wireGuardPort: wireGuardPort, logger: logger)
            }
        }
        do {
            try await pointWireGuard(new.wireGuardEndpoint)
        } catch {
            await new.close()
            throw error
        }
        let old = path
        path = new
        current = Current(kind: kind, pair: pair, wireGuardEndpoint: new.wireGuardEndpoint)
        await old?.close()
        logger.info("data path \(kind.rawValue), WireGuard endpoint \(new.wireGuardEndpoint)")
        return true
    }

    private func serialized(_ body: @escaping @Sendable (isolated PathSwitch) async throws -> Bool) async throws -> Bool {
        let previous = last
        let task = Task { () async throws -> Bool in
            await previous?.value
            return try await body(self)
        }
        last = Task { _ = try? await task.value }
        return try await task.value
    }
}
