import Keys
import Foundation
import ICE
import Logging
import Retry
import Signaling
import WireGuard

/// What a peer's inbox carries. One task per peer consumes it in order, so a peer whose agent is slow to
/// create or whose messages take long never delays another peer, and each peer's messages keep their order.
enum PeerInput: Sendable {
    case signal(PayloadKind, sender: UInt64)
    /// Creating the peer session failed earlier: try again.
    case retryStart
    /// The session `token` gave up on its agent (dead path): replace it, with a bye.
    case renew(token: UInt64, restarts: Int, failures: Int)
    /// Addresses or the default route changed: gather again with a new agent, keeping the current path.
    case networkChanged(String)
    /// The signaling server handed out other STUN/TURN servers or credentials: an agent whose path is not direct
    /// gathers again with them (make-before-break), so its relay allocation never outlives its credentials.
    case iceServersChanged
    /// The session `token` put its first data path in place.
    case pathReady(token: UInt64)
    /// The session `token` still has no path: the one it replaces goes anyway.
    case handoverDeadline(token: UInt64)
    /// The watchdog's tick, with this peer's part of one device read shared by all peers.
    case watch(Peer?)
    /// The session `token` judged its path dead (`DeadPathRule`): gather again, make-before-break. `paced`: the
    /// backoff of repeated verdicts (`DeadPathPacing`) has been waited out.
    case deadPath(token: UInt64, reason: String, paced: Bool)
}

/// Creates a `PeerSession` for the slot's peer with the carried counts and the callbacks it reports through.
typealias PeerSessionFactory = @Sendable (_ counts: PeerCounts, _ callbacks: PeerCallbacks) async throws -> PeerSession

/// Restart and failure counts and the credentials' generation a new session starts from.
struct PeerCounts: Sendable {
    var restarts = 0
    var failures = 0
    var generation: UInt32 = 0
}

struct PeerCallbacks: Sendable {
    var renew: @Sendable (Key, _ restarts: Int, _ failures: Int) async -> Void
    var pathReady: @Sendable () -> Void
}

