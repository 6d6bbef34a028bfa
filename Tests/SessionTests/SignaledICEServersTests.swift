@testable import Session
import ConfParser
import Foundation
import ICE
import ServiceURLs
import Signaling
import Testing

/// Which STUN/TURN servers a new agent gets: the file's `URLs` (with its `Username`/`Password`) take precedence;
/// without them, the signaling server's grant; `turns:` from a grant is left out (no TLS relay for it).
@Suite struct SignaledICEServersTests {
    static let grant = ICEServerGrant(
        servers: ["stun:192.0.2.9", "turn:192.0.2.9?transport=udp", "turns:relay.example.net"].map { try! ICEServerURL.parse($0).get() },
        username: "1700000000:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", password: "sLmgKtQQAOuYK8befD72Dr9QCXY=",
        expires: Date(timeIntervalSince1970: 1_700_000_000), source: "ws://192.0.2.1:8080")

    @Test func fileURLsTakePrecedence() throws {
        let settings = try settings("URLs = turn:192.0.2.5\nUsername = site-a\nPassword = pw\n")
        let ice = settings.gatheringConfiguration(signaled: Self.grant)
        #expect(ice.servers == [ICEServer(kind: .turnUDP, host: "192.0.2.5", port: 3478)])
        #expect(ice.username == "site-a" && ice.password == "pw")
        #expect(settings.iceServers(signaled: Self.grant).source == .file)
    }

    @Test func withoutURLsTheGrantIsUsed() throws {
        let settings = try settings("")
        let ice = settings.gatheringConfiguration(signaled: Self.grant)
        #expect(ice.servers == [ICEServer(kind: .stun, host: "192.0.2.9", port: 3478), ICEServer(kind: .turnUDP, host: "192.0.2.9", port: 3478)])
        #expect(ice.username == Self.grant.username && ice.password == Self.grant.password)
        #expect(settings.iceServers(signaled: Self.grant).source == .signaling("ws://192.0.2.1:8080"))
        #expect(settings.gatheringConfiguration(signaled: nil).servers.isEmpty)
        #expect(settings.iceServers(signaled: nil).source == .none)
    }

    /// Only a grant that differs (new credentials every refresh) makes agents gather again.
    @Test func onlyAChangedGrantCounts() {
        let kept = SignaledICEServers()
        #expect(kept.update(Self.grant))
        #expect(!kept.update(Self.grant))
        var refreshed = Self.grant
        refreshed.username = "1700032400:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        #expect(kept.update(refreshed))
        #expect(kept.current == refreshed)
    }

    private func settings(_ lines: String) throws -> SessionSettings {
        let result = ConfParser.parse(Array("[Interface]\nListenPort = 51820\n[ICE]\nSignaling = ws://192.0.2.1:8080\n\(lines)".utf8), path: "t.conf")
        #expect(result.isValid, "\(result.errors)")
        return try SessionSettings(result.configuration, interface: "wg0")
    }
}
