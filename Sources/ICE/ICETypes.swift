/// ICE candidate types (RFC 8445 §5.1.1).
public enum CandidateType: String, Sendable, CaseIterable {
    case host, srflx, prflx, relay
}

/// The transport of a candidate: UDP, or one of the RFC 6544 TCP kinds.
public enum CandidateTransport: String, Sendable {
    case udp, tcpActive = "tcp-active", tcpPassive = "tcp-passive", tcpSimultaneousOpen = "tcp-so"
    public var isTCP: Bool { self != .udp }
}

/// A network type as named in `[ICE] NetworkTypes`.
public enum NetworkType: String, Sendable, CaseIterable {
    case udp4, udp6, tcp4, tcp6
}

/// An ICE username fragment and password (RFC 8445 §5.3: ice-char, 4+ and 22+ characters, at most 256).
public struct ICECredentials: Sendable, Equatable {
    public var ufrag: String
    public var pwd: String

    public init(ufrag: String, pwd: String) throws {
        for (name, value, minimum) in [("ufrag", ufrag, 4), ("pwd", pwd, 22)] {
            guard (minimum...256).contains(value.utf8.count),
                  value.utf8.allSatisfy(Self.isIceChar) else {
                throw ICEError.invalidCredentials("ICE \(name) must be \(minimum)-256 characters of [A-Za-z0-9+/]")
            }
        }
        self.ufrag = ufrag
        self.pwd = pwd
    }

    private static func isIceChar(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2b || c == 0x2f
    }
}

/// A candidate as libnice sees it, with its SDP attribute value (`candidate:...`, no `a=`, no line ending).
public struct ICECandidate: Sendable, Equatable {
    public var sdp: String
    public var type: CandidateType
    public var transport: CandidateTransport
    public var address: String
    public var port: UInt16
    /// The local socket address the candidate is sent from (equal to `address` for host candidates).
    public var baseAddress: String
    public var basePort: UInt16
    public var isIPv6: Bool { address.contains(":") }
    /// IPv6 link-local: unusable without a scope, which candidates do not carry.
    public var isLinkLocal: Bool { address.lowercased().hasPrefix("fe80:") }
}

/// The pair ICE selected for data: what the data path needs to know.
public struct SelectedPair: Sendable, Equatable {
    public var local: ICECandidate
    public var remote: ICECandidate
    public var isRelayed: Bool { local.type == .relay || remote.type == .relay }
    /// Whether the kernel can redirect this pair: a direct UDP pair whose local socket is `local.baseAddress:basePort`.
    public var isDirectUDP: Bool { !isRelayed && local.transport == .udp }
}

/// The state of the agent's single component.
public enum ICEState: String, Sendable {
    case disconnected, gathering, checking, connected, ready, failed
}

/// Which side controls nomination. Decided without negotiation from the two WireGuard public keys:
/// the peer whose key is lexicographically greater (as unsigned bytes) is controlling.
public enum ICERole: Sendable, Equatable {
    case controlling, controlled

    public init(localPublicKey: [UInt8], remotePublicKey: [UInt8]) throws {
        guard localPublicKey.count == 32, remotePublicKey.count == 32 else {
            throw ICEError.invalidConfiguration("WireGuard public keys must be 32 bytes")
        }
        guard localPublicKey != remotePublicKey else {
            throw ICEError.invalidConfiguration("local and remote WireGuard public keys are identical")
        }
        self = localPublicKey.lexicographicallyPrecedes(remotePublicKey) ? .controlled : .controlling
    }
}

/// What an agent reports, in order, on its `events` stream.
public enum ICEEvent: Sendable, Equatable {
    /// A local candidate to send to the peer (trickle: as soon as it is gathered).
    case localCandidate(ICECandidate)
    /// All local candidates were emitted (end-of-candidates).
    case gatheringDone
    case stateChanged(ICEState)
    case selectedPairChanged(SelectedPair)
    /// The peer stopped answering consent checks (RFC 7675) on a connected pair.
    case consentLost
    /// The agent has new local credentials: send them to the peer, then the local candidates that follow.
    /// `answering`: the agent restarted because the peer's credentials changed; the peer must not restart
    /// again on these (`ICEAgent.setRemoteCredentials(_:answer:)`), or two agents that each follow the
    /// other would restart each other forever.
    case restarted(ICECredentials, answering: Bool)
}

public enum ICEError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidCredentials(String)
    case invalidCandidate(String)
    case tooManyCandidates(Int)
    case closed
    case libnice(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m), .invalidCredentials(let m), .invalidCandidate(let m), .libnice(let m): m
        case .tooManyCandidates(let n): "too many remote candidates (libnice accepts at most \(n))"
        case .closed: "the ICE agent is closed"
        }
    }
}
