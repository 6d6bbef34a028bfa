import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// What every accepted TCP connection gets first, on every listener: a place in its source address's count
/// (over the limit it is closed at once, before any parsing) and the `FirstRequestDeadline`.
struct AcceptedConnection: Sendable {
    let addresses: AddressCounter
    let deadline: TimeAmount

    struct OverAddressLimit: Error {}

    /// NIO keeps each channel's receive buffer between reads, 2 KiB by default: 200 MB for 100,000 idle
    /// sessions that read a ping a minute. This one starts small and grows only for a connection that reads more.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    /// Runs on the channel's event loop, before the transport's own handlers are added.
    func setUp(_ channel: any Channel, request: FirstRequestDeadline.Request) throws {
        let source = SourceAddress.key(channel.remoteAddress)
        guard addresses.acquire(source) else {
            channel.close(promise: nil)
            throw OverAddressLimit()
        }
        channel.closeFuture.whenComplete { _ in addresses.release(source) }
        try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
        try channel.pipeline.syncOperations.addHandler(FirstRequestDeadline(deadline: deadline, request: request))
    }
}

/// Open TCP connections per source address (SourceAddress), shared by all listeners.
final class AddressCounter: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    func acquire(_ source: String) -> Bool {
        counts.withLock { counts in
            guard counts[source, default: 0] < limit else { return false }
            counts[source, default: 0] += 1
            return true
        }
    }

    func release(_ source: String) {
        counts.withLock { counts in
            counts[source, default: 1] -= 1
            if counts[source] == 0 { counts[source] = nil }
        }
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
        await inner.handle(value: value, logger: logger)
    }
}
