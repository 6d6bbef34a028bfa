import Foundation
import ICE
import Testing

@Suite struct SDPTests {
    @Test(arguments: [
        "candidate:1 1 UDP 2015364095 127.0.0.1 49426 typ host",
        "a=candidate:1 1 UDP 2015364095 127.0.0.1 49426 typ host",
        "a=candidate:1 1 UDP 2015364095 127.0.0.1 49426 typ host\r\n",
        "  candidate:1 1 UDP 2015364095 127.0.0.1 49426 typ host\r",
    ])
    func normalizesSignalingQuirks(_ text: String) {
        #expect(normalizedCandidateSDP(text) == "candidate:1 1 UDP 2015364095 127.0.0.1 49426 typ host")
    }

    /// Every candidate one agent gathers parses back in another, with `a=` and CRLF added on the way.
    @Test func localCandidatesRoundTripIntoARemoteAgent() async throws {
        let configuration = try ICEConfiguration(interfaces: ["lo"])
        let a = try await ICEAgent(configuration: configuration, role: .controlling)
        let b = try await ICEAgent(configuration: configuration, role: .controlled)
        var gathered: [ICECandidate] = []
        for await event in a.events {
            if case .localCandidate(let c) = event { gathered.append(c) }
            if event == .gatheringDone { break }
        }
        #expect(gathered.contains { $0.transport == .udp } && gathered.contains { $0.transport == .tcpPassive })
        try await b.setRemoteCredentials(a.localCredentials())
        for c in gathered { #expect(try await b.addRemoteCandidate("a=" + c.sdp + "\r\n")) }
        let remote = try await b.remoteCandidates()
        // Active TCP candidates have no port (0 locally, the discard port 9 in SDP, RFC 6544 §4.5).
        func key(_ c: ICECandidate) -> String {
            "\(c.type) \(c.transport) \(c.address) \(c.transport == .tcpActive ? 9 : c.port)"
        }
        #expect(Set(remote.map(key)) == Set(gathered.map(key)))
        await a.close()
        await b.close()
    }

    /// A router's mapping of a host candidate parses in a remote agent as server-reflexive, ranked between STUN's
    /// candidates and peer-reflexive ones, with the host candidate as its related address.
    @Test func aPortMappedCandidateIsServerReflexiveAboveSTUNs() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlled)
        var host: ICECandidate?
        for await event in agent.events {
            if case .localCandidate(let c) = event, c.type == .host, c.transport == .udp { host = c }
            if event == .gatheringDone { break }
        }
        let base = try #require(host)
        let mapped = try #require(ICECandidate.portMapped(host: base, externalAddress: "5.6.7.8", externalPort: 40001))
        #expect(mapped.sdp.hasSuffix("5.6.7.8 40001 typ srflx raddr \(base.address) rport \(base.port)"))
        #expect(ICECandidate.portMapped(host: mapped, externalAddress: "5.6.7.9", externalPort: 1) == nil)
        #expect(ICECandidate.portMapped(host: base, externalAddress: "5.6.7.8 typ host", externalPort: 1) == nil)
        let peer = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlling)
        try await peer.setRemoteCredentials(agent.localCredentials())
        #expect(try await peer.addRemoteCandidate(mapped.sdp))
        // Server-reflexive candidates reach libnice after NAT priming's short hold.
        var first = try await peer.remoteCandidates().first
        for _ in 0..<50 where first == nil {
            try await Task.sleep(for: .milliseconds(20))
            first = try await peer.remoteCandidates().first
        }
        let remote = try #require(first)
        #expect(remote.type == .srflx && remote.address == "5.6.7.8" && remote.port == 40001)
        let priority = { (sdp: String) in UInt32(sdp.split(separator: " ")[3])! }
        #expect(priority(mapped.sdp) > (101 << 24) && priority(mapped.sdp) < (110 << 24))
        await agent.close()
        await peer.close()
    }

    /// A candidate tagged with a ufrag the agent has not seen waits for those credentials (a restart).
    @Test func candidatesForTheNextGenerationWaitForItsCredentials() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlled)
        let pwd = String(repeating: "p", count: 22)
        try await agent.setRemoteCredentials(ICECredentials(ufrag: "gen1", pwd: pwd))
        try await agent.addRemoteCandidate("candidate:1 1 UDP 2015364095 192.0.2.1 1111 typ host", ufrag: "gen1")
        try await agent.addRemoteCandidate("candidate:2 1 UDP 2015364095 192.0.2.2 2222 typ host", ufrag: "gen2")
        #expect(try await agent.remoteCandidates().map(\.port) == [1111])
        try await agent.setRemoteCredentials(ICECredentials(ufrag: "gen2", pwd: pwd))
        #expect(try await agent.remoteCandidates().map(\.port) == [2222])
        var sawRestart = false
        for await event in agent.events {
            if case .restarted = event { sawRestart = true }
            if sawRestart, event == .gatheringDone { break }
        }
        #expect(sawRestart)
        await agent.close()
    }

    @Test func rejectsGarbageAndTooManyCandidates() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["lo"]), role: .controlled)
        await #expect(throws: ICEError.self) { try await agent.addRemoteCandidate("candidate:1 1 UDP nonsense") }
        await #expect(throws: ICEError.self) { try await agent.addRemoteCandidate("hello") }
        for port in 1...ICEAgent.maxRemoteCandidates {
            try await agent.addRemoteCandidate("candidate:\(port) 1 UDP 2015364095 192.0.2.1 \(port) typ host")
        }
        await #expect(throws: ICEError.tooManyCandidates(ICEAgent.maxRemoteCandidates)) {
            try await agent.addRemoteCandidate("candidate:99 1 UDP 2015364095 192.0.2.1 999 typ host")
        }
        await agent.close()
        await #expect(throws: ICEError.closed) { try await agent.localCredentials() }
        #expect(!agent.send([1, 2, 3]))
    }

    @Test func credentialsAreValidated() throws {
        #expect(throws: ICEError.self) { try ICECredentials(ufrag: "abc", pwd: String(repeating: "x", count: 22)) }
        #expect(throws: ICEError.self) { try ICECredentials(ufrag: "abcd", pwd: String(repeating: "x", count: 21)) }
        #expect(throws: ICEError.self) { try ICECredentials(ufrag: "ab d", pwd: String(repeating: "x", count: 22)) }
        _ = try ICECredentials(ufrag: "ab+/", pwd: String(repeating: "x", count: 22))
    }
}

