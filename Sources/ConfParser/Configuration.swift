import Addresses
import Keys
import ServiceURLs

/// A parsed wg-quick file with its wg-ice settings. Every field has the default that applies when
/// the file does not set it; wg-ice.conf(5) documents them.
public struct Configuration: Sendable, Equatable {
    public var interface = InterfaceSection()
    public var peers: [PeerSection] = []
    public var ice = ICESettings()
    /// True when the file has an `[ICE]` section or a commented `#[ICE]` block (even an empty one).
    public var hasICESettings = false

    public init() {}
}

/// `[Interface]`: what `wg setconf` applies plus the keys only wg-quick reads.
public struct InterfaceSection: Sendable, Equatable {
    /// Absent: the interface keeps the key it has.
    public var privateKey: PrivateKey?
    /// Absent: WireGuard picks a random port.
    public var listenPort: UInt16?
    /// Absent: unchanged; 0 (`off`) clears it.
    public var fwMark: UInt32?

    // wg-quick only.
    public var addresses: [IPNetwork] = []
    /// DNS servers (IP addresses) and search domains (anything else), as wg-quick splits them.
    public var dnsServers: [IPAddress] = []
    public var dnsSearch: [String] = []
    /// Absent: wg-quick computes it from the route to the endpoints (minus 80).
    public var mtu: Int?
    public var table: RoutingTable = .auto
    public var preUp: [String] = []
    public var postUp: [String] = []
    public var preDown: [String] = []
    public var postDown: [String] = []
    public var saveConfig = false

    public init() {}
}

/// wg-quick's `Table`.
public enum RoutingTable: Sendable, Hashable, CustomStringConvertible {
    /// Add routes for AllowedIPs to the main table, or a policy-routed table for default routes.
    case auto
    /// Add no routes.
    case off
    case number(UInt32)
    /// A name from /etc/iproute2/rt_tables.
    case name(String)

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .off: return "off"
        case .number(let n): return String(n)
        case .name(let name): return name
        }
    }
}

/// One `[Peer]`.
public struct PeerSection: Sendable, Equatable {
    public var publicKey: Key
    public var presharedKey: Key?
    public var allowedIPs: [IPNetwork] = []
    /// Absent: learned from the peer's traffic, or from ICE when wg-ice manages the peer.
    public var endpoint: Endpoint?
    /// Seconds; 0 is `off` (the default).
    public var persistentKeepalive: UInt16 = 0
    /// Line of the `[Peer]` header.
    public var line: Int

    public init(publicKey: Key, line: Int) {
        self.publicKey = publicKey
        self.line = line
    }
}

/// The `[ICE]` settings (identical in the literal section and the commented `#[ICE]` block).
public struct ICESettings: Sendable, Equatable {
    /// Signaling backends; candidates are published to and read from all of them.
    public var signaling: [SignalingURL] = []
    /// STUN/TURN servers (`URLs`).
    public var servers: [ICEServerURL] = []
    /// TURN long-term credentials, used for every turn:/turns: server.
    public var username: String?
    public var password: String?
    public var candidateTypes: Set<CandidateType> = Set(CandidateType.allCases)
    public var networkTypes: Set<NetworkType> = Set(NetworkType.allCases)
    /// Empty: every interface except the WireGuard interface itself.
    public var interfaces: [InterfacePattern] = []
    /// Absent: ephemeral ports.
    public var portRange: PortRange?
    public var peers: PeerSelection = .auto
    public var proxy: ProxyMode = .auto
    /// How the session asks the home router to map each agent's UDP port; empty: `PortMapping = off`.
    public var portMapping: Set<MappingProtocol> = Set(MappingProtocol.allCases)
    /// Pacing of ICE connectivity checks and gathering (libnice's Ta, `stun-pacing-timer`).
    public var checkInterval: Duration = ICETiming.defaultCheckInterval
    /// How long after checks start ICE may fail at the earliest (RFC 8863's PAC timer); a failure then
    /// makes the session start over with a new agent.
    public var failedTimeout: Duration = ICETiming.defaultFailedTimeout
    /// A WireGuard handshake older than this on an ICE-managed peer means the path is dead
    /// (WireGuard's REJECT_AFTER_TIME).
    public var handshakeTimeout: Duration = .seconds(180)
    /// Account the session drops privileges to after setup (`User =`); nil: `defaultUser`, or `fallbackUser`
    /// on a system where that account does not exist.
    public var user: String?
    /// The dedicated system account `make install` and the package create: no other process runs as it,
    /// so none can signal the session.
    public static let defaultUser = "wg-ice"
    /// Shared with other services (any of which could signal the session); used only when `defaultUser`
    /// does not exist, and the session log says so.
    public static let fallbackUser = "nobody"
    public var logLevel: LogLevel = .info

    public init() {}
}
