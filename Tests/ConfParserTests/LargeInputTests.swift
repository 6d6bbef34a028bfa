import Keys
import Foundation
import Testing
@testable import ConfParser

/// Inputs far larger than real files still parse to the right result. (How fast: bench/confparser.sh;
/// a timed test would fail on a loaded machine and pass on a fast one for the wrong reasons.) scripts/test runs
/// this suite on its own: each parse holds libinih's process-wide lock for seconds in a debug build, and the
/// other tests' parses would wait for it on the cooperative pool's threads, stalling every test in the process.
@Suite struct LargeInputTests {
    /// `count` distinct public keys, as `wg pubkey` prints them.
    static func keys(_ count: Int) -> [String] {
        (0..<count).map { i in
            var bytes = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: UInt32(i).bigEndian) { bytes.replaceSubrange(0..<4, with: $0) }
            return Data(bytes).base64EncodedString()
        }
    }

    @Test func tenThousandPeersAndARepeatedKey() {
        let keys = Self.keys(10_000)
        var text = "[Interface]\nListenPort = 1\n"
        for (i, key) in keys.enumerated() {
            text += "[Peer]\nPublicKey = \(key)\nAllowedIPs = 10.\(i >> 8).\(i & 255).1/32\n"
        }
        let r = parse(text)
        #expect(r.isValid, "\(r.errors.prefix(3))")
        #expect(r.configuration.peers.count == 10_000)
        #expect(r.configuration.peers.last?.publicKey.base64 == keys.last)

        // The 5,000th key again: reported against its first use, once.
        let repeated = parse(text + "[Peer]\nPublicKey = \(keys[4999])\n")
        #expect(repeated.errors.map(\.description) == [
            "t.conf:30003: PublicKey \(keys[4999]) was already used by the [Peer] on line 15000; wg would merge the two",
        ])
    }

    @Test func aHundredThousandCommentedBlocksAddUp() {
        var text = "[Interface]\nListenPort = 1\n"
        for i in 0..<100_000 {
            text += "#[ICE]\n# Signaling = ws://192.0.2.1:\(i % 60_000 + 1)/\(i)\n# Interfaces = eth\(i)\n# URLs = turn:192.0.2.2:\(i % 60_000 + 1)\n"
        }
        text += "#[ICE]\n# Username = u\n# Password = p\n"
        let r = parse(text)
        #expect(r.isValid, "\(r.errors.prefix(3))")
        #expect(r.configuration.ice.signaling.count == 100_000)
        #expect(r.configuration.ice.signaling.last?.path == "/99999")
        #expect(r.configuration.ice.interfaces.count == 100_000)
        #expect(r.configuration.ice.servers.count == 100_000)
    }

    @Test func peersListsAddUp() {
        let keys = Self.keys(20_000)
        let text = "[ICE]\nSignaling = ws://192.0.2.1\n" + keys.map { "Peers = \($0)\n" }.joined()
        let r = parse(text)
        #expect(r.isValid, "\(r.errors.prefix(3))")
        #expect(r.configuration.ice.peers == .keys(keys.map { Key(base64: $0)! }))
    }

    @Test func twoHundredThousandJunkLinesEachGetTheirError() {
        let text = "[Interface]\n" + String(repeating: "junk without an equals sign\n", count: 200_000)
        let r = parse(text)
        #expect(r.errors.count == 200_000)
        #expect(r.errors.last?.description == "t.conf:200001: this line is neither a section header nor `Key = Value'")
    }
}
