import Keys
import Foundation

/// A way to reach other peers' signaling inboxes. Backends move opaque, already-encrypted envelopes;
/// encryption and replay protection live above them (SignalingChannel), so a backend never sees plaintext.
///
/// Lifecycle: `start()` once, then the backend connects, proves possession of its key, subscribes to
/// envelopes addressed to it, and keeps doing so (reconnecting with backoff) until `close()`.
public protocol SignalingBackend: Sendable {
    /// The key this backend subscribes to.
    var identity: Key { get }
    /// Connection changes, received envelopes and publish failures; finishes after `close()`.
    var events: AsyncStream<SignalingEvent> { get }
    /// Begins connecting and subscribing in the background.
    func start()
    /// Sends an envelope, or queues it while disconnected. Throws when it cannot be accepted (queue full,
    /// closed); a queued envelope that later fails is reported as `.publishFailed`, never dropped silently.
    func publish(_ envelope: Envelope) async throws
    /// Stops reconnecting, closes the connection and finishes `events`. Queued envelopes are reported failed.
    func close() async
    /// Drops the current connection and connects again at once: after a local address change its TCP
    /// connection may be dead without either end knowing. Unacknowledged publishes are resent as usual.
    func reconnect()
}

extension SignalingBackend {
    /// Backends without a connection of their own have nothing to renew.
    public func reconnect() {}
}

public enum SignalingEvent: Sendable {
    case connected(server: String)
    case disconnected(server: String, reason: String)
    /// A connection attempt failed before the server accepted the subscription. Reported once per distinct
    /// reason until a connection succeeds: retries are made with backoff and would repeat it.
    case unreachable(server: String, reason: String)
    case message(Envelope)
    case publishFailed(Envelope, reason: String)
    /// The server offered STUN/TURN servers with credentials minted for this key; again before they expire.
    case iceServers(ICEServerGrant)
}

public enum SignalingError: Error, Equatable, CustomStringConvertible {
    case queueFull
    case closed
    case badURL(String)
    case protocolViolation(String)
    case refused(ErrorCode, String)

    public var description: String {
        switch self {
        case .queueFull: return "publish queue full"
        case .closed: return "signaling backend closed"
        case .badURL(let s): return "bad signaling URL: \(s)"
        case .protocolViolation(let s): return "protocol violation: \(s)"
        case .refused(let code, let s): return "server refused: \(code) \(s)"
        }
    }
}
