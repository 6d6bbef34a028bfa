import NIOCore
import NIOHTTP1

/// Answers a WebSocket upgrade request the server will not take with 503 and a one-line reason, then closes.
/// Declining the upgrade would make hummingbird-websocket answer 400 with an empty body; upgrading only to
/// send SERVER_FULL left swift-websocket clients hanging in the upgrade under load.
enum ServiceUnavailable {
    static func respond(on channel: any Channel, reason: String) async {
        let body = ByteBuffer(string: "SERVER_FULL: \(reason), retry later\n")
        let head = HTTPResponseHead(version: .http1_1, status: .serviceUnavailable, headers: [
            "Content-Type": "text/plain; charset=utf-8", "Content-Length": "\(body.readableBytes)",
            "Retry-After": "5", "Connection": "close",
        ])
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        try? await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
        try? await channel.close()
    }
}
