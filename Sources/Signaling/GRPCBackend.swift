import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// `grpc://HOST:PORT` (plaintext HTTP/2) and `grpcs://HOST:PORT` (TLS): one bidirectional
/// `wgice.signal.v1.Signal/Connect` stream per session.
struct GRPCTransport: FrameTransport {
    let kind = "grpc"
    let url: String
    let authority: String
    let host: String
    let port: Int
    let secure: Bool
    let caFile: String?

    init(url: URL, options: SignalingOptions) throws {
        guard let host = url.host, !host.isEmpty else { throw SignalingError.badURL(url.absoluteString) }
        secure = url.scheme == "grpcs"
        self.host = host
        port = url.port ?? (secure ? 443 : 80)
        authority = "\(host):\(port)"
        self.url = "\(secure ? "grpcs" : "grpc")://\(authority)"
        caFile = options.caFile
    }

    func connect(_ session: some FrameSession) async throws {
        let security: HTTP2ClientTransport.Posix.TransportSecurity = secure
            ? .tls { config in
                if let caFile { config.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
            }
            : .plaintext
        let transport = try HTTP2ClientTransport.Posix(target: .dns(host: host, port: port), transportSecurity: security)
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
