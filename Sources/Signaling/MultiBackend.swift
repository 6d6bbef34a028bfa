import Keys
import Foundation

/// Several signaling URLs at once: publishes go to all, envelopes from every one are passed on.
/// Copies of one message through several servers fall to the receiver's replay check, which runs after
/// authentication: de-duplicating here, on the nonce or anything else checked before the box is opened,
/// would let one server hide another's genuine copy by delivering a tampered one with its nonce first.
public final class MultiBackend: SignalingBackend, Sendable {
    public let identity: Key
    public let events: AsyncStream<SignalingEvent>
    private let emit: AsyncStream<SignalingEvent>.Continuation
    private let backends: [any SignalingBackend]
    private let pumps = Mutex<[Task<Void, Never>]>([])

    public init(_ backends: [any SignalingBackend]) {
        precondition(!backends.isEmpty)
        identity = backends[0].identity
        self.backends = backends
        (events, emit) = AsyncStream.makeStream(of: SignalingEvent.self, bufferingPolicy: .bufferingNewest(1024))
    }

    public func start() {
        let tasks = backends.map { backend in
            Task {
                for await event in backend.events { emit.yield(event) }
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
