import Keys
import Foundation
import Testing
import TestSupport
@testable import ConfParser

/// Stock wg-quick (Debian's, with wireguard-go as the userspace WireGuard) on files carrying wg-ice
/// settings: the commented `#[ICE]` block must be invisible to it, the literal `[ICE]` must not.
@Suite(.tags(.integration)) struct WgQuickTests {
    static let environment = ["WG_QUICK_USERSPACE_IMPLEMENTATION": "wireguard-go",
                              "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD": "1"]

    /// Writes `body(marker)` to a file named after a fresh interface (wg-quick takes the name from it).
    private func configFile(_ body: (_ marker: String, _ file: String) -> String) throws -> (dir: URL, file: URL, ifname: String, marker: URL) {
        let ifname = String("wgq\(uniqueSuffix())".prefix(15))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpwq-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("\(ifname).conf")
        let marker = dir.appendingPathComponent("postup-ran")
        try body(marker.path, file.path).write(to: file, atomically: true, encoding: .utf8)
        try runChecked(["chmod", "600", file.path])
        return (dir, file, ifname, marker)
    }

    @Test func wgQuickUpIgnoresTheCommentedICEBlock() throws {
        let privateKey = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let (dir, file, ifname, marker) = try configFile { marker, file in """
            [Interface]
            PrivateKey = \(privateKey)
            ListenPort = 51999
            Address = 10.77.0.1/24
            PostUp = touch \(marker) # wg-quick cuts the hook here; without that `touch` would create `#`
            PostUp = \(builtProduct("wg-ice-hook")) check \(file)

            #[ICE]
            # Signaling = wss://signal.example.net/wg-ice
            # URLs = stun:stun.example.net, turn:turn.example.net?transport=tcp
            # Username = site-a
            # Password = correct-horse
            # CandidateTypes = host, srflx, relay

            [Peer]
            PublicKey = \(keyA)
            AllowedIPs = 10.77.0.2/32, 10.78.0.0/16
            PersistentKeepalive = 25
            """
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let parsed = try ConfParser.parse(contentsOf: file.path)
        #expect(parsed.isValid, "\(parsed.errors)")
        #expect(parsed.configuration.hasICESettings)
        #expect(parsed.configuration.ice.servers.count == 2)

        let ns = try NetNS(prefix: "cpwq")
        defer { ns.destroy() }
        let up = try ns.tryExec(["wg-quick", "up", file.path], environment: Self.environment)
        #expect(up.succeeded, "\(up.stderr)")
        guard up.succeeded else { return }
        defer { _ = try? ns.tryExec(["wg-quick", "down", file.path], environment: Self.environment) }

        let shown = ConfParser.parse(Array(try ns.exec(["wg", "showconf", ifname]).stdout.utf8), path: "showconf")
        #expect(shown.configuration.interface.privateKey == parsed.configuration.interface.privateKey)
        #expect(shown.configuration.interface.listenPort == 51999)
        #expect(shown.configuration.peers.map(\.publicKey) == parsed.configuration.peers.map(\.publicKey))
        #expect(Set(shown.configuration.peers.first?.allowedIPs ?? []) == Set(parsed.configuration.peers[0].allowedIPs))
        #expect(shown.configuration.peers.first?.persistentKeepalive == 25)
        #expect(try ns.exec(["ip", "-o", "-4", "address", "show", "dev", ifname]).stdout.contains("10.77.0.1/24"))
        #expect(try ns.exec(["ip", "route", "show", "10.78.0.0/16"]).stdout.contains("dev \(ifname)"))
        #expect(FileManager.default.fileExists(atPath: marker.path))
    }

    @Test func wgQuickUpRejectsTheLiteralICESection() throws {
        let (dir, file, _, _) = try configFile { _, _ in """
            [Interface]
            ListenPort = 51998

            [ICE]
            Signaling = wss://signal.example.net/wg-ice
            """
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(ConfParser.parse(Array(try String(contentsOf: file, encoding: .utf8).utf8), path: "x").isValid)

        let ns = try NetNS(prefix: "cpwq")
        defer { ns.destroy() }
        let up = try ns.tryExec(["wg-quick", "up", file.path], environment: Self.environment)
        #expect(!up.succeeded)
        #expect(up.stderr.contains("Line unrecognized: `[ICE]'"))
    }
}
