import Foundation

/// A STUN or TURN server from `[ICE] URLs` (RFC 7064/7065), resolved to an IP address.
public struct ICEServer: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case stun, turnUDP, turnTCP }
    public var kind: Kind
    public var host: String
    public var port: UInt16

    /// Parses `stun:host[:port]` or `turn:host[:port][?transport=udp|tcp]`.
    /// `stuns:` and `turns:` are refused: libnice 0.1.21 would silently fall back to plain TCP for TURN-TLS
    /// in RFC 5245 mode and has no STUN over TLS at all, and wg-ice never downgrades silently.
    public init(url: String) throws {
        let bad = { (why: String) in ICEError.invalidConfiguration("\(url): \(why)") }
        guard let colon = url.firstIndex(of: ":") else { throw bad("expected stun:HOST[:PORT] or turn:HOST[:PORT][?transport=udp|tcp]") }
        let scheme = url[..<colon].lowercased()
        var rest = Substring(url[url.index(after: colon)...])
        var transport = "udp"
        if let q = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: q)...].lowercased()
            rest = rest[..<q]
            guard scheme == "turn", query.hasPrefix("transport=") else { throw bad("only turn: URLs take ?transport=udp|tcp") }
            transport = String(query.dropFirst("transport=".count))
            guard transport == "udp" || transport == "tcp" else { throw bad("transport must be udp or tcp") }
        }
        switch scheme {
        case "stun": kind = .stun
        case "turn": kind = transport == "tcp" ? .turnTCP : .turnUDP
        case "stuns", "turns":
            throw bad("\(scheme): (TLS) is not supported: libnice 0.1.21 would silently use plain TCP; use turn:...?transport=tcp explicitly")
        default: throw bad("unknown scheme '\(scheme)' (expected stun or turn)")
        }
        let (host, port) = try Self.splitHostPort(rest, defaultPort: 3478, bad: bad)
        self.host = host
        self.port = port
    }

    private static func splitHostPort(_ s: Substring, defaultPort: UInt16,
                                      bad: (String) -> ICEError) throws -> (String, UInt16) {
        var host = s, portText: Substring?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw bad("unterminated [IPv6 address]") }
            host = s[s.index(after: s.startIndex)..<close]
            let after = s[s.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("junk after ]") }
                portText = after.dropFirst()
            }
        } else if let c = s.lastIndex(of: ":") {
            host = s[..<c]
            portText = s[s.index(after: c)...]
        }
        guard !host.isEmpty, !host.contains("@"), !host.contains("/") else { throw bad("missing or invalid host") }
        guard let portText else { return (String(host), defaultPort) }
        guard let port = UInt16(portText), port > 0 else { throw bad("invalid port '\(portText)'") }
        return (String(host), port)
    }

    /// The server's IP address (libnice wants a literal address).
    func resolvedAddress() throws -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else {
            throw ICEError.invalidConfiguration("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &buffer, socklen_t(buffer.count),
                          nil, 0, NI_NUMERICHOST) == 0 else {
            throw ICEError.invalidConfiguration("cannot resolve \(host)")
        }
        return String(cBuffer: buffer)
    }
}

/// The `[ICE]` settings that shape one agent.
public struct ICEConfiguration: Sendable {
    public var servers: [ICEServer] = []
    /// TURN long-term credentials, used for every TURN server.
    public var username: String?
    public var password: String?
    public var candidateTypes: Set<CandidateType> = Set(CandidateType.allCases)
    public var networkTypes: Set<NetworkType> = Set(NetworkType.allCases)
    /// Interface name globs for gathering; `!glob` excludes. Empty, or only excludes: starting from every
    /// up, non-loopback interface (libnice's default).
    public var interfaces: [String] = []
    public var portRange: ClosedRange<UInt16>?
    /// `CheckInterval`: libnice's Ta (`stun-pacing-timer`), the pacing of gathering and checks.
    public var checkInterval: Duration = .milliseconds(20)
    /// `FailedTimeout`: RFC 8863's PAC timer. A checklist that fails sooner after the peer's credentials
    /// arrive is not reported as failed until then (see `AgentCore.onStateChanged`).
    public var failedTimeout: Duration = .milliseconds(39_500)

    /// The bounds `check` enforces too (ConfParser's `ICETiming`; a test holds the two together).
    public static let checkIntervalRange: ClosedRange<Duration> = .milliseconds(5) ... .seconds(1)
    public static let failedTimeoutRange: ClosedRange<Duration> = .milliseconds(39_500) ... .seconds(600)

    public init(urls: [String] = [], username: String? = nil, password: String? = nil,
                candidateTypes: Set<CandidateType> = Set(CandidateType.allCases),
                networkTypes: Set<NetworkType> = Set(NetworkType.allCases),
                interfaces: [String] = [], portRange: ClosedRange<UInt16>? = nil,
                checkInterval: Duration = .milliseconds(20), failedTimeout: Duration = .milliseconds(39_500)) throws {
        servers = try urls.map(ICEServer.init(url:))
        self.username = username
        self.password = password
        self.candidateTypes = candidateTypes
        self.networkTypes = networkTypes
        self.interfaces = interfaces
        self.portRange = portRange
        self.checkInterval = checkInterval
        self.failedTimeout = failedTimeout
        try validate()
    }

    func validate() throws {
        if servers.contains(where: { $0.kind != .stun }), username == nil || password == nil {
            throw ICEError.invalidConfiguration("TURN servers need Username and Password")
        }
        if servers.filter({ $0.kind == .stun }).count > 1 {
            throw ICEError.invalidConfiguration("libnice uses a single STUN server; give at most one stun: URL")
        }
        if candidateTypes.isEmpty { throw ICEError.invalidConfiguration("CandidateTypes is empty") }
        if networkTypes.isEmpty { throw ICEError.invalidConfiguration("NetworkTypes is empty") }
        if candidateTypes == [.relay], !servers.contains(where: { $0.kind != .stun }) {
            throw ICEError.invalidConfiguration("CandidateTypes = relay needs a turn: URL")
        }
        if let r = portRange, r.lowerBound == 0 { throw ICEError.invalidConfiguration("PortRange must not include 0") }
        if !Self.checkIntervalRange.contains(checkInterval) {
            throw ICEError.invalidConfiguration("CheckInterval \(checkInterval) is outside 5 ms-1 s")
        }
        if !Self.failedTimeoutRange.contains(failedTimeout) {
            throw ICEError.invalidConfiguration("FailedTimeout \(failedTimeout) is outside 39.5 s-10 min (RFC 8863)")
        }
    }

    var usesUDP: Bool { networkTypes.contains(.udp4) || networkTypes.contains(.udp6) }
    var usesTCP: Bool { networkTypes.contains(.tcp4) || networkTypes.contains(.tcp6) }
    var usesIPv4: Bool { networkTypes.contains(.udp4) || networkTypes.contains(.tcp4) }
    var usesIPv6: Bool { networkTypes.contains(.udp6) || networkTypes.contains(.tcp6) }

    /// Whether a candidate (local or remote) passes the CandidateTypes and NetworkTypes filters
    /// (and is not IPv6 link-local).
    func allows(_ c: ICECandidate) -> Bool {
        let network: NetworkType = switch (c.transport.isTCP, c.isIPv6) {
        case (false, false): .udp4
        case (false, true): .udp6
        case (true, false): .tcp4
        case (true, true): .tcp6
        }
        return candidateTypes.contains(c.type) && networkTypes.contains(network) && !c.isLinkLocal
    }
}
