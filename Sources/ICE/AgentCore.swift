import CNice
import CNiceShim
import Logging
import Synchronization

/// A `NiceAgent *` that may be passed between threads: the GObject reference is owned by `AgentCore`
/// until `close`, and libnice serialises access to the agent with its own lock.
struct AgentPointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// The libnice side of an `ICEAgent`. Methods other than `send` run on the GLib loop thread.
/// Never call libnice while holding `state`: libnice may emit signals synchronously, and the signal
/// callbacks take `state` (a non-recursive lock).
final class AgentCore: Sendable {
    struct State {
        var remoteCredentials: ICECredentials?
        /// Earlier remote ufrags (the last few): credentials that come back late are stale, not a restart.
        var staleUfrags: [String] = []
        /// This agent initiated a restart; the peer's next new credentials answer it.
        var restartPending = false
        var queued: [(sdp: String, ufrag: String?)] = []
        var queuedGatheringDone = false
        var remoteCount = 0
        var componentState = ICEState.disconnected
        var selected: SelectedPair?
        var pac = PACTimer()
        var relayHold = RelayHold()
        /// The peer's relay candidates held back by `relayHold`, with the ufrag they came under.
        var heldRelays: [(sdp: String, ufrag: String?)] = []
    }

    let agent: AgentPointer
    let stream: guint
    let configuration: ICEConfiguration
    let loop: GLibLoop
    let events: AsyncStream<ICEEvent>.Continuation
    let datagrams: AsyncStream<[UInt8]>.Continuation
    let logger: Logger
    let state = Mutex(State())
    /// False once closing has begun; held while sending so `close` never frees the agent under a sender.
    let open = Mutex(true)
    /// Set by the data path to take datagrams without a copy; nil: they go to `datagrams`.
    let receiveHandler = Mutex<ReceiveHandlerBox?>(nil)
    /// Remote candidates held back while the peer primes its NAT.
    let priming = NATPriming()

    /// Keeps the closure at its concrete type: stored directly as the Mutex's generic value, each read
    /// would add a reabstraction thunk to the per-datagram path.
    final class ReceiveHandlerBox: Sendable {
        let call: ICEAgent.ReceiveHandler
        /// Runs the handler's `endOfBurst` once the socket's queued datagrams have all been handed over.
        let endOfBurst: GLibLoop.Wakeup?
        let burst: Burst

        /// Whether `endOfBurst` is queued on the loop already; apart from the box, which the wakeup must not hold.
        final class Burst: Sendable { let open = Atomic(false) }

        init(_ call: @escaping ICEAgent.ReceiveHandler, endOfBurst: (@Sendable () -> Void)?, loop: GLibLoop) {
            self.call = call
            let burst = Burst()
            self.burst = burst
            self.endOfBurst = endOfBurst.map { flush in
                GLibLoop.Wakeup(on: loop) {
                    burst.open.store(false, ordering: .relaxed)
                    flush()
                }
            }
        }
    }

    private init(agent: AgentPointer, stream: guint, configuration: ICEConfiguration, loop: GLibLoop,
                 events: AsyncStream<ICEEvent>.Continuation, datagrams: AsyncStream<[UInt8]>.Continuation,
                 logger: Logger) {
        self.logger = logger
        self.agent = agent
        self.stream = stream
        self.configuration = configuration
        self.loop = loop
        self.events = events
        self.datagrams = datagrams
    }

