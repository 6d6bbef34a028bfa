import ConfParser
import ICE
import Session
import Testing

/// `check` and `up` agree on TURN over TLS: `turns:` passes both and reaches the agent configuration as a
/// `turns:` server with the host as written (the relay's SNI); `stuns:` is refused by both.
@Suite struct TURNSettingsTests {
    @Test func turnsPassesCheckAndUp() throws {
        let result = parse("URLs = turns:Turn.example.net, turns:[2001:db8::1]:443?transport=tcp, turn:u.example.net\n")
        #expect(result.isValid, "\(result.errors)")
        let settings = try SessionSettings(result.configuration, interface: "wg0")
        #expect(settings.ice.tlsServers == [ICEServer(kind: .turnTLS, host: "turn.example.net", port: 5349),
                                            ICEServer(kind: .turnTLS, host: "2001:db8::1", port: 443)])
        #expect(settings.ice.servers.count == 3)
    }

    @Test func stunsIsRefusedByBoth() {
        let result = parse("URLs = stuns:s.example.net\n")
        #expect(result.errors.map(\.description) == [
            "t.conf:7: URLs `stuns:s.example.net': stuns: (STUN over TLS) is not supported: libnice asks its STUN server over UDP only, and the address STUN over TLS reports is that of a TCP connection, which UDP hole punching cannot use; write stun:HOST[:PORT]",
        ])
        #expect(throws: ICEError.self) { try ICEServer(url: "stuns:s.example.net") }
    }

    /// The agent's servers come from ConfParser's one URL parser (`ICEServer(_:)`, `ICEServer(url:)` for tools).
    @Test func parsesStunAndTurnURLs() throws {
        #expect(try ICEServer(url: "stun:stun.example.org") == server(.stun, "stun.example.org", 3478))
        #expect(try ICEServer(url: "turn:192.0.2.1:3479") == server(.turnUDP, "192.0.2.1", 3479))
        #expect(try ICEServer(url: "turn:turn.example.org?transport=tcp") == server(.turnTCP, "turn.example.org", 3478))
        #expect(try ICEServer(url: "turn:[2001:db8::1]:5000?transport=udp") == server(.turnUDP, "2001:db8::1", 5000))
        #expect(try ICEServer(url: "turns:turn.example.org") == server(.turnTLS, "turn.example.org", 5349))
        #expect(try ICEServer(url: "turns:turn.example.org:443?transport=tcp") == server(.turnTLS, "turn.example.org", 443))
    }

    @Test(arguments: ["turns:turn.example.org?transport=udp", "stuns:stun.example.org", "http://x", "turn:", "turn:host:0",
                      "turn:host:99999", "stun:host?transport=tcp", "turn:host?transport=sctp", "turn:[::1"])
    func rejectsUnsupportedURLs(_ url: String) {
        #expect(throws: ICEError.self) { try ICEServer(url: url) }
    }

    @Test func stunsErrorSaysWhy() {
        #expect {
            try ICEServer(url: "stuns:stun.example.org")
        } throws: { error in
            "\(error)".contains("TLS") && "\(error)".contains("stuns:stun.example.org")
        }
    }

    private func server(_ kind: ICEServer.Kind, _ host: String, _ port: UInt16) -> ICEServer {
        ICEServer(kind: kind, host: host, port: port)
    }

    private func parse(_ lines: String) -> ParseResult {
        ConfParser.parse(Array("[Interface]\nListenPort = 51820\n[ICE]\nSignaling = ws://127.0.0.1:1\nUsername = u\nPassword = p\n\(lines)".utf8),
                         path: "t.conf")
    }
}
