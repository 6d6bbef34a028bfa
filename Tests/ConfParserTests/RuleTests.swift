import Keys
import Testing
@testable import ConfParser

/// The grammar rules, checked on what the parser produces.
@Suite struct LineRuleTests {
    @Test func keysAndSectionsAreCaseInsensitiveAndWhitespaceInsideIsIgnoredLikeWg() throws {
        let r = parse("[iNtErFaCe]\nlistenport = 5\n[ peer ]\nPublic Key = \(keyA)\nAllowedIPs = 10.0.0.1 / 32\n")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.interface.listenPort == 5)
        #expect(r.configuration.peers.first?.allowedIPs.map(\.description) == ["10.0.0.1/32"])
    }

    @Test func hashStartsACommentAnywhereSemicolonDoesNot() {
        let r = parse("[Interface]\nListenPort = 7#no space needed\nPostUp = a; b ; c # gone\n# whole line\n   # indented comment\n")
        #expect(r.isValid)
        #expect(r.configuration.interface.listenPort == 7)
        #expect(r.configuration.interface.postUp == ["a; b ; c"])
    }

    @Test func crlfAndAMissingFinalNewlineAreTolerated() {
        let r = parse("[Interface]\r\nListenPort = 9\r\n[Peer]\r\nPublicKey = \(keyA)\r\nAllowedIPs = 10.0.0.2/32")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.interface.listenPort == 9)
        #expect(r.configuration.peers.first?.allowedIPs.count == 1)
    }

    @Test func linesLongerThanInihsDefaultBufferKeepTheirLineNumbers() {
        let many = (0..<300).map { "10.\($0 / 256).\($0 % 256).0/24" }.joined(separator: ", ")
        let r = parse("[Peer]\nPublicKey = \(keyA)\nAllowedIPs = \(many)\nPersistentKeepalive = x\n")
        #expect(r.configuration.peers.first?.allowedIPs.count == 300)
        #expect(r.errors.map(\.line) == [4])
    }

    @Test func repeatedListKeysAppendAndScalarsTakeTheLastValue() {
        let r = parse("[Interface]\nAddress = 10.0.0.1/24\nAddress = fd00::1/64, 10.0.1.1\nListenPort = 1\nListenPort = 2\nDNS = 1.1.1.1\nDNS = 9.9.9.9 example.com\n")
        #expect(r.configuration.interface.addresses.map(\.description) == ["10.0.0.1/24", "fd00::1/64", "10.0.1.1/32"])
        #expect(r.configuration.interface.listenPort == 2)
        #expect(r.configuration.interface.dnsServers.map(\.description) == ["1.1.1.1", "9.9.9.9"])
        #expect(r.configuration.interface.dnsSearch == ["example.com"])
    }

    @Test func emptyFileAndCommentsOnlyAreValid() {
        #expect(parse("").isValid)
        #expect(parse("# nothing\n\n").isValid)
    }

    @Test func keysBeforeAnySectionAndUnknownSectionsAreErrors() {
        #expect(parse("ListenPort = 1\n").errors.count == 1)
        // Keys under an unknown section are not reported again.
        #expect(parse("[Foo]\nBar = 1\nBaz = 2\n").errors.map(\.line) == [1])
    }
}

@Suite struct WireGuardValueTests {
    @Test func keysMustBeCanonicalBase64() throws {
        #expect(Key(base64: keyA)?.base64 == keyA)
        #expect(Key(base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") != nil)
        // Char 43 carries two bits beyond the 256; wg requires them zero.
        #expect(Key(base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=") == nil)
        #expect(Key(base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAF=") == nil)
        #expect(Key(base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == nil)
        #expect(Key(base64: String(keyA.dropLast())) == nil)
        #expect(Key(base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*A=") == nil)
        let key = try #require(Key(base64: keyB))
        #expect(key.bytes.count == 32)
        #expect(Key(bytes: key.bytes)?.base64 == keyB)
    }

