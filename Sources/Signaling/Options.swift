import Foundation
import Logging
import Synchronization

typealias Mutex = Synchronization.Mutex

/// Client-side knobs shared by all backends.
public struct SignalingOptions: Sendable {
    /// Publishes kept while disconnected or unacknowledged; beyond this `publish` throws `queueFull`.
    public var queueCapacity = 256
    /// Events buffered for a slow consumer (newest kept).
    public var eventBuffer = 1024
    public var backoff = Backoff()
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

/// Jittered exponential backoff: attempt n waits a random time in [d/2, d], d = min(cap, base * 2^n).
public struct Backoff: Sendable {
    public var base: Duration = .milliseconds(200)
    public var cap: Duration = .seconds(15)

    public init(base: Duration = .milliseconds(200), cap: Duration = .seconds(15)) {
        self.base = base
        self.cap = cap
    }

    public func delay(attempt: Int) -> Duration {
        let full = min(cap, base * (1 << min(attempt, 20)))
        return full * Double.random(in: 0.5...1.0)
    }
}
