import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Signaling
import Synchronization
import Yams

/// Where a Kubernetes API server is and how to talk to it, from a `k8s:` signaling URL:
///
/// - `k8s:` — in-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT`, the service-account token and CA;
/// - `k8s:///path/to/kubeconfig` — that kubeconfig's current context;
/// - `k8s://HOST:PORT?token-file=PATH[&ca-file=PATH]` — explicit (`&plaintext=true` for `kubectl proxy`).
///
/// All forms take `?namespace=` (default `wg-ice`).
public struct KubernetesEndpoint: Sendable, Equatable {
    public static let defaultNamespace = "wg-ice"
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    public enum Credential: Sendable, Equatable {
        case none
        case token(String)
        /// Re-read on rotation (projected service-account tokens are replaced about hourly).
        case tokenFile(String)
    }

    public var server: URL
    public var namespace: String
    public var credential: Credential
    /// PEM bundle of the certificate authorities to trust; nil trusts the system roots.
    public var certificateAuthority: [UInt8]?
    /// PEM client certificate chain and key, for kubeconfigs that authenticate with certificates.
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?
    public var insecureSkipTLSVerify = false

    /// `serviceAccountDirectory` and `environment` are parameters so tests can stand in for a pod.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                serviceAccountDirectory: String = Self.serviceAccountDirectory) throws {
        guard let components = URLComponents(string: url), components.scheme == "k8s" else {
            throw KubernetesError.badURL(url, "expected k8s:, k8s:///path/to/kubeconfig or k8s://HOST:PORT")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard ["namespace", "token-file", "ca-file", "plaintext"].contains(item.name) else {
                throw KubernetesError.badURL(url, "unknown parameter '\(item.name)'")
            }
            query[item.name] = item.value ?? ""
        }
        let namespace = query["namespace"] ?? Self.defaultNamespace
        guard Self.isDNSLabel(namespace) else { throw KubernetesError.badURL(url, "namespace '\(namespace)' is not a DNS label") }

        if let host = components.host, !host.isEmpty {
            guard let port = components.port else { throw KubernetesError.badURL(url, "k8s://HOST:PORT needs a port") }
            guard components.path.isEmpty || components.path == "/" else { throw KubernetesError.badURL(url, "unexpected path after HOST:PORT") }
            let plaintext = query["plaintext"] == "true"
            if let tokenFile = query["token-file"] { _ = try Self.read(tokenFile, what: "token-file") }
            try self.init(server: Self.serverURL(scheme: plaintext ? "http" : "https", host: host, port: port, in: url),
                          namespace: namespace,
                          credential: query["token-file"].map { .tokenFile($0) } ?? .none,
                          certificateAuthority: try query["ca-file"].map { try Self.read($0, what: "ca-file") })
        } else if !components.path.isEmpty {
            guard query["token-file"] == nil, query["ca-file"] == nil, query["plaintext"] == nil else {
                throw KubernetesError.badURL(url, "token-file, ca-file and plaintext only apply to k8s://HOST:PORT")
            }
            try self.init(kubeconfig: components.path, namespace: namespace)
        } else {
            guard let host = environment["KUBERNETES_SERVICE_HOST"], let portText = environment["KUBERNETES_SERVICE_PORT"],
                  let port = Int(portText)
            else {
                throw KubernetesError.badURL(url, "k8s: (in-cluster) needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; "
                                             + "outside a pod use k8s:///path/to/kubeconfig")
            }
            let tokenFile = serviceAccountDirectory + "/token"
            _ = try Self.read(tokenFile, what: "service-account token")
            try self.init(server: Self.serverURL(scheme: "https", host: host, port: port, in: url), namespace: namespace,
                          credential: .tokenFile(tokenFile),
                          certificateAuthority: try Self.read(serviceAccountDirectory + "/ca.crt", what: "service-account CA"))
        }
    }

    init(server: URL, namespace: String, credential: Credential, certificateAuthority: [UInt8]?) throws {
        self.server = server
        self.namespace = namespace
        self.credential = credential
        self.certificateAuthority = certificateAuthority
    }

    /// The kubeconfig's current context: server, CA, token / tokenFile / client certificate. Exec and
    /// auth-provider plugins are not supported (they run programs; use a token or a service account).
    init(kubeconfig path: String, namespace: String) throws {
        let text = String(decoding: try Self.read(path, what: "kubeconfig"), as: UTF8.self)
        let bad = { (what: String) in KubernetesError.badKubeconfig(path, what) }
        guard let root = (try? Yams.load(yaml: text)) as? [String: Any] else { throw bad("not a YAML mapping") }
        func named(_ list: String, _ name: String, _ field: String) throws -> [String: Any] {
            let entries = root[list] as? [[String: Any]] ?? []
            guard let entry = entries.first(where: { $0["name"] as? String == name }) else { throw bad("no \(list) entry named '\(name)'") }
            return entry[field] as? [String: Any] ?? [:]
        }
        guard let current = root["current-context"] as? String, !current.isEmpty else { throw bad("no current-context") }
        let context = try named("contexts", current, "context")
        guard let clusterName = context["cluster"] as? String else { throw bad("context '\(current)' has no cluster") }
        let cluster = try named("clusters", clusterName, "cluster")
        let user = try (context["user"] as? String).map { try named("users", $0, "user") } ?? [:]
        guard let serverText = cluster["server"] as? String, let server = URL(string: serverText),
              ["http", "https"].contains(server.scheme ?? "")
        else { throw bad("cluster '\(clusterName)' has no http(s) server") }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        func material(_ map: [String: Any], _ key: String) throws -> [UInt8]? {
            if let data = map[key + "-data"] as? String {
                guard let decoded = Data(base64Encoded: data) else { throw bad("\(key)-data is not base64") }
                return Array(decoded)
            }
            guard let file = map[key] as? String else { return nil }
            return try Self.read(URL(fileURLWithPath: file, relativeTo: directory).path, what: key)
        }
        for unsupported in ["exec", "auth-provider"] where user[unsupported] != nil {
            throw bad("user authentication by '\(unsupported)' is not supported; use a token, tokenFile or client certificate")
        }
        let credential: Credential
        if let token = user["token"] as? String {
            credential = .token(token)
        } else if let file = user["tokenFile"] as? String {
            credential = .tokenFile(URL(fileURLWithPath: file, relativeTo: directory).path)
        } else {
            credential = .none
        }
        try self.init(server: server, namespace: namespace, credential: credential,
                      certificateAuthority: try material(cluster, "certificate-authority"))
        clientCertificate = try material(user, "client-certificate")
        clientKey = try material(user, "client-key")
        guard (clientCertificate == nil) == (clientKey == nil) else { throw bad("client certificate and key must be given together") }
        insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] as? Bool ?? false
    }

    private static func serverURL(scheme: String, host: String, port: Int, in url: String) throws -> URL {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let server = URL(string: "\(scheme)://\(bracketed):\(port)") else { throw KubernetesError.badURL(url, "bad host '\(host)'") }
        return server
    }

    static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KubernetesError.unreadable(path, what) }
        return Array(data)
    }

    static func isDNSLabel(_ s: String) -> Bool {
        (1...63).contains(s.utf8.count) && s.first != "-" && s.last != "-"
            && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard server.scheme == "https" else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = certificateAuthority { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca)) }
        if let cert = clientCertificate, let key = clientKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
        }
        if insecureSkipTLSVerify { tls.certificateVerification = .none }
        return tls
    }
}

