import Foundation
import Signaling
import Testing
import TestSupport

/// Signaling URLs are used as written: peers reach wg-ice-signal through a real nginx that terminates TLS
/// (certificate from a CA made here, trusted through SSL_CERT_FILE), WebSocket at /wg-ice and gRPC by its
/// method path, over IPv4 and IPv6 literals and a name, with the server checking the authority in the proofs.
@Suite(.serialized, .tags(.integration)) struct ReverseProxyTests {
    @Test func peersExchangeThroughNginxOnWebSocketAndGRPC() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-proxy-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (ca, cert, key) = try makeCertificates(in: dir)

        // The server's --authority names carry nginx's port, so nginx starts first, aimed at ports the server
        // then binds (from this test's range, like nginx's own: below Linux's ephemeral ports, 32768-60999, which
        // outgoing connections of the tests beside it take).
        let wsPort = Int.random(in: 28000...28399), grpcPort = wsPort + 400
        let nginx = try Nginx(certificate: cert, key: key, locations: """
                    location /wg-ice {
                        proxy_pass http://127.0.0.1:\(wsPort);
                        proxy_http_version 1.1;
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection "upgrade";
                        proxy_read_timeout 1h;
                    }
                    location /wgice.signal.v1.Signal/ {
                        grpc_pass grpc://127.0.0.1:\(grpcPort);
                        grpc_read_timeout 1h;
                    }
            """, ports: 28800...28999)
        defer { nginx.stop() }
        let p = nginx.port
        let server = try ServerProcess(
            listen: ["ws://127.0.0.1:\(wsPort)", "grpc://127.0.0.1:\(grpcPort)"],
            extra: ["--path", "/wg-ice", "--authority", "localhost:\(p)", "--authority", "[::1]:\(p)",
                    "--authority", "127.0.0.1:\(p)"])
        defer { server.stop() }

        let options = trusting(ca)
        let urls = ["wss://localhost:\(p)/wg-ice?token=abc", "grpcs://[::1]:\(p)",
                    "wss://[::1]:\(p)/wg-ice", "grpcs://localhost:\(p)", "wss://127.0.0.1:\(p)/wg-ice"]
        let peers = try urls.map { try TestPeer(url: $0, options: options) }
        for peer in peers { try await peer.waitConnected() }
        for (i, from) in peers.enumerated() {
            let to = peers[(i + 1) % peers.count]
            try await from.channel.send(.candidate("from \(urls[i])"), to: to.publicKey)
        }
        for (i, peer) in peers.enumerated() {
            try await peer.waitReceived(1)
            let sender = urls[(i + peers.count - 1) % peers.count]
            #expect(peer.received.map(\.payload.candidate.sdp) == ["from \(sender)"])
        }
        for peer in peers { await peer.close() }
        // The path and query went out as written; gRPC took its method path. nginx logs a request when it ends.
        let expected = ["\"GET /wg-ice?token=abc HTTP/1.1\" 101", "\"GET /wg-ice HTTP/1.1\" 101",
                        "\"POST /wgice.signal.v1.Signal/Connect HTTP/2.0\" 200"]
        try await waitUntil(timeout: 10, "nginx's access log: \(nginx.accessLog)") {
            let log = nginx.accessLog
            return expected.allSatisfy { log.contains($0) }
        }
    }

    /// A CA, and a certificate from it for localhost, 127.0.0.1 and ::1: (CA file, certificate, key).
    private func makeCertificates(in dir: URL) throws -> (String, String, String) {
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try runChecked(["openssl", "req", "-x509"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2",
                        "-subj", "/CN=wg-ice test CA"])
        try runChecked(["openssl", "req"] + ec + ["-keyout", path("proxy.key"), "-out", path("proxy.csr"), "-subj", "/CN=localhost"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n".write(toFile: path("san.cnf"), atomically: true, encoding: .utf8)
        try runChecked(["openssl", "x509", "-req", "-in", path("proxy.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                        "-CAcreateserial", "-days", "2", "-extfile", path("san.cnf"), "-out", path("proxy.pem")])
        return (path("ca.pem"), path("proxy.pem"), path("proxy.key"))
    }

    /// Client options as a process started with SSL_CERT_FILE=ca gets them.
    private func trusting(_ ca: String) -> SignalingOptions {
        var options = SignalingOptions(environment: ["SSL_CERT_FILE": ca])
        options.backoff = fastOptions().backoff
        return options
    }
}