/// Everything the interface session keeps for one selected peer: the current `PeerSession` (if its creation
/// succeeded), the one it replaces during a network change, and the inbox that feeds them.
///
/// A peer is never dropped: failed creation (DNS for the STUN/TURN host, no usable address) is retried
/// after 1 s doubling to 32 s, jittered, and `status` shows why meanwhile. Messages that arrive while there is
/// no session wait in the inbox (bounded); the peer also sends everything again when our first credentials
/// reach it (`PeerSession.receive`).
actor PeerSlot {
    let peer: Key
    private let make: PeerSessionFactory
    private let logger: Logger
    private let inbox: AsyncStream<PeerInput>.Continuation
    private var consumer: Task<Void, Never>?

    private var current: (token: UInt64, session: PeerSession)?
    /// During a network change: the session with the working path, retired until `current` has one.
    private var previous: PeerSession?
    /// `previous`'s token, should it take over again (`handoverDeadline`).
    private var previousToken: UInt64 = 0
    private var nextToken: UInt64 = 0
    private var startFailures = 0
    private var lastError: String?
    private var retryTask: Task<Void, Never>?
    private var deadlineTask: Task<Void, Never>?
    private var closed = false
    private var pacing = DeadPathPacing()

    /// How long a replaced session keeps its path while the new one has none.
    static let handoverLimit: Duration = .seconds(30)
    /// Messages a peer may have waiting; the oldest go first (the peer resends on our credentials).
    static let inboxLimit = 128

    init(peer: Key, logger: Logger, make: @escaping PeerSessionFactory) {
        var logger = logger
        logger[metadataKey: "peer"] = "\(peer.base64)"
        self.peer = peer
        self.make = make
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: PeerInput.self, bufferingPolicy: .bufferingNewest(Self.inboxLimit))
        inbox = continuation
        Task { await self.consume(stream) }
    }

    /// Queues an input for this peer without waiting for it to be handled.
    nonisolated func post(_ input: PeerInput) { inbox.yield(input) }

    private func consume(_ stream: AsyncStream<PeerInput>) {
        consumer = Task { [weak self] in
            guard let self else { return }
            await self.start(PeerCounts())
            for await input in stream { await self.handle(input) }
        }
    }

    /// Ends the peer: bye (unless `sayBye` is false), both sessions closed, no retry left.
    func close(sayBye: Bool) async {
        guard !closed else { return }
        closed = true
        inbox.finish()
        retryTask?.cancel()
        await closeSessions(sayBye: sayBye)
        await consumer?.value
    }

    /// Closes the current session (bye if `sayBye`) and the one it replaces (never a bye: it is retired).
    private func closeSessions(sayBye: Bool) async {
        deadlineTask?.cancel()
        let sessions = (current?.session, previous)
        current = nil
        previous = nil
        await sessions.0?.close(sayBye: sayBye)
        await sessions.1?.close(sayBye: false)
    }

    // MARK: inputs

    private func handle(_ input: PeerInput) async {
        guard !closed else { return }
        switch input {
        case .signal(.bye, let sender):
            // A bye held by the server for us may come from the peer's previous process, which this agent never
            // talked to: tearing it down would throw away the exchange with the peer's current process.
            guard let session = current?.session, await session.isTalking(to: sender) else {
                logger.debug("ignored a bye from a peer process this agent did not talk to")
                return
            }
            // The peer's session ended: start afresh so its next session finds ours ready.
            logger.info("peer said bye")
            await replace(sayBye: false, counts: PeerCounts())
        case .signal(let kind, let sender):
            guard let session = current?.session else {
                logger.debug("signaling from a peer whose session could not start yet: dropped, the peer resends on our credentials")
                return
            }
            await session.receive(kind, from: sender)
        case .retryStart:
            guard current == nil else { return }
            await start(PeerCounts())
        case .renew(let token, let restarts, let failures):
            guard current?.token == token else { return }
            await replace(sayBye: true, counts: PeerCounts(restarts: restarts, failures: failures))
        case .networkChanged(let change):
            await regather(because: "network change (\(change))", retry: .networkChanged(change))
        case .iceServersChanged:
            if let pair = current?.session.ice.pair, !pair.isRelayed { return }
            await regather(because: "new ICE servers or TURN credentials from signaling", retry: .iceServersChanged)
        case .pathReady(let token):
            guard current?.token == token, let old = previous else { return }
            logger.info("new agent has a data path: closing the one it replaces")
            previous = nil
            deadlineTask?.cancel()
            await old.close(sayBye: false)
        case .handoverDeadline(let token):
            guard let new = current, new.token == token, let old = previous else { return }
            // A path WireGuard still receives on stays whatever ICE found (the other end may be a one-shot that
            // exited): the pathless new agent goes instead, and the next dead verdict is paced.
            if await old.receivesOnPath() {
                logger.notice("new agent found no path within \(Self.handoverLimit), but WireGuard still receives on the old one: keeping it")
                previous = nil
                current = (previousToken, old)
                await old.reinstate()
                await new.session.close(sayBye: false)
                return
            }
            logger.warning("new agent found no path within \(Self.handoverLimit): closing the one it replaces")
            previous = nil
            await old.close(sayBye: false)
        case .watch(let reading):
            await current?.session.watch(reading)
            await previous?.watch(reading)
        case .deadPath(let token, let reason, let paced):
            guard current?.token == token else { return }
            let delay = paced ? Duration.zero : pacing.delay(at: .now)
            guard delay == .zero else {
                logger.info("dead path again within \(DeadPathPacing.quietPeriod): gathering again in \(delay)")
                Task { [inbox] in
                    try? await Task.sleep(for: delay)
                    inbox.yield(.deadPath(token: token, reason: reason, paced: true))
                }
                return
            }
            await regather(because: "dead path (\(reason))", retry: .deadPath(token: token, reason: reason, paced: true))
        }
    }

    /// Closes every session of the peer and starts a new one.
    private func replace(sayBye: Bool, counts: PeerCounts) async {
        await closeSessions(sayBye: sayBye)
        await start(counts)
    }

    /// Make-before-break for the whole agent: the new session's credentials reach the peer from the same
    /// signaling session id, so the peer's agent treats them as an ICE restart and keeps its selected pair
    /// until the new checks select one; this side keeps the old session (and its data path) meanwhile.
    /// Also what a dead path gets: its session keeps carrying whatever still crosses until the new agent selects a
    /// working pair, and a wrong verdict costs a restart, not the path.
    private func regather(because reason: String, retry: PeerInput) async {
        guard let old = current?.session else {
            // Nothing to keep; the change may be what the failed creation was waiting for.
            retryTask?.cancel()
            await start(PeerCounts())
            return
        }
        let counts = await old.counts
        logger.info("\(reason): gathering again with a new agent")
        let next = PeerCounts(restarts: counts.restarts + 1, failures: counts.failures, generation: counts.generation &+ 1)
        guard let new = await create(next, retry: retry) else { return }
        if let keep = previous {
            // A change during a handover: the session with the working path stays, the pathless one goes.
            await old.close(sayBye: false)
            previous = keep
        } else {
            await old.retire()
            previous = old
            previousToken = current?.token ?? 0
        }
        current = new
        deadlineTask?.cancel()
        deadlineTask = Task { [inbox] in
            try? await Task.sleep(for: Self.handoverLimit)
            if !Task.isCancelled { inbox.yield(.handoverDeadline(token: new.token)) }
        }
        await new.session.start()
    }

    private func start(_ counts: PeerCounts) async {
        guard !closed, current == nil, let new = await create(counts, retry: .retryStart) else { return }
        current = new
        await new.session.start()
    }

    /// Creates a session; on failure records why and posts `retry` after a jittered backoff (1 s doubling to 32 s).
    private func create(_ counts: PeerCounts, retry: PeerInput) async -> (token: UInt64, session: PeerSession)? {
        nextToken += 1
        let token = nextToken
        do {
            // A session's notices, tagged with its token, go through the inbox like any input.
            let callbacks = PeerCallbacks(
                renew: { [inbox] _, restarts, failures in inbox.yield(.renew(token: token, restarts: restarts, failures: failures)) },
                pathReady: { [inbox] in inbox.yield(.pathReady(token: token)) })
            let session = try await make(counts, callbacks)
            await session.reportDeadPath { [inbox] reason in inbox.yield(.deadPath(token: token, reason: reason, paced: false)) }
            guard !closed else {
                await session.close(sayBye: false)
                return nil
            }
            startFailures = 0
            lastError = nil
            return (token, session)
        } catch {
            guard !closed else { return nil }
            startFailures += 1
            lastError = "\(error)"
            let delay = Backoff.peerRetry.delay(forAttempt: startFailures - 1)
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            logger.error("cannot start ICE (attempt \(startFailures), next in \(String(format: "%.1f", seconds)) s): \(error)")
            retryTask?.cancel()
            retryTask = Task { [inbox] in
                try? await Task.sleep(for: delay)
                if !Task.isCancelled { inbox.yield(retry) }
            }
            return nil
        }
    }

    // MARK: status

    var ice: (state: ICEState, pair: SelectedPair?)? { current?.session.ice }

    func status(wireGuard: Peer?) async -> PeerStatus {
        guard let session = current?.session else {
            return PeerStatus(publicKey: peer.base64, iceState: lastError == nil ? "starting" : "failed-to-start",
                              endpoint: wireGuard?.endpoint.map { "\($0)" }, restarts: 0, error: lastError)
        }
        // During a handover the pair and path in use are the previous session's; the counts are the new one's.
        var status = await (previous ?? session).status(wireGuard: wireGuard)
        if previous != nil {
            status.iceState = "regathering"
            status.restarts = await session.counts.restarts
        }
        status.error = lastError
        return status
    }
}
