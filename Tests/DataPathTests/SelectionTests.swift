import enum ConfParser.ProxyMode
import DataPath
@testable import ICE
import Testing

@Suite struct SelectionTests {
    static func candidate(_ type: CandidateType, _ transport: CandidateTransport = .udp) -> ICECandidate {
        ICECandidate(sdp: "", type: type, transport: transport, address: "192.0.2.1", port: 1000,
                     baseAddress: "192.0.2.1", basePort: 1000)
    }
    static let direct = SelectedPair(local: candidate(.srflx), remote: candidate(.prflx))
    static let relayed = SelectedPair(local: candidate(.relay), remote: candidate(.host))
    static let tcp = SelectedPair(local: candidate(.host, .tcpActive), remote: candidate(.host, .tcpPassive))

    @Test func directUDPIsRedirectedWhenNftablesWorks() throws {
        #expect(try DataPathKind.select(pair: Self.direct, proxy: .auto, nftablesAvailable: true) == .kernelRedirect)
        #expect(try DataPathKind.select(pair: Self.direct, proxy: .nftables, nftablesAvailable: true) == .kernelRedirect)
    }

    @Test func relayedTCPAndUserspaceGoThroughTheProxy() throws {
        for mode in ProxyMode.allCases {
            #expect(try DataPathKind.select(pair: Self.relayed, proxy: mode, nftablesAvailable: true) == .userspaceProxy)
            #expect(try DataPathKind.select(pair: Self.tcp, proxy: mode, nftablesAvailable: true) == .userspaceProxy)
        }
        #expect(try DataPathKind.select(pair: Self.direct, proxy: .userspace, nftablesAvailable: true) == .userspaceProxy)
    }

    @Test func withoutNftablesAutoFallsBackAndNftablesIsAnError() throws {
        #expect(try DataPathKind.select(pair: Self.direct, proxy: .auto, nftablesAvailable: false) == .userspaceProxy)
        #expect(throws: DataPathError.nftablesUnavailable) {
            try DataPathKind.select(pair: Self.direct, proxy: .nftables, nftablesAvailable: false)
        }
    }
}
