import Keys
import ConfParser
import ICE
import PortMapping
import WireGuard

/// What a session takes from the configuration file, converted to the types of the modules that use it.
/// The file is only the source of ICE settings; keys and peers come from the interface itself.
public struct SessionSettings: Sendable {
    public var ice: ICEConfiguration
    /// Comma-separated signaling URLs, as `makeSignalingBackend(urls:key:)` takes them.
    public var signalingURLs: String
    public var peers: PeerFilter
    public var proxy: ProxyMode
    /// `PortMapping =`: how each agent's UDP port is mapped on the home router; empty: not at all.
    public var portMapping: Set<PortMappingMethod>
    /// `HandshakeTimeout`: a managed peer whose last handshake is older than this while WireGuard keeps
    /// sending and hears nothing back has a dead path.
    public var handshakeTimeout: Duration
    /// `User =`: the account the session drops privileges to after setup; nil: the default account.
    public var user: String?
    /// `Interfaces` unset: besides this interface, ICE leaves out every other WireGuard interface, as found
    /// when each agent is made (`gatheringConfiguration()`).
    public var avoidsWireGuardInterfaces: Bool

    /// Throws `SessionError.configuration` for settings the file parser accepts but a session cannot use.
    public init(_ configuration: Configuration, interface: String) throws {
        let s = configuration.ice
        guard !s.signaling.isEmpty else { throw SessionError.configuration("[ICE] has no Signaling URL") }
        signalingURLs = s.signaling.map(\.description).joined(separator: ",")
        // The WireGuard interface's own addresses would make candidates that tunnel WireGuard through itself.
        let interfaces = s.interfaces.isEmpty ? ["!\(interface)"] : s.interfaces.map(\.description)
        avoidsWireGuardInterfaces = s.interfaces.isEmpty
        do {
            ice = try ICEConfiguration(
                servers: s.servers.map(ICEServer.init), username: s.username, password: s.password,
                candidateTypes: Set(s.candidateTypes.compactMap { ICECandidateKind(rawValue: $0.rawValue) }),
                networkTypes: Set(s.networkTypes.compactMap { ICENetworkKind(rawValue: $0.rawValue) }),
                interfaces: interfaces, portRange: s.portRange.map { $0.lower...$0.upper },
                checkInterval: s.checkInterval, failedTimeout: s.failedTimeout)
        } catch {
            throw SessionError.configuration("[ICE]: \(error)")
        }
        switch s.peers {
        case .auto:
            let fixed = configuration.peers.filter { $0.endpoint != nil }.map(\.publicKey)
            peers = .withoutStaticEndpoint(Set(fixed))
        case .all: peers = .all
        case .keys(let keys): peers = .only(Set(keys))
        }
        proxy = s.proxy
        // Exhaustive, not by raw value: a protocol `check` accepts can never be dropped here without a compile error.
        portMapping = Set(s.portMapping.map { method -> PortMappingMethod in
            switch method {
            case .pcp: .pcp
            case .natpmp: .natpmp
            case .upnp: .upnp
            }
        })
        handshakeTimeout = s.handshakeTimeout
        user = s.user
    }
}

/// `Peers =`: which of the interface's peers get an ICE agent.
public enum PeerFilter: Sendable, Equatable {
    /// `auto`: every peer except those the file gives a static Endpoint.
    case withoutStaticEndpoint(Set<Key>)
    case all
    case only(Set<Key>)

    func selects(_ key: Key) -> Bool {
        switch self {
        case .withoutStaticEndpoint(let fixed): !fixed.contains(key)
        case .all: true
        case .only(let keys): keys.contains(key)
        }
    }
}

public enum SessionError: Error, CustomStringConvertible {
    case configuration(String)
    case interface(String)

    public var description: String {
        switch self {
        case .configuration(let m), .interface(let m): m
        }
    }
}

extension SessionSettings {
    /// The ICE configuration for a new agent. Other WireGuard interfaces give candidates through another tunnel
    /// (which goes away with it), and on a hub with many tunnels so many that the peer's agent drops the useful
    /// ones (libnice keeps 25 remote candidates per component). Reads the interface list: blocking.
    func gatheringConfiguration() -> ICEConfiguration {
        guard avoidsWireGuardInterfaces else { return ice }
        var ice = ice
        ice.interfaces += WireGuard.interfaceNames().sorted().map { "!\($0)" }
        return ice
    }
}
