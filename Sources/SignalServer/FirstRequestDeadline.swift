import NIOCore

/// Closes a connection that has not made its first request within `deadline`: for WebSocket, a complete HTTP
/// request head (the upgrade request); for gRPC, an HTTP/2 stream (the Connect call). That also covers a TLS
/// handshake that never ends. Hummingbird's idle timeout starts only once a head was parsed and gRPC's
/// `maxIdleTime` only once HTTP/2 is up, so a client that connects and sends nothing, or half a header
/// (slowloris), would otherwise hold its descriptor for ever. After the first request, the session's auth
/// timeout and the transports' idle timeouts take over.
final class FirstRequestDeadline: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Request { case httpHead, http2Stream }

    private let deadline: TimeAmount
    private let request: Request
    private var timer: Scheduled<Void>?
    /// The last bytes seen, to find the end of an HTTP head ("\r\n\r\n") across reads.
    private var tail: [UInt8] = []

    init(deadline: TimeAmount, request: Request) {
        self.deadline = deadline
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard request == .httpHead, timer != nil else { return context.fireChannelRead(data) }
        tail += unwrapInboundIn(data).readableBytesView
        let headEnded = tail.count >= 4 && tail.indices.dropLast(3).contains { tail[$0...$0 + 3].elementsEqual([13, 10, 13, 10]) }
        tail = Array(tail.suffix(3))
        context.fireChannelRead(data)
        if headEnded { met() }
    }

    /// The first request arrived (on the channel's event loop). The handler stays in the pipeline, passing
    /// everything through.
    func met() {
        timer?.cancel()
        timer = nil
        tail = []
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
