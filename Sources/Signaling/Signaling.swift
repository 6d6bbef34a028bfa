import Foundation
import Keys
import ServiceURLs

/// Builds the backend for one `[ICE] Signaling =` value. Several URLs, separated by commas or
/// whitespace, give a MultiBackend that publishes to all and passes on what any of them receives.
public func makeSignalingBackend(urls: String, key: PrivateKey, options: SignalingOptions = SignalingOptions()) throws -> any SignalingBackend {
    let list = urls.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    guard !list.isEmpty else { throw SignalingError.badURL("no URL given") }
    let backends = try list.map { try makeSignalingBackend(url: $0, key: key, options: options) }
    return backends.count == 1 ? backends[0] : MultiBackend(backends)
}

/// Builds the backend for a single URL: ws://, wss://, grpc://, grpcs://, k8s:. The URL is read by
/// `SignalingURL`, the same parser `wg-ice-hook check` runs, so check and up agree.
public func makeSignalingBackend(url string: String, key: PrivateKey, options: SignalingOptions = SignalingOptions()) throws -> any SignalingBackend {
    let url: SignalingURL
    switch SignalingURL.parse(string) {
    case .success(let parsed): url = parsed
    case .failure(let error): throw SignalingError.badURL(error.message)
    }
    switch url.scheme {
    case .ws, .wss:
        return FrameClient(transport: try WebSocketTransport(url: url, options: options), key: key, options: options)
    case .grpc, .grpcs:
        return FrameClient(transport: try GRPCTransport(url: url, options: options), key: key, options: options)
    case .k8s:
        return try KubernetesBackend(url: string, identity: key.publicKey, options: options)
    }
}

/// End-to-end layer over a backend: seals outgoing payloads with the interface key and yields only
/// incoming ones that authenticate and are not replays. What the session (wg-ice-hook) talks to.
public final class SignalingChannel: Sendable {
    public let backend: any SignalingBackend
    private let sealer: Mutex<Sealer>
    private let opener: Mutex<Opener>

    public init(key: PrivateKey, backend: any SignalingBackend) {
        precondition(key.publicKey == backend.identity, "backend subscribes to a different key")
        self.backend = backend
        sealer = Mutex(Sealer(key: key))
        opener = Mutex(Opener(key: key))
    }

    public func send(_ kind: PayloadKind, to peer: Key) async throws {
        let envelope = sealer.withLock { $0.seal(kind, to: peer) }
        try await backend.publish(envelope)
    }

    /// Checks an envelope from `events`; `.failure` says why it was dropped. `isPeer`: see `Opener.open`.
    public func open(_ envelope: Envelope, now: Date = Date(),
                     isPeer: (Key) -> Bool = { _ in true }) -> Result<ReceivedMessage, DropReason> {
        opener.withLock { $0.open(envelope, now: now, isPeer: isPeer) }
    }
}