    static func make(configuration c: ICEConfiguration, role: ICERole, servers: [(ICEServer, String)],
                     addresses: [String], loop: GLibLoop, logger: Logger,
                     events: AsyncStream<ICEEvent>.Continuation,
                     datagrams: AsyncStream<[UInt8]>.Continuation) throws -> AgentCore {
        // Aggressive nomination (libnice's default without REGULAR_NOMINATION) connects in fewer round trips; the
        // controlling agent turns to regular nomination itself once the peer's TCP candidates arrive (`RelayHold`).
        let options = NICE_AGENT_OPTION_ICE_TRICKLE.rawValue | NICE_AGENT_OPTION_CONSENT_FRESHNESS.rawValue
        guard let agent = nice_agent_new_full(loop.context.raw, NICE_COMPATIBILITY_RFC5245,
                                              NiceAgentOption(rawValue: options)) else {
            throw ICEError.libnice("nice_agent_new_full failed")
        }
        var ok = false
        defer { if !ok { g_object_unref(UnsafeMutableRawPointer(agent)) } }
        wgice_set_bool(agent, "upnp", 0)
        wgice_set_bool(agent, "controlling-mode", role == .controlling ? 1 : 0)
        wgice_set_bool(agent, "ice-udp", c.usesUDP ? 1 : 0)
        wgice_set_bool(agent, "ice-tcp", c.usesTCP ? 1 : 0)
        wgice_set_bool(agent, "force-relay", c.candidateTypes == [.relay] ? 1 : 0)
        wgice_set_uint(agent, "stun-pacing-timer", guint(c.checkInterval / .milliseconds(1)))
        if c.candidateTypes.contains(.srflx), let (server, ip) = servers.first(where: { $0.0.kind == .stun }) {
            wgice_set_string(agent, "stun-server", ip)
            wgice_set_uint(agent, "stun-server-port", guint(server.port))
        }
        for ip in addresses {
            var address = NiceAddress()
            guard nice_address_set_from_string(&address, ip) != 0 else { continue }
            nice_agent_add_local_address(agent, &address)
        }
        let stream = nice_agent_add_stream(agent, 1)
        guard stream != 0 else { throw ICEError.libnice("nice_agent_add_stream failed") }
        if let r = c.portRange {
            nice_agent_set_port_range(agent, stream, 1, guint(r.lowerBound), guint(r.upperBound))
        }
        if c.candidateTypes.contains(.relay) {
            for (server, ip) in servers where server.kind != .stun {
                let type = try server.niceRelayType()
                guard nice_agent_set_relay_info(agent, stream, 1, ip, guint(server.port),
                                                c.username ?? "", c.password ?? "", type) != 0 else {
                    throw ICEError.libnice("libnice refused TURN server \(server.host):\(server.port)")
                }
            }
        }
        let core = AgentCore(agent: AgentPointer(raw: agent), stream: stream, configuration: c, loop: loop,
                             events: events, datagrams: datagrams, logger: logger)
        // The C side holds this reference until `close` disconnects the callbacks.
        let context = Unmanaged.passRetained(core).toOpaque()
        var callbacks = WgIceCallbacks(new_candidate: onNewCandidate, gathering_done: onGatheringDone,
                                       state_changed: onStateChanged, selected_pair: onSelectedPair)
        wgice_connect_signals(agent, &callbacks, context)
        nice_agent_attach_recv(agent, stream, 1, loop.context.raw, onReceive, context)
        guard nice_agent_gather_candidates(agent, stream) != 0 else {
            wgice_disconnect_signals(agent)
            nice_agent_attach_recv(agent, stream, 1, loop.context.raw, nil, nil)
            Unmanaged<AgentCore>.fromOpaque(context).release()
            throw ICEError.libnice("candidate gathering failed (no usable local address or port in PortRange?)")
        }
        ok = true
        return core
    }

    // MARK: Commands (loop thread)

    func localCredentials() throws -> ICECredentials {
        try checkOpen()
        var ufrag: UnsafeMutablePointer<gchar>?, pwd: UnsafeMutablePointer<gchar>?
        guard nice_agent_get_local_credentials(agent.raw, stream, &ufrag, &pwd) != 0, let ufrag, let pwd else {
            throw ICEError.libnice("no local credentials")
        }
        defer { g_free(ufrag); g_free(pwd) }
        return try ICECredentials(ufrag: String(cString: ufrag), pwd: String(cString: pwd))
    }

