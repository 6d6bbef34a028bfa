import Keys
import Foundation
import Logging

/// Sends one frame on the current connection.
typealias FrameSender = @Sendable (ClientFrame) async throws -> Void

/// What a transport runs once its connection is up: the handshake and the frame loop.
protocol FrameSession: Sendable {
    func run<Inbound: AsyncSequence>(inbound: Inbound, send: @escaping FrameSender) async throws
        where Inbound.Element == ServerFrame
}

/// One concrete wire (WebSocket, gRPC): makes a connection and runs a session on it until it ends.
protocol FrameTransport: Sendable {
    /// The transport name bound into the auth transcript ("ws" or "grpc").
    var kind: String { get }
    /// host[:port] as written in the URL, bound into the auth transcript.
    var authority: String { get }
    /// For logs and events.
    var url: String { get }
    func connect(_ session: some FrameSession) async throws
}

/// The client half of the wire protocol, shared by every server-based backend: authenticates, keeps a
/// bounded queue of unacknowledged publishes, reconnects with jittered exponential backoff, resubscribes
/// and resends what the server has not acknowledged.
final class FrameClient: SignalingBackend, Sendable {
    let identity: Key
    let events: AsyncStream<SignalingEvent>
    private let key: PrivateKey
    private let transport: any FrameTransport
    private let options: SignalingOptions
    private let emit: AsyncStream<SignalingEvent>.Continuation
    private let state: State
    private let runner = TaskHolder()
    /// The current connection attempt (and, once subscribed, the connection): `reconnect()` cancels it.
    private let connection = Mutex<Task<Void, any Error>?>(nil)
    private let abandoned = AbandonedAttempts()
    private let logger: Logger

    init(transport: any FrameTransport, key: PrivateKey, options: SignalingOptions) {
        self.identity = key.publicKey
        self.key = key
        self.transport = transport
        self.options = options
        (events, emit) = AsyncStream.makeStream(of: SignalingEvent.self, bufferingPolicy: .bufferingNewest(options.eventBuffer))
        state = State(capacity: options.queueCapacity)
        var logger = options.logger
        logger[metadataKey: "signal"] = "\(transport.url)"
        self.logger = logger
    }

    func start() {
        runner.set(Task { await self.loop() })
    }

    func publish(_ envelope: Envelope) async throws {
        try await state.publish(envelope)
    }

    func reconnect() {
        connection.withLock { $0?.cancel() }
    }

    func close() async {
        runner.cancel()
        await runner.wait()
        for envelope in await state.close() {
            emit.yield(.publishFailed(envelope, reason: "backend closed before the server accepted it"))
        }
        emit.finish()
    }

    private func loop() async {
        var attempt = 0
        var reported: String?
        while !Task.isCancelled {
            var reason = "connection closed"
            var failure: (any Error)?
            do {
                try await connectOnce()
            } catch {
                reason = "\(error)"
                failure = error
            }
            let wasUp = await state.detach()
            // Cancelled: `close()` ended the connection on purpose, which is nobody's news.
            if Task.isCancelled { break }
            if wasUp {
                attempt = 0
                reported = nil
                emit.yield(.disconnected(server: transport.url, reason: reason))
            } else {
                let short = failure.map(connectionFailure) ?? reason
                if short != reported { emit.yield(.unreachable(server: transport.url, reason: short)) }
                reported = short
            }
            let delay = options.backoff.delay(forAttempt: attempt)
            attempt += 1
            logger.info("signaling connection ended, retrying", metadata: ["reason": "\(reason)", "in": "\(delay)"])
            try? await Task.sleep(for: delay)
        }
    }

    /// One connection. A server that accepts but never completes the handshake must not stall the
    /// client: without `Subscribed` in time the attempt is cancelled and abandoned. Abandoning (rather
    /// than awaiting) keeps a transport that is slow to honour the cancellation (a TLS or HTTP/2 teardown
    /// towards a silent server) from holding up the next attempt. At most `maxAbandonedAttempts` may
    /// linger; beyond that no new connection is made until one ends.
    private func connectOnce() async throws {
        guard abandoned.count < Self.maxAbandonedAttempts else {
            throw SignalingError.protocolViolation("\(abandoned.count) earlier connection attempts still hanging")
        }
        let subscribed = Flag()
        let (ends, signal) = AsyncStream.makeStream(of: Bool.self)  // true: the attempt ended; false: deadline
        let attempt = Task {
            defer { signal.yield(true) }
            try await transport.connect(Session(client: self, onSubscribed: subscribed))
        }
        connection.withLock { $0 = attempt }
        let timer = Task {
            try? await Task.sleep(for: options.handshakeTimeout)
            signal.yield(false)
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            for await ended in ends {
                if ended { return try await attempt.value }
                if !subscribed.isSet {
                    attempt.cancel()
                    abandoned.track(attempt)
                    throw SignalingError.protocolViolation("not subscribed within \(options.handshakeTimeout)")
                }
            }
        } onCancel: {
            attempt.cancel()
            signal.finish()
        }
    }

