import Logging
import NIOCore
import NIOTLS

/// On the TLS connection, behind the TLS handler: when the handshake has succeeded, joins the connection to
/// libnice's and lets libnice's be read; when it fails (or takes longer than `TLSRelay.handshakeTimeout`),
/// logs why and closes both. Transparent once the two are joined.
final class HandshakeGate: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let local: any Channel
    private let upstream: Upstream
    private var joined = false
    private var failed = false
    private var timeout: Scheduled<Void>?

    init(local: any Channel, upstream: Upstream) {
        self.local = local
        self.upstream = upstream
    }

    struct HandshakeTimeout: Error, CustomStringConvertible {
        var description: String { "no TLS handshake within \(TLSRelay.handshakeTimeout.nanoseconds / 1_000_000_000) s" }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline
        timeout = context.eventLoop.scheduleTask(in: TLSRelay.handshakeTimeout) {
            pipeline.fireErrorCaught(HandshakeTimeout())
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !joined, case .handshakeCompleted? = event as? TLSUserEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        joined = true
        timeout?.cancel()
        let (toServer, toLibnice) = Glue.pair()
        do {
            try context.pipeline.syncOperations.addHandler(toServer)
            try local.pipeline.syncOperations.addHandler(toLibnice)
            try local.syncOptions?.setOption(.autoRead, value: true)
            upstream.logger.debug("turns:\(upstream.server): TLS connection up for 127.0.0.1:\(local.remoteAddress?.port ?? 0)")
        } catch {
            fail(context, "cannot join the connections: \(error)")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !joined else { return context.fireErrorCaught(error) }
        fail(context, "TLS handshake failed (certificate checked against \(upstream.trust)): \(error)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        // Closed before the handshake by the server (not by libnice, which closed `local` first).
        if !joined, local.isActive { fail(context, "the server closed the connection during the TLS handshake") }
        context.fireChannelInactive()
    }

    /// Logged once per connection; libnice's connection is closed unread, so nothing went out in plain text.
    private func fail(_ context: ChannelHandlerContext, _ why: String) {
        timeout?.cancel()
        guard !failed else { return }
        failed = true
        upstream.logger.error("turns:\(upstream.server): \(why); no relay candidate through this server")
        local.close(promise: nil)
        context.close(promise: nil)
    }
}
