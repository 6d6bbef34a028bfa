import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// What every accepted TCP connection gets first, on every listener: a place in its source address's count
/// (`AddressCounter`) and the `FirstRequestDeadline`; on gRPC also the `HTTP2FrameBudget`.
struct AcceptedConnection: Sendable {
    let addresses: AddressCounter
    let deadline: TimeAmount
    let logger: Logger

    struct OverAddressLimit: Error {}

    /// NIO keeps each channel's receive buffer between reads, 2 KiB by default: 200 MB for 100,000 idle
    /// sessions that read a ping a minute. This one starts small and grows only for a connection that reads more.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    /// How long a connection over its address's limit is kept so that it can be told why (503 or SERVER_FULL):
    /// long enough to send a request and read a line, short enough that these few places turn over.
    var refusalGrace: TimeAmount { min(deadline, .seconds(5)) }

    /// Runs on the channel's event loop, before the transport's own handlers are added (WebSocket) or right
    /// after (gRPC).
    func setUp(_ channel: any Channel, request: FirstRequestDeadline.Request) throws {
        let source = SourceAddress.key(channel.remoteAddress)
        let connection = AddressCounter.connectionKey(remote: channel.remoteAddress, local: channel.localAddress)
        switch addresses.acquire(source, connection: connection) {
        case .admitted:
            channel.closeFuture.whenComplete { _ in addresses.release(source) }
        case .overLimit:
            channel.closeFuture.whenComplete { _ in addresses.releaseOverLimit(source, connection: connection) }
            channel.eventLoop.scheduleTask(in: refusalGrace) { channel.close(promise: nil) }
        case .refused:
            channel.close(promise: nil)
            throw OverAddressLimit()
        }
        try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
        try channel.pipeline.syncOperations.addHandler(FirstRequestDeadline(deadline: deadline, request: request))
        if request == .http2Stream { try HTTP2FrameBudget.install(on: channel, logger: logger) }
    }
}

/// Open TCP connections per source address (SourceAddress), shared by all listeners, and the refusals of those
/// over the limit. Up to `overflow` connections over it per address are kept for `refusalGrace` to be told
/// why (a WebSocket upgrade gets 503, a gRPC call SERVER_FULL); any more are closed as soon as accepted. Every
/// one is counted (`refused`) and logged, rate-limited per address (`AddressRefusalLog`).
final class AddressCounter: Sendable {
    enum Admission: Equatable { case admitted, overLimit, refused }

    let limit: Int
    let overflow: Int
    private let logger: Logger
    private struct State {
        var counts: [String: Int] = [:]
        var overLimit: [String: Int] = [:]
        /// `connectionKey`s of the connections over the limit, for the transports to refuse their requests.
        var overLimitConnections: Set<String> = []
        var refused = 0
        var log = AddressRefusalLog()
    }
    private let state = Mutex(State())

    init(limit: Int, logger: Logger) {
        self.limit = limit
        // A quarter of the limit, so that a client opening its sessions all at once, somewhat over the limit,
        // hears why each one over it is refused; at least 16 for small limits.
        overflow = max(16, limit / 4)
        self.logger = logger
    }

    /// Connections refused for the limit so far (answered or closed at once).
    var refused: Int { state.withLock { $0.refused } }

    func acquire(_ source: String, connection: String) -> Admission {
        let (admission, log) = state.withLock { state -> (Admission, Bool) in
            if state.counts[source, default: 0] < limit {
                state.counts[source, default: 0] += 1
                return (.admitted, false)
            }
            state.refused += 1
            let log = state.log.refused(source)
            guard state.overLimit[source, default: 0] < overflow else { return (.refused, log) }
            state.overLimit[source, default: 0] += 1
            state.overLimitConnections.insert(connection)
            return (.overLimit, log)
        }
        if log {
            logger.warning("refusing connection: too many connections from this address", metadata: [
                "source": "\(source)", "limit": "\(limit)"])
        }
        return admission
    }

    func release(_ source: String) {
        state.withLock { state in
            state.counts[source, default: 1] -= 1
            if state.counts[source] == 0 { state.counts[source] = nil }
        }
    }

    func releaseOverLimit(_ source: String, connection: String) {
        state.withLock { state in
            state.overLimit[source, default: 1] -= 1
            if state.overLimit[source] == 0 { state.overLimit[source] = nil }
            state.overLimitConnections.remove(connection)
        }
    }

