import Foundation
import GRPCCore
import NIOCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Signaling

/// A grpc:// or grpcs:// listener serving wgice.signal.v1.Signal/Connect.
enum GRPCListener {
    static func make(_ listener: ServerConfig.Listener, config: ServerConfig, switchboard: Switchboard,
                     accepted: AcceptedConnection, logger: Logger, onBound: @escaping @Sendable (String) -> Void) -> any Service {
        let address: GRPCNIOTransportCore.SocketAddress = listener.host.contains(":")
            ? .ipv6(host: listener.host, port: listener.port) : .ipv4(host: listener.host, port: listener.port)
        let security: HTTP2ServerTransport.Posix.TransportSecurity = listener.secure
            ? .tls(certificateChain: [.file(path: config.tlsCertificate!, format: .pem)],
                   privateKey: .file(path: config.tlsKey!, format: .pem))
            : .plaintext
        let transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: security,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = config.maxMessageSize
                $0.connection.maxIdleTime = config.idleTimeout
                $0.channelDebuggingCallbacks.onBindTCPListener = { channel in
                    channel.eventLoop.makeCompletedFuture { try AcceptPause.install(on: channel, logger: logger) }
                }
                $0.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try accepted.setUp(channel, request: .http2Stream)
                    }
                }
                $0.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
                    guard let connection = stream.parent else { return stream.eventLoop.makeSucceededVoidFuture() }
                    return connection.pipeline.handler(type: FirstRequestDeadline.self).map { $0.met() }.recover { _ in }
                }
            })
        let server = GRPCServer(transport: transport, services: [SignalService(switchboard: switchboard, addresses: accepted.addresses, config: config, logger: logger)])
        return GRPCService(server: server, transport: transport, listener: listener, onBound: onBound)
    }

    private struct SignalService: Wgice_Signal_V1_Signal.SimpleServiceProtocol {
        let switchboard: Switchboard
        let addresses: AddressCounter
        let config: ServerConfig
        let logger: Logger

        func connect(request: RPCAsyncSequence<ClientFrame, any Error>, response: RPCWriter<ServerFrame>,
                     context: ServerContext) async throws {
            // A connection accepted over its address's limit only to hear why (counted and logged then): the
            // refusal of a session over it, SERVER_FULL instead of the challenge.
            if addresses.isOverLimit(context.remotePeer + " " + context.localPeer) {
                try? await response.write(.error(.serverFull, Switchboard.Refusal.perAddress.message))
                return
            }
            let session = ServerSession(router: switchboard, config: config, transport: "grpc", peer: context.remotePeer,
                                        source: SourceAddress.key(remotePeer: context.remotePeer), budget: FrameBudget(config), logger: logger)
            await session.run(inbound: request) { try await response.write($0) }
        }
    }

    /// Runs a GRPCServer as a ServiceLifecycle service, reporting the bound address once listening.
    private struct GRPCService: Service {
        let server: GRPCServer<HTTP2ServerTransport.Posix>
        let transport: HTTP2ServerTransport.Posix
        let listener: ServerConfig.Listener
        let onBound: @Sendable (String) -> Void

        func run() async throws {
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await server.serve() }
                    let address = try await transport.listeningAddress
                    var bound = listener
                    bound.port = address.ipv4?.port ?? address.ipv6?.port ?? listener.port
                    onBound("\(bound)")
                }
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        }
    }
}
