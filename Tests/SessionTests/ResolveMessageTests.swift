import Foundation
import Testing
import TestSupport

/// What wg-ice-resolve says on stderr when something is wrong: the real binary, without root, a namespace or
/// WireGuard.
@Suite struct ResolveMessageTests {
    @Test func aMissingOrNonWireGuardInterfaceIsSaidSo() async throws {
        let config = try temporaryConfig(signaling: "ws://127.0.0.1:9")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let missing = String("nowg\(uniqueSuffix())".prefix(15))
        let cases = [(missing, "interface \(missing) does not exist"), ("lo", "lo is not a WireGuard interface")]
        for (interface, expected) in cases {
            let result = try await offPool { try run([builtProduct("wg-ice-resolve"), interface, "--config", config]) }
            #expect(result.status == 2, "\(interface): \(result.stderr)")
            #expect(result.stderr == expected + "\n", "\(interface): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func aBadSignalingURLIsTheOnlyMessage() async throws {
        let config = try temporaryConfig(signaling: "ws//no-colon")
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try await offPool { try run([builtProduct("wg-ice-resolve"), "lo", "--config", config]) }
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("\(config):6: Signaling `ws//no-colon' is not a signaling URL"),
                "\(result.stderr)")
    }
}

/// A configuration whose `#Signaling` is on line 6 (ListenPort 51820, one peer), in a new temporary file.
private func temporaryConfig(signaling: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolve-\(uniqueSuffix()).conf").path
    let key = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let peer = try runChecked(["wg", "pubkey"], input: try runChecked(["wg", "genkey"]).stdout).stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
    try """
        [Interface]
        PrivateKey = \(key)
        ListenPort = 51820

        #[ICE]
        #Signaling = \(signaling)

        [Peer]
        PublicKey = \(peer)
        AllowedIPs = 10.99.0.1/32

        """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
