import Foundation
import Logging
import NIOCore
import NIOSSL
import WSClient

/// `ws://HOST[:PORT]` and `wss://HOST[:PORT]`: one binary WebSocket message per protobuf frame,
/// on path /v1/signal.
struct WebSocketTransport: FrameTransport {
    let kind = "ws"
    let url: String
    let authority: String
    let tls: TLSConfiguration?
    let logger: Logger

    init(url: URL, options: SignalingOptions) throws {
        guard let host = url.host, !host.isEmpty else { throw SignalingError.badURL(url.absoluteString) }
        let secure = url.scheme == "wss"
        authority = url.port.map { "\(host):\($0)" } ?? host
        self.url = "\(secure ? "wss" : "ws")://\(authority)\(SignalProtocol.webSocketPath)"
        if secure {
            var config = TLSConfiguration.makeClientConfiguration()
            if let ca = options.caFile { config.trustRoots = .file(ca) }
            tls = config
        } else {
            tls = nil
        }
        logger = options.logger
    }

    func connect(_ session: some FrameSession) async throws {
        var config = WebSocketClientConfiguration()
        config.maxFrameSize = 1 << 20
        try await WebSocketClient.connect(url: url, configuration: config, tlsConfiguration: tls, logger: logger) {
            inbound, outbound, _ in
            let frames = inbound.messages(maxSize: 1 << 20).map { @Sendable message throws -> ServerFrame in
                guard case .binary(let buffer) = message else { throw SignalingError.protocolViolation("text WebSocket message") }
                return try ServerFrame(serializedBytes: Array(buffer: buffer))
            }
            try await session.run(inbound: frames) { frame in
                try await outbound.write(.binary(ByteBuffer(bytes: try frame.serializedBytes() as [UInt8])))
            }
        }
    }
}
