import Testing
@testable import ConfParser

/// Every error and warning the parser can produce, with its exact text, line and origin.
@Suite struct ErrorMessageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var text: String
        var expected: String
        var origin: RuleOrigin
        var testDescription: String { expected }
    }

    static let peer = "[Peer]\nPublicKey = \(keyA)\n"

    static let cases: [Case] = [
        // Lines and sections (wg's grammar).
        Case(text: "[Interface]\nListen\0Port = 1\n", expected: "t.conf:2: the line contains a NUL byte", origin: .stricterThanWireGuard),
        Case(text: "\u{FEFF}[Interface]\n", expected: "t.conf:1: the file starts with a UTF-8 byte order mark, which wg does not accept", origin: .wireGuard),
        Case(text: "[Peer]x\n", expected: "t.conf:1: `[Peer]x' is not a section header ([Interface], [Peer] or [ICE])", origin: .wireGuard),
        Case(text: "[Peer\n", expected: "t.conf:1: `[Peer' is not a section header ([Interface], [Peer] or [ICE])", origin: .wireGuard),
        Case(text: "[Wireguard]\n", expected: "t.conf:1: unknown section [Wireguard] (expected [Interface], [Peer] or [ICE])", origin: .wireGuard),
        Case(text: "[Interface]\nListenPort 51820\n", expected: "t.conf:2: this line is neither a section header nor `Key = Value'", origin: .wireGuard),
        Case(text: "[Interface]\nPrivateKey \(keyB)\n", expected: "t.conf:2: unknown key (not shown: it is too long or has characters no key has, and may be a secret)", origin: .wireGuard),
        Case(text: "[ICE]\nPass-word = x\n", expected: "t.conf:2: unknown key (not shown: it is too long or has characters no key has, and may be a secret)", origin: .wgIce),
        Case(text: "[Interface]\nPrivateKey: abc=\n", expected: "t.conf:2: unknown key `PrivateKey:...' (keys and values are separated by `=')", origin: .wireGuard),
        Case(text: "ListenPort = 1\n", expected: "t.conf:1: ListenPort is outside any section (start with [Interface] or [Peer])", origin: .wireGuard),
        // [Interface]
        Case(text: "[Interface]\nPrivateKey =\n", expected: "t.conf:2: PrivateKey has no value", origin: .wireGuard),
        Case(text: "[Interface]\nPrivateKey = abc=\n", expected: "t.conf:2: PrivateKey is not a WireGuard key (44 characters of base64 ending in `=', as `wg genkey' prints)", origin: .wireGuard),
        Case(text: "[Interface]\nListenPort = -1\n", expected: "t.conf:2: ListenPort `-1' is not a port number 0-65535", origin: .wireGuard),
        Case(text: "[Interface]\nListenPort = 65536\n", expected: "t.conf:2: ListenPort `65536' is not a port number 0-65535", origin: .stricterThanWireGuard),
        Case(text: "[Interface]\nListenPort = domain\n", expected: "t.conf:2: ListenPort `domain' is not a port number 0-65535", origin: .stricterThanWireGuard),
        Case(text: "[Interface]\nFwMark = 0x100000000\n", expected: "t.conf:2: FwMark `0x100000000' is neither off nor 0-0xffffffff (decimal, or hex with 0x)", origin: .wireGuard),
        Case(text: "[Interface]\nEndpoint = 1.2.3.4:5\n", expected: "t.conf:2: Endpoint belongs in a [Peer] section, not [Interface]", origin: .wireGuard),
        Case(text: "[Interface]\nListenPorts = 1\n", expected: "t.conf:2: unknown key `ListenPorts' in [Interface]", origin: .wireGuard),
        // [Peer]
        Case(text: "[Peer]\nAllowedIPs = 10.0.0.1/32\n", expected: "t.conf:1: [Peer] has no PublicKey", origin: .wireGuard),
        Case(text: "[Peer]\nPublicKey = \(keyA.dropLast(2))==\n", expected: "t.conf:2: PublicKey is not a WireGuard key (44 characters of base64 ending in `=', as `wg genkey' prints)", origin: .wireGuard),
        Case(text: peer + "PresharedKey = x\n", expected: "t.conf:3: PresharedKey is not a WireGuard key (44 characters of base64 ending in `=', as `wg genkey' prints)", origin: .wireGuard),
        Case(text: peer + "AllowedIPs = 10.0.0.1/32, fe80::/129\n", expected: "t.conf:3: AllowedIPs `fe80::/129' is not an IP address with an optional /prefix (0-32 for IPv4, 0-128 for IPv6)", origin: .wireGuard),
        Case(text: peer + "Endpoint = host.example\n", expected: "t.conf:3: Endpoint `host.example' is not HOST:PORT or [IPv6]:PORT", origin: .wireGuard),
        Case(text: peer + "Endpoint = bad!host:5\n", expected: "t.conf:3: Endpoint `bad!host:5' has no valid host (an IP address or DNS name)", origin: .wireGuard),
        Case(text: peer + "Endpoint = fd00::1:5\n", expected: "t.conf:3: Endpoint `fd00::1:5' has an IPv6 address without brackets; write [fd00::1]:5", origin: .stricterThanWireGuard),
        Case(text: peer + "Endpoint = [192.0.2.1]:5\n", expected: "t.conf:3: Endpoint `[192.0.2.1]:5' has brackets around something that is not an IPv6 address", origin: .stricterThanWireGuard),
        Case(text: peer + "Endpoint = 192.0.2.1:-5\n", expected: "t.conf:3: Endpoint `192.0.2.1:-5' has no port number 0-65535 after the last `:'", origin: .wireGuard),
        Case(text: peer + "Endpoint = 192.0.2.1:http\n", expected: "t.conf:3: Endpoint `192.0.2.1:http' has no port number 0-65535 after the last `:'", origin: .stricterThanWireGuard),
        Case(text: peer + "PersistentKeepalive = never\n", expected: "t.conf:3: PersistentKeepalive `never' is neither off nor 0-65535 seconds", origin: .wireGuard),
        Case(text: peer + "FwMark = 1\n", expected: "t.conf:3: FwMark belongs in [Interface], not [Peer]", origin: .wireGuard),
        Case(text: peer + "MTU = 1400\n", expected: "t.conf:3: MTU belongs in [Interface], not [Peer] (wg-quick reads it only there)", origin: .wireGuard),
        Case(text: peer + "Endpoints = 1.2.3.4:5\n", expected: "t.conf:3: unknown key `Endpoints' in [Peer]", origin: .wireGuard),
        Case(text: peer + peer, expected: "t.conf:3: PublicKey \(keyA) was already used by the [Peer] on line 1; wg would merge the two", origin: .stricterThanWireGuard),
        // wg-quick keys
        Case(text: "[Interface]\nAddress = 10.0.0.1/24, 10.0.0.1/40\n", expected: "t.conf:2: Address `10.0.0.1/40' is not an IP address with an optional /prefix", origin: .wgQuick),
        Case(text: "[Interface]\nDNS = 1.1.1\n", expected: "t.conf:2: DNS `1.1.1' looks like a server address but is not an IP address", origin: .wgQuick),
        Case(text: "[Interface]\nDNS = -bad-.example\n", expected: "t.conf:2: DNS `-bad-.example' is neither an IP address nor a search domain", origin: .wgQuick),
        Case(text: "[Interface]\nMTU = 65536\n", expected: "t.conf:2: MTU `65536' is not a number 68-65535", origin: .wgQuick),
        Case(text: "[Interface]\nTable = 1/2\n", expected: "t.conf:2: Table `1/2' is not off, auto, a table number or a table name", origin: .wgQuick),
        Case(text: "[Interface]\nSaveConfig = 1\n", expected: "t.conf:2: SaveConfig `1' is neither true nor false", origin: .wgQuick),
        Case(text: "[Interface]\nPre Up = true\n", expected: "t.conf:2: wg-quick does not recognise `Pre Up' with spaces inside; write PreUp", origin: .wgQuick),
        Case(text: "[ interface ]\nDNS = 10.0.0.53\n", expected: "t.conf:2: DNS is under a section header written with spaces, which wg-quick does not recognise as [Interface]; write [Interface]", origin: .wgQuick),
        // [ICE]
        Case(text: "[ICE]\nStunServer = stun:x\n", expected: "t.conf:2: unknown key `StunServer' in [ICE] (known: Signaling, URLs, Username, Password, CandidateTypes, NetworkTypes, Interfaces, PortRange, Peers, Proxy, PortMapping, CheckInterval, FailedTimeout, HandshakeTimeout, User, LogLevel)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nUser =\n", expected: "t.conf:3: User has no value", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nProxy = auto\nProxy = userspace\n", expected: "t.conf:4: Proxy is already set on line 3; it takes one value", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://a, , ws://b\n", expected: "t.conf:2: Signaling has an empty item in `ws://a, , ws://b'", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = http://s\n", expected: "t.conf:2: Signaling `http://s' is not a signaling URL (ws://, wss://, grpc://, grpcs://, k8s:)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = k8s:a.b\n", expected: "t.conf:2: Signaling `k8s:a.b': write k8s:, k8s:///path/to/kubeconfig or k8s://HOST:PORT, optionally with ?namespace=NAME", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = k8s://api:6443?namespace=x.y\n", expected: "t.conf:2: Signaling `k8s://api:6443?namespace=x.y': namespace `x.y' is not a DNS label", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = wss:s\n", expected: "t.conf:2: Signaling `wss:s': write wss://HOST[:PORT][/PATH]", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = grpc://s/x\n", expected: "t.conf:2: Signaling `grpc://s/x': gRPC URLs take no path or query: the call's path is always /wgice.signal.v1.Signal/Connect, and a reverse proxy routes that (nginx: location /wgice.signal.v1.Signal/)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s/a\u{7f}b\n", expected: "t.conf:2: Signaling `ws://s/a\u{7f}b': the path has characters a URL cannot carry", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s:x\n", expected: "t.conf:2: Signaling `ws://s:x': port `x' is not 1-65535", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://::1\n", expected: "t.conf:2: Signaling `ws://::1': `::1' is not HOST, HOST:PORT or [IPv6]:PORT", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = http://s\n", expected: "t.conf:3: URLs `http://s' is not a STUN/TURN URI (stun:, stuns:, turn:, turns:)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun://s\n", expected: "t.conf:3: URLs `stun://s': STUN/TURN URIs have no `//' (write stun:HOST[:PORT])", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun:s?transport=udp\n", expected: "t.conf:3: URLs `stun:s?transport=udp': only turn: and turns: URIs take a query", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = turn:s?proto=udp\n", expected: "t.conf:3: URLs `turn:s?proto=udp': the only query is ?transport=udp or ?transport=tcp", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nUsername = u\nPassword = p\nURLs = turns:s?transport=udp\n", expected: "t.conf:5: URLs `turns:s?transport=udp': TURN over DTLS (turns: with transport=udp) is not supported", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun:s:0\n", expected: "t.conf:3: URLs `stun:s:0': port `0' is not 1-65535", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun:[s]\n", expected: "t.conf:3: URLs `stun:[s]': `[s]' is not HOST, HOST:PORT or [IPv6]:PORT", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stuns:s\n", expected: "t.conf:3: URLs `stuns:s': stuns: (STUN over TLS) is not supported: libnice asks its STUN server over UDP only, and the address STUN over TLS reports is that of a TCP connection, which UDP hole punching cannot use; write stun:HOST[:PORT]", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun:s\nURLs = stun:t\n", expected: "t.conf:4: URLs `stun:t': a second stun: server; libnice uses one", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = stun:s\nCandidateTypes = relay\n", expected: "t.conf:4: CandidateTypes = relay needs a turn: server in URLs", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nURLs = turn:s\n", expected: "t.conf:3: URLs: a turn:/turns: server needs both Username and Password", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPassword = p\n", expected: "t.conf:3: Password without Username", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nUsername = u\n", expected: "t.conf:3: Username without Password", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nUsername = a b\nPassword = p\n", expected: "t.conf:3: Username must not contain spaces", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nCandidateTypes = host, turn\n", expected: "t.conf:3: CandidateTypes `turn' is not one of host, srflx, prflx, relay", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nNetworkTypes = udp\n", expected: "t.conf:3: NetworkTypes `udp' is not one of udp4, udp6, tcp4, tcp6", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nInterfaces = !\n", expected: "t.conf:3: Interfaces `!' is not an interface name pattern (a glob, `!' to exclude)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPortRange = 0-10\n", expected: "t.conf:3: PortRange `0-10' is not LOW-HIGH with 1 <= LOW <= HIGH <= 65535", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPeers = all\nPeers = auto\n", expected: "t.conf:4: Peers is already set on line 3; `auto' must stand alone", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPeers = all\nPeers = \(keyA)\n", expected: "t.conf:4: Peers is already `all' on line 3; a key list cannot be added", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPeers = alice\n", expected: "t.conf:3: Peers `alice' is not auto, all, or a peer's public key", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nProxy = kernel\n", expected: "t.conf:3: Proxy `kernel' is not auto, nftables or userspace", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPortMapping = upnp, natpmp\n", expected: "t.conf:3: PortMapping `natpmp' is not off, or a list of upnp, nat-pmp, pcp", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPortMapping = upnp, off\n", expected: "t.conf:3: PortMapping `off' must stand alone", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nPortMapping = off\nPortMapping = pcp\n", expected: "t.conf:4: PortMapping is already set on line 3; it takes one value", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nFailedTimeout = 5 s\n", expected: "t.conf:3: FailedTimeout `5 s' is not a duration above zero (like 200ms, 5s, 2m, 1h, 1m30s)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nKeepaliveInterval = 10s\n", expected: "t.conf:3: KeepaliveInterval is not supported: libnice sends its RFC 7675 consent checks every 4-6 s and has no setting for that period; remove the line", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nDisconnectedTimeout = 5s\n", expected: "t.conf:3: DisconnectedTimeout is not supported: libnice declares consent lost after 10 s without an answer and has no setting for that time; remove the line", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nCheckInterval = 4ms\n", expected: "t.conf:3: CheckInterval `4ms' is outside 5ms-1s (the pacing of ICE checks, RFC 8445 Ta)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nCheckInterval = 1s1ms\n", expected: "t.conf:3: CheckInterval `1s1ms' is outside 5ms-1s (the pacing of ICE checks, RFC 8445 Ta)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nFailedTimeout = 25s\n", expected: "t.conf:3: FailedTimeout `25s' is outside 39s500ms-10m (ICE must not fail sooner than 39.5 s after checks start, RFC 8863)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nFailedTimeout = 10m1ms\n", expected: "t.conf:3: FailedTimeout `10m1ms' is outside 39s500ms-10m (ICE must not fail sooner than 39.5 s after checks start, RFC 8863)", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nUser = 1root\n", expected: "t.conf:3: User `1root' is not an account name or numeric uid", origin: .wgIce),
        Case(text: "[ICE]\nSignaling = ws://s\nLogLevel = loud\n", expected: "t.conf:3: LogLevel `loud' is not one of trace, debug, info, notice, warning, error, critical", origin: .wgIce),
    ]

    @Test(arguments: cases)
    func message(_ c: Case) {
        let result = parse(c.text)
        #expect(result.errors.map(\.description) == [c.expected])
        #expect(result.errors.first?.origin == c.origin)
    }

    @Test func warnings() {
        let noSignaling = parse("[Interface]\n#[ICE]\n# LogLevel = debug\n")
        #expect(noSignaling.isValid)
        #expect(noSignaling.warnings.map(\.description) == ["t.conf:2: warning: no Signaling backend: wg-ice cannot exchange candidates with peers"])

        let saveConfig = parse("[Interface]\nSaveConfig = true\n[ICE]\nSignaling = wss://s\n")
        #expect(saveConfig.isValid)
        #expect(saveConfig.warnings.map(\.description) == ["t.conf:2: warning: SaveConfig = true with wg-ice settings: wg-quick down rewrites the file and drops the comments and the [ICE] settings"])
        // Without wg-ice settings SaveConfig is harmless, and a later `false` wins.
        #expect(parse("[Interface]\nSaveConfig = true\n").warnings.isEmpty)
        #expect(parse("[Interface]\nSaveConfig = true\nSaveConfig = false\n[ICE]\nSignaling = wss://s\n").warnings.isEmpty)
    }

    @Test func everyErrorIsReportedInLineOrder() {
        let result = parse("[Interface]\nListenPort = x1\nFoo = 1\n[Peer]\n[Peer]\nPublicKey = \(keyA)\nAllowedIPs = 1.2.3.4/99\n[ICE]\nProxy = no\n")
        #expect(result.errors.map(\.line) == [2, 3, 4, 7, 9])
    }

    @Test func errorMessagesNeverEchoPrivateKeys() {
        for text in ["[Interface]\nPrivateKey \(keyB)\n", "[Interface]\nPrivateKey: \(keyB)\n",
                     "PrivateKey = \(keyB)\n", "[Interface]\nPrivateKey = \(keyB)x\n", "[Peer]\nPrivateKey = \(keyB)\n"] {
            let result = parse(text)
            #expect(!result.isValid)
            #expect(!result.diagnostics.contains { $0.message.contains(keyB.prefix(20)) }, "\(result.diagnostics)")
        }
    }
}
