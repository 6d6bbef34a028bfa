import Foundation
import Signaling

/// Everything wg-ice-signal can be told on its command line.
public struct ServerConfig: Sendable {
    public enum Scheme: String, Sendable { case ws, wss, grpc, grpcs }

    public struct Listener: Sendable, CustomStringConvertible {
        public var scheme: Scheme
        public var host: String
        public var port: Int
        public var secure: Bool { scheme == .wss || scheme == .grpcs }
        public var isWebSocket: Bool { scheme == .ws || scheme == .wss }
        public var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

        /// Parses `SCHEME://HOST:PORT`; IPv6 hosts in brackets; port 0 picks a free port.
        public init(_ string: String) throws {
            guard let url = URL(string: string), let raw = url.scheme, let scheme = Scheme(rawValue: raw.lowercased()),
                  let host = url.host, let port = url.port, (0...65535).contains(port), url.path.isEmpty || url.path == "/"
            else { throw ConfigError("--listen \(string): expected ws|wss|grpc|grpcs://HOST:PORT") }
            self.scheme = scheme
            self.host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            self.port = port
        }
    }

    public var listeners: [Listener] = []
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Names clients may have dialled (bound into their auth proof); empty accepts any.
    public var authorities: Set<String> = []
    /// HTTP paths that upgrade to the WebSocket endpoint: /v1/signal, plus the `--path` a reverse proxy forwards.
    public var webSocketPaths: Set<String> = [SignalProtocol.webSocketPath]
    public var maxMessageSize = SignalProtocol.defaultMaxMessageSize
    public var maxConnections = 4096
    /// TCP connections and sessions from one source address (IPv6: one /64), and of those sessions how many
    /// may be unauthenticated at once.
    public var maxConnectionsPerAddress = 256
    public var maxUnauthenticatedPerAddress = 32
    /// Frames per second per connection (token bucket refill) and the bucket size.
    public var rate: Double = 50
    public var burst: Double = 100
    public var authTimeout: Duration = .seconds(10)
    /// A connection that has not finished its HTTP request (WebSocket) or has no call open (gRPC) for this
    /// long is closed: idle or half-sent connections cannot hold the server's descriptors.
    public var idleTimeout: Duration = .seconds(10)
    /// Envelopes kept per offline recipient, for how long, and for how many recipients at most.
    public var holdPerKey = 32
    public var holdTTL: Duration = .seconds(30)
    public var holdKeys = 10000
    /// Bytes of envelopes held for all offline recipients together.
    public var holdBytes = 64 << 20
    /// Frames queued towards one connection before deliveries to it count as failed.
    public var outboxCapacity = 256
    /// Sessions closed before freed memory is handed back to the system (`HeapTrim`).
    public var trimAfterCloses = 1000
    /// STUN/TURN servers and minted TURN credentials for authenticated sessions that ask (`--ice-server`).
    public var iceServers: ICEServerOffer?

    public init() {}

    public func validate() throws {
        guard !listeners.isEmpty else { throw ConfigError("no --listen given") }
        if listeners.contains(where: \.secure), tlsCertificate == nil || tlsKey == nil {
            throw ConfigError("wss:// and grpcs:// listeners need --tls-cert and --tls-key")
        }
        for path in webSocketPaths where !Self.isRequestPath(path) {
            throw ConfigError("--path \(path): expected an absolute URL path (/NAME), without query")
        }
        for path in [tlsCertificate, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigError("\(path): not readable")
        }
        guard idleTimeout > .zero, maxMessageSize >= 1024, maxConnections > 0, maxConnectionsPerAddress > 0, maxUnauthenticatedPerAddress > 0,
              holdBytes >= 0, rate > 0, burst >= 1, holdPerKey >= 0, holdKeys >= 0, outboxCapacity > 0, trimAfterCloses > 0 else {
            throw ConfigError("limits must be positive (message size at least 1024)")
        }
        try iceServers?.validate()
    }
}

extension ServerConfig {
    /// `/…` in printable ASCII without `?` or `#`: what the path of a request (its query aside) can equal.
    static func isRequestPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
