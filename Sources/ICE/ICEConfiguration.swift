import CNice
import Foundation

/// A STUN or TURN server from `[ICE] URLs` (RFC 7064/7065), with its host as written. The URL itself is parsed
/// once, by ConfParser (`ICEServerURL`), for `check` and `up` alike; the session makes this from it.
public struct ICEServer: Sendable, Hashable {
    /// `turnTLS` (`turns:`) never reaches libnice, which would quietly speak plain TCP to it in RFC 5245 mode:
    /// the session carries it through a `TURNTLS` relay and gives libnice that relay as a `turnTCP` server
    /// (`relayingTLS(through:)`).
    public enum Kind: Sendable, Hashable { case stun, turnUDP, turnTCP, turnTLS }
    public var kind: Kind
    public var host: String
    public var port: UInt16

    public init(kind: Kind, host: String, port: UInt16) {
        self.kind = kind
        self.host = host
        self.port = port
    }

    /// libnice's relay type; a `turns:` server must have been replaced by its local relay.
    func niceRelayType() throws -> NiceRelayType {
        switch kind {
        case .turnUDP: return NICE_RELAY_TYPE_TURN_UDP
        case .turnTCP: return NICE_RELAY_TYPE_TURN_TCP
        case .stun, .turnTLS:
            throw ICEError.invalidConfiguration("turns:\(host):\(port) reached libnice without its TLS relay (libnice would use plain TCP)")
        }
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

    public init(servers: [ICEServer] = [], username: String? = nil, password: String? = nil,
                candidateTypes: Set<CandidateType> = Set(CandidateType.allCases),
                networkTypes: Set<NetworkType> = Set(NetworkType.allCases),
                interfaces: [String] = [], portRange: ClosedRange<UInt16>? = nil,
                checkInterval: Duration = .milliseconds(20), failedTimeout: Duration = .milliseconds(39_500)) throws {
        self.servers = servers
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

    /// The `turns:` servers: each needs a local TLS relay (module `TURNTLS`) before an agent can use it.
    public var tlsServers: [ICEServer] { servers.filter { $0.kind == .turnTLS } }

    /// This configuration with each `turns:` server replaced by its local relay, `turn:127.0.0.1:PORT?transport=tcp`
    /// (`ports[server]`: the relay's listening port). libnice then speaks TURN over plain TCP to the relay,
    /// which carries it over TLS; what libnice reports (the relayed address) still comes from the TURN server.
    public func relayingTLS(through ports: [ICEServer: UInt16]) -> ICEConfiguration {
        var relayed = self
        relayed.servers = servers.map { server in
            guard server.kind == .turnTLS, let port = ports[server] else { return server }
            return ICEServer(kind: .turnTCP, host: "127.0.0.1", port: port)
        }
        return relayed
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
