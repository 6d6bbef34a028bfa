import Logging
import NIOCore
import NIOWebSocket
import Signaling

/// Counts WebSocket pings and pongs against the session's frame budget. swift-websocket answers them below
/// the session, so without this a client could make the server decode and answer pings without limit
/// (20,000 pings cost 1.4 s of server CPU). Over budget: the RATE_LIMITED Error frame, then close.
final class ControlFrameLimiter: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let budget: FrameBudget
    private let logger: Logger
    private var closing = false

    init(budget: FrameBudget, logger: Logger) {
        self.budget = budget
        self.logger = logger
    }

    /// Puts the limiter right after the WebSocket frame decoder (call on the channel's event loop, once upgraded).
    static func install(on channel: any Channel, budget: FrameBudget, logger: Logger) throws {
        let decoder = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        try channel.pipeline.syncOperations.addHandler(ControlFrameLimiter(budget: budget, logger: logger), position: .after(decoder.handler))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        guard frame.opcode == .ping || frame.opcode == .pong, !budget.take() else { return context.fireChannelRead(data) }
        closing = true
        logger.notice("closing connection", metadata: ["reason": "rateLimited", "detail": "WebSocket control frames over the frame rate"])
        let error = (try? ServerFrame.error(.rateLimited, "more than \(budget.rate) frames/s").serializedBytes() as [UInt8]) ?? []
        let message = WebSocketFrame(fin: true, opcode: .binary, data: context.channel.allocator.buffer(bytes: error))
        context.writeAndFlush(wrapOutboundOut(message), promise: nil)
        context.close(promise: nil)
    }
}
