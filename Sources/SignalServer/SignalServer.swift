import Blocking
import Foundation
import Logging
import NIOCore
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
        let switchboard = Switchboard(config: config, logger: logger)
        let tls: TLSConfiguration? = try config.tlsCertificate.map { cert in
            TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: config.tlsKey!, format: .pem)))
        }
        let accepted = AcceptedConnection(addresses: switchboard.addresses, deadline: TimeAmount(config.idleTimeout), logger: logger)
        var services: [any Service] = []
        for listener in config.listeners {
            if listener.isWebSocket {
                services.append(try WebSocketListener.make(listener, config: config, switchboard: switchboard,
                                                           tls: listener.secure ? tls : nil, accepted: accepted, logger: logger, onBound: onBound))
            } else {
                services.append(GRPCListener.make(listener, config: config, switchboard: switchboard, accepted: accepted, logger: logger, onBound: onBound))
            }
        }
        // ServiceGroup stops services in reverse order, one after another: the janitor goes first so that
        // sessions are ended before the listeners wait for them.
        services.append(Janitor(switchboard: switchboard, holdTTL: config.holdTTL))
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Frees held envelopes as they expire, hands memory of closed sessions back (`HeapTrim`), logs the refusals
    /// at accept counted but not yet logged (`AddressRefusalLog`; a pass at least every 2 s), and on graceful
    /// shutdown ends every session (listeners would otherwise wait for long-lived WebSocket and gRPC streams to
    /// finish by themselves).
    private struct Janitor: Service {
        let switchboard: Switchboard
        let holdTTL: Duration
        /// How soon after a burst of closes their memory is returned, at most.
        static let trimCheck = Duration.seconds(2)

        func run() async throws {
            await withGracefulShutdownHandler {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    // Every envelope is held for the same time, so one held after this purge expires after
                    // `holdTTL` from now: never sleeping longer than that, the janitor misses no expiry. At
                    // least 20 ms apart, so that a stream of holds does not wake it for each envelope.
                    let next = await switchboard.purgeExpired()
                    switchboard.addresses.reportRefusals()
                    if await switchboard.trimDue() {
                        // A pass over the whole heap: not on the cooperative pool, where sessions run.
                        await Blocking.run { HeapTrim.trim() }
                    }
                    let now = ContinuousClock.now
                    let latest = now + min(holdTTL, Self.trimCheck)
                    let wake = max(min(next ?? latest, latest), now + .milliseconds(20))
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) }
                }
            } onGracefulShutdown: {
                Task { await switchboard.shutdown() }
            }
        }
    }
}
