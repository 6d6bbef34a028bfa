import Keys
import ServiceURLs
import Testing
@testable import ConfParser

@Suite struct CommentedBlockTests {
    @Test func headerIsCaseInsensitiveWithSpacesAfterTheHash() {
        for header in ["#[ICE]", "# [ice]", "#\t[Ice]  ", "  #   [ICE]"] {
            let r = parse("[Interface]\n\(header)\n# LogLevel = debug\n")
            #expect(r.configuration.ice.logLevel == .debug, "\(header)")
            #expect(r.configuration.hasICESettings)
        }
        #expect(!parse("[Interface]\n#[ICE] x\n# LogLevel = debug\n").configuration.hasICESettings)
    }

    @Test func doubleHashAndLinesWithoutEqualsAreComments() {
        let r = parse("#[ICE]\n## LogLevel = debug\n# Log level is chosen below\n#LogLevel=error\n")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.ice.logLevel == .error)
    }

    @Test func theBlockEndsAtTheFirstLineThatIsNotAComment() {
        // After the blank line, `# LogLevel = debug` is an ordinary comment again.
        let r = parse("#[ICE]\n# Proxy = userspace\n\n# LogLevel = debug\n[Interface]\n# User = bob\n")
        #expect(r.configuration.ice.proxy == .userspace)
        #expect(r.configuration.ice.logLevel == .info)
        #expect(r.configuration.ice.user == nil)
        // A key line ends it too, and the section it was in continues for inih.
        let s = parse("[Peer]\nPublicKey = \(keyA)\n#[ICE]\n# Proxy = nftables\nAllowedIPs = 10.0.0.9/32\n# LogLevel = debug\n")
        #expect(s.isValid, "\(s.errors)")
        #expect(s.configuration.peers.first?.allowedIPs.count == 1)
        #expect(s.configuration.ice.proxy == .nftables)
        #expect(s.configuration.ice.logLevel == .info)
    }

    @Test func aHashEndsTheValueInBothForms() {
        let commented = parse("#[ICE]\n# Signaling = ws://s\n# Password = abc#def\n# Username = u\n")
        let literal = parse("[ICE]\nSignaling = ws://s\nPassword = abc#def\nUsername = u\n")
        #expect(commented.configuration.ice.password == "abc")
        #expect(commented.configuration.ice == literal.configuration.ice)
    }

    @Test func bothFormsMeanTheSame() {
        let settings = """
            Signaling = wss://signal.example.net/path, grpc://10.0.0.5:50051
            URLs = stun:stun.example.net:3479, turn:[2001:db8::3]?transport=tcp
            Username = u
            Password = p w
            CandidateTypes = host, relay
            NetworkTypes = udp4, tcp4
            Interfaces = eth*, !wg*
            PortRange = 50000-50010
            Peers = all
            Proxy = nftables
            CheckInterval = 50ms
            FailedTimeout = 1m
            HandshakeTimeout = 1h
            User = 65534
            LogLevel = TRACE
            """
        let literal = parse("[Interface]\n[ICE]\n\(settings)\n")
        let commented = parse("[Interface]\n#[ICE]\n" + settings.split(separator: "\n").map { "# \($0)" }.joined(separator: "\n") + "\n")
        #expect(literal.isValid && commented.isValid, "\(literal.errors) \(commented.errors)")
        #expect(literal.configuration == commented.configuration)
        let ice = literal.configuration.ice
        #expect(ice.signaling.map(\.description) == ["wss://signal.example.net/path", "grpc://10.0.0.5:50051"])
        #expect(ice.servers.map(\.description) == ["stun:stun.example.net:3479", "turn:[2001:db8::3]:3478?transport=tcp"])
        #expect(ice.password == "p w")
        #expect(ice.candidateTypes == [.host, .relay])
        #expect(ice.networkTypes == [.udp4, .tcp4])
        #expect(ice.interfaces.map(\.description) == ["eth*", "!wg*"])
        #expect(ice.portRange == PortRange(lower: 50000, upper: 50010))
        #expect(ice.peers == .all)
        #expect(ice.proxy == .nftables)
        #expect(ice.checkInterval == .milliseconds(50))
        #expect(ice.failedTimeout == .seconds(60))
        #expect(ice.handshakeTimeout == .seconds(3600))
        #expect(ice.user == "65534")
        #expect(ice.logLevel == .trace)
    }
}

