import Keys

/// A set of changes to apply to a device, the common subset of `wg set` / UAPI `set=1` / WG_CMD_SET_DEVICE.
/// Fields left nil are not touched.
public struct DeviceChange: Equatable, Sendable {
    /// `Key` with all zero bytes removes the private key.
    public var privateKey: PrivateKey?
    public var listenPort: UInt16?
    /// 0 removes the mark.
    public var fwmark: UInt32?
    /// Remove every peer not listed in `peers` first (WGDEVICE_F_REPLACE_PEERS / `replace_peers=true`).
    public var replacePeers: Bool
    public var peers: [PeerChange]

    public init(privateKey: PrivateKey? = nil, listenPort: UInt16? = nil, fwmark: UInt32? = nil, replacePeers: Bool = false,
                peers: [PeerChange] = []) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.fwmark = fwmark
        self.replacePeers = replacePeers
        self.peers = peers
    }

    /// The change that makes a device look like `device` (what `wg setconf` does).
    public static func replacing(with device: Device) -> DeviceChange {
        DeviceChange(privateKey: device.privateKey ?? PrivateKey(bytes: [UInt8](repeating: 0, count: Key.length))!, listenPort: device.listenPort,
                     fwmark: device.fwmark, replacePeers: true,
                     peers: device.peers.map {
                         PeerChange(publicKey: $0.publicKey, presharedKey: $0.presharedKey, endpoint: $0.endpoint,
                                    persistentKeepalive: $0.persistentKeepalive, replaceAllowedIPs: true,
                                    allowedIPs: $0.allowedIPs)
                     })
    }

    /// Sets only the endpoint of an existing peer; never creates one (the session's path switch).
    public static func endpoint(_ endpoint: Endpoint, for peer: Key) -> DeviceChange {
        DeviceChange(peers: [PeerChange(publicKey: peer, updateOnly: true, endpoint: endpoint)])
    }
}

public struct PeerChange: Equatable, Sendable {
    public var publicKey: Key
    public var remove: Bool
    /// Only change an existing peer, never create one (WGPEER_F_UPDATE_ONLY / `update_only=true`).
    public var updateOnly: Bool
    /// All-zero key removes the preshared key.
    public var presharedKey: Key?
    public var endpoint: Endpoint?
    public var persistentKeepalive: UInt16?
    public var replaceAllowedIPs: Bool
    public var allowedIPs: [AllowedIP]

    public init(publicKey: Key, remove: Bool = false, updateOnly: Bool = false, presharedKey: Key? = nil,
                endpoint: Endpoint? = nil, persistentKeepalive: UInt16? = nil, replaceAllowedIPs: Bool = false,
                allowedIPs: [AllowedIP] = []) {
        self.publicKey = publicKey
        self.remove = remove
        self.updateOnly = updateOnly
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.persistentKeepalive = persistentKeepalive
        self.replaceAllowedIPs = replaceAllowedIPs
        self.allowedIPs = allowedIPs
    }

    public static func remove(_ publicKey: Key) -> PeerChange { PeerChange(publicKey: publicKey, remove: true) }
}
