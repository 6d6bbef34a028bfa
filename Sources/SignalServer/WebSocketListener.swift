import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Signaling

/// A ws:// or wss:// listener: the signaling endpoint at /v1/signal and any `--path` (one binary message per frame),
/// plus GET /healthz and GET /metrics (Prometheus text).
enum WebSocketListener {
    static func make(_ listener: ServerConfig.Listener, config: ServerConfig, switchboard: Switchboard, tls: TLSConfiguration?,
                     accepted: AcceptedConnection, logger: Logger, onBound: @escaping @Sendable (String) -> Void) throws -> any Service {
        let http = Router()
        http.get("/healthz") { _, _ in "ok\n" }
        http.get("/metrics") { _, _ in await switchboard.prometheus() }
        let maxSize = config.maxMessageSize
        // A full server refuses WebSocket clients at the HTTP level (503 from this route) rather than by
        // upgrading, sending SERVER_FULL and closing at once: under load, swift-websocket clients were seen
        // (in ServerTests) to get neither that frame nor the close, and to hang in the upgrade.
        for path in config.webSocketPaths {
            http.get(RouterPath(path)) { _, _ in
                Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "SERVER_FULL: no capacity, retry later\n")))
            }
        }
        let idle = TimeAmount(config.idleTimeout)
        let shouldUpgrade: @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> = { request, channel, _ in
            // The query is the client's (kept as the user wrote it); the path alone selects the endpoint.
            guard let target = request.path, config.webSocketPaths.contains(String(target.prefix { $0 != "?" })) else { return .dontUpgrade }
            let peer = channel.remoteAddress.map { "\($0)" } ?? "unknown", source = SourceAddress.key(channel.remoteAddress)
            // Accepted over its address's limit only to hear why (counted and logged then, by the AddressCounter).
            if accepted.addresses.isOverLimit(AddressCounter.connectionKey(remote: channel.remoteAddress, local: channel.localAddress)) {
                await ServiceUnavailable.respond(on: channel, reason: Switchboard.Refusal.perAddress.message)
                return .dontUpgrade
            }
            if let refusal = await switchboard.refusal(source: source) {
                if let unlogged = await switchboard.refusedBeforeOpening(refusal) {
                    logger.warning("refusing connection: server full", metadata: ["peer": "\(peer)", "detail": "\(refusal.message)", "unlogged-refusals": "\(unlogged)"])
                }
                await ServiceUnavailable.respond(on: channel, reason: refusal.message)
                return .dontUpgrade
            }
            let budget = FrameBudget(config)
            let session = ServerSession(router: switchboard, config: config, transport: "ws", peer: peer, source: source,
                                        budget: budget, logger: logger)
            return .upgrade([:]) { inbound, outbound, _ in
                try? await channel.eventLoop.submit { try ControlFrameLimiter.install(on: channel, budget: budget, logger: logger) }.get()
                let frames = inbound.messages(maxSize: maxSize).map { @Sendable message throws -> ClientFrame in
                    guard case .binary(let buffer) = message else { throw SessionClose(.badFrame, "text WebSocket message") }
                    do {
                        return try ClientFrame(serializedBytes: Array(buffer: buffer))
                    } catch {
                        throw SessionClose(.badFrame, "undecodable frame (\(buffer.readableBytes) bytes)")
                    }
                }
                await session.run(inbound: frames) { frame in
                    try await outbound.write(.binary(ByteBuffer(bytes: try frame.serializedBytes() as [UInt8])))
                }
            }
        }
        let upgrade = HTTPServerBuilder { responder in
            AcceptedChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder,
                    configuration: .init(http1: .init(idleTimeout: idle), ws: .init(maxFrameSize: maxSize)),
                    shouldUpgrade: shouldUpgrade),
                accepted: accepted)
        }
        return Application(
            router: http,
            server: try tls.map { try .tls(upgrade, tlsConfiguration: $0) } ?? upgrade,
            configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: "wg-ice-signal"),
            onServerRunning: { channel in
                try? await channel.eventLoop.submit { try AcceptPause.install(on: channel, logger: logger) }.get()
                let port = channel.localAddress?.port ?? listener.port
                var bound = listener
                bound.port = port
                onBound("\(bound)")
            },
            logger: logger)
    }
}