    func setRemoteCredentials(_ credentials: ICECredentials, answer: Bool) throws {
        try checkOpen()
        let (previous, answering, stale) = state.withLock {
            ($0.remoteCredentials, $0.restartPending, $0.staleUfrags.contains(credentials.ufrag))
        }
        // A repeated or late message changes nothing (and must not count as the answer to a pending restart).
        if previous == credentials || stale { return }
        state.withLock { s in
            s.restartPending = false
            if let previous { s.staleUfrags = (s.staleUfrags + [previous.ufrag]).suffix(8) }
        }
        if previous != nil, !answering, !answer { try restartStream(answering: true) }
        guard nice_agent_set_remote_credentials(agent.raw, stream, credentials.ufrag, credentials.pwd) != 0 else {
            throw ICEError.libnice("libnice rejected the remote credentials")
        }
        let (queued, gatheringDone, pac) = state.withLock { s in
            s.remoteCredentials = credentials
            s.relayHold.reset(at: .now)
            s.heldRelays = []
            let pac = s.pac.start(duration: configuration.failedTimeout)
            defer { s.queued = []; s.queuedGatheringDone = false }
            return (s.queued, s.queuedGatheringDone, pac)
        }
        schedulePACExpiry(pac)
        for q in queued where q.ufrag == nil || q.ufrag == credentials.ufrag {
            _ = try addRemoteCandidate(q.sdp, ufrag: q.ufrag)
        }
        if gatheringDone { try remoteGatheringDone() }
    }

    func addRemoteCandidate(_ sdp: String, ufrag: String?) throws -> Bool {
        try checkOpen()
        // libnice parses only the full attribute line, `a=candidate:...`.
        guard let parsed = nice_agent_parse_remote_candidate_sdp(agent.raw, stream, "a=" + sdp) else {
            throw ICEError.invalidCandidate("not a valid ICE candidate: \(sdp.prefix(200))")
        }
        defer { nice_candidate_free(parsed) }
        guard let candidate = ICECandidate(parsed, agent: agent.raw) else {
            throw ICEError.invalidCandidate("unsupported candidate type or transport: \(sdp.prefix(200))")
        }
        guard configuration.allows(candidate) else { return false }
        let primed = NATPriming.applies(to: candidate)
            && NATPriming.prime(toward: candidate, from: (try? localCandidates()) ?? []) > 0
        let queue = try state.withLock { s in
            let waiting = s.remoteCredentials == nil || (ufrag != nil && ufrag != s.remoteCredentials?.ufrag)
            if waiting {
                guard s.queued.count < ICEAgent.maxRemoteCandidates else {
                    throw ICEError.tooManyCandidates(ICEAgent.maxRemoteCandidates)
                }
                s.queued.append((sdp, ufrag))
            } else {
                guard s.remoteCount < ICEAgent.maxRemoteCandidates else {
                    throw ICEError.tooManyCandidates(ICEAgent.maxRemoteCandidates)
                }
                s.remoteCount += 1
            }
            return waiting
        }
        if queue { return true }
        if holdsBackRelay(candidate, sdp: sdp) { return true }
        // Candidates that come after a held one wait behind it: libnice must see the peer's candidates in the
        // order they were gathered, or a relay pair can be nominated before the srflx pair is even checked.
        if primed || priming.isHolding {
            handToLibniceAfterPriming(sdp)
            return true
        }
        guard setRemoteCandidate(parsed) else {
            throw ICEError.libnice("libnice rejected remote candidate \(sdp.prefix(200))")
        }
        return true
    }

    func setRemoteCandidate(_ parsed: UnsafeMutablePointer<NiceCandidate>) -> Bool {
        let list = g_slist_append(nil, parsed)
        defer { g_slist_free(list) }
        return nice_agent_set_remote_candidates(agent.raw, stream, 1, list) >= 0
    }

    func remoteGatheringDone() throws {
        try checkOpen()
        let ufrag = state.withLock { s in
            if s.remoteCredentials == nil { s.queuedGatheringDone = true }
            return s.remoteCredentials?.ufrag
        }
        if let ufrag, !priming.deferGatheringDone(ufrag: ufrag) {
            nice_agent_peer_candidate_gathering_done(agent.raw, stream)
        }
    }

    func restart() throws -> ICECredentials {
        try checkOpen()
        let credentials = try restartStream(answering: false)
        state.withLock { $0.restartPending = true }
        return credentials
    }

