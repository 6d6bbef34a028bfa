import Foundation
import Logging
import Retry
import Synchronization

typealias Mutex = Synchronization.Mutex

/// Client-side knobs shared by all backends.
public struct SignalingOptions: Sendable {
    /// Publishes kept while disconnected or unacknowledged; beyond this `publish` throws `queueFull`.
    public var queueCapacity = 256
    /// Events buffered for a slow consumer (newest kept).
    public var eventBuffer = 1024
    /// Reconnecting: 200 ms doubling to 15 s, each delay a random time in its upper half.
    public var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(15), jitter: 0.5...1)
    /// Time from connecting to `Subscribed` before the attempt is abandoned and retried.
    public var handshakeTimeout: Duration = .seconds(10)
    /// PEM file of CA certificates to trust for wss:// and grpcs:// instead of the system store. By default
    /// `SSL_CERT_FILE` from the environment: OpenSSL's (and Go's) variable for exactly this, which NIOSSL ignores.
    public var caFile: String?
    public var logger = Logger(label: "wg-ice.signaling")

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        caFile = environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
