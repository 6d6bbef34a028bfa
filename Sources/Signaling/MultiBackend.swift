import Keys
import Foundation

/// Several signaling URLs at once: publishes go to all, envelopes from any are delivered once.
/// Duplicates are recognised by their nonce (24 random bytes, unique per sealed message).
public final class MultiBackend: SignalingBackend, Sendable {
    public let identity: Key
    public let events: AsyncStream<SignalingEvent>
    private let emit: AsyncStream<SignalingEvent>.Continuation
    private let backends: [any SignalingBackend]
    private let pumps = Mutex<[Task<Void, Never>]>([])
    private let seen: Mutex<RecentSet>

    public init(_ backends: [any SignalingBackend], dedupCapacity: Int = 4096) {
        precondition(!backends.isEmpty)
        identity = backends[0].identity
        self.backends = backends
        seen = Mutex(RecentSet(capacity: dedupCapacity))
        (events, emit) = AsyncStream.makeStream(of: SignalingEvent.self, bufferingPolicy: .bufferingNewest(1024))
    }

    public func start() {
        let tasks = backends.map { backend in
            Task {
                for await event in backend.events {
                    if case .message(let envelope) = event, !seen.withLock({ $0.insert(envelope.nonce) }) { continue }
                    emit.yield(event)
                }
            }
        }
        pumps.withLock { $0 = tasks }
        for backend in backends { backend.start() }
    }

    /// Succeeds if at least one backend took the envelope; otherwise rethrows the last failure.
    public func publish(_ envelope: Envelope) async throws {
        var lastError: (any Error)?
        var accepted = false
        for backend in backends {
            do {
                try await backend.publish(envelope)
                accepted = true
            } catch {
                lastError = error
            }
        }
        if !accepted, let lastError { throw lastError }
    }

    public func reconnect() {
        for backend in backends { backend.reconnect() }
    }

    public func close() async {
        for backend in backends { await backend.close() }
        for task in pumps.withLock({ $0 }) { await task.value }
        emit.finish()
    }
}

/// A set that remembers only the most recent `capacity` insertions.
struct RecentSet: Sendable {
    let capacity: Int
    private var members: Set<Data> = []
    private var order: [Data] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    /// True if `item` was not among the recent ones (and records it).
    mutating func insert(_ item: Data) -> Bool {
        guard !members.contains(item) else { return false }
        if order.count < capacity {
            order.append(item)
        } else {
            members.remove(order[head])
            order[head] = item
            head = (head + 1) % capacity
        }
        members.insert(item)
        return true
    }
}
