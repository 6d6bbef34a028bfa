import ConfParser
import DataPath
@testable import ICE
import Session
import Testing

@Suite struct SelectionTests {
    static func candidate(_ type: ICE.CandidateType, _ transport: CandidateTransport = .udp) -> ICECandidate {
        ICECandidate(sdp: "", type: type, transport: transport, address: "192.0.2.1", port: 1000,
                     baseAddress: "192.0.2.1", basePort: 1000)
    }
    static let direct = SelectedPair(local: candidate(.srflx), remote: candidate(.prflx))
    static let relayed = SelectedPair(local: candidate(.relay), remote: candidate(.host))
    static let tcp = SelectedPair(local: candidate(.host, .tcpActive), remote: candidate(.host, .tcpPassive))

    @Test func directUDPIsRedirectedWhenNftablesWorks() throws {
        #expect(try ProxyMode.auto.dataPath(for: Self.direct, nftablesAvailable: true) == .kernelRedirect)
        #expect(try ProxyMode.nftables.dataPath(for: Self.direct, nftablesAvailable: true) == .kernelRedirect)
    }

    @Test func relayedTCPAndUserspaceGoThroughTheProxy() throws {
        for mode in ProxyMode.allCases {
            #expect(try mode.dataPath(for: Self.relayed, nftablesAvailable: true) == .userspaceProxy)
            #expect(try mode.dataPath(for: Self.tcp, nftablesAvailable: true) == .userspaceProxy)
        }
        #expect(try ProxyMode.userspace.dataPath(for: Self.direct, nftablesAvailable: true) == .userspaceProxy)
    }

    @Test func withoutNftablesAutoFallsBackAndNftablesIsAnError() throws {
        #expect(try ProxyMode.auto.dataPath(for: Self.direct, nftablesAvailable: false) == .userspaceProxy)
        #expect(throws: DataPathError.nftablesUnavailable) {
            try ProxyMode.nftables.dataPath(for: Self.direct, nftablesAvailable: false)
        }
    }
}