    /// New local credentials; libnice keeps the selected pair (RFC 8445 §9) so data keeps flowing on it.
    @discardableResult
    private func restartStream(answering: Bool) throws -> ICECredentials {
        guard nice_agent_restart_stream(agent.raw, stream) != 0 else { throw ICEError.libnice("ICE restart failed") }
        // libnice dropped the remote candidates; queued ones may belong to the new generation and stay.
        state.withLock { s in
            s.remoteCount = 0
            s.pac.stop()
        }
        let credentials = try localCredentials()
        events.yield(.restarted(credentials, answering: answering))
        // Peer-reflexive local candidates were learned from checks; ICE never signals them.
        for candidate in try localCandidates() where candidate.type != .prflx && configuration.allows(candidate) {
            events.yield(.localCandidate(candidate))
        }
        events.yield(.gatheringDone)
        return credentials
    }

    func localCandidates() throws -> [ICECandidate] {
        try candidates(nice_agent_get_local_candidates(agent.raw, stream, 1))
    }

    func remoteCandidates() throws -> [ICECandidate] {
        try checkOpen()
        return try candidates(nice_agent_get_remote_candidates(agent.raw, stream, 1))
    }

    private func candidates(_ list: UnsafeMutablePointer<GSList>?) throws -> [ICECandidate] {
        defer { g_slist_free_full(list) { nice_candidate_free($0?.assumingMemoryBound(to: NiceCandidate.self)) } }
        var result: [ICECandidate] = []
        var node = list
        while let n = node {
            if let c = n.pointee.data?.assumingMemoryBound(to: NiceCandidate.self),
               let candidate = ICECandidate(c, agent: agent.raw) {
                result.append(candidate)
            }
            node = n.pointee.next
        }
        return result
    }

    private func checkOpen() throws {
        guard open.withLock({ $0 }) else { throw ICEError.closed }
    }

    // MARK: Data (any thread)

    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        open.withLock { isOpen in
            guard isOpen, let base = bytes.baseAddress else { return false }
            let sent = nice_agent_send(agent.raw, stream, 1, guint(bytes.count),
                                       base.assumingMemoryBound(to: gchar.self))
            return sent == bytes.count
        }
    }

    func send(_ datagrams: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int {
        guard !datagrams.isEmpty else { return 0 }
        return withUnsafeTemporaryAllocation(of: GOutputVector.self, capacity: datagrams.count) { vectors in
            withUnsafeTemporaryAllocation(of: NiceOutputMessage.self, capacity: datagrams.count) { messages in
                for (i, datagram) in datagrams.enumerated() {
                    vectors[i] = GOutputVector(buffer: datagram.baseAddress, size: gsize(datagram.count))
                    messages[i] = NiceOutputMessage(buffers: vectors.baseAddress! + i, n_buffers: 1)
                }
                return open.withLock { isOpen in
                    guard isOpen else { return 0 }
                    let sent = nice_agent_send_messages_nonblocking(agent.raw, stream, 1, messages.baseAddress,
                                                                    guint(datagrams.count), nil, nil)
                    return max(Int(sent), 0)
                }
            }
        }
    }

    // MARK: Teardown (loop thread)

    func close(_ done: @escaping @Sendable () -> Void) {
        let wasOpen = open.withLock { isOpen in
            defer { isOpen = false }
            return isOpen
        }
        guard wasOpen else { return done() }
        wgice_disconnect_signals(agent.raw)
        // A callback that drops what arrives, not none: without one libnice stops reading the sockets, so the
        // TURN server's answer to the deallocation close_async sends is never read and the close waits out
        // the retransmissions (2 s).
        nice_agent_attach_recv(agent.raw, stream, 1, loop.context.raw, { _, _, _, _, _, _ in }, nil)
        events.finish()
        datagrams.finish()
        // `done` runs when the agent is finalized (its sockets and sources gone), which is after close_async
        // has released the TURN allocations and its GTask has dropped its own reference.
        let completion = Unmanaged.passRetained(Completion(done)).toOpaque()
        g_object_weak_ref(UnsafeMutableRawPointer(agent.raw).assumingMemoryBound(to: GObject.self), { data, _ in
            Unmanaged<Completion>.fromOpaque(data!).takeRetainedValue().done()
        }, completion)
        // close_async calls back in this thread's default context, the loop.
        nice_agent_close_async(agent.raw, { source, _, _ in
            g_object_unref(UnsafeMutableRawPointer(source))
        }, nil)
        Unmanaged.passUnretained(self).release() // the reference the C callbacks held
    }

    private final class Completion: Sendable {
        let done: @Sendable () -> Void
        init(_ done: @escaping @Sendable () -> Void) { self.done = done }
    }
}

