import Blocking
import CNiceShim
import Logging
import Synchronization

/// One ICE agent (one stream, one component) for one WireGuard peer.
///
/// Threading: libnice emits signals from whichever thread releases its agent lock, so every libnice call
/// except `nice_agent_send` is made on the agent's `GLibLoop` thread, which therefore is also where all its
/// callbacks run.
/// Callbacks turn into `events` and `datagrams` (AsyncStreams, safe to yield from any thread).
/// `send` calls libnice directly from the caller's thread (libnice locks the agent itself) so the data
/// path does not wake the loop for every packet.
public final class ICEAgent: Sendable {
    public let role: ICERole
    public let configuration: ICEConfiguration
    /// Candidates, gathering, state and pair changes, restarts. Buffers the newest 1024 if not consumed.
    public let events: AsyncStream<ICEEvent>
    /// Datagrams received on the selected pair. Buffers the newest `receiveBufferCount`; older ones are dropped
    /// like a full socket buffer would.
    public let datagrams: AsyncStream<[UInt8]>

    private let core: AgentCore
    public let loop: GLibLoop

    public static let receiveBufferCount = 4096
    /// libnice keeps at most this many remote candidates per component.
    public static let maxRemoteCandidates = 25

    /// Creates the agent and starts gathering; local candidates then arrive on `events`.
    public init(configuration: ICEConfiguration, role: ICERole, loop: GLibLoop = .next(),
                logger: Logger = Logger(label: "wg-ice.ice")) async throws {
        try configuration.validate()
        self.role = role
        self.configuration = configuration
        self.loop = loop
        let (events, eventSink) = AsyncStream.makeStream(of: ICEEvent.self, bufferingPolicy: .bufferingNewest(1024))
        let (datagrams, dataSink) = AsyncStream.makeStream(of: [UInt8].self,
                                                           bufferingPolicy: .bufferingNewest(Self.receiveBufferCount))
        self.events = events
        self.datagrams = datagrams
        // DNS blocks (up to the resolver's timeouts): neither on the cooperative pool nor on the loop thread.
        let servers = try await Blocking.run { try configuration.servers.map { ($0, try $0.resolvedAddress()) } }
        let addresses = configuration.interfaces.isEmpty && configuration.usesIPv4 == configuration.usesIPv6
            ? nil
            : LocalAddresses.matching(configuration.interfaces,
                                      ipv4: configuration.usesIPv4, ipv6: configuration.usesIPv6)
        if let addresses, addresses.isEmpty {
            throw ICEError.invalidConfiguration("no local address matches Interfaces \(configuration.interfaces)")
        }
        core = try await loop.run {
            try AgentCore.make(configuration: configuration, role: role, servers: servers,
                          addresses: addresses?.map(\.ip) ?? [], loop: loop, logger: logger,
                          events: eventSink, datagrams: dataSink)
        }
    }

    /// The current local ufrag/pwd (they change on restart).
    public func localCredentials() async throws -> ICECredentials {
        try await loop.run { [core] in try core.localCredentials() }
    }

    /// Sets the peer's ufrag/pwd. New credentials replacing earlier ones mean the peer restarted ICE (or
    /// replaced its agent): unless this agent initiated a restart the peer now answers, or the peer says
    /// `answer` (its credentials changed because this agent's did), it restarts too and reports
    /// `.restarted(_, answering: true)` with its new credentials.
    public func setRemoteCredentials(_ credentials: ICECredentials, answer: Bool = false) async throws {
        try await loop.run { [core] in try core.setRemoteCredentials(credentials, answer: answer) }
    }

    /// Adds a remote candidate (SDP `candidate:...`, with or without `a=` and line ending). Candidates that
    /// arrive before the peer's credentials, or tagged with a ufrag this agent has not seen yet, are queued.
    /// Returns false when the candidate is dropped by the CandidateTypes/NetworkTypes filters.
    @discardableResult
    public func addRemoteCandidate(_ sdp: String, ufrag: String? = nil) async throws -> Bool {
        try await loop.run { [core] in try core.addRemoteCandidate(normalizedCandidateSDP(sdp), ufrag: ufrag) }
    }

