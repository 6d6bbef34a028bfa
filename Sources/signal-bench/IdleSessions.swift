import Keys
import Foundation
import NIOCore
import NIOPosix
import Signaling
import Synchronization

/// Holds many idle authenticated WebSocket sessions at a small cost per connection: one NIO channel and one
/// handler that speaks just enough HTTP and WebSocket to upgrade, answer the Challenge and answer pings. The
/// full client (SignalingChannel) costs tens of KB per connection in tasks and streams; a bench holding 100,000
/// with it would measure its own memory. Connections are spread over source addresses 127.0.0.2… so that no
/// source address runs out of ephemeral ports, and at most `window` are being set up at once so that the
/// server's listen backlog does not overflow into SYN retries.
final class IdleSessions: Sendable {
    let held = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    let pending = Atomic<Int>(0)
    private let channels = Mutex<[any Channel]>([])
    private let group: MultiThreadedEventLoopGroup
    private let host: String, port: Int

    init(host: String, port: Int, threads: Int) {
        self.host = host
        self.port = port
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Opens `count` sessions over `sources` source addresses; returns when all are authenticated or failed.
    func open(_ count: Int, sources: Int, window: Int = 256) async throws {
        let server = try SocketAddress(ipAddress: host, port: port)
        for i in 0..<count {
            while pending.load(ordering: .relaxed) >= window { try await Task.sleep(for: .milliseconds(1)) }
            pending.add(1, ordering: .relaxed)
            let source = try SocketAddress(ipAddress: "127.0.0.\(2 + i % sources)", port: 0)
            let handler = IdleSessionHandler(key: PrivateKey.generate(), authority: "\(host):\(port)", sessions: self)
            ClientBootstrap(group: group)
                // IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect, by the whole 4-tuple.
                .channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: .init(rawValue: 24)), value: 1)
                .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 4096))
                .channelInitializer { $0.pipeline.addHandler(handler) }
                .bind(to: source)
                .connect(to: server)
                .whenComplete { result in
                    switch result {
                    case .success(let channel): self.channels.withLock { $0.append(channel) }
                    case .failure: self.finished(ok: false)
                    }
                }
        }
        while pending.load(ordering: .relaxed) > 0 { try await Task.sleep(for: .milliseconds(10)) }
    }

    func finished(ok: Bool) {
        if ok { held.add(1, ordering: .relaxed) } else { failed.add(1, ordering: .relaxed) }
        pending.subtract(1, ordering: .relaxed)
    }

    /// Closes every session at once (as when a server's clients all go away) and waits until all are closed.
    func closeAll() async {
        let closing = channels.withLock { c in defer { c = [] }; return c }.map { $0.close() }
        for future in closing { try? await future.get() }
    }

    func shutdown() async throws { try await group.shutdownGracefully() }
}

/// One idle session: HTTP upgrade, Challenge → Auth, Subscribed, then only pongs for the server's pings.
final class IdleSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case upgrading, authenticating, subscribed, done }
    private var state = State.upgrading
    private var key: PrivateKey?
    private let authority: String
    private let sessions: IdleSessions
    private var input: ByteBuffer?

    init(key: PrivateKey, authority: String, sessions: IdleSessions) {
        self.key = key
        self.authority = authority
        self.sessions = sessions
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET \(SignalProtocol.webSocketPath) HTTP/1.1\r\nHost: \(authority)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state == .subscribed { sessions.closed.add(1, ordering: .relaxed) }
        finish(ok: false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    private func finish(ok: Bool) {
        guard state == .upgrading || state == .authenticating else { return }
        state = ok ? .subscribed : .done
        key = nil
        sessions.finished(ok: ok)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil { input = bytes } else { input!.writeBuffer(&bytes) }
        if state == .upgrading {
            guard let view = input?.readableBytesView, let end = view.firstRange(of: [13, 10, 13, 10]) else { return }
            guard view.starts(with: Array("HTTP/1.1 101".utf8)) else { return fail(context) }
            input!.moveReaderIndex(forwardBy: end.upperBound - view.startIndex)
            state = .authenticating
        }
        while let (opcode, payload) = nextFrame() {
            switch opcode {
            case 0x2: handle(payload, context: context)
            case 0x9: send(opcode: 0xA, payload, context: context)
            case 0x8: return fail(context)
            default: break
            }
        }
        // Idle sessions keep no buffer between reads.
        if input?.readableBytes == 0 { input = nil }
    }

    private func fail(_ context: ChannelHandlerContext) {
        finish(ok: false)
        context.close(promise: nil)
    }

    private func handle(_ payload: [UInt8], context: ChannelHandlerContext) {
        guard let frame = try? ServerFrame(serializedBytes: payload) else { return fail(context) }
        switch frame.frame {
        case .challenge(let challenge)?:
            guard let key, let auth = try? AuthProof.respond(to: challenge, key: key, transport: "ws", authority: authority),
                  let bytes = try? auth.serializedBytes() as [UInt8] else { return fail(context) }
            send(opcode: 0x2, bytes, context: context)
        case .subscribed?: finish(ok: true)
        case .error?: fail(context)
        default: break
        }
    }

    /// The next complete server frame (unmasked), if the input holds one.
    private func nextFrame() -> (UInt8, [UInt8])? {
        guard var buffer = input, let b0 = buffer.readInteger(as: UInt8.self), let b1 = buffer.readInteger(as: UInt8.self) else { return nil }
        var length = Int(b1 & 0x7f)
        if length == 126 {
            guard let l = buffer.readInteger(as: UInt16.self) else { return nil }
            length = Int(l)
        } else if length == 127 {
            guard let l = buffer.readInteger(as: UInt64.self) else { return nil }
            length = Int(l)
        }
        guard let payload = buffer.readBytes(length: length) else { return nil }
        input = buffer
        return (b0 & 0x0f, payload)
    }

    /// A client frame: FIN, masked (the mask is random per frame as RFC 6455 asks).
    private func send(opcode: UInt8, _ payload: [UInt8], context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: payload.count + 14)
        out.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            out.writeInteger(UInt8(0x80 | payload.count))
        } else {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(payload.count))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        out.writeBytes(mask)
        out.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset & 3] })
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}