@Suite struct ConfigurationTests {
    /// libnice gets a `turns:` server only as its local relay, a plain `turn:...?transport=tcp` on loopback.
    @Test func turnsServersAreReplacedByTheirRelay() throws {
        let c = try ICEConfiguration(servers: [server(.stun, "s.example.org", 3478), server(.turnTLS, "t.example.org", 5349),
                                               server(.turnUDP, "u.example.org", 3478)], username: "u", password: "p")
        let tls = try #require(c.tlsServers.first)
        #expect(c.tlsServers.count == 1 && tls.host == "t.example.org")
        let relayed = c.relayingTLS(through: [tls: 40123])
        #expect(relayed.servers == [c.servers[0], ICEServer(kind: .turnTCP, host: "127.0.0.1", port: 40123), c.servers[2]])
        #expect(relayed.tlsServers.isEmpty)
    }

    @Test func rejectsInconsistentSettings() {
        #expect(throws: ICEError.self) { try ICEConfiguration(servers: [server(.turnUDP, "192.0.2.1", 3478)]) }
        #expect(throws: ICEError.self) { try ICEConfiguration(candidateTypes: [.relay]) }
        #expect(throws: ICEError.self) { try ICEConfiguration(networkTypes: []) }
        #expect(throws: ICEError.self) {
            try ICEConfiguration(servers: [server(.stun, "192.0.2.1", 3478), server(.stun, "192.0.2.2", 3478)])
        }
    }

    @Test func roleIsDeterministicAndOpposite() throws {
        let low = [UInt8](repeating: 1, count: 32), high = [UInt8](repeating: 1, count: 31) + [2]
        #expect(try ICERole(localPublicKey: high, remotePublicKey: low) == .controlling)
        #expect(try ICERole(localPublicKey: low, remotePublicKey: high) == .controlled)
        #expect(throws: ICEError.self) { try ICERole(localPublicKey: low, remotePublicKey: low) }
        #expect(throws: ICEError.self) { try ICERole(localPublicKey: [1], remotePublicKey: low) }
    }

    private func server(_ kind: ICEServer.Kind, _ host: String, _ port: UInt16) -> ICEServer {
        ICEServer(kind: kind, host: host, port: port)
    }
}

@Suite struct FilterTests {
    private func gather(_ configuration: ICEConfiguration) async throws -> [ICECandidate] {
        let agent = try await ICEAgent(configuration: configuration, role: .controlling)
        var gathered: [ICECandidate] = []
        for await event in agent.events {
            if case .localCandidate(let c) = event { gathered.append(c) }
            if event == .gatheringDone { break }
        }
        await agent.close()
        return gathered
    }

    @Test func portRangeAndNetworkTypesAreHonoured() async throws {
        let candidates = try await gather(ICEConfiguration(networkTypes: [.udp4], interfaces: ["lo"],
                                                           portRange: 47_100...47_104))
        #expect(!candidates.isEmpty)
        for c in candidates {
            #expect(c.transport == .udp && c.address == "127.0.0.1" && (47_100...47_104).contains(c.port), "\(c.sdp)")
        }
    }

    @Test func tcpPassivePortsFollowThePortRange() async throws {
        let candidates = try await gather(ICEConfiguration(networkTypes: [.tcp4], interfaces: ["lo"],
                                                           portRange: 47_110...47_114))
        let passive = candidates.filter { $0.transport == .tcpPassive }
        #expect(!passive.isEmpty && passive.allSatisfy { (47_110...47_114).contains($0.port) })
        #expect(candidates.allSatisfy { $0.transport.isTCP })
    }

    @Test func remoteCandidatesOutsideTheFiltersAreDropped() async throws {
        let agent = try await ICEAgent(configuration: ICEConfiguration(candidateTypes: [.host, .srflx],
                                                                       networkTypes: [.udp4], interfaces: ["lo"]),
                                       role: .controlled)
        #expect(try await agent.addRemoteCandidate("candidate:1 1 TCP 1010828287 192.0.2.1 4000 typ host tcptype passive") == false)
        #expect(try await agent.addRemoteCandidate("candidate:2 1 UDP 2015364351 2001:db8::1 4000 typ host") == false)
        #expect(try await agent.addRemoteCandidate("candidate:3 1 UDP 100 192.0.2.1 4000 typ relay raddr 0.0.0.0 rport 0") == false)
        #expect(try await agent.addRemoteCandidate("candidate:4 1 UDP 2015364095 192.0.2.1 4000 typ host"))
        let linkLocal = try await ICEAgent(configuration: ICEConfiguration(), role: .controlled)
        #expect(try await linkLocal.addRemoteCandidate("candidate:5 1 UDP 2015364351 fe80::1 4000 typ host") == false)
        await linkLocal.close()
        await agent.close()
    }

    @Test func unmatchedInterfacesAreAnError() async throws {
        await #expect(throws: ICEError.self) {
            _ = try await ICEAgent(configuration: ICEConfiguration(interfaces: ["no-such-if*"]), role: .controlled)
        }
    }
}
