import Foundation
import Keys
import ServiceURLs

/// Makes the backend of a `k8s:` URL, as written. The one maker is `KubernetesBackend.maker` (module
/// KubernetesSignaling): kept out of this module so that what does not pass it links no HTTP client or YAML parser.
public typealias KubernetesBackendMaker = @Sendable (_ url: String, _ identity: Key, _ options: SignalingOptions) throws
    -> any SignalingBackend

/// Builds the backend for one `[ICE] Signaling =` value. Several URLs, separated by commas or
/// whitespace, give a MultiBackend that publishes to all and passes on what any of them receives.
public func makeSignalingBackend(urls: String, key: PrivateKey, options: SignalingOptions = SignalingOptions(),
                                 kubernetes: KubernetesBackendMaker? = nil) throws -> any SignalingBackend {
    let list = urls.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    guard !list.isEmpty else { throw SignalingError.badURL("no URL given") }
    let backends = try list.map { try makeSignalingBackend(url: $0, key: key, options: options, kubernetes: kubernetes) }
    return backends.count == 1 ? backends[0] : MultiBackend(backends)
}

/// Builds the backend for a single URL: ws://, wss://, grpc://, grpcs://, and k8s: when `kubernetes` is given.
/// The URL is read by `SignalingURL`, the same parser `wg-ice-hook check` runs, so check and up agree.
public func makeSignalingBackend(url string: String, key: PrivateKey, options: SignalingOptions = SignalingOptions(),
                                 kubernetes: KubernetesBackendMaker? = nil) throws -> any SignalingBackend {
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
        guard let kubernetes else { throw SignalingError.badURL("`\(string)': this program has no Kubernetes backend") }
        return try kubernetes(string, key.publicKey, options)
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
