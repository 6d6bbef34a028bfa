import Foundation
import ServiceURLs
@testable import Signaling
import Testing
import TestSupport

/// What a client dials, asks for and binds into its auth proof is the URL as written (docs/PROTOCOL.md).
@Suite(.tags(.integration)) struct URLAsWrittenTests {
    @Test(arguments: [
        // (written, authority in the proof, what is dialled and requested)
        ("wss://signal.example.net/wg-ice", "signal.example.net", "wss://signal.example.net/wg-ice"),
        ("wss://Signal.Example.NET:8443/wg-ice?k=v", "signal.example.net:8443", "wss://signal.example.net:8443/wg-ice?k=v"),
        ("wss://signal.example.net:443/wg-ice", "signal.example.net:443", "wss://signal.example.net:443/wg-ice"),
        ("ws://[2001:DB8::1]:8080", "[2001:db8::1]:8080", "ws://[2001:db8::1]:8080/v1/signal"),
        ("ws://h/", "h", "ws://h/v1/signal"),
        ("ws://h?k=v", "h", "ws://h/v1/signal?k=v"),
        ("grpcs://signal.example.net", "signal.example.net", "grpcs://signal.example.net"),
        ("grpc://[::1]:50051/", "[::1]:50051", "grpc://[::1]:50051"),
    ])
    func authorityAndRequest(written: String, authority: String, dialled: String) throws {
        let url = try SignalingURL.parse(written).get()
        let transport: any FrameTransport = url.scheme == .ws || url.scheme == .wss
            ? try WebSocketTransport(url: url, options: SignalingOptions())
            : try GRPCTransport(url: url, options: SignalingOptions())
        #expect(transport.authority == authority)
        #expect(transport.url == dialled)
    }

    /// The client takes exactly what `check` takes: one parser.
    @Test(arguments: ["grpcs://h/wg-ice", "grpc://h?k=v", "ws://h:0", "ws://[::1", "http://h", "wss://h/a b",
                      "ws://h/a?b=c&d", "wss://[fe80::1%eth0]:8443/x", "grpc://h/", "grpcs://[::1]:1", "ws://H.Example."])
    func acceptedLikeCheck(written: String) async throws {
        let checkAccepts = (try? SignalingURL.parse(written).get()) != nil
        let backend = try? makeSignalingBackend(url: written, key: .generate())
        #expect((backend != nil) == checkAccepts)
        await backend?.close()
    }

    @Test func caFileComesFromSSLCertFile() {
        #expect(SignalingOptions(environment: ["SSL_CERT_FILE": "/etc/wg-ice/ca.pem"]).caFile == "/etc/wg-ice/ca.pem")
        #expect(SignalingOptions(environment: ["SSL_CERT_FILE": ""]).caFile == nil)
        #expect(SignalingOptions(environment: [:]).caFile == nil)
    }

    @Test func ipv6LiteralsReachTheServer() async throws {
        let server = try ServerProcess(listen: ["ws://[::1]:0", "grpc://[::1]:0"])
        let ws = server.url("ws"), grpc = server.url("grpc")
        #expect(ws.hasPrefix("ws://[::1]:") && grpc.hasPrefix("grpc://[::1]:"))
        let a = try TestPeer(url: ws), b = try TestPeer(url: grpc)
        try await a.waitConnected()
        try await b.waitConnected()
        try await a.channel.send(.candidate("over [::1]"), to: b.publicKey)
        try await b.channel.send(.candidate("back over [::1]"), to: a.publicKey)
        try await a.waitReceived(1)
        try await b.waitReceived(1)
        await a.close()
        await b.close()
        #expect(server.stop() == 0)
    }
}

@Suite struct ServerPathOptionTests {
    @Test(arguments: ["wg-ice", "/wg-ice?x=1", "/a#b", "/a b"])
    func badPathIsRefused(path: String) throws {
        let result = try run([builtProduct("wg-ice-signal"), "--listen", "ws://127.0.0.1:0", "--path", path])
        #expect(!result.succeeded)
        #expect(result.stderr.contains("--path \(path): expected an absolute URL path"), "\(result.stderr)")
    }
}