    private static let maxAbandonedAttempts = 4

    private struct Session: FrameSession {
        let client: FrameClient
        let onSubscribed: Flag

        func run<Inbound: AsyncSequence>(inbound: Inbound, send: @escaping FrameSender) async throws
            where Inbound.Element == ServerFrame {
            var frames = inbound.makeAsyncIterator()
            guard case .challenge(let challenge)? = try await frames.next()?.frame else {
                throw SignalingError.protocolViolation("expected a challenge")
            }
            var auth = try AuthProof.respond(to: challenge, key: client.key, transport: client.transport.kind,
                                             authority: client.transport.authority)
            // This client takes ICE servers from the server (revision 1.1); older clients do not say so and get none.
            auth.auth.acceptsIceServers = true
            try await send(auth)
            switch try await frames.next()?.frame {
            case .subscribed?: break
            case .error(let e)?: throw SignalingError.refused(e.code, e.message)
            default: throw SignalingError.protocolViolation("expected subscribed")
            }
            onSubscribed.set()
            client.logger.debug("subscribed")
            client.emit.yield(.connected(server: client.transport.url))
            await client.state.attach(send)
            while let frame = try await frames.next() {
                switch frame.frame {
                case .deliver(let envelope):
                    // The server routes by recipient, but checking costs nothing and the receiver re-checks anyway.
                    guard envelope.isWellFormed, envelope.recipient == Data(client.identity.bytes) else {
                        client.logger.warning("server delivered a malformed or misaddressed envelope; ignored")
                        continue
                    }
                    client.emit.yield(.message(envelope))
                case .publishResult(let result):
                    if let failed = await client.state.complete(id: result.id, status: result.status) {
                        client.emit.yield(.publishFailed(failed, reason: "server rejected it (\(result.status))"))
                    }
                case .iceServers(let offer):
                    if let grant = ICEServerGrant(offer, source: client.transport.url) {
                        client.logger.debug("ICE servers from the server", metadata: ["servers": "\(grant)"])
                        client.emit.yield(.iceServers(grant))
                    } else {
                        client.logger.warning("server offered no ICE server this client can use; ignored")
                    }
                case .error(let e):
                    throw SignalingError.refused(e.code, e.message)
                case nil:
                    // A frame of a later revision: ignored, as the protocol asks of clients (docs/PROTOCOL.md §4).
                    continue
                default:
                    throw SignalingError.protocolViolation("unexpected frame after subscription")
                }
            }
        }
    }

    /// Publishes not yet acknowledged, and the connection to send them on.
    private actor State {
        private var pending: [(id: UInt64, envelope: Envelope)] = []
        private var nextID: UInt64 = 1
        private var send: FrameSender?
        private var closed = false
        private let capacity: Int

        init(capacity: Int) { self.capacity = capacity }

        func publish(_ envelope: Envelope) async throws {
            guard !closed else { throw SignalingError.closed }
            guard pending.count < capacity else { throw SignalingError.queueFull }
            let id = nextID
            nextID += 1
            pending.append((id, envelope))
            // A failed write leaves it pending; the next connection resends it.
            try? await send?(Self.frame(id: id, envelope))
        }

        func attach(_ send: @escaping FrameSender) async {
            self.send = send
            for (id, envelope) in pending {
                try? await send(Self.frame(id: id, envelope))
            }
        }

        /// Forgets the connection; true if one was attached.
        func detach() -> Bool {
            defer { send = nil }
            return send != nil
        }

        /// Removes an acknowledged publish; returns it if the server refused it.
        func complete(id: UInt64, status: PublishStatus) -> Envelope? {
            guard let index = pending.firstIndex(where: { $0.id == id }) else { return nil }
            let envelope = pending.remove(at: index).envelope
            return status == .delivered || status == .held ? nil : envelope
        }

        func close() -> [Envelope] {
            closed = true
            send = nil
            defer { pending = [] }
            return pending.map(\.envelope)
        }

        private static func frame(id: UInt64, _ envelope: Envelope) -> ClientFrame {
            var frame = ClientFrame()
            frame.publish.id = id
            frame.publish.envelope = envelope
            return frame
        }
    }
}

/// A one-way boolean that concurrent tasks can share.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Connection attempts given up on but not yet ended.
final class AbandonedAttempts: Sendable {
    private let pending = Mutex(0)
    var count: Int { pending.withLock { $0 } }

    func track(_ task: Task<Void, any Error>) {
        pending.withLock { $0 += 1 }
        Task {
            _ = await task.result
            self.pending.withLock { $0 -= 1 }
        }
    }
}

/// Holds the background task of a backend so `close()` can cancel and await it.
final class TaskHolder: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)
    func set(_ t: Task<Void, Never>) { task.withLock { $0 = t } }
    func cancel() { task.withLock { $0?.cancel() } }
    func wait() async { await task.withLock { $0 }?.value }
}
