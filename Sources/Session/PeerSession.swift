import Keys
import Blocking
import DataPath
import Foundation
import ICE
import Logging
import PortMapping
import Retry
import Signaling
import WireGuard

/// One ICE agent for one WireGuard peer: exchanges credentials and trickled candidates with the peer's
/// session, and points WireGuard at a data path for every pair the agent selects. Lives as long as its agent;
/// the interface session replaces it when the peer says bye.
actor PeerSession {
    let peer: Key
    private let agent: ICEAgent
    private let signaling: SignalingChannel
    private let link: WireGuardLink
    /// Nil for wg-ice-resolve: pairs are only recorded (in the agent), nothing is installed.
    private let paths: PathSwitch?
    private let logger: Logger

    /// Our credentials' generation; a replacement agent continues its predecessor's numbering, so candidates
    /// that overtake its credentials wait at the peer instead of joining the old agent's generation.
    private var generation: UInt32
    private var sent: [String] = []
    /// Our current credentials follow a change of the peer's (see `ICEEvent.restarted`); resent as they were.
    private var credentialsAnswer = false
    private var gatheringDone = false
    private var remote = RemoteState()
    /// The signaling session id of the peer process whose credentials this agent uses.
    private var remoteProcess: UInt64?
    /// The pair the data path carries, as last set up.
    private var path: PathSwitch.Current?
    private var state: ICEState = .gathering
    private var restarts: Int
    /// Failures since ICE last connected: the exponent of the restart backoff.
    private var failures: Int
    /// Asks the interface session for a new peer session (new agent) carrying these restart and failure counts.
    private let renew: @Sendable (Key, _ restarts: Int, _ failures: Int) async -> Void
    /// Called once, when the first data path is in place: a session replacing this peer's previous one
    /// (network change) lets the previous one go then.
    private let pathReady: @Sendable () -> Void
    private var reportedPath = false
    /// Replaced by a newer session of the same peer that has no path yet: keeps its path and agent but sends
    /// nothing, restarts nothing and follows no new pair, so the peer only hears from the newer one.
    private var retired = false
    private let role: ICERole
    private let firstHandshake: FirstHandshake
    /// When the current relayed or TCP path was selected; the controlling side retries for a direct pair.
    private var indirectSince: ContinuousClock.Instant?
    private var restartTask: Task<Void, Never>?
    private var eventsTask: Task<Void, Never>?
    /// Judges the path by WireGuard's counters and ICE consent (`watch`, consent loss).
    private var rule: DeadPathRule
    /// The slot was told this path is dead; it gathers again and retires this session.
    private var deadPathReported = false
    /// ICE consent is gone but WireGuard still receives: the path is kept, the agent no longer vouches for it.
    private var keptByWireGuard = false
    private var onDeadPath: (@Sendable (String) -> Void)?
    private var nextDirectCheck: ContinuousClock.Instant = .now
    /// Nil: no port mapping (`PortMapping = off`, wg-ice-resolve, or mapped candidates filtered out).
    private let portMapper: PortMapper?
    private var mapped = PortMappedCandidate()
    private var mappingTask: Task<Void, Never>?
    /// Port-mapped candidates (ours and the peer's) known, and those an ICE restart has already checked
    /// (`checkMappedCandidates`).
    private var mappedCandidates: Set<String> = []
    private var mappedCandidatesChecked: Set<String> = []
    private var mappedRestart: Task<Void, Never>?
    private var handshakeTask: Task<Void, Never>?

    init(peer: Key, localKey: Key, signaling: SignalingChannel, link: WireGuardLink, ice: ICEConfiguration,
         paths: PathFactory?, portMapper: PortMapper? = nil, handshakeTimeout: Duration = .seconds(180), logger: Logger,
         restarts: Int = 0, failures: Int = 0, generation: UInt32 = 0,
         renew: @escaping @Sendable (Key, _ restarts: Int, _ failures: Int) async -> Void,
         pathReady: @escaping @Sendable () -> Void = {}) async throws {
        var logger = logger
        logger[metadataKey: "peer"] = "\(peer.base64)"
        self.peer = peer
        self.signaling = signaling
        self.link = link
        var timing = DeadPathRule.Timing()
        timing.handshakeTimeout = handshakeTimeout
        rule = DeadPathRule(timing: timing)
        self.logger = logger
        self.restarts = restarts
        self.failures = failures
        self.generation = generation
        self.renew = renew
        self.pathReady = pathReady
        // A mapped address is a server-reflexive IPv4 UDP candidate: nothing to map when those are filtered out.
        self.portMapper = ice.candidateTypes.contains(.srflx) && ice.networkTypes.contains(.udp4) ? portMapper : nil
        let role = try ICERole(localPublicKey: localKey.bytes, remotePublicKey: peer.bytes)
        self.role = role
        let agent = try await ICEAgent(configuration: ice, role: role, logger: logger)
        self.agent = agent
        firstHandshake = FirstHandshake(link: link, peer: peer, role: role, logger: logger)
        self.paths = paths?.makeSwitch(agent: agent, firstHandshake: firstHandshake, logger: logger)
    }

    /// Sends the first credentials and starts following the agent.
    func start() async {
        let events = agent.events
        eventsTask = Task { [weak self] in
            for await event in events { await self?.handle(event) }
        }
        do {
            await send(.credentials(try await currentCredentials()))
        } catch {
            logger.error("cannot read local ICE credentials: \(error)")
        }
    }

    /// What a replacement carries over.
    var counts: (restarts: Int, failures: Int, generation: UInt32) { (restarts, failures, generation) }

    /// Where a dead path is reported: the slot gathers again with a new agent, make-before-break.
    func reportDeadPath(to handler: @escaping @Sendable (String) -> Void) { onDeadPath = handler }

    /// WireGuard still receives on this session's path (`DeadPathRule.receivedRecently`).
    func receivesOnPath() -> Bool { path != nil && rule.receivedRecently(at: .now) }

    /// Back in service after its replacement found no path while this one still carried the tunnel.
    func reinstate() {
        retired = false
        deadPathReported = false
    }

    /// See `retired`.
    func retire() {
        retired = true
        restartTask?.cancel()
        restartTask = nil
    }

    /// Says bye, removes the data path (WireGuard keeps its last endpoint) and closes the agent.
    func close(sayBye: Bool) async {
        restartTask?.cancel()
        mappingTask?.cancel()
        mappedRestart?.cancel()
        handshakeTask?.cancel()
        if let port = mapped.host?.port { await portMapper?.release(udpPort: port) }
        if sayBye { await send(.bye(Bye())) }
        await paths?.close()
        path = nil
        await agent.close()
        await eventsTask?.value
    }

    // MARK: signaling in

    /// `sender` is the signaling session id of the peer's process (random per process start).
    func receive(_ kind: PayloadKind, from sender: UInt64) async {
        do {
            switch kind {
            case .credentials(let c):
                let credentials = try ICECredentials(ufrag: c.ufrag, pwd: c.pwd)
                let (outcome, ready, ended) = remote.accept(credentials, generation: c.generation)
                guard outcome != .duplicate else { return }
                remoteProcess = sender
                // The peer restarted (the agent follows it): a restart still waiting out its backoff would only
                // throw away the checks these credentials start.
                if outcome == .changed {
                    restartTask?.cancel()
                    restartTask = nil
                }
                logger.debug("remote credentials", metadata: ["generation": "\(c.generation)"])
                try await agent.setRemoteCredentials(credentials, answer: c.answer)
                for sdp in ready { try await agent.addRemoteCandidate(sdp) }
                if ended { try await agent.remoteGatheringDone() }
                // The peer may have missed what was sent before it subscribed (or the server restarted).
                if outcome == .first { await resendAll() }
            case .candidate(let c):
                if remote.accept(candidate: c.sdp, generation: c.generation) {
                    try await agent.addRemoteCandidate(c.sdp)
                    if ICECandidate.isPortMapped(sdp: c.sdp) { await mappedCandidateKnown(c.sdp) }
                }
            case .endOfCandidates(let e):
                if remote.acceptEnd(generation: e.generation) { try await agent.remoteGatheringDone() }
            case .bye:
                break // handled by the interface session, which replaces this peer session
            }
        } catch {
            logger.warning("ignored signaling message from peer: \(error)")
        }
    }

    /// Whether a bye from the peer process `sender` concerns this agent.
    func isTalking(to sender: UInt64) -> Bool { remoteProcess == sender }

    // MARK: agent events

    private func handle(_ event: ICEEvent) async {
        switch event {
        case .localCandidate(let candidate):
            await advertise(candidate)
            await mapPort(of: candidate)
        case .gatheringDone:
            gatheringDone = true
            await send(.endOfCandidates(endOfCandidates))
        case .stateChanged(let new):
            logger.info("ICE \(new.rawValue)")
            state = new
            if new == .connected || new == .ready { failures = 0 }
            if new == .failed { agentFailed() }
        case .selectedPairChanged(let pair):
            guard !retired else { return }
            await use(pair)
            if path != nil, !reportedPath {
                reportedPath = true
                pathReady()
            }
        case .consentLost:
            logger.warning("ICE consent lost")
            agentFailed()
        case .restarted(let credentials, let answering):
            generation &+= 1
            credentialsAnswer = answering
            sent = []
            gatheringDone = false
            await send(.credentials(wire(credentials)))
        }
    }

    /// The path switch follows the selection (make before break, see `PathSwitch`); a new path gets the first
    /// handshake going at once (`FirstHandshake`).
    private func use(_ pair: SelectedPair) async {
        if path?.pair == pair { return }
        logger.info("selected \(pair.local.type.rawValue)/\(pair.local.transport.rawValue) → \(pair.remote.type.rawValue) \(pair.remote.address):\(pair.remote.port)")
        guard let paths else { return }
        do {
            let changed = try await paths.use(pair)
            path = await paths.current
            indirectSince = pair.isDirectUDP ? nil : (indirectSince ?? .now)
            if changed { startHandshake() }
            await checkMappedCandidates()
        } catch {
            logger.error("cannot set up the data path: \(error)")
        }
    }

    /// The controlled side's first initiation waits a moment, and an unanswered one is sent again sooner than
    /// WireGuard would (see `FirstHandshake`). In a task of its own: events keep coming meanwhile, and a newer
    /// path's first handshake replaces this one's.
    private func startHandshake() {
        handshakeTask?.cancel()
        let first = firstHandshake, role = role
        handshakeTask = Task {
            if role == .controlled {
                try? await Task.sleep(for: FirstHandshake.controlledDelay)
                guard !Task.isCancelled else { return }
                await first.nudge()
            }
            for _ in 0..<FirstHandshake.retries {
                try? await Task.sleep(for: FirstHandshake.retryAfter)
                guard !Task.isCancelled, await first.retry() else { return }
            }
        }
    }

    /// How often the interface session hands each peer its part of one device read (`watch`): the dead-path
    /// rule's resolution (`DeadPathRule.Timing.stall` is two readings).
    static let watchdogInterval: Duration = .milliseconds(500)
    /// How often the controlling side considers a relay → direct retry (`tryDirectPath`).
    static let directCheckInterval: Duration = .seconds(5)

    /// The watchdog: dead paths and relayed paths worth upgrading. `reading` is this peer as WireGuard reported
    /// it in one device read the interface session made for all its peers (nil: the peer is not configured).
    func watch(_ reading: Peer?) async {
        if retired {
            // Only kept up to date for `receivesOnPath`: a retired session judges nothing.
            if let reading, path != nil { _ = rule.observe(.init(at: .now, rx: reading.rxBytes, tx: reading.txBytes)) }
            return
        }
        if let reading, path != nil {
            let verdict = rule.observe(.init(at: .now, rx: reading.rxBytes, tx: reading.txBytes, handshakeAge: reading.handshakeAge))
            if case .dead(let reason) = verdict { deadPath(reason) }
        }
        guard ContinuousClock.now >= nextDirectCheck else { return }
        nextDirectCheck = .now + Self.directCheckInterval
        await tryDirectPath()
    }

    /// ICE consent lost or the checks failed. Without a path: restart with backoff. With one, WireGuard decides
    /// (`DeadPathRule.consentLost`): a path it still receives on stays, whatever the agent says; the peer's end
    /// may be a one-shot that exited or a session that restarted, and a restarted one sends new credentials.
    private func agentFailed() {
        guard path != nil else {
            scheduleRestart()
            return
        }
        switch rule.consentLost(at: .now) {
        case .dead(let reason):
            deadPath(reason)
        default:
            guard !keptByWireGuard else { return }
            keptByWireGuard = true
            logger.notice("ICE consent lost, but WireGuard still receives on the path: keeping it")
        }
    }

    /// Asks the slot for a new agent at once (no consent-timeout wait, no backoff for the first verdict); the slot
    /// keeps this session's path until the new one has its own.
    private func deadPath(_ reason: DeadPathRule.Reason) {
        guard !deadPathReported, !retired, restartTask == nil, let onDeadPath else { return }
        deadPathReported = true
        logger.warning("dead path: \(reason); gathering again")
        // What killed the path (the NAT's public address changed) may have killed the signaling connection too,
        // unnoticed until TCP gives up; the new agent's credentials must not wait for that.
        signaling.backend.reconnect()
        onDeadPath(reason.description)
    }

    /// A relayed or TCP pair may have been chosen while a direct UDP path was blocked, and libnice does not
    /// check failed pairs again by itself. While such a pair is in use, the controlling side restarts ICE every
    /// 20–30 s (only one side, so the two restarts do not cross); the current path carries traffic meanwhile,
    /// and a direct pair, if one now works, replaces it like any new selection.
    private func tryDirectPath() async {
        guard role == .controlling, restartTask == nil, let since = indirectSince,
              since.duration(to: .now) > .seconds(Double.random(in: 20...30)) else { return }
        indirectSince = .now
        logger.info("relayed or TCP path: ICE restart to look for a direct one")
        restarts += 1
        do { try await agent.restart() } catch { logger.error("ICE restart failed: \(error)") }
    }

    /// ICE restart after consent loss or failure, with jittered exponential backoff (1 s doubling to 32 s).
    private func scheduleRestart() {
        guard restartTask == nil, !retired else { return }
        failures += 1
        let delay = Backoff.peerRetry.delay(forAttempt: failures - 1)
        restartTask = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.renewNow()
        }
    }

    /// A dead path restarts with a new agent: libnice's own restart keeps the first gathering's candidates,
    /// which a NAT rebinding or an address change has made useless (and the TURN allocation with them).
    /// The interface session replaces this peer session; the bye makes the peer renew too.
    private func renewNow() async {
        restartTask = nil
        logger.info("ICE restart \(restarts + 1) with a new agent")
        await renew(peer, restarts + 1, failures)
    }

    // MARK: port mapping

    /// Starts keeping a mapping for the agent's socket that faces the gateway, or, when `local` is that socket's
    /// candidate emitted again after an ICE restart, advertises its mapping again in the new generation.
    private func mapPort(of local: ICECandidate) async {
        guard let portMapper else { return }
        if mapped.isChosen(local) {
            if let candidate = mapped.candidate { await advertise(candidate) }
            return
        }
        guard local.type == .host, local.transport == .udp, !local.isIPv6 else { return }
        let facing = await Blocking.run { DefaultGateway.facingAddress() }
        guard mapped.choose(local, gatewayFacing: facing), let address = facing else { return }
        let mappings = await portMapper.keep(udpPort: local.port, local: address)
        mappingTask = Task { [weak self] in
            for await mapping in mappings { await self?.mappingChanged(mapping) }
        }
    }

    private func mappingChanged(_ mapping: PortMapping?) async {
        guard let candidate = mapped.update(mapping), let mapping else { return }
        logger.info("port mapping (\(mapping.method.rawValue)): \(mapping.external) → port \(mapping.internalPort)")
        await agent.portMapped()
        await advertise(candidate)
        await mappedCandidateKnown(candidate.sdp)
    }

    private func mappedCandidateKnown(_ sdp: String) async {
        mappedCandidates.insert(sdp)
        await checkMappedCandidates()
    }

    /// A port mapping often comes after the first pair was chosen (UPnP's discovery takes a second), and libnice
    /// decides its nomination once (regular nomination, which it switches to when TCP candidates are exchanged):
    /// a mapped candidate that arrives while a relayed or TCP pair carries the tunnel is checked only by a restart.
    /// The controlling side makes it, once per new mapped candidate and a moment later (both sides' mappings
    /// usually come together: one restart checks both); the relay keeps carrying traffic meanwhile, and the direct
    /// pair, when it works, replaces it like any new selection.
    private func checkMappedCandidates() async {
        guard role == .controlling, mappedRestart == nil, !mappedCandidates.isSubset(of: mappedCandidatesChecked) else { return }
        mappedRestart = Task { [weak self] in
            try? await Task.sleep(for: Self.mappedRestartDelay)
            await self?.restartForMappedCandidates()
        }
    }

    private func restartForMappedCandidates() async {
        mappedRestart = nil
        guard path != nil, indirectSince != nil, restartTask == nil, !retired,
              !mappedCandidates.isSubset(of: mappedCandidatesChecked) else { return }
        mappedCandidatesChecked.formUnion(mappedCandidates)
        indirectSince = .now
        logger.info("a port-mapped candidate came after a relayed or TCP pair was chosen: ICE restart to check it")
        restarts += 1
        do { try await agent.restart() } catch { logger.error("ICE restart failed: \(error)") }
    }

    /// How long the restart for a mapped candidate waits for the other side's (`checkMappedCandidates`).
    static let mappedRestartDelay: Duration = .milliseconds(500)

    // MARK: signaling out

    /// Trickles a local candidate, and keeps it for a resend to a peer that subscribed late.
    private func advertise(_ candidate: ICECandidate) async {
        sent.append(candidate.sdp)
        var c = Candidate()
        c.sdp = candidate.sdp
        c.generation = generation
        await send(.candidate(c))
    }

    private func resendAll() async {
        guard let credentials = try? await currentCredentials() else { return }
        await send(.credentials(credentials))
        for sdp in sent {
            var c = Candidate()
            c.sdp = sdp
            c.generation = generation
            await send(.candidate(c))
        }
        if gatheringDone { await send(.endOfCandidates(endOfCandidates)) }
    }

    private var endOfCandidates: EndOfCandidates {
        var e = EndOfCandidates()
        e.generation = generation
        return e
    }

    private func currentCredentials() async throws -> IceCredentials {
        wire(try await agent.localCredentials())
    }

    private func wire(_ credentials: ICECredentials) -> IceCredentials {
        var c = IceCredentials()
        c.ufrag = credentials.ufrag
        c.pwd = credentials.pwd
        c.generation = generation
        c.answer = credentialsAnswer
        return c
    }

    private func send(_ kind: PayloadKind) async {
        guard !retired else { return }
        do {
            try await signaling.send(kind, to: peer)
        } catch {
            logger.warning("signaling send failed: \(error)")
        }
    }

    // MARK: status

    /// The agent's state and selected pair, as libnice last reported them.
    nonisolated var ice: (state: ICEState, pair: SelectedPair?) { (agent.state, agent.selectedPair) }

    func status(wireGuard: Peer?) -> PeerStatus {
        PeerStatus(
            publicKey: peer.base64,
            iceState: state.rawValue,
            selectedPair: path.map { p in
                PeerStatus.Pair(localType: p.pair.local.type.rawValue, remoteType: p.pair.remote.type.rawValue,
                                transport: p.pair.local.transport.rawValue,
                                local: "\(p.pair.local.address):\(p.pair.local.port)",
                                remote: "\(p.pair.remote.address):\(p.pair.remote.port)")
            },
            dataPath: path?.kind.rawValue,
            portMapping: mapped.mapping.map { m in
                PeerStatus.Mapping(method: m.method.rawValue, external: "\(m.external)", internalPort: m.internalPort,
                                   leaseLeft: m.lifetime == .zero ? nil : max(0, (m.lifetime - m.obtained.duration(to: .now)).components.seconds))
            },
            endpoint: wireGuard?.endpoint.map { "\($0)" },
            lastHandshake: wireGuard?.lastHandshake.flatMap { $0.seconds > 0 ? $0.seconds : nil },
            restarts: restarts)
    }
}

extension Peer {
    /// Time since the latest handshake (nil: none yet).
    var handshakeAge: Duration? {
        guard let handshake = lastHandshake, handshake.seconds > 0 else { return nil }
        return .seconds(max(0, Int64(time(nil)) - handshake.seconds))
    }

    /// A handshake within REJECT_AFTER_TIME (180 s): WireGuard still has a usable session with the peer.
    var hasRecentHandshake: Bool { hasRecentHandshake(within: .seconds(180)) }

    func hasRecentHandshake(within limit: Duration) -> Bool {
        guard let handshake = lastHandshake, handshake.seconds > 0 else { return false }
        return Int64(time(nil)) - handshake.seconds < limit.components.seconds
    }
}
