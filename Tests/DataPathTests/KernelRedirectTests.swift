import DataPath
import Foundation
@testable import ICE
import Testing
import TestSupport
import WireGuard

@Suite struct KernelRedirectTests {
    static func pair(remotePort: UInt16) -> SelectedPair {
        SelectedPair(local: ICECandidate(sdp: "", type: .host, transport: .udp, address: "192.0.2.1", port: 40000,
                                         baseAddress: "192.0.2.1", basePort: 40000),
                     remote: ICECandidate(sdp: "", type: .srflx, transport: .udp, address: "198.51.100.7",
                                          port: remotePort, baseAddress: "198.51.100.7", basePort: remotePort))
    }

    /// Make-before-break between two direct pairs of one peer: closing the old path leaves the new one's rules.
    /// (In this process's namespace, with a table of its own that is deleted afterwards; the addresses are
    /// TEST-NET ones that nothing here sends to.)
    @Test func twoPathsOfOnePeerKeepTheirOwnRules() async throws {
        let table = NFTablesTable(interface: "dpk-\(UUID().uuidString.prefix(8))")
        defer { try? table.delete() }
        let peer = try #require(Key(bytes: Array(repeating: 7, count: 32)))
        let old = try KernelRedirect(pair: Self.pair(remotePort: 2000), wireGuardPort: 51820, peer: peer, table: table)
        let new = try KernelRedirect(pair: Self.pair(remotePort: 3000), wireGuardPort: 51820, peer: peer, table: table)
        #expect(new.wireGuardEndpoint == Endpoint("198.51.100.7:3000"))
        await old.close()
        let rules = try #require(table.list())
        #expect(!rules.contains("udp dport 2000") && !rules.contains("udp sport 2000"), "\(rules)")
        #expect(rules.contains("ip daddr 198.51.100.7 udp sport 51820 udp dport 3000"), "\(rules)")
        #expect(rules.contains("ip saddr 198.51.100.7 udp sport 3000 udp dport 40000"), "\(rules)")
        await new.close()
        await new.close()
        #expect(try #require(table.list()).components(separatedBy: "chain ").count == 1)
        try table.delete()
        #expect(table.list() == nil)
    }

    @Test func aNonNumericCandidateAddressNeverReachesNft() throws {
        var pair = Self.pair(remotePort: 2000)
        pair.remote.address = "198.51.100.7 udp dport 1 drop"
        let peer = try #require(Key(bytes: Array(repeating: 8, count: 32)))
        let table = NFTablesTable(interface: "dpk-\(UUID().uuidString.prefix(8))")
        defer { try? table.delete() }
        #expect(throws: DataPathError.self) {
            try KernelRedirect(pair: pair, wireGuardPort: 51820, peer: peer, table: table)
        }
        #expect(table.list() == nil)
    }
}
