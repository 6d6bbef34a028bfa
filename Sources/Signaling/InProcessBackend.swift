import Keys
import Foundation

/// A signaling "server" inside one process, for unit tests of code that sits on top of a backend.
/// Routing is by recipient key, like wg-ice-signal, but nothing is held for absent recipients.
public actor InProcessHub {
    private var inboxes: [Key: [UUID: AsyncStream<SignalingEvent>.Continuation]] = [:]

    public init() {}

    func subscribe(_ key: Key, id: UUID, _ inbox: AsyncStream<SignalingEvent>.Continuation) {
        inboxes[key, default: [:]][id] = inbox
    }

    func unsubscribe(_ key: Key, id: UUID) {
        inboxes[key]?[id] = nil
    }

    /// False when nobody is subscribed to the recipient.
    func route(_ envelope: Envelope) -> Bool {
        guard let key = Key(bytes: envelope.recipient), let targets = inboxes[key], !targets.isEmpty else { return false }
        for inbox in targets.values { inbox.yield(.message(envelope)) }
        return true
    }
}

public final class InProcessBackend: SignalingBackend, Sendable {
    public let identity: Key
    public let events: AsyncStream<SignalingEvent>
    private let emit: AsyncStream<SignalingEvent>.Continuation
    private let hub: InProcessHub
    private let id = UUID()

    /// Taking the private key mirrors the real backends: only its holder may subscribe.
    public init(hub: InProcessHub, key: PrivateKey) {
        self.hub = hub
        identity = key.publicKey
        (events, emit) = AsyncStream.makeStream(of: SignalingEvent.self, bufferingPolicy: .bufferingNewest(1024))
    }

    public func start() {
        Task {
            await hub.subscribe(identity, id: id, emit)
            emit.yield(.connected(server: "in-process"))
        }
    }

    public func publish(_ envelope: Envelope) async throws {
        guard envelope.isWellFormed else { throw SignalingError.protocolViolation("malformed envelope") }
        if !(await hub.route(envelope)) {
            emit.yield(.publishFailed(envelope, reason: "recipient not subscribed"))
        }
    }

    public func close() async {
        await hub.unsubscribe(identity, id: id)
        emit.finish()
    }
}
