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
        #expect(throws: ICEError.self) { try ICEConfiguration(urls: ["stuns:s.example.net"]) }
    }

    private func parse(_ lines: String) -> ParseResult {
        ConfParser.parse(Array("[Interface]\nListenPort = 51820\n[ICE]\nSignaling = ws://127.0.0.1:1\nUsername = u\nPassword = p\n\(lines)".utf8),
                         path: "t.conf")
    }
}
