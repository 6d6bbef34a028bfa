import Foundation
import Logging
import Signaling

/// Routes envelopes to the connections subscribed to their recipient, holds them briefly for recipients
/// that are offline, and counts connections against the limit. The only shared state of the server.
actor Switchboard {
    typealias Outbox = AsyncStream<ServerFrame>.Continuation

    private let config: ServerConfig
    private var connections: [UInt64: (outbox: Outbox, stop: AsyncStream<Void>.Continuation)] = [:]
    private var nextID: UInt64 = 1
    private var subscribers: [PublicKey: [UInt64: Outbox]] = [:]
    private var held: [PublicKey: [(envelope: Envelope, expires: ContinuousClock.Instant)]] = [:]
    private var stopping = false
    private(set) var metrics = Metrics()

    struct Metrics: Sendable {
        var delivered = 0, held = 0, rejected = 0, refused = 0
        var closed: [String: Int] = [:]
    }

    init(config: ServerConfig) { self.config = config }

    var hasRoom: Bool { !stopping && connections.count < config.maxConnections }

    /// Admits a connection, or nil when the server is full or stopping.
    func open(_ outbox: Outbox, stop: AsyncStream<Void>.Continuation) -> UInt64? {
        guard hasRoom else {
            metrics.refused += 1
            return nil
        }
        let id = nextID
        nextID += 1
        connections[id] = (outbox, stop)
        return id
    }

    func close(_ id: UInt64, key: PublicKey?, reason: String) {
        connections[id] = nil
        if let key {
            subscribers[key]?[id] = nil
            if subscribers[key]?.isEmpty == true { subscribers[key] = nil }
        }
        metrics.closed[reason, default: 0] += 1
    }

    /// Subscribes a connection to `key`: queues Subscribed, then whatever was held for the key, in order.
    func subscribe(_ id: UInt64, key: PublicKey) {
        guard let outbox = connections[id]?.outbox else { return }
        subscribers[key, default: [:]][id] = outbox
        let waiting = (held.removeValue(forKey: key) ?? []).filter { $0.expires > .now }
        var subscribed = ServerFrame()
        subscribed.subscribed.maxMessageSize = UInt32(config.maxMessageSize)
        subscribed.subscribed.heldDelivered = UInt32(waiting.count)
        outbox.yield(subscribed)
        for item in waiting { outbox.yield(Self.deliver(item.envelope)) }
    }

    /// Hands an envelope to every live subscriber of its recipient, or holds it.
    func route(_ envelope: Envelope, to recipient: PublicKey) -> PublishStatus {
        var delivered = false
        for outbox in subscribers[recipient]?.values ?? [:].values {
            if case .enqueued = outbox.yield(Self.deliver(envelope)) { delivered = true }
        }
        if delivered {
            metrics.delivered += 1
            return .delivered
        }
        let now = ContinuousClock.now
        var queue = (held[recipient] ?? []).filter { $0.expires > now }
        if held[recipient] == nil, held.count >= config.holdKeys { purgeExpired(now) }
        guard queue.count < config.holdPerKey, held[recipient] != nil || held.count < config.holdKeys else {
            metrics.rejected += 1
            return .rejected
        }
        queue.append((envelope, now + config.holdTTL))
        held[recipient] = queue
        metrics.held += 1
        return .held
    }

    /// Tells every connection the server is going away and ends their outboxes.
    func shutdown() {
        stopping = true
        for (outbox, stop) in connections.values {
            outbox.yield(.error(.shuttingDown, "server is shutting down"))
            stop.finish()
        }
    }

    func purgeExpired(_ now: ContinuousClock.Instant = .now) {
        held = held.compactMapValues { queue in
            let live = queue.filter { $0.expires > now }
            return live.isEmpty ? nil : live
        }
    }

    /// Prometheus text exposition of the counters.
    func prometheus() -> String {
        var lines = [
            "# TYPE wg_ice_signal_connections gauge", "wg_ice_signal_connections \(connections.count)",
            "# TYPE wg_ice_signal_subscribed_keys gauge", "wg_ice_signal_subscribed_keys \(subscribers.count)",
            "# TYPE wg_ice_signal_held_envelopes gauge", "wg_ice_signal_held_envelopes \(held.values.reduce(0) { $0 + $1.count })",
            "# TYPE wg_ice_signal_envelopes_total counter",
            "wg_ice_signal_envelopes_total{result=\"delivered\"} \(metrics.delivered)",
            "wg_ice_signal_envelopes_total{result=\"held\"} \(metrics.held)",
            "wg_ice_signal_envelopes_total{result=\"rejected\"} \(metrics.rejected)",
            "# TYPE wg_ice_signal_connections_refused_total counter", "wg_ice_signal_connections_refused_total \(metrics.refused)",
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
