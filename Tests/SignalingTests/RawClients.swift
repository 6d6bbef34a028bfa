import Keys
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import Signaling
import WSClient

/// What a hand-driven connection saw: the frames the server sent and whether it closed the connection.
struct RawOutcome {
    var frames: [ServerFrame] = []
    var closedByServer = false
    var error: ErrorCode? { frames.compactMap { if case .error(let e)? = $0.frame { e.code } else { nil } }.first }
    var deliveries: Int { frames.filter { if case .deliver? = $0.frame { true } else { false } }.count }
}

/// Speaks raw frames over WebSocket so tests can send what a well-behaved client never would.
/// `script` gets the server's Challenge and returns the binary (or, if `text`, text) messages to send. The
/// connection ends at `timeout` or, sooner, once the frames received satisfy `until` (then it is not counted as
/// closed by the server).
func rawWebSocket(_ url: String, text: Bool = false, timeout: Duration = .seconds(10),
                  until: (@Sendable ([ServerFrame]) -> Bool)? = nil,
                  _ script: @escaping @Sendable (Wgice_Signal_V1_Challenge) throws -> [[UInt8]]) async throws -> RawOutcome {
    let outcome = Locked(RawOutcome())
    let config = { var c = WebSocketClientConfiguration(); c.maxFrameSize = 1 << 20; return c }()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await WebSocketClient.connect(url: url + SignalProtocol.webSocketPath, configuration: config,
                                              logger: Logger(label: "raw")) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                guard case .binary(let first)? = try await messages.next() else { throw Timeout(description: "no first frame") }
                let hello = try ServerFrame(serializedBytes: Array(buffer: first))
                guard case .challenge(let challenge)? = hello.frame else {
                    outcome.withLock { $0.frames.append(hello) }  // e.g. SERVER_FULL instead of a challenge
                    return
                }
                for message in try script(challenge) {
                    if text {
                        try await outbound.write(.text(String(decoding: message, as: UTF8.self)))
                    } else {
                        try await outbound.write(.binary(ByteBuffer(bytes: message)))
                    }
                }
                while let message = try await messages.next() {
                    if case .binary(let b) = message, let frame = try? ServerFrame(serializedBytes: Array(buffer: b)) {
                        let frames = outcome.withLock {
                            $0.frames.append(frame)
                            return $0.frames
                        }
                        if until?(frames) == true { return }
                    }
                }
                outcome.withLock { $0.closedByServer = true }
            }
            if until?(outcome.withLock { $0.frames }) != true { outcome.withLock { $0.closedByServer = true } }
        }
        group.addTask {
            try await Task.sleep(for: timeout)
        }
        try await group.next()
        group.cancelAll()
    }
    return outcome.withLock { $0 }
}

/// The same over the gRPC Connect stream.
func rawGRPC(_ url: String, timeout: Duration = .seconds(10), until: (@Sendable ([ServerFrame]) -> Bool)? = nil,
             _ script: @escaping @Sendable (Wgice_Signal_V1_Challenge) throws -> [ClientFrame]) async throws -> RawOutcome {
    let outcome = Locked(RawOutcome())
    let u = URL(string: url)!
    let transport = try HTTP2ClientTransport.Posix(target: .dns(host: u.host!, port: u.port!), transportSecurity: .plaintext)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await withGRPCClient(transport: transport) { client in
                let signal = Wgice_Signal_V1_Signal.Client(wrapping: client)
                let (outbox, post) = AsyncStream.makeStream(of: ClientFrame.self)
                do {
                    try await signal.connect { writer in
                        for await frame in outbox { try await writer.write(frame) }
                    } onResponse: { response in
                        defer { post.finish() }
                        var frames = response.messages.makeAsyncIterator()
                        guard let hello = try await frames.next() else { throw Timeout(description: "no first frame") }
                        guard case .challenge(let challenge)? = hello.frame else {
                            outcome.withLock { $0.frames.append(hello) }  // e.g. SERVER_FULL instead of a challenge
                            return
                        }
                        for frame in try script(challenge) { post.yield(frame) }
                        while let frame = try await frames.next() {
                            let all = outcome.withLock {
                                $0.frames.append(frame)
                                return $0.frames
                            }
                            if until?(all) == true { return }
                        }
                    }
                } catch is RPCError {
                    // The server ending the RPC with an error status is a close, which is what we look for.
                }
                if until?(outcome.withLock { $0.frames }) != true { outcome.withLock { $0.closedByServer = true } }
            }
        }
        group.addTask { try await Task.sleep(for: timeout) }
        try await group.next()
        group.cancelAll()
    }
    return outcome.withLock { $0 }
}

func authFrame(_ challenge: Wgice_Signal_V1_Challenge, key: PrivateKey, url: String) throws -> ClientFrame {
    let u = URL(string: url)!
    return try AuthProof.respond(to: challenge, key: key, transport: u.scheme!.hasPrefix("ws") ? "ws" : "grpc",
                                 authority: "\(u.host!):\(u.port!)")
}

func publishFrame(_ envelope: Envelope, id: UInt64 = 1) -> ClientFrame {
    var frame = ClientFrame()
    frame.publish.id = id
    frame.publish.envelope = envelope
    return frame
}

/// A Mutex that closures can capture.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R { try mutex.withLock { try body(&$0) } }
}

extension ClientFrame {
    var bytes: [UInt8] { try! serializedBytes() }
}