@Suite struct ICEValueTests {
    @Test func portMappingTakesOffOrAListOfMethods() {
        #expect(parse("[ICE]\nPortMapping = off\n").configuration.ice.portMapping.isEmpty)
        #expect(parse("[ICE]\nPortMapping = OFF\n").configuration.ice.portMapping.isEmpty)
        #expect(parse("[ICE]\nPortMapping = nat-pmp, PCP\n").configuration.ice.portMapping == [.natpmp, .pcp])
        #expect(parse("[ICE]\nPortMapping = upnp\n").configuration.ice.portMapping == [.upnp])
    }

    @Test func defaults() {
        let ice = parse("[Interface]\n").configuration.ice
        #expect(ice.signaling.isEmpty && ice.servers.isEmpty && ice.username == nil && ice.password == nil)
        #expect(ice.candidateTypes == Set(CandidateType.allCases))
        #expect(ice.networkTypes == Set(NetworkType.allCases))
        #expect(ice.interfaces.isEmpty && ice.portRange == nil)
        #expect(ice.peers == .auto && ice.proxy == .auto)
        #expect(ice.portMapping == Set(MappingProtocol.allCases))
        #expect(ice.checkInterval == .milliseconds(20))
        #expect(ice.failedTimeout == .milliseconds(39_500))
        #expect(ice.handshakeTimeout == .seconds(180))
        #expect(ice.user == nil && ice.logLevel == .info)
        #expect(!parse("[Interface]\n").configuration.hasICESettings)
    }

    @Test func serverURLsFollowRFC7064And7065() throws {
        func url(_ s: String) -> ICEServerURL? { try? ICEServerURL.parse(s).get() }
        let stun = try #require(url("stun:stun.example.net"))
        #expect(stun.port == 3478 && stun.transport == .udp && !stun.isTURN && !stun.isSecure)
        let stuns = try #require(url("STUNS:192.0.2.1"))
        #expect(stuns.port == 5349 && stuns.transport == .tcp && stuns.isSecure)
        let turn = try #require(url("turn:turn.example.net:3480?transport=TCP"))
        #expect(turn.port == 3480 && turn.transport == .tcp && turn.isTURN)
        let turns = try #require(url("turns:[2001:db8::1]"))
        #expect(turns.port == 5349 && turns.transport == .tcp && turns.host == .ip(IPAddress("2001:db8::1")!, scope: nil))
        #expect(url("turn:t")?.transport == .udp)
        for bad in ["stun:", "stun:2001:db8::1", "turn:t?transport=sctp", "stun:h:65536", "stuns://h", "turns:h?transport=udp"] {
            #expect(url(bad) == nil, "\(bad)")
        }
    }

    @Test func signalingURLs() throws {
        func url(_ s: String) -> SignalingURL? { try? SignalingURL.parse(s).get() }
        // As written: the port only when given (the auth proof's authority), the path and query kept.
        #expect(url("ws://h")?.description == "ws://h" && url("ws://h")?.port == 80)
        #expect(url("wss://H.example/p/q?x=1&y")?.description == "wss://h.example/p/q?x=1&y")
        #expect(url("ws://h?x=1")?.path == "?x=1")
        #expect(url("wss://h:443/wg-ice")?.authority == "h:443")
        #expect(url("wss://h/wg-ice")?.authority == "h")
        #expect(url("ws://[2001:DB8::1]:8080")?.authority == "[2001:db8::1]:8080")
        #expect(url("grpc://h")?.port == 80)
        #expect(url("grpc://h/")?.description == "grpc://h")
        #expect(url("grpcs://[::1]:8443")?.description == "grpcs://[::1]:8443")
        #expect(url("grpcs://h")?.isSecure == true)
        for written in ["ws://h", "ws://h/", "wss://h:8443/a/b?c=d", "grpc://[::1]:50051", "grpcs://h"] {
            #expect(url(url(written)!.description) == url(written), "\(written)")
        }
        #expect(url("k8s:")?.description == "k8s:")
        for good in ["k8s:?namespace=mesh", "k8s:///etc/wg-ice/kubeconfig", "k8s://10.0.0.1:6443?token-file=/t&ca-file=/c",
                     "k8s://[fd00::1]:6443?namespace=wg-ice&plaintext=true"] {
            #expect(url(good)?.description == good)
        }
        for bad in ["ws:/h", "ws://", "ws://h:0", "ws://h:", "grpc://h/x", "grpc://h?x", "grpcs://h/wg-ice", "k8s:wg-ice", "k8s://h", "k8s://", "k8s:?ns=x",
                    "k8s:?namespace=A_B.c", "mqtt://h"] {
            #expect(url(bad) == nil, "\(bad)")
        }
    }

