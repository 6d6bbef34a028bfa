import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import Testing
import TestSupport
import TURNTLS

/// The relay against a real TLS server (NIO's, behind a tap that records the raw bytes it receives), with a
/// CA and certificates made by the openssl CLI: bytes both ways, encrypted on the wire; a certificate from
/// another CA or for another name closes libnice's side without a byte of it reaching the server.
@Suite(.serialized, .tags(.integration)) struct TLSRelayTests {
    static let marker = Array("wg-ice-plaintext-marker".utf8)
    let logger = Logger(label: "tls-relay-test")

    @Test(arguments: ["localhost", "127.0.0.1"])
    func carriesBytesBothWaysOverTLS(host: String) async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await EchoServer.start(pki)
        let relay = try await TLSRelay.start(host: host, port: server.port, caFile: pki.ca, logger: logger)
        // 4 MiB through one connection, read back while it is written: the echo outruns no buffer.
        let payload = Self.marker + (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        let echoed = try await Task.detached { try roundTrip(port: relay.port, payload) }.value
        #expect(echoed.count == payload.count && echoed == payload)
        #expect(server.plain.starts(with: Self.marker))
        #expect(!server.raw.contains(Self.marker), "the server got the bytes in plain text")
        await relay.close()
        try await server.stop()
    }

    /// A certificate from another CA, or for another name than the one dialled.
    @Test(arguments: [("wrong-ca.pem", "server"), ("ca.pem", "other-name")])
    func untrustedCertificateClosesWithoutSendingAnything(trust: String, certificate: String) async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await EchoServer.start(pki, certificate: certificate)
        let relay = try await TLSRelay.start(host: "localhost", port: server.port, caFile: pki.path(trust), logger: logger)
        let echoed = try await Task.detached { try roundTrip(port: relay.port, Self.marker) }.value
        #expect(echoed.isEmpty)
        #expect(server.plain.isEmpty)
        #expect(!server.raw.isEmpty, "no TLS handshake was tried")
        #expect(!server.raw.contains(Self.marker))
        await relay.close()
        try await server.stop()
    }

    /// A server that stops reading after the handshake: the relay stops reading from libnice's side too, so
    /// what libnice can write is bounded by socket buffers (loopback autotuning: a few MiB each), not by memory.
    @Test func aStalledServerStopsTheRelayReading() async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await EchoServer.start(pki, stallAfterHandshake: true)
        let relay = try await TLSRelay.start(host: "localhost", port: server.port, caFile: pki.ca, logger: logger)
        let cap = 256 << 20
        let written = try await Task.detached { try writeUntilBlocked(port: relay.port, cap: cap) }.value
        #expect(written < 64 << 20, "\(written) bytes taken while the server read nothing")
        await relay.close()
        try await server.stop()
    }

    @Test func closeEndsItsConnections() async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await EchoServer.start(pki)
        let relay = try await TLSRelay.start(host: "localhost", port: server.port, caFile: pki.ca, logger: logger)
        let fd = try connectLoopback(relay.port)
        defer { close(fd) }
        try sendAll(fd, Self.marker)
        #expect(try receive(fd, count: Self.marker.count) == Self.marker)
        await relay.close()
        var byte: UInt8 = 0
        #expect(read(fd, &byte, 1) <= 0, "the relay's connection outlived close()")
        #expect(connectLoopbackFails(relay.port))
        try await server.stop()
    }
}

/// A CA, a server certificate from it for localhost and 127.0.0.1, and an unrelated CA.
struct PKI {
    let directory: String
    var ca: String { path("ca.pem") }
    func path(_ name: String) -> String { "\(directory)/\(name)" }

