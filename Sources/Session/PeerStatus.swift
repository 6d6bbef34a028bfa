/// One peer as `wg-ice-hook status` shows it.
public struct PeerStatus: Codable, Sendable, Equatable {
    public struct Pair: Codable, Sendable, Equatable {
        public var localType: String
        public var remoteType: String
        public var transport: String
        public var local: String
        public var remote: String
    }

    /// A port mapping: how it was made, the router's external address and port, the seconds its lease has left
    /// (nil: a UPnP router that grants only permanent mappings, which the session refreshes and deletes itself).
    public struct Mapping: Codable, Sendable, Equatable {
        public var method: String
        public var external: String
        public var internalPort: UInt16
        public var leaseLeft: Int64?
    }

    public var publicKey: String
    /// The agent's state; "starting" before the first agent exists, "failed-to-start" while its creation is
    /// retried (see `error`), "regathering" while a new agent replaces one after a network change.
    public var iceState: String
    public var selectedPair: Pair?
    /// "kernel" or "userspace"; absent before a pair is selected.
    public var dataPath: String?
    /// The home router's mapping of the agent's port, while one is held.
    public var portMapping: Mapping?
    /// WireGuard's current endpoint for the peer, read from the interface.
    public var endpoint: String?
    /// Unix seconds of the latest handshake, read from the interface.
    public var lastHandshake: Int64?
    public var restarts: Int
    /// Why the latest agent creation failed (e.g. a STUN/TURN host that does not resolve); absent once one succeeds.
    public var error: String?
}

/// One interface's session.
public struct InterfaceStatus: Codable, Sendable, Equatable {
    public var interface: String
    public var publicKey: String
    public var listenPort: UInt16
    public var signaling: [String: Bool]
    /// Where new agents' STUN/TURN servers come from: the file's URLs, a signaling server, or none yet
    /// (`ICEServerSource`); with the TURN credentials' expiry (Unix seconds) when a signaling server minted them.
    public var iceServers: String?
    public var turnCredentialsExpire: Int64?
    public var peers: [PeerStatus]
}
