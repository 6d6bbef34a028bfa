import Keys
import Foundation
import Logging
import Signaling

/// Routes envelopes to the connections subscribed to their recipient, holds them briefly for recipients
/// that are offline, and counts connections against the limit. The only shared state of the server.
actor Switchboard {
    typealias Outbox = AsyncStream<ServerFrame>.Continuation

    private struct Connection {
        let outbox: Outbox
        let stop: AsyncStream<SessionClose>.Continuation
        let source: String
        var authenticated = false
        /// Last Auth or Publish: the connection that did nothing for longest gives way first when full.
        var active: ContinuousClock.Instant = .now
    }

    private let config: ServerConfig
    /// TCP connections per address, counted at accept on every listener, and their refusals.
    nonisolated let addresses: AddressCounter
    private var connections: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 1
    private var subscribers: [Key: [UInt64: Outbox]] = [:]
    /// Sessions, and those not yet authenticated, per source (address, or /64 for IPv6).
    private var perSource: [String: Int] = [:]
    private var unauthenticatedPerSource: [String: Int] = [:]
    private var held = HeldEnvelopes()
    private var stopping = false
    private var refusals = RefusalLog()
    private var trims: TrimPolicy
    private(set) var metrics = Metrics()

    struct Metrics: Sendable {
        var delivered = 0, held = 0, rejected = 0, evicted = 0
        var refused: [Refusal: Int] = [:]
        var closed: [String: Int] = [:]
    }

    /// Why a session is refused: its message (after "SERVER_FULL: " in a 503, or in the SERVER_FULL frame) and
    /// the `reason` label of wg_ice_signal_connections_refused_total.
    enum Refusal: String, CaseIterable, Sendable {
        case perAddress = "per_address", unauthenticatedPerAddress = "unauthenticated_per_address"
        case serverFull = "server_full", shuttingDown = "shutting_down"

        var message: String {
            switch self {
            case .perAddress: "too many connections from this address"
            case .unauthenticatedPerAddress: "too many unauthenticated connections from this address"
            case .serverFull: "maximum number of connections reached"
            case .shuttingDown: "server is shutting down"
            }
        }
    }

    init(config: ServerConfig, logger: Logger) {
        self.config = config
        addresses = AddressCounter(limit: config.maxConnectionsPerAddress, logger: logger)
        trims = TrimPolicy(threshold: config.trimAfterCloses)
    }

    /// Whether to log a refusal (`RefusalLog`), and how many went unlogged before it.
    func refusalToLog() -> Int? { refusals.admit() }

    /// A refusal made before `open` (a WebSocket upgrade answered 503): counted like those of `open`.
    func refusedBeforeOpening(_ refusal: Refusal) -> Int? {
        metrics.refused[refusal, default: 0] += 1
        return refusals.admit()
    }

    /// Why a connection from `source` would be refused now, or nil if `open` would admit it.
    func refusal(source: String) -> Refusal? {
        if stopping { return .shuttingDown }
        if perSource[source, default: 0] >= config.maxConnectionsPerAddress { return .perAddress }
        if unauthenticatedPerSource[source, default: 0] >= config.maxUnauthenticatedPerAddress { return .unauthenticatedPerAddress }
        if connections.count >= config.maxConnections, victim(for: source) == nil { return .serverFull }
        return nil
    }

    /// Admits a connection, making room if the server is full, or returns why it is refused.
    func open(_ outbox: Outbox, stop: AsyncStream<SessionClose>.Continuation, source: String) -> Result<UInt64, SessionClose> {
        if let refusal = refusal(source: source) {
            metrics.refused[refusal, default: 0] += 1
            return .failure(SessionClose(.serverFull, refusal.message))
        }
        if connections.count >= config.maxConnections, let victim = victim(for: source) {
            metrics.evicted += 1
            connections[victim]?.stop.yield(SessionClose(.serverFull, "server full: making room for another connection"))
            remove(victim)
        }
        let id = nextID
        nextID += 1
        connections[id] = Connection(outbox: outbox, stop: stop, source: source)
        perSource[source, default: 0] += 1
        unauthenticatedPerSource[source, default: 0] += 1
        return .success(id)
    }

    /// The connection that gives way to a newcomer from `source` when the server is full: the oldest one not
    /// yet authenticated, else the one idle for longest from the source holding the most sessions, provided
    /// that source holds more than the newcomer's would. So a flood, even of throwaway keys from many
    /// addresses, cannot keep out a peer from an address that has fewer sessions.
    private func victim(for source: String) -> UInt64? {
        if let pending = connections.filter({ !$0.value.authenticated }).min(by: { $0.key < $1.key }) { return pending.key }
        guard let heaviest = perSource.max(by: { $0.value < $1.value }),
              heaviest.value > perSource[source, default: 0] + 1 else { return nil }
        return connections.filter { $0.value.source == heaviest.key }.min { $0.value.active < $1.value.active }?.key
    }

    /// Forgets a connection (closed, or evicted: its session ends on its own and calls `close`, which is then a no-op).
    private func remove(_ id: UInt64) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        perSource[connection.source, default: 1] -= 1
        if perSource[connection.source] == 0 { perSource[connection.source] = nil }
        if !connection.authenticated { decrementUnauthenticated(connection.source) }
    }

    private func decrementUnauthenticated(_ source: String) {
        unauthenticatedPerSource[source, default: 1] -= 1
        if unauthenticatedPerSource[source] == 0 { unauthenticatedPerSource[source] = nil }
    }

    func close(_ id: UInt64, key: Key?, reason: String) {
        remove(id)
        if let key {
            subscribers[key]?[id] = nil
            if subscribers[key]?.isEmpty == true { subscribers[key] = nil }
        }
        metrics.closed[reason, default: 0] += 1
        trims.closed()
    }

    /// Whether enough sessions closed since the last heap trim to make another worth its cost (`HeapTrim`).
    func trimDue() -> Bool { trims.takeDue() }

    /// Subscribes a connection to `key`: queues Subscribed, then whatever was held for the key, in order.
    func subscribe(_ id: UInt64, key: Key) {
        guard var connection = connections[id] else { return }
        if !connection.authenticated { decrementUnauthenticated(connection.source) }
        connection.authenticated = true
        connection.active = .now
        connections[id] = connection
        subscribers[key, default: [:]][id] = connection.outbox
        let waiting = held.take(key)
        var subscribed = ServerFrame()
        subscribed.subscribed.maxMessageSize = UInt32(config.maxMessageSize)
        subscribed.subscribed.heldDelivered = UInt32(waiting.count)
        connection.outbox.yield(subscribed)
        for envelope in waiting { connection.outbox.yield(Self.deliver(envelope)) }
    }

    /// Hands an envelope from connection `id` to every live subscriber of its recipient, or holds it.
    func route(_ envelope: Envelope, to recipient: Key, from id: UInt64) -> PublishStatus {
        connections[id]?.active = .now
        var delivered = false
        for outbox in subscribers[recipient]?.values ?? [:].values {
            if case .enqueued = outbox.yield(Self.deliver(envelope)) { delivered = true }
        }
        if delivered {
            metrics.delivered += 1
            return .delivered
        }
        guard held.hold(envelope, for: recipient, config: config) else {
            metrics.rejected += 1
            return .rejected
        }
        metrics.held += 1
        return .held
    }

    /// Tells every connection the server is going away and ends their outboxes.
    func shutdown() {
        stopping = true
        for connection in connections.values {
            connection.outbox.yield(.error(.shuttingDown, "server is shutting down"))
            connection.stop.finish()
        }
    }

    /// Frees the held envelopes whose time is up; returns when the next one expires.
    func purgeExpired() -> ContinuousClock.Instant? {
        held.purge(now: .now)
    }

    /// Prometheus text exposition of the counters.
    func prometheus() -> String {
        var lines = [
            "# TYPE wg_ice_signal_connections gauge", "wg_ice_signal_connections \(connections.count)",
            "# TYPE wg_ice_signal_subscribed_keys gauge", "wg_ice_signal_subscribed_keys \(subscribers.count)",
            "# TYPE wg_ice_signal_held_envelopes gauge", "wg_ice_signal_held_envelopes \(held.count)",
            "# TYPE wg_ice_signal_held_bytes gauge", "wg_ice_signal_held_bytes \(held.bytes)",
            "# TYPE wg_ice_signal_envelopes_total counter",
            "wg_ice_signal_envelopes_total{result=\"delivered\"} \(metrics.delivered)",
            "wg_ice_signal_envelopes_total{result=\"held\"} \(metrics.held)",
            "wg_ice_signal_envelopes_total{result=\"rejected\"} \(metrics.rejected)",
            // Refusals by the limit that made them; per_address includes the connections refused at accept.
            "# TYPE wg_ice_signal_connections_refused_total counter",
        ]
        for refusal in Refusal.allCases {
            let count = metrics.refused[refusal, default: 0] + (refusal == .perAddress ? addresses.refused : 0)
            lines.append("wg_ice_signal_connections_refused_total{reason=\"\(refusal.rawValue)\"} \(count)")
        }
        lines += [
            "# TYPE wg_ice_signal_connections_evicted_total counter", "wg_ice_signal_connections_evicted_total \(metrics.evicted)",
            "# TYPE wg_ice_signal_connections_closed_total counter",
        ]
        for (reason, count) in metrics.closed.sorted(by: { $0.key < $1.key }) {
            lines.append("wg_ice_signal_connections_closed_total{reason=\"\(reason)\"} \(count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func deliver(_ envelope: Envelope) -> ServerFrame {
        var frame = ServerFrame()
        frame.deliver = envelope
        return frame
    }
}
