import CSodium
import Foundation
import Keys
import Signaling
import SwiftProtobuf
import Synchronization

/// Signaling through a Kubernetes API server: each envelope is one `SignalEnvelope` object
/// (deploy/kubernetes/crd.yaml) labelled with a hash of its recipient's key. A client lists and watches
/// only its own label, resumes watches from the last resourceVersion (bookmarks keep it fresh), re-lists
/// when the server answers 410 Gone, deletes what it consumed and garbage-collects objects older than the TTL.
///
/// The payload is the protocol layer's serialized envelope, already end-to-end encrypted; this backend adds
/// only what the API server needs to route it (the recipient and sender hashes, creation time).
public final class KubernetesBackend: SignalingBackend {
    public static let recipientLabel = "wg-ice.io/recipient"

    /// What only this backend needs; queue sizes, backoff and logging come from `SignalingOptions`.
    public struct Options: Sendable {
        /// Envelopes older than this are dropped unread and collected; publishing gives up after it.
        public var ttl: Duration = .seconds(60)
        /// Server-side timeout of one watch request; the client then resumes from its resourceVersion.
        public var watchTimeout: Duration = .seconds(300)
        public var environment = ProcessInfo.processInfo.environment
        public var serviceAccountDirectory = KubernetesEndpoint.serviceAccountDirectory
        public init() {}
    }

    public let identity: Key
    public let events: AsyncStream<SignalingEvent>
    private let sink: AsyncStream<SignalingEvent>.Continuation
    private let api: KubernetesAPI
    private let options: Options
    private let shared: SignalingOptions
    private let server: String
    private let outbox: AsyncStream<Outgoing>
    private let outboxInput: AsyncStream<Outgoing>.Continuation
    private let state = Mutex(State())

    private struct Outgoing: Sendable {
        var envelope: Envelope
        var object: EnvelopeObject
    }

    private struct State {
        var closed = false
        var started = false
        var watcher: [Task<Void, Never>] = []  // receive and garbage collection: cancelled on close
        var publisher: Task<Void, Never>?  // not cancelled: it must report every queued envelope
    }

