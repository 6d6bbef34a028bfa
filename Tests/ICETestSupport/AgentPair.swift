import Foundation
import ICE
import Testing
import TestSupport

/// Everything one agent reported, for assertions.
public actor EventLog {
    public init() {}
    public var events: [ICEEvent] = []
    public var received: [(Date, [UInt8])] = []

    public func append(_ e: ICEEvent) { events.append(e) }
    public func append(_ d: [UInt8]) { received.append((Date(), d)) }
    public var pairs: [SelectedPair] { events.compactMap { if case .selectedPairChanged(let p) = $0 { p } else { nil } } }
    public var states: [ICEState] { events.compactMap { if case .stateChanged(let s) = $0 { s } else { nil } } }
    public var localCandidates: [ICECandidate] { events.compactMap { if case .localCandidate(let c) = $0 { c } else { nil } } }
    public var gatheringDone: Bool { events.contains(.gatheringDone) }
    public var receivedTexts: [String] { received.map { String(decoding: $0.1, as: UTF8.self) } }
}

/// Runs `body` with a connected-or-connecting pair and closes both agents afterwards, also on failure.
public func withAgentPair(_ configuration: ICEConfiguration, credentialsDelay: Duration = .zero,
                   _ body: (AgentPair) async throws -> Void) async throws {
    let pair = try await AgentPair(configuration, credentialsDelay: credentialsDelay)
    do {
        try await body(pair)
    } catch {
        await pair.close()
        throw error
    }
    await pair.close()
}

/// Two agents in this process, wired to each other the way the signaling would: each agent's candidates,
/// end-of-candidates and restart credentials go to the other, in order.
public final class AgentPair: Sendable {
    public let a: ICEAgent, b: ICEAgent
    public let logA = EventLog(), logB = EventLog()
    private let tasks: [Task<Void, Never>]

    /// `credentialsDelay` lets trickled candidates reach the peer before its credentials do.
    public init(_ configuration: ICEConfiguration, credentialsDelay: Duration = .zero) async throws {
        a = try await ICEAgent(configuration: configuration, role: .controlling)
        b = try await ICEAgent(configuration: configuration, role: .controlled)
        tasks = [Self.pump(a, to: b, log: logA), Self.pump(b, to: a, log: logB),
                 Self.collect(a, logA), Self.collect(b, logB)]
        try await Task.sleep(for: credentialsDelay)
        try await b.setRemoteCredentials(a.localCredentials())
        try await a.setRemoteCredentials(b.localCredentials())
    }

    public static func pump(_ from: ICEAgent, to: ICEAgent, log: EventLog) -> Task<Void, Never> {
        Task {
            for await event in from.events {
                await log.append(event)
                do {
                    switch event {
                    case .localCandidate(let c): try await to.addRemoteCandidate(c.sdp)
                    case .gatheringDone: try await to.remoteGatheringDone()
                    case .restarted(let credentials, let answering):
                        try await to.setRemoteCredentials(credentials, answer: answering)
                    default: break
                    }
                } catch ICEError.closed {
                } catch {
                    Issue.record("signaling \(event) failed: \(error)")
                }
            }
        }
    }

    public static func collect(_ agent: ICEAgent, _ log: EventLog) -> Task<Void, Never> {
        Task { for await d in agent.datagrams { await log.append(d) } }
    }

    public func waitConnected(seconds: Double = 10) async throws {
        try await waitUntil("both agents to select a pair", seconds: seconds) {
            a.selectedPair != nil && b.selectedPair != nil
        }
    }

    public func close() async {
        await a.close()
        await b.close()
        for t in tasks { await t.value }
    }
}
