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
    /// Whether the ICE socket's packets leave without DF (`DontFragment`), and the port it holds for that.
    private let clearsDontFragment: Bool
    private var dontFragmentPort: UInt16?

    /// `select` says which kind of path carries a pair; `pointWireGuard` sets the peer's WireGuard endpoint
    /// (an endpoint-only update). `clearDontFragment`: the session may use nft (its table is deleted at the end).
    public init(agent: ICEAgent, peer: Key, wireGuardPort: UInt16, table: NFTablesTable,
                select: @escaping PathSelection, logger: Logger, clearDontFragment: Bool = false,
                pointWireGuard: @escaping @Sendable (Endpoint) async throws -> Void) {
        clearsDontFragment = clearDontFragment
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
            await me.clearDontFragment(for: nil)
            return false
        }
    }

    private func switchTo(_ pair: SelectedPair) async throws -> Bool {
        guard !closed, current?.pair != pair else { return false }
        let kind = try select(pair)
        if let current, current.kind == .userspaceProxy, kind == .userspaceProxy {
            self.current = Current(kind: kind, pair: pair, wireGuardEndpoint: current.wireGuardEndpoint)
            await clearDontFragment(for: pair)
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
        await clearDontFragment(for: pair)
        await old?.close()
        logger.info("data path \(kind.rawValue), WireGuard endpoint \(new.wireGuardEndpoint)")
        return true
    }

    /// Moves DF clearing to `pair`'s ICE socket (nil: none). Only UDP sockets: TCP to a TURN server finds its
    /// own segment size. The new port is added before the old one is released; failing to change nft costs
    /// large packets on black-holed paths only, so it is logged, never fatal.
    private func clearDontFragment(for pair: SelectedPair?) async {
        guard clearsDontFragment else { return }
        let port = pair.flatMap { $0.local.transport == .udp && $0.local.basePort != 0 ? $0.local.basePort : nil }
        guard port != dontFragmentPort else { return }
        let (old, table, logger) = (dontFragmentPort, table, logger)
        let added = await Blocking.run { () -> Bool in
            guard let port else { return true }
            do {
                try DontFragment.clear(port: port, table: table)
                return true
            } catch {
                logger.warning("cannot clear DF on the ICE socket's packets (port \(port)): \(error)")
                return false
            }
        }
        await Blocking.run { if let old { DontFragment.release(port: old, table: table) } }
        dontFragmentPort = added ? port : nil
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