    public init(url: String, identity: Key, options shared: SignalingOptions = SignalingOptions(),
                kubernetes options: Options = Options()) throws {
        let endpoint = try KubernetesEndpoint(url: url, environment: options.environment,
                                              serviceAccountDirectory: options.serviceAccountDirectory)
        self.identity = identity
        self.options = options
        self.shared = shared
        api = try KubernetesAPI(endpoint: endpoint, watchTimeout: .nanoseconds(Int64(options.watchTimeout.seconds * 1e9)))
        server = "\(endpoint.server.absoluteString) namespace \(endpoint.namespace)"
        (events, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(shared.eventBuffer))
        (outbox, outboxInput) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(shared.queueCapacity))
    }

    /// The label value for a key: hex of the first 20 bytes of its SHA-256 (label values allow 63 characters).
    public static func label(for key: Key) -> String {
        _ = sodiumReady
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256(&digest, key.bytes, UInt64(key.bytes.count))
        return digest.prefix(20).map { String(format: "%02x", $0) }.joined()
    }

    public func start() {
        state.withLock { state in
            guard !state.closed, !state.started else { return }
            state.started = true
            state.watcher = [Task { await self.receive() }, Task { await self.collectGarbage() }]
            state.publisher = Task { await self.publishQueued() }
        }
    }

    public func publish(_ envelope: Envelope) async throws {
        guard !state.withLock({ $0.closed }) else { throw SignalingError.closed }
        switch outboxInput.yield(Outgoing(envelope: envelope, object: try object(for: envelope))) {
        case .enqueued: return
        case .dropped: throw SignalingError.queueFull
        case .terminated: throw SignalingError.closed
        @unknown default: throw SignalingError.closed
        }
    }

    public func close() async {
        let (watcher, publisher) = state.withLock { state in
            state.closed = true
            return (state.watcher, state.publisher)
        }
        outboxInput.finish()
        for task in watcher { task.cancel() }
        for task in watcher { await task.value }
        await api.shutdown()  // fails a create in flight; the publisher then reports the rest as failed
        if let publisher {
            await publisher.value
        } else {
            for await queued in outbox { sink.yield(.publishFailed(queued.envelope, reason: "closed")) }
        }
        sink.finish()
    }

    // MARK: receiving

    private func receive() async {
        let selector = "\(Self.recipientLabel)=\(Self.label(for: identity))"
        var version: String?  // nil: (re-)list first
        var delivered = RecentNames(limit: 4096)
        var failures = 0
        var connected = false
        while !Task.isCancelled {
            do {
                if version == nil {
                    let list = try await api.list(labelSelector: selector)
                    if !connected { connected = true; sink.yield(.connected(server: server)) }
                    for object in list.items.sorted(by: { Self.order($0) < Self.order($1) }) {
                        await consume(object, &delivered)
                    }
                    version = list.metadata.resourceVersion ?? "0"
                }
                var received = false
                watching: for try await event in try await api.watch(labelSelector: selector, resourceVersion: version ?? "0",
                                                                       timeout: .seconds(Int64(options.watchTimeout.seconds))) {
                    received = true
                    failures = 0
                    if !connected { connected = true; sink.yield(.connected(server: server)) }
                    if event.type == "ERROR" {
                        guard event.object.code == 410 else {
                            throw KubernetesError.api(code: event.object.code ?? 0, reason: event.object.reason ?? "",
                                                      message: event.object.message ?? "")
                        }
                        version = nil  // compacted past us: what we missed is only in a fresh list
                        shared.logger.debug("watch resourceVersion expired (410), re-listing", metadata: ["server": "\(server)"])
                        break watching
                    }
                    if let next = event.object.metadata?.resourceVersion { version = next }
                    switch event.type {
                    case "ADDED": await consume(event.object, &delivered)
                    case "DELETED": event.object.metadata?.name.map { delivered.remove($0) }
                    default: break  // MODIFIED, BOOKMARK: only the resourceVersion matters
                    }
                }
                // The server ended the watch (its timeout) or the connection dropped: resume from `version`,
                // but not in a tight loop if a proxy keeps cutting streams off before anything arrives.
                if !received {
                    try await Task.sleep(for: shared.backoff.delay(forAttempt: failures))
                    failures += 1
                }
            } catch KubernetesError.api(code: 410, _, _) {
                version = nil
            } catch {
                if Task.isCancelled { break }
                shared.logger.info("Kubernetes signaling: \(error)", metadata: ["server": "\(server)"])
                if connected { connected = false; sink.yield(.disconnected(server: server, reason: "\(error)")) }
                try? await Task.sleep(for: shared.backoff.delay(forAttempt: failures))
                failures += 1
            }
        }
    }

    private static func order(_ object: EnvelopeObject) -> Int {
        object.metadata?.resourceVersion.flatMap { Int($0) } ?? 0
    }

    /// Hands a new envelope up once, then deletes its object. Stale or undecodable objects are only deleted.
    private func consume(_ object: EnvelopeObject, _ delivered: inout RecentNames) async {
        guard let name = object.metadata?.name, delivered.insert(name) else { return }
        let fresh = object.created.map { Date().timeIntervalSince($0) <= options.ttl.seconds } ?? true
        if fresh, let payload = object.spec.flatMap({ Data(base64Encoded: $0.payload) }),
           let envelope = try? Envelope(serializedBytes: payload), Array(envelope.recipient) == identity.bytes {
            sink.yield(.message(envelope))
        }
        try? await api.delete(name: name)
    }

    // MARK: publishing

    private func publishQueued() async {
        for await queued in outbox {
            let envelope = queued.envelope
            let deadline = ContinuousClock.now + options.ttl
            var failures = 0
            while true {
                if state.withLock({ $0.closed }) {
                    sink.yield(.publishFailed(envelope, reason: "closed"))
                    break
                }
                do {
                    try await api.create(queued.object)
                    break
                } catch KubernetesError.api(let code, let reason, let message) where [400, 401, 403, 404, 409, 413, 422].contains(code) {
                    sink.yield(.publishFailed(envelope, reason: "\(code) \(reason): \(message)"))  // retrying cannot help
                    break
                } catch {
                    guard ContinuousClock.now < deadline else {
                        sink.yield(.publishFailed(envelope, reason: "not accepted within the TTL: \(error)"))
                        break
                    }
                    // Sliced, so close() is not held up by a long backoff (this task is never cancelled).
                    let until = ContinuousClock.now + shared.backoff.delay(forAttempt: failures)
                    while ContinuousClock.now < until, !state.withLock({ $0.closed }) {
                        try? await Task.sleep(for: min(.milliseconds(100), until - .now))
                    }
                    failures += 1
                }
            }
        }
    }

    /// Throws for an envelope without a valid recipient key: it could never be routed.
    private func object(for envelope: Envelope) throws -> EnvelopeObject {
        guard let recipient = Key(bytes: envelope.recipient) else { throw DropReason.malformed }
        let recipientHash = Self.label(for: recipient)
        let payload: Data = try envelope.serializedBytes()
        return EnvelopeObject(
            apiVersion: "\(KubernetesAPI.group)/\(KubernetesAPI.version)", kind: KubernetesAPI.kind,
            metadata: .init(name: "env-" + String(UInt64.random(in: .min ... .max), radix: 16),
                            labels: [Self.recipientLabel: recipientHash]),
            spec: .init(recipient: recipientHash, sender: Key(bytes: envelope.sender).map(Self.label(for:)),
                        payload: payload.base64EncodedString(), createdAt: Date().formatted(.iso8601)))
    }

    // MARK: garbage collection

    /// Every client sweeps the whole namespace, so envelopes for peers that never come are collected too;
    /// concurrent sweeps only race to delete the same objects, which is harmless.
    private func collectGarbage() async {
        let interval = max(options.ttl.seconds / 2, 1)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval * Double.random(in: 0.8...1.2)))
            guard let list = try? await api.list(labelSelector: nil) else { continue }
            for object in list.items {
                guard let name = object.metadata?.name, let created = object.created,
                      Date().timeIntervalSince(created) > options.ttl.seconds else { continue }
                try? await api.delete(name: name)
            }
        }
    }
}

/// Names of objects already handed up, so a re-list or replayed watch cannot deliver them twice. An object
/// leaves when its DELETED event arrives; the bound only matters if deletes keep failing.
private struct RecentNames {
    let limit: Int
    private var names: Set<String> = []
    private var order: [String] = []

    init(limit: Int) { self.limit = limit }

    /// False if already there.
    mutating func insert(_ name: String) -> Bool {
        guard names.insert(name).inserted else { return false }
        order.append(name)
        if order.count > limit { names.remove(order.removeFirst()) }
        return true
    }

    mutating func remove(_ name: String) {
        if names.remove(name) != nil { order.removeAll { $0 == name } }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