    @Test func allowedIPsDefaultToHostPrefixes() {
        let r = parse("[Peer]\nPublicKey = \(keyA)\nAllowedIPs = 10.0.0.1, fd00::1, 0.0.0.0/0, ::/0, 10.1.2.3/024\n")
        #expect(r.configuration.peers.first?.allowedIPs.map(\.description) == ["10.0.0.1/32", "fd00::1/128", "0.0.0.0/0", "::/0", "10.1.2.3/24"])
        #expect(IPNetwork("10.1.2.3/20")?.masked.description == "10.1.0.0/20")
        #expect(IPNetwork("2001:db8::1/33")?.masked.description == "2001:db8::/33")
        for bad in ["10.1/8", "01.2.3.4", "1.2.3.4/", "1.2.3.4/+5", "1.2.3.4/33", "::/129", "fe80::1%eth0", ""] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test func endpoints() throws {
        func endpoint(_ text: String) -> Endpoint? {
            parse("[Peer]\nPublicKey = \(keyA)\nEndpoint = \(text)\n").configuration.peers.first?.endpoint
        }
        #expect(endpoint("192.0.2.1:51820")?.description == "192.0.2.1:51820")
        #expect(endpoint("[2001:DB8::1]:0")?.description == "[2001:db8::1]:0")
        #expect(endpoint("[fe80::1%eth0]:5")?.description == "[fe80::1%eth0]:5")
        #expect(endpoint("Peer.Example.COM:65535")?.description == "peer.example.com:65535")
        #expect(endpoint("peer.example.com.:1")?.host == .name("peer.example.com."))
        for bad in ["192.0.2.1", "[::1]", "[::1]x:5", "a_b..c:1", "192.0.2.1:65536", ":5", "[]:5"] {
            #expect(endpoint(bad) == nil, "\(bad)")
        }
    }

    @Test func persistentKeepaliveAndFwMarkForms() {
        func peerKeepalive(_ v: String) -> UInt16? {
            let r = parse("[Peer]\nPublicKey = \(keyA)\nPersistentKeepalive = \(v)\n")
            return r.isValid ? r.configuration.peers.first?.persistentKeepalive : nil
        }
        #expect(peerKeepalive("off") == 0)
        #expect(peerKeepalive("OFF") == 0)
        #expect(peerKeepalive("0") == 0)
        #expect(peerKeepalive("25") == 25)
        #expect(peerKeepalive("65535") == 65535)
        #expect(peerKeepalive("65536") == nil)
        #expect(peerKeepalive("+5") == nil)

        func fwmark(_ v: String) -> UInt32? {
            let r = parse("[Interface]\nFwMark = \(v)\n")
            return r.isValid ? r.configuration.interface.fwMark : nil
        }
        #expect(fwmark("off") == 0)
        #expect(fwmark("0x1f") == 31)
        #expect(fwmark("0xffffffff") == UInt32.max)
        #expect(fwmark("010") == 10)
        #expect(fwmark("4294967295") == UInt32.max)
        #expect(fwmark("4294967296") == nil)
        #expect(fwmark("0X1f") == nil)
        #expect(fwmark("0x") == nil)
        #expect(fwmark("0xg") == nil)
    }

    @Test func listenPortAcceptsZeroToMax() {
        #expect(parse("[Interface]\nListenPort = 0\n").configuration.interface.listenPort == 0)
        #expect(parse("[Interface]\nListenPort = 65535\n").configuration.interface.listenPort == 65535)
    }
}

@Suite struct WgQuickValueTests {
    @Test func defaults() {
        let i = parse("[Interface]\n").configuration.interface
        #expect(i.addresses.isEmpty && i.dnsServers.isEmpty && i.dnsSearch.isEmpty)
        #expect(i.mtu == nil && i.table == .auto && !i.saveConfig)
        #expect(i.preUp.isEmpty && i.postUp.isEmpty && i.preDown.isEmpty && i.postDown.isEmpty)
        #expect(i.privateKey == nil && i.listenPort == nil && i.fwMark == nil)
    }

    @Test func tableForms() {
        func table(_ v: String) -> RoutingTable? {
            let r = parse("[Interface]\nTable = \(v)\n")
            return r.isValid ? r.configuration.interface.table : nil
        }
        #expect(table("off") == .off)
        #expect(table("Auto") == .auto)
        #expect(table("1234") == .number(1234))
        #expect(table("vpn_table") == .name("vpn_table"))
        #expect(table("4294967296") == nil)
    }

    @Test func mtuSaveConfigAndHooks() {
        let r = parse("[Interface]\nMTU = 1280\nSaveConfig = FALSE\nPreUp = a\nPostUp = b %i\nPreDown = c\nPostDown = d\nPostUp =\n")
        #expect(r.isValid)
        #expect(r.configuration.interface.mtu == 1280)
        #expect(r.configuration.interface.preUp == ["a"])
        #expect(r.configuration.interface.postUp == ["b %i"])
        #expect(r.configuration.interface.preDown == ["c"])
        #expect(r.configuration.interface.postDown == ["d"])
        #expect(parse("[Interface]\nMTU = 67\n").errors.count == 1)
    }
}

@Suite struct StripTests {
    @Test func stripDropsWgQuickKeysAndBothICEFormsAndKeepsTheRest() {
        let text = """
            # top comment
            [Interface]
            PrivateKey = \(keyB)
            Address = 10.0.0.1/24
            dns = 1.1.1.1
            PostUp = wg-ice-hook %i
            #[ICE]
            # Signaling = wss://s.example.net
            # plain words
            ListenPort = 51820
            [ICE]
            URLs = stun:stun.example.net
            [Peer]
            PublicKey = \(keyA)
            AllowedIPs = 10.0.0.2/32
            """
        let r = parse(text)
        #expect(r.isValid, "\(r.errors)")
        #expect(String(decoding: r.stripped, as: UTF8.self) == """
            # top comment
            [Interface]
            PrivateKey = \(keyB)
            ListenPort = 51820
            [Peer]
            PublicKey = \(keyA)
            AllowedIPs = 10.0.0.2/32

            """)
        #expect(r.role(ofLine: 4) == .wgQuick)
        #expect(r.role(ofLine: 8) == .wgIce)
        #expect(r.role(ofLine: 12) == .wgIce)
        #expect(r.role(ofLine: 3) == .wireGuard)
    }

    @Test func wgQuickKeysOutsideInterfaceAreNotDropped() {
        // wg-quick only consumes them in [Interface]; elsewhere they reach wg, which refuses them.
        let r = parse("[Peer]\nPublicKey = \(keyA)\nAddress = 10.0.0.1/32\n")
        #expect(!r.isValid)
        #expect(String(decoding: r.stripped, as: UTF8.self).contains("Address = 10.0.0.1/32"))
    }
}
