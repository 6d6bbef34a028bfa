import Keys
import DataPath
import Foundation
@testable import ICE
import Testing
import TestSupport
import WireGuard

@Suite(.tags(.integration)) struct KernelRedirectTests {
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
        #expect(!rules.contains(". 2000"), "\(rules)")
        #expect(rules.contains("198.51.100.7 . 3000 : jump out-"), "\(rules)")
        #expect(rules.contains("198.51.100.7 . 3000 . 40000 : jump in-"), "\(rules)")
        #expect(rules.contains("udp sport 51820 counter packets 0 bytes 0 udp sport set 40000"), "\(rules)")
        #expect(rules.contains("@th,96,32 != 0x2112a442 counter packets 0 bytes 0 udp dport set 51820"), "\(rules)")
        await new.close()
        await new.close()
        #expect(Self.peerChains(try #require(table.list())).isEmpty)
        try table.delete()
        #expect(table.list() == nil)
    }

    /// Every packet meets two base chains whatever the number of peers: peers are map elements.
    @Test func manyPeersShareTwoHooks() async throws {
        let table = NFTablesTable(interface: "dpk-\(UUID().uuidString.prefix(8))")
        defer { try? table.delete() }
        var paths: [KernelRedirect] = []
        for i in 1...20 {
            let peer = try #require(Key(bytes: Array(repeating: UInt8(i), count: 32)))
            paths.append(try KernelRedirect(pair: Self.pair(remotePort: 2000 + UInt16(i)), wireGuardPort: 51820,
                                            peer: peer, table: table))
        }
        let rules = try #require(table.list())
        #expect(rules.components(separatedBy: " hook ").count - 1 == 2, "\(rules)")
        #expect(Self.peerChains(rules).count == 40)
        for path in paths { await path.close() }
        #expect(Self.peerChains(try #require(table.list())).isEmpty)
    }

    /// Two local candidates towards one remote candidate want the same outbound map key: the later path takes
    /// it over, closing it gives it back, and closing the earlier one never removes the later one's.
    @Test func aSharedMapKeyGoesToTheLaterPathAndBack() async throws {
        let table = NFTablesTable(interface: "dpk-\(UUID().uuidString.prefix(8))")
        defer { try? table.delete() }
        let peer = try #require(Key(bytes: Array(repeating: 9, count: 32)))
        var other = Self.pair(remotePort: 2000)
        other.local.basePort = 41000
        let first = try KernelRedirect(pair: Self.pair(remotePort: 2000), wireGuardPort: 51820, peer: peer, table: table)
        let second = try KernelRedirect(pair: other, wireGuardPort: 51820, peer: peer, table: table)
        let jumps = { (table.list() ?? "").split(separator: "\n").filter { $0.contains(". 2000 : jump") } }
        let chains = Self.peerChains(try #require(table.list()))
        var now = jumps()
        #expect(now.count == 1 && Self.line(now[0], jumpsTo: chains[2]), "\(now) \(chains)")
        await second.close()
        now = jumps()
        #expect(now.count == 1 && Self.line(now[0], jumpsTo: chains[0]), "\(now) \(chains)")
        let third = try KernelRedirect(pair: other, wireGuardPort: 51820, peer: peer, table: table)
        await first.close()
        let remaining = Self.peerChains(try #require(table.list()))
        now = jumps()
        #expect(now.count == 1 && Self.line(now[0], jumpsTo: remaining[0]) && remaining[0].hasPrefix("out-"),
                "\(now) \(remaining)")
        await third.close()
    }

    static func line(_ line: Substring, jumpsTo chain: String) -> Bool {
        line.hasSuffix("jump \(chain)") || line.hasSuffix("jump \(chain),") || line.hasSuffix("jump \(chain) }")
    }

    /// The per-peer chains (`out-…`, `in-…`) in a listing, in the order nft prints them.
    static func peerChains(_ listing: String) -> [String] {
        listing.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
            guard words.count >= 2, words[0] == "chain", words[1].hasPrefix("out-") || words[1].hasPrefix("in-") else { return nil }
            return words[1]
        }
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