    /// Whether the connection (`connectionKey`) was accepted over its address's limit, only to be refused.
    func isOverLimit(_ connection: String) -> Bool {
        state.withLock { $0.overLimitConnections.contains(connection) }
    }

    /// Logs the refusals not logged when they happened, one line per address whose interval is over (the
    /// janitor calls this every few seconds).
    func reportRefusals(now: ContinuousClock.Instant = .now) {
        for (source, count) in state.withLock({ $0.log.due(at: now) }) {
            logger.warning("refused connections: too many connections from this address", metadata: [
                "source": "\(source)", "limit": "\(limit)", "refused": "\(count)", "within": "\(AddressRefusalLog.interval)"])
        }
    }

    /// What identifies a connection to the gRPC service as well as on the channel: grpc-swift's
    /// `ServerContext.remotePeer` and `localPeer` ("ipv4:1.2.3.4:5", "ipv6:[::1]:5"), joined by a space.
    static func connectionKey(remote: SocketAddress?, local: SocketAddress?) -> String {
        func peer(_ address: SocketAddress?) -> String {
            switch address {
            case .v4(let a)?: "ipv4:\(a.host):\(address!.port!)"
            case .v6(let a)?: "ipv6:[\(a.host)]:\(address!.port!)"
            default: "<unknown>"
            }
        }
        return peer(remote) + " " + peer(local)
    }
}

/// Refusals at accept come in floods, from one address or many: the first refusal from an address is logged
/// at once, then at most one line per address per `interval` says how many more there were. Addresses are
/// tracked up to `capacity`; refusals from further ones are summed on one line.
struct AddressRefusalLog {
    static let interval = Duration.seconds(10)
    static let others = "other addresses"
    let capacity: Int
    private var addresses: [String: (since: ContinuousClock.Instant, unlogged: Int)] = [:]
    private var others = 0
    private var othersReported: ContinuousClock.Instant?

    init(capacity: Int = 1024) { self.capacity = capacity }

    /// Whether to log this refusal now; otherwise it is counted for `due`.
    mutating func refused(_ source: String, at now: ContinuousClock.Instant = .now) -> Bool {
        if addresses[source] != nil {
            addresses[source]!.unlogged += 1
            return false
        }
        guard addresses.count < capacity else {
            others += 1
            return false
        }
        addresses[source] = (now, 0)
        return true
    }

    /// The addresses whose interval is over and that had unlogged refusals in it, with their count (those
    /// without are forgotten, so their next refusal is logged at once), then the untracked ones' sum.
    mutating func due(at now: ContinuousClock.Instant = .now) -> [(source: String, count: Int)] {
        var lines: [(source: String, count: Int)] = []
        for (source, entry) in addresses where entry.since.duration(to: now) >= Self.interval {
            if entry.unlogged > 0 {
                lines.append((source, entry.unlogged))
                addresses[source] = (now, 0)
            } else {
                addresses[source] = nil
            }
        }
        lines.sort { $0.source < $1.source }
        if others > 0, othersReported.map({ $0.duration(to: now) >= Self.interval }) ?? true {
            lines.append((Self.others, others))
            others = 0
            othersReported = now
        }
        return lines
    }
}

/// Hummingbird's child channel with `AcceptedConnection` set up in front of the HTTP decoder (after a TLS
/// handler, if any: the deadline sees plain bytes).
struct AcceptedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let accepted: AcceptedConnection

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        do {
            try accepted.setUp(channel, request: .httpHead)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Inner.Value, logger: Logger) async {
        var logger = logger
        logger.handler = RefusedUpgradeLogFilter(wrapped: logger.handler)
        await inner.handle(value: value, logger: logger)
    }
}

/// hummingbird-websocket logs "Error handling upgrade result" at error level when the connection is closed while
/// it waits for the answer to an upgrade request, which is how every refusal ends (`ServiceUnavailable` answers
/// 503 and closes): one line per refused upgrade, so a flood of them flooded the log (20 refusals, 20 lines). The
/// refusal itself is logged, rate-limited; this line is demoted to debug.
struct RefusedUpgradeLogFilter: LogHandler {
    var wrapped: any LogHandler
    private static let closedMeanwhile = Logger.MetadataValue.string("\(ChannelError.inappropriateOperationForState)")

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }
    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }
    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level == .error, event.message.description == "Error handling upgrade result",
           event.metadata?["error.type"] == Self.closedMeanwhile {
            guard wrapped.logLevel <= .debug else { return }
            event.level = .debug
        }
        wrapped.log(event: event)
    }
}
