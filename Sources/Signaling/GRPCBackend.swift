import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceURLs

/// `grpc://HOST[:PORT]` (plaintext HTTP/2) and `grpcs://HOST[:PORT]` (TLS): one bidirectional
/// `wgice.signal.v1.Signal/Connect` stream per session. The URL has no path: a gRPC call's path is its
/// method's, which is what a reverse proxy routes.
struct GRPCTransport: FrameTransport {
    let kind = "grpc"
    let url: String
    let authority: String
    private let host: Host
    private let port: Int
    private let secure: Bool
    private let caFile: String?

    init(url: SignalingURL, options: SignalingOptions) throws {
        guard let host = url.host, let port = url.port else { throw SignalingError.badURL("\(url): no host") }
        self.host = host
        self.port = Int(port)
        secure = url.isSecure
        authority = url.authority
        self.url = "\(url.scheme)://\(authority)"
        caFile = options.caFile
    }

    func connect(_ session: some FrameSession) async throws {
        let security: HTTP2ClientTransport.Posix.TransportSecurity = secure
            ? .tls { config in
                if let caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
            }
            : .plaintext
        // IP literals are dialled as addresses: no DNS lookup, and no IP in TLS SNI (which forbids it).
        let target: any ResolvableTarget = switch host {
        case .ip(let ip, _): ip.isIPv6 ? .ipv6(address: host.description, port: port) : .ipv4(address: host.description, port: port)
        case .name(let name): .dns(host: name, port: port)
        }
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security)
        try await withGRPCClient(transport: transport) { client in
            let signal = Wgice_Signal_V1_Signal.Client(wrapping: client)
            let (outbox, post) = AsyncStream.makeStream(of: ClientFrame.self)
            var options = CallOptions.defaults
            options.waitForReady = false  // fail fast when the server is down; FrameClient does the retrying
            try await signal.connect(options: options) { writer in
                for await frame in outbox { try await writer.write(frame) }
            } onResponse: { response in
                defer { post.finish() }
                try await session.run(inbound: response.messages) { frame in post.yield(frame) }
            }
        }
    }
}
