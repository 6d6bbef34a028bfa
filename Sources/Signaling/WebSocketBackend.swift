import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceURLs
@_spi(WSInternal) import WSCore

/// `ws://HOST[:PORT][/PATH][?QUERY]` and `wss://…`: one binary WebSocket message per protobuf frame, on the
/// path and query as written (`/v1/signal` when the URL has none), so a reverse proxy's location is reached.
///
/// The upgrade is made here rather than by WSClient, whose URL parser cannot carry an IPv6 literal and which
/// sends an IP literal as TLS SNI; the frames are then run by WSCore's handler, the same one WSClient uses.
struct WebSocketTransport: FrameTransport {
    let kind = "ws"
    let url: String
    let authority: String
    private let host: String
    private let port: Int
    private let target: String
    /// SNI and the name the certificate must carry; nil for IP literals (checked against the address).
    private let serverName: String?
    private let tls: TLSConfiguration?
    private let logger: Logger

    init(url: SignalingURL, options: SignalingOptions) throws {
        guard let host = url.host, let port = url.port else { throw SignalingError.badURL("\(url): no host") }
        self.host = host.description
        self.port = Int(port)
        authority = url.authority
        target = Self.requestTarget(url.path)
        if case .name(let name) = host { serverName = name } else { serverName = nil }
        self.url = "\(url.scheme)://\(authority)\(target)"
        if url.isSecure {
            var config = TLSConfiguration.makeClientConfiguration()
            if let ca = options.caFile { config.trustRoots = .file(ca) }
            tls = config
        } else {
            tls = nil
        }
        logger = options.logger
    }

    /// The path and query as written; `/v1/signal` for an empty path or `/`, which are the same URL.
    static func requestTarget(_ written: String) -> String {
        if written.isEmpty || written == "/" { return SignalProtocol.webSocketPath }
        return written.hasPrefix("?") ? SignalProtocol.webSocketPath + written : written
    }

    private enum Upgrade: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    private struct Context: WebSocketContext {
        let logger: Logger
    }

    func connect(_ session: some FrameSession) async throws {
        let maxSize = 1 << 20
        let ssl = try tls.map { try NIOSSLContext(configuration: $0) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: authority)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        let serverName = serverName
        let (socket, upgrade) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let ssl {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: ssl, serverHostname: serverName))
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxSize) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .upgraded(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                        }
                    }
                    let upgrading = NIOTypedHTTPClientUpgradeConfiguration(upgradeRequestHead: head, upgraders: [upgrader]) { channel in
                        channel.close().map { .refused }
                    }
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrading)
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return (channel, try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline))
                }
            }
        // A server that accepts and never answers the upgrade would hold the attempt: cancelling closes the socket.
        let upgraded = try await withTaskCancellationHandler {
            try await upgrade.get()
        } onCancel: {
            socket.close(promise: nil)
        }
        guard case .upgraded(let channel) = upgraded else {
            throw SignalingError.protocolViolation("\(url): the server answered the WebSocket upgrade with an HTTP error (wrong path?)")
        }
        let configuration = WebSocketHandler.Configuration(extensions: [], autoPing: .disabled, validateUTF8: false, maxFrameSize: maxSize)
        try await WebSocketHandler.handle(type: .client, configuration: configuration, asyncChannel: channel,
                                          context: Context(logger: logger)) { inbound, outbound, _ in
            let frames = inbound.messages(maxSize: maxSize).map { @Sendable message throws -> ServerFrame in
                guard case .binary(let buffer) = message else { throw SignalingError.protocolViolation("text WebSocket message") }
                return try ServerFrame(serializedBytes: Array(buffer: buffer))
            }
            try await session.run(inbound: frames) { frame in
                try await outbound.write(.binary(ByteBuffer(bytes: try frame.serializedBytes() as [UInt8])))
            }
        }
    }
}