public enum KubernetesError: Error, Equatable, CustomStringConvertible {
    case badURL(String, String)
    case badKubeconfig(String, String)
    case unreadable(String, String)
    /// The API server answered with a failure Status.
    case api(code: Int, reason: String, message: String)
    case malformed(String)

    public var description: String {
        switch self {
        case .badURL(let url, let what): return "bad Kubernetes signaling URL '\(url)': \(what)"
        case .badKubeconfig(let path, let what): return "\(path): \(what)"
        case .unreadable(let path, let what): return "cannot read \(what) \(path)"
        case .api(let code, let reason, let message): return "API server: \(code) \(reason): \(message)"
        case .malformed(let what): return "API server sent malformed data: \(what)"
        }
    }
}

/// One SignalEnvelope object (deploy/kubernetes/crd.yaml), and the bookmark / Status shapes a watch sends.
struct EnvelopeObject: Codable, Sendable {
    struct Metadata: Codable, Sendable {
        var name: String?
        var namespace: String?
        var labels: [String: String]?
        var resourceVersion: String?
        var creationTimestamp: String?
    }
    struct Spec: Codable, Sendable {
        var recipient: String
        var sender: String?
        var payload: String
        var createdAt: String?
    }
    var apiVersion: String?
    var kind: String?
    var metadata: Metadata?
    var spec: Spec?
    // Set when the object is a Status (an ERROR watch event).
    var code: Int?
    var reason: String?
    var message: String?

    var created: Date? { metadata?.creationTimestamp.flatMap { try? Date($0, strategy: .iso8601) } }
}

struct WatchEvent: Codable, Sendable {
    var type: String
    var object: EnvelopeObject
}

struct EnvelopeList: Codable, Sendable {
    struct Metadata: Codable, Sendable { var resourceVersion: String? }
    var metadata: Metadata
    var items: [EnvelopeObject]
}

/// The few SignalEnvelope calls the backend makes, over one HTTP client.
final class KubernetesAPI: Sendable {
    static let group = "wg-ice.io", version = "v1", plural = "signalenvelopes", kind = "SignalEnvelope"
    /// Watch lines (one event each) larger than this are refused: envelopes are a few kilobytes.
    static let maxLine = 256 * 1024

    let endpoint: KubernetesEndpoint
    private let configuration: HTTPClient.Configuration
    /// Created on first use, so a backend that is built but never started owns nothing to shut down
    /// (async-http-client insists on shutdown before deinit); nil again, and refused, after `shutdown()`.
    private let http = Mutex<(client: HTTPClient?, shutDown: Bool)>((nil, false))
    private let tokens: TokenSource
    private let collection: String