// MARK: libnice callbacks. They may run on any thread that releases the agent lock (in practice the loop).

private func core(_ context: UnsafeMutableRawPointer?) -> AgentCore {
    Unmanaged<AgentCore>.fromOpaque(context!).takeUnretainedValue()
}

private func onNewCandidate(_ context: UnsafeMutableRawPointer?, _ c: UnsafeMutablePointer<NiceCandidate>?) {
    let core = core(context)
    guard let c, let candidate = ICECandidate(c, agent: core.agent.raw),
          core.configuration.allows(candidate) else { return }
    core.events.yield(.localCandidate(candidate))
}

private func onGatheringDone(_ context: UnsafeMutableRawPointer?, _ stream: guint) {
    core(context).events.yield(.gatheringDone)
}

private func onStateChanged(_ context: UnsafeMutableRawPointer?, _ stream: guint, _ component: guint, _ raw: guint) {
    let core = core(context)
    let new = ICEState(raw)
    let old = core.state.withLock { s in
        defer { s.componentState = new }
        return s.componentState
    }
    guard new != old else { return }
    core.logger.debug("ICE state \(old.rawValue) -> \(new.rawValue)")
    if new == .failed, old == .connected || old == .ready {
        core.logger.notice("ICE consent lost: the peer stopped answering on the selected pair")
        core.events.yield(.consentLost)
    } else if new == .failed {
        guard core.state.withLock({ $0.pac.checksFailed() }) else {
            core.logger.info("ICE checks failed before FailedTimeout (RFC 8863 PAC): waiting for the peer's candidates and checks")
            return
        }
    } else {
        core.state.withLock { $0.pac.resumed() }
    }
    core.events.yield(.stateChanged(new))
}

private func onSelectedPair(_ context: UnsafeMutableRawPointer?, _ stream: guint, _ component: guint,
                            _ l: UnsafeMutablePointer<NiceCandidate>?, _ r: UnsafeMutablePointer<NiceCandidate>?) {
    let core = core(context)
    guard let l, let r, let local = ICECandidate(l, agent: core.agent.raw),
          let remote = ICECandidate(r, agent: core.agent.raw) else { return }
    let pair = SelectedPair(local: local, remote: remote)
    let holding = core.state.withLock { s in
        s.selected = pair
        return !s.heldRelays.isEmpty || !s.relayHold.released
    }
    // Not from inside libnice's signal: the release hands libnice candidates.
    if holding { core.loop.after(milliseconds: 0) { core.releaseHeldRelays() } }
    core.logger.info("ICE selected pair \(local.type)/\(local.transport.rawValue) \(local.address):\(local.port) -> \(remote.type)/\(remote.transport.rawValue) \(remote.address):\(remote.port)")
    core.events.yield(.selectedPairChanged(pair))
}

private func onReceive(_ agent: OpaquePointer?, _ stream: guint, _ component: guint, _ length: guint,
                       _ buffer: UnsafeMutablePointer<gchar>?, _ context: gpointer?) {
    guard let buffer else { return }
    let core = core(context)
    let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(length))
    if let handler = core.receiveHandler.withLock({ $0 }) {
        handler.call(bytes)
        if let endOfBurst = handler.endOfBurst, !handler.burst.open.exchange(true, ordering: .relaxed) { endOfBurst.fire() }
    } else {
        core.datagrams.yield([UInt8](bytes))
    }
}
