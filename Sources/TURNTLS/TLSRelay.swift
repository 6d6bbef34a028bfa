import Blocking
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// TURN over TLS for libnice, which in RFC 5245 mode would quietly speak plain TCP to a `turns:` server: a
/// TCP listener on 127.0.0.1 whose every connection is carried over a TLS connection of its own to the TURN
/// server, so libnice can be given `turn:127.0.0.1:PORT?transport=tcp`.
///
/// The server certificate is verified against the system trust store, or only against `caFile` (the
/// signaling client's rule: `SSL_CERT_FILE`), for the host as written (SNI and name check; an IP literal is
/// checked against the certificate's IP addresses). Nothing is read from libnice's connection before the
/// handshake succeeded, so nothing can reach the server in plain text; a failed handshake closes libnice's
/// connection (its allocation fails: no relay candidate from this server) and is logged with the reason.
/// Bytes are moved by NIO's event loops, never on Swift's cooperative pool; each direction stops reading
/// while the other side's socket is full (NIO's write-buffer water marks), so memory per connection is bounded.
public final class TLSRelay: Sendable {
    /// The listener's port on 127.0.0.1.
    public let port: UInt16
    /// `host:port` of the TURN server, for logs.
    public let server: String
    private let listener: any Channel
    private let connections: Connections

    /// More connections than any set of agents makes (one per local address per agent): the rest are refused.
    public static let maximumConnections = 512
    static let connectTimeout: TimeAmount = .seconds(10)
    static let handshakeTimeout: TimeAmount = .seconds(10)

    /// Loads the trust roots (blocking file reads, off the cooperative pool) and starts listening.
    public static func start(host: String, port: UInt16, caFile: String?, logger: Logger) async throws -> TLSRelay {
        let context = try await Blocking.run {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let caFile { configuration.trustRoots = .file(caFile) }
            return try NIOSSLContext(configuration: configuration)
        }
        let server = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let upstream = Upstream(host: host, port: Int(port), serverName: isIPLiteral(host) ? nil : host,
                                context: context, trust: caFile ?? "the system trust store", server: server, logger: logger)
        let connections = Connections()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            // Not a byte is read from libnice before the TLS connection is up (HandshakeGate turns reading on).
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { local in
                guard connections.add(local) else {
                    logger.warning("turns:\(server): \(maximumConnections) connections open; refusing another")
                    return local.close()
                }
                upstream.connect(for: local)
                return local.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let bound = listener.localAddress?.port else {
            try? await listener.close()
            throw TLSRelayError.noPort
        }
        logger.debug("turns:\(server): local relay on 127.0.0.1:\(bound), trusting \(caFile ?? "the system trust store")")
        return TLSRelay(port: UInt16(bound), server: server, listener: listener, connections: connections)
    }

    private init(port: UInt16, server: String, listener: any Channel, connections: Connections) {
        self.port = port
        self.server = server
        self.listener = listener
        self.connections = connections
    }

    /// Stops listening and closes every connection (each closes its TLS connection with it). Idempotent.
    public func close() async {
        try? await listener.close()
        for channel in connections.closeAll() { try? await channel.close() }
    }
}

public enum TLSRelayError: Error, CustomStringConvertible {
    case noPort
    public var description: String { "the local TLS relay got no port on 127.0.0.1" }
}

/// The live connections from libnice, so that `close` can end them.
private final class Connections: Sendable {
    private let open = Mutex<(channels: [ObjectIdentifier: any Channel], closed: Bool)>(([:], false))

    func add(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let added = open.withLock { state in
            guard !state.closed, state.channels.count < TLSRelay.maximumConnections else { return false }
            state.channels[id] = channel
            return true
        }
        if added { channel.closeFuture.whenComplete { [self] _ in _ = open.withLock { $0.channels.removeValue(forKey: id) } } }
        return added
    }

    func closeAll() -> [any Channel] {
        open.withLock { state in
            state.closed = true
            defer { state.channels = [:] }
            return Array(state.channels.values)
        }
    }
}

private func isIPLiteral(_ host: String) -> Bool {
    (try? SocketAddress(ipAddress: host, port: 0)) != nil
}
