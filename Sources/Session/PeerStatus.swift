/// One peer as `wg-ice-hook status` shows it.
public struct PeerStatus: Codable, Sendable, Equatable {
    public struct Pair: Codable, Sendable, Equatable {
        public var localType: String
        public var remoteType: String
        public var transport: String
        public var local: String
        public var remote: String
    }

    public var publicKey: String
    public var iceState: String
    public var selectedPair: Pair?
    /// "kernel" or "userspace"; absent before a pair is selected.
    public var dataPath: String?
    /// WireGuard's current endpoint for the peer, read from the interface.
    public var endpoint: String?
    /// Unix seconds of the latest handshake, read from the interface.
    public var lastHandshake: Int64?
    public var restarts: Int
}

/// One interface's session.
public struct InterfaceStatus: Codable, Sendable, Equatable {
    public var interface: String
    public var publicKey: String
    public var listenPort: UInt16
    public var signaling: [String: Bool]
    public var peers: [PeerStatus]
}
