import Logging
import NIOCore
import NIOSSL

/// Counts the HTTP/2 frames a gRPC client sends that open no call and carry no message (all but HEADERS,
/// CONTINUATION and DATA with a payload) against a per-connection budget; over it, GOAWAY ENHANCE_YOUR_CALM
/// and close. swift-nio-http2 limits PING, SETTINGS and PRIORITY frames (200 per 30 s), RST_STREAM, empty DATA
/// and CONTINUATION, but neither WINDOW_UPDATE nor frames of unknown type, which it decodes, or skips, without
/// end: one connection sending them kept a core ~90 % busy (200,000 frames/s) for as long as it liked.
/// Frames are found by their 9-byte headers in the plain byte stream, before the HTTP/2 handler, so even
/// the frames it skips unseen are counted; the bytes pass on unchanged.
final class HTTP2FrameBudget: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A client's connection setup, keepalive pings and flow-control updates are a few frames a second;
    /// a flood is cut after at most `burst` plus `rate` a second.
    static let burst = 1000.0
    static let rate = 100.0

    /// The client connection preface ("PRI * HTTP/2.0...") comes before the first frame.
    private var prefaceLeft = 24
    private var header: [UInt8] = []
    private var payloadLeft = 0
    /// The highest stream a request was opened on: the GOAWAY's last stream id (calls up to it may go on).
    private var lastStream: UInt32 = 0
    private var tokens = HTTP2FrameBudget.burst
    private var refilled = NIODeadline.now()
    private var over = false
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Puts the budget right before the HTTP/2 handler: first in the pipeline, or after the TLS handler.
    static func install(on channel: any Channel, logger: Logger) throws {
        let sync = channel.pipeline.syncOperations
        if let tls = try? sync.handler(type: NIOSSLServerHandler.self) {
            try sync.addHandler(HTTP2FrameBudget(logger: logger), position: .after(tls))
        } else {
            try sync.addHandler(HTTP2FrameBudget(logger: logger), position: .first)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !over else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        var i = bytes.startIndex
        let skipped = min(prefaceLeft, bytes.count)
        prefaceLeft -= skipped
        i += skipped
        while i < bytes.endIndex {
            if payloadLeft > 0 {
                let n = min(payloadLeft, bytes.endIndex - i)
                payloadLeft -= n
                i += n
                continue
            }
            header.append(bytes[i])
            i += 1
            guard header.count == 9 else { continue }
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let type = header[3]
            let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])) & 0x7fff_ffff
            header.removeAll(keepingCapacity: true)
            payloadLeft = length
            if type == 0x1 { lastStream = max(lastStream, stream) }
            let carriesRequest = type == 0x1 || type == 0x9 || (type == 0x0 && length > 0)
            if !carriesRequest, !take() { return refuse(context: context) }
        }
        context.fireChannelRead(data)
    }

    private func take() -> Bool {
        let now = NIODeadline.now()
        tokens = min(Self.burst, tokens + Self.rate * Double((now - refilled).nanoseconds) / 1e9)
        refilled = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// GOAWAY (RFC 9113 §6.8) ENHANCE_YOUR_CALM with a reason, then close. Written below the HTTP/2 handler, whose
    /// writes are whole frames, so it lands between frames.
    private func refuse(context: ChannelHandlerContext) {
        over = true
        logger.notice("closing connection", metadata: [
            "peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "rateLimited",
            "detail": "more than \(Int(Self.burst)) HTTP/2 frames without a call or message, refilled at \(Int(Self.rate))/s: GOAWAY ENHANCE_YOUR_CALM"])
        let reason = Array("too many control frames".utf8)
        var frame = context.channel.allocator.buffer(capacity: 17 + reason.count)
        let length = 8 + reason.count
        frame.writeBytes([UInt8(length >> 16), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0x7, 0])
        frame.writeInteger(UInt32(0))
        frame.writeInteger(lastStream)
        frame.writeInteger(UInt32(0xb))
        frame.writeBytes(reason)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        context.close(promise: nil)
    }
}
