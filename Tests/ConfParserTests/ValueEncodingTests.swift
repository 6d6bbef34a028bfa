import Testing
@testable import ConfParser

/// Values are UTF-8; bytes that are not are refused with their line, never replaced by U+FFFD (which would
/// make a Username or a PostUp command silently another value than the file's).
@Suite struct ValueEncodingTests {
    /// Parses `before`, the bytes 0xFF 0xFE, then `after`.
    func parseInvalid(_ before: String, _ after: String = "\n") -> ParseResult {
        ConfParser.parse(Array(before.utf8) + [0xFF, 0xFE] + Array(after.utf8), path: "t.conf")
    }

    @Test func invalidUTF8IsRefusedInEveryKindOfValue() {
        let cases: [(String, String, RuleOrigin)] = [
            ("[ICE]\nSignaling = ws://192.0.2.1\nUsername = u", "t.conf:3: invalid UTF-8 in the value of Username", .wgIce),
            ("[ICE]\nSignaling = ws://192.0.2.1\nPassword = p", "t.conf:3: invalid UTF-8 in the value of Password", .wgIce),
            ("[Interface]\n#[ICE]\n# Signaling = ws://192.0.2.1\n# Username = u", "t.conf:4: invalid UTF-8 in the value of Username", .wgIce),
            ("[Interface]\nPostUp = echo ", "t.conf:2: invalid UTF-8 in the value of PostUp", .wgQuick),
            ("[Interface]\nDNS = example", "t.conf:2: invalid UTF-8 in the value of DNS", .wgQuick),
            ("[Interface]\nPrivateKey = ", "t.conf:2: invalid UTF-8 in the value of PrivateKey", .wireGuard),
            ("[Peer]\nPublicKey = ", "t.conf:2: invalid UTF-8 in the value of PublicKey", .wireGuard),
            ("[Peer]\nPublicKey = \(keyA)\nEndpoint = host", "t.conf:3: invalid UTF-8 in the value of Endpoint", .wireGuard),
        ]
        for (before, expected, origin) in cases {
            let r = parseInvalid(before)
            // Exactly one error: a refused PublicKey does not add "[Peer] has no PublicKey".
            #expect(r.errors.map(\.description) == [expected], "\(before)")
            #expect(r.errors.first?.origin == origin, "\(before)")
        }
    }

    @Test func validUTF8IsKeptAsWritten() {
        let r = parse("[Interface]\nPostUp = logger 'wg0 prêt ✓'\n[ICE]\nSignaling = ws://192.0.2.1\nUsername = zoë\nPassword = 密码\n")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.interface.postUp == ["logger 'wg0 prêt ✓'"])
        #expect(r.configuration.ice.username == "zoë" && r.configuration.ice.password == "密码")
    }

    @Test func invalidUTF8InCommentsIsNoneOfOurBusiness() {
        // wg and wg-quick ignore comments whatever their bytes; so does wg-ice outside the #[ICE] block.
        let r = parseInvalid("[Interface]\n# ancien commentaire ", "\nListenPort = 1\n")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.interface.listenPort == 1)
    }
}