    init() throws {
        directory = NSTemporaryDirectory() + "tls-relay-\(uniqueSuffix())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "wrong-ca"] {
            try runChecked(["openssl", "req", "-x509"] + ec + ["-keyout", "\(directory)/\(ca).key", "-out", "\(directory)/\(ca).pem",
                                                            "-days", "2", "-subj", "/CN=test \(ca)"])
        }
        try runChecked(["openssl", "req"] + ec + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"])
        for (name, names) in [("server", "DNS:localhost,IP:127.0.0.1"), ("other-name", "DNS:other.example")] {
            try "subjectAltName=\(names)\nextendedKeyUsage=serverAuth\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try runChecked(["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                            "-CAcreateserial", "-days", "2", "-extfile", path("\(name).ext"), "-out", path("\(name).pem")])
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Bytes a handler saw, readable from the test.
final class Record: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ buffer: ByteBuffer) { bytes.withLock { $0 += buffer.readableBytesView } }
    var all: [UInt8] { bytes.withLock { $0 } }
}

/// Records what arrives on the socket, before TLS.
final class RawTap: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let record: Record
    init(_ record: Record) { self.record = record }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        record.append(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}

/// Reads nothing more once the TLS handshake is done (its own reads stop; the peer's writes pile up).
final class StallAfterHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            context.channel.setOption(.autoRead, value: false).whenFailure { _ in }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

final class Echo: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let record: Record
    init(_ record: Record) { self.record = record }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        record.append(buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
}

struct EchoServer {
    let channel: any Channel
    let rawRecord: Record, plainRecord: Record
    var port: UInt16 { UInt16(channel.localAddress?.port ?? 0) }
    var raw: [UInt8] { rawRecord.all }
    var plain: [UInt8] { plainRecord.all }

    static func start(_ pki: PKI, certificate: String = "server", stallAfterHandshake: Bool = false) async throws -> EchoServer {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.path("\(certificate).pem")).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.path("server.key"), format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let raw = Record(), plain = Record()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(RawTap(raw))
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    if stallAfterHandshake { try child.pipeline.syncOperations.addHandler(StallAfterHandshake()) }
                    try child.pipeline.syncOperations.addHandler(Echo(plain))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(channel: channel, rawRecord: raw, plainRecord: plain)
    }

    func stop() async throws { try await channel.close() }
}

// MARK: libnice's side: a plain blocking TCP client (run off the cooperative pool)

func connectLoopback(_ port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw Timeout(description: "connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
    return fd
}

func connectLoopbackFails(_ port: UInt16) -> Bool {
    guard let fd = try? connectLoopback(port) else { return true }
    close(fd)
    return false
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { throw Timeout(description: "send: \(String(cString: strerror(errno)))") }
        sent += n
    }
}

/// Up to `count` bytes; fewer when the connection ends first.
func receive(_ fd: Int32, count: Int) throws -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while result.count < count {
        let n = read(fd, &chunk, min(chunk.count, count - result.count))
        if n == 0 || (n < 0 && errno == ECONNRESET) { break }
        guard n > 0 else { throw Timeout(description: "read: \(String(cString: strerror(errno)))") }
        result += chunk[..<n]
    }
    return result
}

/// Writes `payload` from one thread while this one reads the echo.
func roundTrip(port: UInt16, _ payload: [UInt8]) throws -> [UInt8] {
    let fd = try connectLoopback(port)
    defer { close(fd) }
    let writer = Thread { try? sendAll(fd, payload) }
    writer.start()
    return try receive(fd, count: payload.count)
}

/// Writes without reading until the connection takes nothing for a second (or `cap` bytes); returns the count.
func writeUntilBlocked(port: UInt16, cap: Int) throws -> Int {
    let fd = try connectLoopback(port)
    defer { close(fd) }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    let chunk = [UInt8](repeating: 0x5a, count: 65536)
    var written = 0
    while written < cap {
        let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n > 0 { written += n; continue }
        guard errno == EAGAIN || errno == EWOULDBLOCK else { throw Timeout(description: "send: \(String(cString: strerror(errno)))") }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&poller, 1, 1000) == 0 { break }
    }
    return written
}
