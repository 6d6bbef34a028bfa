import Keys

/// The state of one WireGuard interface as either implementation reports it.
public struct Device: Equatable, Sendable {
    public var name: String
    public var privateKey: PrivateKey?
    public var publicKey: Key?
    public var listenPort: UInt16
    public var fwmark: UInt32
    public var peers: [Peer]

    public init(name: String, privateKey: PrivateKey? = nil, publicKey: Key? = nil, listenPort: UInt16 = 0,
                fwmark: UInt32 = 0, peers: [Peer] = []) {
        self.name = name
        self.privateKey = privateKey
        self.publicKey = publicKey
        self.listenPort = listenPort
        self.fwmark = fwmark
        self.peers = peers
    }

    public func peer(_ publicKey: Key) -> Peer? { peers.first { $0.publicKey == publicKey } }
}

public struct Peer: Equatable, Sendable {
    public var publicKey: Key
    public var presharedKey: Key?
    public var endpoint: Endpoint?
    public var persistentKeepalive: UInt16
    public var allowedIPs: [AllowedIP]
    /// Seconds and nanoseconds since the Unix epoch; nil when no handshake has completed.
    public var lastHandshake: Timestamp?
    public var rxBytes: UInt64
    public var txBytes: UInt64

    public init(publicKey: Key, presharedKey: Key? = nil, endpoint: Endpoint? = nil, persistentKeepalive: UInt16 = 0,
                allowedIPs: [AllowedIP] = [], lastHandshake: Timestamp? = nil, rxBytes: UInt64 = 0, txBytes: UInt64 = 0) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.persistentKeepalive = persistentKeepalive
        self.allowedIPs = allowedIPs
        self.lastHandshake = lastHandshake
        self.rxBytes = rxBytes
        self.txBytes = txBytes
    }
}

public struct Timestamp: Hashable, Sendable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

// Keys other than public ones stay out of logs and string interpolation.
extension Device: CustomStringConvertible {
    public var description: String {
        "Device(\(name), public key \(publicKey.map(\.base64) ?? "none"), private key \(privateKey == nil ? "none" : "(hidden)"), "
            + "listen port \(listenPort), fwmark \(fwmark), \(peers.count) peers)"
    }
}

extension Peer: CustomStringConvertible {
    public var description: String {
        "Peer(\(publicKey), preshared key \(presharedKey == nil ? "none" : "(hidden)"), endpoint \(endpoint.map(String.init(describing:)) ?? "none"), "
            + "keepalive \(persistentKeepalive), allowed IPs \(allowedIPs.map(\.description).joined(separator: ","))"
            + ", rx \(rxBytes), tx \(txBytes))"
    }
}
