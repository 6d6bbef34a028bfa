import Foundation
import Glibc
import Synchronization

/// A bare HTTP/2 connection (prior knowledge, no TLS) to 127.0.0.1 that sends frames by the thousand, as no
/// HTTP/2 library would, and counts on a thread of its own what the server answers until it closes.
final class RawHTTP2: Sendable {
    enum Flood: String, CaseIterable, Sendable {
        case ping, settings, windowUpdate, unknownType

        /// One frame of the flood (RFC 9113 §6): none of them opens a stream.
        var frame: [UInt8] {
            switch self {
            case .ping: RawHTTP2.frame(type: 0x6, payload: Array("12345678".utf8))
            case .settings: RawHTTP2.frame(type: 0x4, payload: [0, 4, 0, 0, 0xff, 0xff])  // INITIAL_WINDOW_SIZE 65535
            case .windowUpdate: RawHTTP2.frame(type: 0x8, payload: [0, 0, 0, 1])  // connection window +1
            case .unknownType: RawHTTP2.frame(type: 0x20, payload: Array("ignored!".utf8))
            }
        }
    }

    struct Seen: Sendable {
        var frames = 0, pingAcks = 0, settingsAcks = 0
        var goAway: (code: UInt32, debug: String)?
        var closed = false
    }

    let fd: Int32
    private let seen = Mutex(Seen())

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Timeout(description: "socket: \(errno)") }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else {
            close(fd)
            throw Timeout(description: "connect: \(errno)")
        }
        Thread.detachNewThread { [self] in readUntilClosed() }
        send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(type: 0x4, payload: []))
    }

    deinit { close(fd) }

    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        [UInt8(payload.count >> 16), UInt8(payload.count >> 8 & 0xff), UInt8(payload.count & 0xff), type, flags,
         UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// Sends `frame` `count` times, a thousand at a time; returns how many went out before the connection failed.
    func flood(_ frame: [UInt8], count: Int) -> Int {
        let batch = Array([[UInt8]](repeating: frame, count: 1000).joined())
        var sent = 0
        while sent < count, send(batch) { sent += 1000 }
        return sent
    }

    /// What the server sent, once it has closed the connection or `timeout` has passed.
    func waitClosed(timeout: TimeInterval = 10) -> Seen {
        let deadline = Date().addingTimeInterval(timeout)
        while !seen.withLock({ $0.closed }), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return seen.withLock { $0 }
    }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool { sendAll(fd, bytes) }

    private func readUntilClosed() {
        var buffered: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }  // closed, reset, or nothing for the receive timeout
            buffered += chunk[..<n]
            while buffered.count >= 9 {
                let length = Int(buffered[0]) << 16 | Int(buffered[1]) << 8 | Int(buffered[2])
                guard buffered.count >= 9 + length else { break }
                let type = buffered[3], ack = buffered[4] & 1 == 1, payload = Array(buffered[9..<9 + length])
                buffered.removeFirst(9 + length)
                seen.withLock { seen in
                    seen.frames += 1
                    if type == 0x6, ack { seen.pingAcks += 1 }
                    if type == 0x4, ack { seen.settingsAcks += 1 }
                    if type == 0x7, payload.count >= 8 {
                        seen.goAway = (payload[4..<8].reduce(0) { $0 << 8 | UInt32($1) }, String(decoding: payload[8...], as: UTF8.self))
                    }
                }
            }
        }
        seen.withLock { $0.closed = true }
    }
}
