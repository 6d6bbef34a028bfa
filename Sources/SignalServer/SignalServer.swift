import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Signaling

/// wg-ice-signal: every listener shares one Switchboard, so clients on WebSocket and gRPC reach each other.
public struct SignalServer: Sendable {
    public let config: ServerConfig
    public let logger: Logger

    public init(config: ServerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT, then tells clients it is going away and stops.
    /// `onBound` gets each listener's URL with its actual port once it accepts connections.
    public func run(onBound: @escaping @Sendable (String) -> Void) async throws {
        try config.validate()
        let switchboard = Switchboard(config: config)
        let tls: TLSConfiguration? = try config.tlsCertificate.map { cert in
            TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: config.tlsKey!, format: .pem)))
        }
        var services: [any Service] = []
        for listener in config.listeners {
            if listener.isWebSocket {
                services.append(try WebSocketListener.make(listener, config: config, switchboard: switchboard,
                                                           tls: listener.secure ? tls : nil, logger: logger, onBound: onBound))
            } else {
                services.append(GRPCListener.make(listener, config: config, switchboard: switchboard, logger: logger, onBound: onBound))
            }
        }
        // ServiceGroup stops services in reverse order, one after another: the janitor goes first so that
        // sessions are ended before the listeners wait for them.
        services.append(Janitor(switchboard: switchboard, interval: config.holdTTL))
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Expires held envelopes, and on graceful shutdown ends every session (listeners would otherwise
    /// wait for long-lived WebSocket and gRPC streams to finish by themselves).
    private struct Janitor: Service {
        let switchboard: Switchboard
        let interval: Duration

        func run() async throws {
            await withGracefulShutdownHandler {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    await switchboard.purgeExpired()
                }
            } onGracefulShutdown: {
                Task { await switchboard.shutdown() }
            }
        }
    }
}
