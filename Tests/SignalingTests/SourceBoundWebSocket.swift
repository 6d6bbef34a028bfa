import Keys
import Foundation
import Glibc
import Signaling

/// A blocking WebSocket client speaking from a chosen loopback address (127.0.0.x), so that one test process
/// can look like many hosts to the server's per-address limits. Bare RFC 6455: enough to upgrade, read the
/// server's binary frames and send masked frames, including control frames a library would not flood.
final class SourceBoundWebSocket {
    let fd: Int32
    private var buffered: [UInt8] = []
    /// The head of the last response `get` read (status line and headers).
    private(set) var lastHead = ""

    /// Connects from `source` to 127.0.0.1:`port`; the kernel completing the TCP handshake is all this waits for.
    init(source: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Timeout(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = Self.address(source, port: 0), remote = Self.address("127.0.0.1", port: port)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            close(fd)
            throw Timeout(description: "connect from \(source): \(errno)")
        }
    }

    deinit { close(fd) }

    private static func address(_ ip: String, port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, ip, &a.sin_addr)
        return a
    }

    /// Sends the upgrade request; returns the status code and, when not upgraded, the response body.
    /// Status 0: the server closed the connection without answering.
    func upgrade() throws -> (status: Int, body: String) {
        try get(SignalProtocol.webSocketPath, headers: "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    }

    /// A GET on the connection, which stays open afterwards (HTTP/1.1 keep-alive unless upgraded).
    func get(_ path: String, headers: String = "") throws -> (status: Int, body: String) {
        send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)\r\n".utf8))
        while !buffered.containsHeadEnd {
            guard fill() else { return (0, "") }
        }
        let end = buffered.headEnd!
        let head = String(decoding: buffered[..<end], as: UTF8.self)
        lastHead = head
        buffered.removeFirst(end + 4)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? -1
        guard status != 101 else { return (status, "") }
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while buffered.count < length, fill() {}
        return (status, String(decoding: buffered.prefix(length), as: UTF8.self))
    }

    /// The next server frame (the server never masks), or nil once the connection is closed.
    func readFrame() -> (opcode: UInt8, payload: [UInt8])? {
        func need(_ n: Int) -> Bool {
            while buffered.count < n { guard fill() else { return false } }
            return true
        }
        guard need(2) else { return nil }
        var length = Int(buffered[1] & 0x7f), offset = 2
        if length == 126 {
            guard need(4) else { return nil }
            length = Int(buffered[2]) << 8 | Int(buffered[3])
            offset = 4
        } else if length == 127 {
            guard need(10) else { return nil }
            length = buffered[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard need(offset + length) else { return nil }
        let frame = (buffered[0] & 0x0f, Array(buffered[offset..<offset + length]))
        buffered.removeFirst(offset + length)
        return frame
    }

    /// The next binary frame decoded as a ServerFrame, skipping control frames; nil once closed.
    func readServerFrame() -> ServerFrame? {
        while let (opcode, payload) = readFrame() {
            if opcode == 0x8 { return nil }
            if opcode == 0x2 { return try? ServerFrame(serializedBytes: payload) }
        }
        return nil
    }

    /// A masked frame (all-zero mask: the server must accept any mask).
    static func frame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            bytes.append(0x80 | UInt8(payload.count))
        } else {
            bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        }
        return bytes + [0, 0, 0, 0] + payload
    }

    /// Writes everything it can; a connection the server closed is not an error here (no SIGPIPE).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool { sendAll(fd, bytes) }

    /// Once upgraded: answers the challenge with a proof for `key`; returns the server's answer (Subscribed or
    /// Error), or nil if the connection was closed.
    func authenticate(key: PrivateKey, url: String) throws -> ServerFrame? {
        guard let hello = readServerFrame(), case .challenge(let challenge)? = hello.frame else { return nil }
        send(Self.frame(opcode: 0x2, try authFrame(challenge, key: key, url: url).bytes))
        return readServerFrame()
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffered += chunk[..<n]
        return true
    }
}

private extension [UInt8] {
    var headEnd: Int? { indices.dropLast(3).first { self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10 } }
    var containsHeadEnd: Bool { headEnd != nil }
}

/// Writes all of `bytes` to the socket; false once the peer has closed it (no SIGPIPE).
func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
        let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n > 0 else { return false }
        sent += n
    }
    return true
}

/// User plus system CPU time a process has used so far, from /proc.
func cpuSeconds(_ pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
    return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
