import Keys
import Foundation
import Logging
import Signaling
import Synchronization

/// Why the server ends a connection; sent to the client as an Error frame and logged.
struct SessionClose: Error {
    var code: ErrorCode
    var message: String
    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The server half of one connection, the same for every transport: challenge, authentication,
/// then publishes in and deliveries out, under the per-connection limits.
struct ServerSession {
    let router: Switchboard
    let config: ServerConfig
    let transport: String  // "ws" or "grpc", checked against the proof
    let peer: String       // remote address, for logs
    let source: String     // what per-address limits count by (SourceAddress)
    let budget: FrameBudget
    let logger: Logger

    /// Runs until the client goes away, the session breaks a rule, or the server stops.
    /// `inbound` yields decoded frames; a transport throws SessionClose for frames it could not decode.
    func run<Inbound: AsyncSequence & Sendable>(inbound: Inbound, send: @escaping @Sendable (ServerFrame) async throws -> Void) async
        where Inbound.Element == ClientFrame {
        let (outbox, post) = AsyncStream.makeStream(of: ServerFrame.self, bufferingPolicy: .bufferingOldest(config.outboxCapacity))
        let logger = { var l = self.logger; l[metadataKey: "peer"] = "\(peer)"; return l }()
        let (stopSignal, stop) = AsyncStream.makeStream(of: SessionClose.self)
        let id: UInt64
        switch await router.open(post, stop: stop, source: source) {
        case .success(let admitted): id = admitted
        case .failure(let refusal):
            if let unlogged = await router.refusalToLog() {
                logger.warning("refusing connection: server full", metadata: ["detail": "\(refusal.message)", "unlogged-refusals": "\(unlogged)"])
            }
            try? await send(.error(refusal.code, refusal.message))
            return
        }
        let identity = IdentityCell()
        // The authenticated key of a session that asked for ICE servers: only then, and only for that key.
        let (offerTo, offer) = AsyncStream.makeStream(of: Key.self, bufferingPolicy: .bufferingNewest(1))
        var reason = "client closed"
        await withTaskGroup(of: Void.self) { group in
            // The writer drains the outbox; it ends when the outbox is finished (by us or by a server shutdown).
            group.addTask {
                for await frame in outbox {
                    do { try await send(frame) } catch { break }
                }
            }
            let ephemeral = PrivateKey.generate()
            let challenge = randomBytes(AuthProof.challengeLength)
            var hello = ServerFrame()
            hello.challenge.serverEphemeralKey = Data(ephemeral.publicKey.bytes)
            hello.challenge.challenge = Data(challenge)
            post.yield(hello)
            do {
                // Each child returns whether the session is over; the first that says so cancels the rest.
                try await withThrowingTaskGroup(of: Bool.self) { inner in
                    inner.addTask {
                        try await self.readLoop(inbound, id: id, ephemeral: ephemeral, challenge: challenge,
                                                identity: identity, offer: offer, post: post, logger: logger)
                        return true
                    }
                    if let servers = config.iceServers {
                        inner.addTask {
                            // After Subscribed (queued by `subscribe` before the key gets here), then before three
                            // quarters of each credential's lifetime, for as long as the session lasts.
                            for await key in offerTo {
                                while true {
                                    post.yield(servers.frame(for: key, now: Date()))
                                    try await Task.sleep(for: servers.refreshInterval)
                                }
                            }
                            return false
                        }
                    }
                    inner.addTask {
                        try await Task.sleep(for: config.authTimeout)
                        guard identity.value != nil else {
                            throw SessionClose(.authTimeout, "no valid Auth within \(config.authTimeout)")
                        }
                        return false
                    }
                    inner.addTask {
                        for await close in stopSignal { throw close }  // evicted to make room
                        throw CancellationError()  // server shutdown; the router already queued the Error frame
                    }
                    for try await over in inner where over {
                        inner.cancelAll()
                        break
                    }
                    inner.cancelAll()
                }
            } catch let close as SessionClose {
                reason = "\(close.code)"
                logger.notice("closing connection", metadata: ["reason": "\(close.code)", "detail": "\(close.message)"])
                post.yield(.error(close.code, close.message))
            } catch is CancellationError {
                reason = "shutdown"
            } catch {
                // Oversized WebSocket messages and undecodable gRPC messages end up here: the transport refused them.
                reason = "transport error"
                logger.notice("closing connection", metadata: ["reason": "transport error", "detail": "\(error)"])
            }
            post.finish()
            await group.waitForAll()
        }
        await router.close(id, key: identity.value, reason: reason)
    }

    private func readLoop<Inbound: AsyncSequence & Sendable>(_ inbound: Inbound, id: UInt64, ephemeral: PrivateKey, challenge: [UInt8],
                                                 identity: IdentityCell, offer: AsyncStream<Key>.Continuation,
                                                 post: Switchboard.Outbox, logger: Logger) async throws
        where Inbound.Element == ClientFrame {
        var subscribed: Key?
        for try await frame in inbound {
            guard budget.take() else { throw SessionClose(.rateLimited, "more than \(config.rate) frames/s") }
            switch (subscribed, frame.frame) {
            case (nil, .auth(let auth)?):
                guard let key = AuthProof.verify(auth, ephemeral: ephemeral, challenge: challenge, transport: transport,
                                                 authorityAllowed: { config.authorities.isEmpty || config.authorities.contains($0) })
                else { throw SessionClose(.authFailed, "proof of key possession did not verify") }
                subscribed = key
                identity.value = key
                logger.info("subscribed", metadata: ["key": "\(key)"])
                await router.subscribe(id, key: key)
                if auth.acceptsIceServers { offer.yield(key) }
                offer.finish()
            case (let key?, .publish(let publish)?):
                let envelope = publish.envelope
                guard envelope.isWellFormed, let recipient = Key(bytes: envelope.recipient) else {
                    throw SessionClose(.badFrame, "malformed envelope")
                }
                guard envelope.sender == Data(key.bytes) else { throw SessionClose(.senderMismatch, "envelope sender is not the authenticated key") }
                var result = ServerFrame()
                result.publishResult.id = publish.id
                result.publishResult.status = await router.route(envelope, to: recipient, from: id)
                post.yield(result)
            case (nil, _):
                throw SessionClose(.badFrame, "expected Auth")
            case (_?, _):
                throw SessionClose(.badFrame, "expected Publish")
            }
        }
    }
}

/// The authenticated key of a session, shared with its auth-deadline timer.
final class IdentityCell: Sendable {
    private let key = Mutex<Key?>(nil)
    var value: Key? {
        get { key.withLock { $0 } }
        set { key.withLock { $0 = newValue } }
    }
}

/// Per-connection rate limit: `burst` frames at once, refilled at `rate` per second. Shared between the
/// session (protocol frames) and, on WebSocket, the control-frame limiter (pings and pongs).
final class FrameBudget: Sendable {
    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }
    let rate: Double, burst: Double
    private let bucket: Mutex<Bucket>

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        bucket = Mutex(Bucket(tokens: burst, last: .now))
    }

    convenience init(_ config: ServerConfig) { self.init(rate: config.rate, burst: config.burst) }

    func take() -> Bool {
        bucket.withLock { b in
            let now = ContinuousClock.now
            let elapsed = now - b.last
            b.last = now
            b.tokens = min(burst, b.tokens + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
            guard b.tokens >= 1 else { return false }
            b.tokens -= 1
            return true
        }
    }
}
