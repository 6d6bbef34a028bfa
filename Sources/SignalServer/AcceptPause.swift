import Glibc
import Logging
import NIOCore

/// Stops accepting for a while when accept(2) fails for want of descriptors or memory, on a listening channel.
///
/// NIO's own AcceptBackoffHandler (which the async bootstraps of Hummingbird and grpc-swift add) cannot stop
/// the spin: a failed accept leaves the channel's read pending, so the listening socket stays registered with
/// the level-triggered epoll, which reports the waiting connection again at once (~18,000 failed accept4/s were
/// measured). Turning autoRead off takes the socket out of epoll; it is turned back on after `pause`, so the
/// server serves again soon after descriptors are freed. The error is not passed on: this handler is first in
/// the pipeline, and NIO's handler would otherwise add its own one-second delay to every later accept.
final class AcceptPause: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let pause: TimeAmount
    private let logger: Logger
    private var paused = false
    /// Whether the limit was hit since the last accept, so that the log says once when it is over.
    private var exhausted = false

    init(pause: TimeAmount, logger: Logger) {
        self.pause = pause
        self.logger = logger
    }

    /// Puts the handler at the front of a listening channel's pipeline (call on its event loop).
    static func install(on channel: any Channel, logger: Logger) throws {
        try channel.pipeline.syncOperations.addHandler(AcceptPause(pause: .milliseconds(100), logger: logger), position: .first)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if exhausted {
            exhausted = false
            logger.notice("accepting connections again", metadata: ["listener": "\(context.channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            return context.fireErrorCaught(error)
        }
        if !exhausted {
            exhausted = true
            logger.warning("cannot accept, pausing accepts", metadata: [
                "listener": "\(context.channel.localAddress.map { "\($0)" } ?? "?")", "error": "\(error)"])
        }
        guard !paused else { return }
        paused = true
        let options = context.channel.syncOptions
        try? options?.setOption(ChannelOptions.autoRead, value: false)
        _ = context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
            self.paused = false
            try? options?.setOption(ChannelOptions.autoRead, value: true)
        }
    }
}