    /// The peer sent end-of-candidates. libnice 0.1.21 records it but decides failure without it; failure
    /// waits for `FailedTimeout` (RFC 8863) instead, see `PACTimer`.
    public func remoteGatheringDone() async throws {
        try await loop.run { [core] in try core.remoteGatheringDone() }
    }

    /// Initiates an ICE restart: new local credentials (returned and reported as `.restarted`), then the
    /// local candidates again. Data keeps flowing on the current pair until the new checks select one.
    @discardableResult
    public func restart() async throws -> ICECredentials {
        try await loop.run { [core] in try core.restart() }
    }

    /// This side's UDP port is mapped on its home router (the session advertised the mapped candidate): the peer's
    /// relay candidates wait for a direct pair in this and every later round of checks (`RelayHold`).
    public func portMapped() async {
        try? await loop.run { [core] in core.portMapped() }
    }

    /// The remote candidates libnice holds, as SDP.
    public func remoteCandidates() async throws -> [ICECandidate] {
        try await loop.run { [core] in try core.remoteCandidates() }
    }

    /// A guint property of the libnice agent as libnice holds it (tests: the settings reached libnice).
    func libniceUInt(_ property: String) async throws -> UInt32 {
        try await loop.run { [core] in wgice_get_uint(core.agent.raw, property) }
    }

    public var selectedPair: SelectedPair? { core.state.withLock { $0.selected } }
    public var state: ICEState { core.state.withLock { $0.componentState } }

    public typealias ReceiveHandler = @Sendable (UnsafeRawBufferPointer) -> Void

    /// Identifies one installed receive handler, so that whoever installed it removes only its own.
    public struct ReceiveHandlerToken: Sendable, Equatable {
        fileprivate let id: ObjectIdentifier
    }

    /// Hands received datagrams to `handler` instead of `datagrams`, without copying: for a data path that
    /// forwards each one at once. It runs on the GLib thread, must not block, and the buffer is only valid
    /// during the call. `endOfBurst`, if given, runs on the same thread once the datagrams that were waiting
    /// have all been handed over, so that a handler may batch what it forwards. Replaces the handler
    /// installed before.
    @discardableResult
    public func setReceiveHandler(_ handler: @escaping ReceiveHandler,
                                  endOfBurst: (@Sendable () -> Void)? = nil) -> ReceiveHandlerToken {
        let box = AgentCore.ReceiveHandlerBox(handler, endOfBurst: endOfBurst, loop: core.loop)
        core.receiveHandler.withLock { $0 = box }
        return ReceiveHandlerToken(id: ObjectIdentifier(box))
    }

    /// Goes back to `datagrams` if the handler `token` names is still the installed one. A data path that is
    /// replaced make-before-break closes after its successor installed its own handler, which must stay.
    public func removeReceiveHandler(_ token: ReceiveHandlerToken) {
        core.receiveHandler.withLock { current in
            if let installed = current, ObjectIdentifier(installed) == token.id { current = nil }
        }
    }

    /// Sends one datagram on the selected pair. Returns false if there is no pair yet or the socket would block.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        core.send(bytes)
    }

    /// Sends several datagrams on the selected pair with one call into libnice. Returns how many were sent
    /// (from the first on); the rest met a full socket, or there is no pair yet.
    @discardableResult
    public func send(_ datagrams: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Int {
        core.send(datagrams)
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { core.send($0) }
    }

    /// An agent dropped without `close` is closed in the background.
    deinit {
        loop.invoke { [core] in core.close {} }
    }

    /// Releases TURN allocations, closes every socket and GLib source, and finishes both streams.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.invoke { [core] in core.close { continuation.resume() } }
        }
    }
}
