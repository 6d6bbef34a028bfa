import Keys
import Blocking
import ICE
import Logging
import WireGuard

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
    private var select: PathSelection
    private let logger: Logger
    private let pointWireGuard: @Sendable (Endpoint) async throws -> Void

    /// `select` says which kind of path carries a pair; `pointWireGuard` sets the peer's WireGuard endpoint
    /// (an endpoint-only update).
    public init(agent: ICEAgent, peer: Key, wireGuardPort: UInt16, table: NFTablesTable,
                select: @escaping PathSelection, logger: Logger,
                pointWireGuard: @escaping @Sendable (Endpoint) async throws -> Void) {
        self.agent = agent
        self.peer = peer
        self.wireGuardPort = wireGuardPort
        self.table = table
        self.select = select
        self.logger = logger
        self.pointWireGuard = pointWireGuard
    }

    /// Carries `pair` from now on. Returns true when WireGuard was pointed at a new path.
    @discardableResult
    public func use(_ pair: SelectedPair) async throws -> Bool {
        try await serialized { try await $0.switchTo(pair) }
    }

    /// Applies another selection (a `Proxy` setting) to the current pair: a path change without a new pair.
    public func setSelection(_ select: @escaping PathSelection) async throws {
        _ = try await serialized { me in
            me.select = select
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
        let kind = try select(pair)
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
