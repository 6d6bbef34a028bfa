import Foundation
import TestSupport
import Testing

/// Two `ice-peer` processes in two network namespaces behind nftables NAT, with a real coturn.
@Suite(.serialized, .tags(.integration)) struct NATLabTests {
    private let turnCredentials = ["--username", NATLab.turnUser, "--password", NATLab.turnPassword]

    private func withLab(aPublic: Bool = false, bPublic: Bool = false,
                         _ body: (NATLab) async throws -> Void) async throws {
        let lab = try NATLab(aPublic: aPublic, bPublic: bPublic)
        do {
            try await body(lab)
        } catch {
            lab.destroy()
            throw error
        }
        lab.destroy()
    }

    /// Connects the two peers and returns their `pair` lines (`pair LTYPE LTRANSPORT LADDR RTYPE RTRANSPORT RADDR`).
    private func connect(_ a: PeerProcess, _ b: PeerProcess) async throws -> (a: [Substring], b: [Substring]) {
        var pairs: (a: [Substring], b: [Substring]) = ([], [])
        try await withPeerProcesses(a, b) {
            let pairA = try await a.waitFor("pair ", seconds: 20)
            let pairB = try await b.waitFor("pair ", seconds: 20)
            try await exchangeData(a, b)
            pairs = (pairA.split(separator: " "), pairB.split(separator: " "))
        }
        return pairs
    }

    @Test func relayOnlyOverTurnUDP() async throws {
        try await withLab { lab in
            let args = ["--candidate-types", "relay", "--urls", "turn:\(NATLab.turnAddress):3478"] + turnCredentials
            let (a, b) = try await connect(lab.peer("a", at: lab.a, ["--role", "controlling"] + args),
                                           lab.peer("b", at: lab.b, ["--role", "controlled"] + args))
            #expect(a[1] == "relay" && a[4] == "relay", "\(a)")
            #expect(b[1] == "relay" && b[4] == "relay", "\(b)")
        }
    }

    /// UDP is dropped by both NAT routers, so the only way out is TURN over TCP.
    @Test func relayOnlyOverTurnTCPWithUDPBlocked() async throws {
        try await withLab { lab in
            try lab.blockUDP(lab.a)
            try lab.blockUDP(lab.b)
            let args = ["--candidate-types", "relay",
                        "--urls", "turn:\(NATLab.turnAddress):3478?transport=tcp"] + turnCredentials
            let (a, b) = try await connect(lab.peer("a", at: lab.a, ["--role", "controlling"] + args),
                                           lab.peer("b", at: lab.b, ["--role", "controlled"] + args))
            #expect(a[1] == "relay" && b[1] == "relay", "\(a) / \(b)")
        }
    }

    /// One site's UDP is blocked and both offer every candidate type: TURN over TCP gets that site out.
    @Test func udpBlockedOnOneSideConnectsThroughTurnTCP() async throws {
        try await withLab { lab in
            try lab.blockUDP(lab.a)
            let args = ["--urls", "stun:\(NATLab.turnAddress):3478,turn:\(NATLab.turnAddress):3478,turn:\(NATLab.turnAddress):3478?transport=tcp"] + turnCredentials
            let (a, _) = try await connect(lab.peer("a", at: lab.a, ["--role", "controlling"] + args),
                                           lab.peer("b", at: lab.b, ["--role", "controlled"] + args))
            #expect(a[1] == "relay" || a[2].hasPrefix("tcp"), "\(a)")
        }
    }

    /// UDP blocked and no TURN at all: ICE-TCP from the NATed site to a public host's passive candidate.
    @Test func udpBlockedConnectsOverICETCP() async throws {
        try await withLab(bPublic: true) { lab in
            try lab.blockUDP(lab.a)
            let (a, b) = try await connect(lab.peer("a", at: lab.a, ["--role", "controlling"]),
                                           lab.peer("b", at: lab.b, ["--role", "controlled"]))
            #expect(a[2] == "tcp-active" && a[5] == "tcp-passive", "\(a)")
            #expect(b[2].hasPrefix("tcp"), "\(b)")
        }
    }

    /// Both behind NAT with only STUN: a direct pair through the NATs; then the path dies and consent is lost.
    @Test func directPairThroughNATThenConsentLost() async throws {
        try await withLab { lab in
            let args = ["--urls", "stun:\(NATLab.turnAddress):3478", "--network-types", "udp4"]
            let a = try lab.peer("a", at: lab.a, ["--role", "controlling"] + args)
            let b = try lab.peer("b", at: lab.b, ["--role", "controlled"] + args)
            try await withPeerProcesses(a, b) {
                let pair = try await a.waitFor("pair ").split(separator: " ")
                try await exchangeData(a, b)
                #expect(pair[1] != "relay" && pair[4] != "relay" && pair[2] == "udp", "\(pair)")
                #expect(pair[6].hasPrefix("203.0.113."), "remote address is B's NAT: \(pair)")
                try lab.blockUDP(lab.a)
                _ = try await a.waitFor("state consent-lost", seconds: 40)
            }
        }
    }

    /// An ICE restart over TURN: both sides get new credentials, a pair is selected again and data flows.
    @Test func restartOverTurnRelay() async throws {
        try await withLab { lab in
            let args = ["--candidate-types", "relay", "--urls", "turn:\(NATLab.turnAddress):3478"] + turnCredentials
            let a = try lab.peer("a", at: lab.a, ["--role", "controlling"] + args)
            let b = try lab.peer("b", at: lab.b, ["--role", "controlled"] + args)
            try await withPeerProcesses(a, b) {
                try await exchangeData(a, b)
                a.send("restart")
                try await waitUntil("new credentials on both sides and a new pair") {
                    let credA = await a.log.all("cred ").count, credB = await b.log.all("cred ").count
                    let pairsA = await a.log.all("pair ").count, pairsB = await b.log.all("pair ").count
                    return credA == 2 && credB == 2 && pairsA >= 2 && pairsB >= 2
                }
                a.send("send after-restart")
                _ = try await b.waitFor("recv after-restart", seconds: 5)
            }
        }
    }
}
