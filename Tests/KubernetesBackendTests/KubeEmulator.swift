import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TestSupport

/// A running Emulator/kube-emulator.py process (kmock plus resourceVersions, selectors, bookmarks, 410, auth,
/// TLS): the API server the backend talks to in these tests. Stopped by `stop()`; use `defer`.
final class KubeEmulator: @unchecked Sendable {
    let port: Int
    let directory: URL  // temporary: certificates, token and service-account files
    let token: String?
    private let process: Process
    private let lifeline: Pipe
    private let control: HTTPClient

    static let emulatorDirectory = packageRoot.appendingPathComponent("Tests/KubernetesBackendTests/Emulator")

    /// The venv is created once per test process (setup-venv is idempotent and locked across processes).
    static let python: String = {
        do {
            return try runChecked([emulatorDirectory.appendingPathComponent("setup-venv").path])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            fatalError("cannot set up the kmock venv (python3-venv and PyPI access needed, see scripts/deps): \(error)")
        }
    }()

    /// `tls`: serve HTTPS with a certificate for 127.0.0.1 from a fresh CA (`caFile`). `token`: require it.
    /// `clientCertificates`: also require a client certificate from that CA (`client.crt`, `client.key`).
    init(tls: Bool = true, token: String? = "token-\(uniqueSuffix())", clientCertificates: Bool = false,
         bookmarkInterval: Double = 0.5) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-emulator-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.token = token
        var arguments = [Self.emulatorDirectory.appendingPathComponent("kube-emulator.py").path,
                         "--crd", packageRoot.appendingPathComponent("deploy/kubernetes/crd.yaml").path,
                         "--bookmark-interval", String(bookmarkInterval), "--exit-on-stdin-eof"]
        if let token {
            arguments += ["--token", token]
            try Data((token + "\n").utf8).write(to: directory.appendingPathComponent("token"))
        }
        if tls {
            try Self.makeCertificates(in: directory)
            arguments += ["--tls-cert", directory.appendingPathComponent("server.crt").path,
                          "--tls-key", directory.appendingPathComponent("server.key").path]
            if clientCertificates {
                try Self.issue("client", subject: "/CN=wg-ice", in: directory)
                arguments += ["--client-ca", directory.appendingPathComponent("ca.crt").path]
            }
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // The emulator exits when this pipe closes, so it cannot outlive a crashed test process.
        lifeline = Pipe()
        process.standardInput = lifeline
        try process.run()
        // The first line says which port it bound ("listening 40123").
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).split(separator: " ").last ?? "") else {
            try? lifeline.fileHandleForWriting.close()
            throw StartError(said: String(decoding: line, as: UTF8.self))
        }
        self.port = port
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if tls { tlsConfiguration.trustRoots = .file(directory.appendingPathComponent("ca.crt").path) }
        control = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tlsConfiguration))
    }

    func stop() async {
        try? await control.shutdown()
        try? lifeline.fileHandleForWriting.close()  // the emulator exits on stdin EOF
        reap(process)
        try? FileManager.default.removeItem(at: directory)
    }

    var caFile: String { directory.appendingPathComponent("ca.crt").path }
    var tokenFile: String { directory.appendingPathComponent("token").path }
    var scheme: String { FileManager.default.fileExists(atPath: caFile) ? "https" : "http" }

    /// The explicit URL form for this server.
    func url(namespace: String? = nil) -> String {
        var query = [scheme == "https" ? "ca-file=\(caFile)" : "plaintext=true"]
        if token != nil { query.append("token-file=\(tokenFile)") }
        if let namespace { query.append("namespace=\(namespace)") }
        return "k8s://127.0.0.1:\(port)?" + query.joined(separator: "&")
    }

    struct StartError: Error, CustomStringConvertible {
        var said: String
        var description: String { "kube-emulator.py did not start (its first line: '\(said)')" }
    }

    struct Status: Decodable {
        var resourceVersion: Int
        var objects: [String]
        var lists: Int
        var watches: Int
    }

    /// Test controls: drop-watches[?hold=true], resume, compact, token, objects.
    @discardableResult
    func control(_ action: String, body: String? = nil) async throws -> Status {
        var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)/_control/\(action)")
        request.method = .POST
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await control.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode(Status.self, from: Data(bytes.readableBytesView))
    }

    /// POSTs a SignalEnvelope JSON the way any API client could; returns the HTTP status.
    func create(json: String, namespace: String = "wg-ice") async throws -> UInt {
        var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(port)/apis/wg-ice.io/v1/namespaces/\(namespace)/signalenvelopes")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await control.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it, with the openssl CLI.
    private static func makeCertificates(in directory: URL) throws {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try runChecked(["openssl", "req", "-x509"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.crt"),
                        "-days", "2", "-subj", "/CN=wg-ice test cluster CA"])
        try issue("server", subject: "/CN=kube-apiserver", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\n", in: directory)
    }

    /// NAME.key and NAME.crt signed by the CA in `directory`.
    private static func issue(_ name: String, subject: String, extensions: String = "", in directory: URL) throws {
        func path(_ file: String) -> String { directory.appendingPathComponent(file).path }
        try runChecked(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
        try Data(extensions.utf8).write(to: directory.appendingPathComponent("\(name).ext"))
        try runChecked(["openssl", "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                        "-CAcreateserial", "-days", "2", "-extfile", path("\(name).ext"), "-out", path("\(name).crt")])
    }
}