    @Test func durations() {
        #expect(parseDuration("200ms") == .milliseconds(200))
        #expect(parseDuration("5s") == .seconds(5))
        #expect(parseDuration("2m") == .seconds(120))
        #expect(parseDuration("1h") == .seconds(3600))
        #expect(parseDuration("1m30s") == .seconds(90))
        for bad in ["", "0s", "5", "s", "1.5s", "-1s", "5 s", "1d", "9999999999s"] {
            #expect(parseDuration(bad) == nil, "\(bad)")
        }
        #expect(formatDuration(.milliseconds(90_500)) == "1m30s500ms")
    }

    @Test func setsReplaceTheDefaultThenAccumulate() {
        let r = parse("[ICE]\nSignaling = ws://s\nCandidateTypes = relay\nCandidateTypes = host\n")
        #expect(r.configuration.ice.candidateTypes == [.relay, .host])
    }

    @Test func peerKeyListsAccumulate() throws {
        let r = parse("[ICE]\nSignaling = ws://s\nPeers = \(keyA)\nPeers = \(keyB)\n")
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.ice.peers == .keys([try #require(Key(base64: keyA)), try #require(Key(base64: keyB))]))
    }

    @Test func accountNames() {
        for good in ["nobody", "wg-ice", "_svc", "Admin.1", "host$", "0", "65534"] {
            #expect(parse("[ICE]\nSignaling = ws://s\nUser = \(good)\n").isValid, "\(good)")
        }
        for bad in ["1abc", "a b", "-x", "a:b", String(repeating: "a", count: 33)] {
            #expect(!parse("[ICE]\nSignaling = ws://s\nUser = \(bad)\n").isValid, "\(bad)")
        }
    }
}

/// A file with both forms: they are one set of settings, as wg-ice.conf(5) says. List lines add up in file
/// order wherever each form is; a scalar set in both is an error like any scalar set twice.
@Suite struct BothFormsTests {
    @Test(arguments: [
        "[Interface]\n#[ICE]\n# Signaling = ws://b.example\n\n[ICE]\nSignaling = ws://a.example\n",
        "[ICE]\nSignaling = ws://b.example\n#[ICE]\n# Signaling = ws://a.example\n[Interface]\n",
        "#[ICE]\n#Signaling = ws://b.example\n[Interface]\n[ICE]\nSignaling = ws://a.example\n",
        "[ICE]\n#[ICE]\n# Signaling = ws://b.example\nSignaling = ws://a.example\n",
        "[ICE]\nSignaling = ws://b.example\n[Peer]\nPublicKey = \(keyA)\n#[ICE]\n# Signaling = ws://a.example\n",
    ])
    func listLinesAddUp(text: String) {
        let r = parse(text)
        #expect(r.isValid, "\(r.errors)")
        #expect(r.configuration.ice.signaling.map(\.description) == ["ws://b.example", "ws://a.example"])
    }

    @Test func aScalarInBothFormsIsSetTwice() {
        let r = parse("[Interface]\n#[ICE]\n# Signaling = ws://b.example\n# Proxy = userspace\n\n[ICE]\nProxy = nftables\n")
        #expect(r.errors.map(\.description) == ["t.conf:7: Proxy is already set on line 4; it takes one value"])
    }
}
