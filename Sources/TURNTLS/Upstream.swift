import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Opens the TLS connection that carries one of libnice's connections to the relay, on that connection's
/// event loop (so the two are joined without locks).
struct Upstream: Sendable {
    let host: String
    let port: Int
    /// SNI and the name the certificate must carry; nil for an IP literal (checked against the address).
    let serverName: String?
    let context: NIOSSLContext
    /// What the certificate is checked against, for the log.
    let trust: String
    let server: String
    let logger: Logger

    func connect(for local: any Channel) {
        let connecting = ClientBootstrap(group: local.eventLoop)
            .connectTimeout(TLSRelay.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] remote in
                remote.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                    try remote.pipeline.syncOperations.addHandler(tls)
                    try remote.pipeline.syncOperations.addHandler(HandshakeGate(local: local, upstream: self))
                }
            }
            .connect(host: host, port: port)
        connecting.whenFailure { [logger, server] error in
            logger.error("turns:\(server): cannot connect: \(error); no relay candidate through this server")
            local.close(promise: nil)
        }
        // libnice gave the connection up (or the relay closed): the TLS connection goes with it.
        local.closeFuture.whenComplete { _ in connecting.whenSuccess { $0.close(promise: nil) } }
    }
}