    init(endpoint: KubernetesEndpoint, watchTimeout: TimeAmount) throws {
        self.endpoint = endpoint
        // No data on a watch for longer than its server-side timeout means the connection is dead.
        let timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: watchTimeout + .seconds(30))
        configuration = .init(tlsConfiguration: try endpoint.tlsConfiguration(), timeout: timeout)
        tokens = TokenSource(endpoint.credential)
        collection = endpoint.server.absoluteString
            + "/apis/\(Self.group)/\(Self.version)/namespaces/\(endpoint.namespace)/\(Self.plural)"
    }

    func shutdown() async {
        let client = http.withLock { state in
            defer { state = (nil, true) }
            return state.client
        }
        try? await client?.shutdown()
    }

    private func client() throws -> HTTPClient {
        try http.withLock { state in
            guard !state.shutDown else { throw SignalingError.closed }
            if let client = state.client { return client }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            state.client = client
            return client
        }
    }

    func list(labelSelector: String?) async throws -> EnvelopeList {
        let response = try await send(.GET, query(["labelSelector": labelSelector]))
        return try decode(EnvelopeList.self, try await body(of: response))
    }

    func create(_ object: EnvelopeObject) async throws {
        _ = try await body(of: try await send(.POST, "", body: try JSONEncoder().encode(object)))
    }

    /// Deleting what is already gone (another client collected it) is success.
    func delete(name: String) async throws {
        let response = try await send(.DELETE, "/" + name, allow404: true)
        _ = try await response.body.collect(upTo: Self.maxLine)
    }

    /// The events after `resourceVersion`, until the server ends the watch (timeout) or the connection drops.
    func watch(labelSelector: String, resourceVersion: String, timeout: TimeAmount) async throws -> AsyncThrowingStream<WatchEvent, Error> {
        let response = try await send(.GET, query([
            "watch": "true", "labelSelector": labelSelector, "resourceVersion": resourceVersion,
            "allowWatchBookmarks": "true", "timeoutSeconds": String(timeout.nanoseconds / 1_000_000_000),
        ]))
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var line: [UInt8] = []
                    for try await chunk in response.body {
                        for byte in chunk.readableBytesView {
                            if byte != UInt8(ascii: "\n") {
                                line.append(byte)
                                guard line.count <= Self.maxLine else { throw KubernetesError.malformed("watch event over \(Self.maxLine) bytes") }
                                continue
                            }
                            if !line.isEmpty { continuation.yield(try self.decode(WatchEvent.self, line)) }
                            line.removeAll(keepingCapacity: true)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func query(_ items: [String: String?]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        let pairs = items.sorted { $0.key < $1.key }.compactMap { key, value in
            value.map { key + "=" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0) }
        }
        return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
    }

    /// Sends one request; on 401 re-reads a rotated token file once and retries.
    private func send(_ method: HTTPMethod, _ suffix: String, body: Data? = nil, allow404: Bool = false) async throws -> HTTPClientResponse {
        var retried = false
        while true {
            var request = HTTPClientRequest(url: collection + suffix)
            request.method = method
            request.headers.add(name: "Accept", value: "application/json")
            if let token = try await tokens.current(forceReload: retried) { request.headers.add(name: "Authorization", value: "Bearer " + token) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let response = try await client().execute(request, timeout: .seconds(30))
            if response.status == .unauthorized, !retried, await tokens.reloadable {
                _ = try? await response.body.collect(upTo: Self.maxLine)
                retried = true
                continue
            }
            if response.status.code < 300 || (allow404 && response.status == .notFound) { return response }
            let bytes = Array(buffer: (try? await response.body.collect(upTo: Self.maxLine)) ?? ByteBuffer())
            let status = try? JSONDecoder().decode(EnvelopeObject.self, from: Data(bytes))
            throw KubernetesError.api(code: Int(response.status.code), reason: status?.reason ?? response.status.reasonPhrase,
                                      message: status?.message ?? "")
        }
    }

    private func body(of response: HTTPClientResponse) async throws -> [UInt8] {
        Array(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch {
            throw KubernetesError.malformed("\(T.self): \(error)")
        }
    }
}

/// The bearer token, re-read from its file every minute and after a 401, like client-go does.
actor TokenSource {
    private let credential: KubernetesEndpoint.Credential
    private var cached: String?
    private var readAt = ContinuousClock.now

    init(_ credential: KubernetesEndpoint.Credential) { self.credential = credential }

    var reloadable: Bool { if case .tokenFile = credential { return true } else { return false } }

    func current(forceReload: Bool) throws -> String? {
        switch credential {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile(let path):
            if forceReload || cached == nil || ContinuousClock.now - readAt > .seconds(60) {
                let text = String(decoding: try KubernetesEndpoint.read(path, what: "token file"), as: UTF8.self)
                cached = text.trimmingCharacters(in: .whitespacesAndNewlines)
                readAt = .now
            }
            return cached
        }
    }
}
