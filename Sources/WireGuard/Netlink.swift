import CNetlink
import Glibc

// Plain AF_NETLINK plumbing shared by the generic netlink client and rtnetlink discovery/monitoring.
// Layouts are <linux/netlink.h>: nlmsghdr is 16 bytes, nlattr 4, everything aligned to 4, host byte order
// (written out as little-endian: every Linux target this package builds for is).

enum NL {
    static let headerLength = 16
    static let attributeHeaderLength = 4
    static let NLM_F_REQUEST: UInt16 = 0x1, NLM_F_MULTI: UInt16 = 0x2, NLM_F_ACK: UInt16 = 0x4
    static let NLM_F_DUMP_INTR: UInt16 = 0x10, NLM_F_DUMP: UInt16 = 0x300
    static let NLMSG_ERROR: UInt16 = 2, NLMSG_DONE: UInt16 = 3
    static let NLA_F_NESTED: UInt16 = 0x8000, NLA_TYPE_MASK: UInt16 = 0x3fff

    static func align(_ n: Int) -> Int { (n + 3) & ~3 }
}

struct NetlinkMessage {
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    var payload: ArraySlice<UInt8>

    /// Splits a datagram into messages; nil if a header is inconsistent with the datagram.
    static func parse(_ datagram: [UInt8]) -> [NetlinkMessage]? {
        var messages = [NetlinkMessage]()
        var offset = 0
        while offset + NL.headerLength <= datagram.count {
            let length = Int(datagram.readU32(at: offset))
            guard length >= NL.headerLength, offset + length <= datagram.count else { return nil }
            messages.append(NetlinkMessage(type: datagram.readU16(at: offset + 4), flags: datagram.readU16(at: offset + 6),
                                           sequence: datagram.readU32(at: offset + 8),
                                           payload: datagram[(offset + NL.headerLength)..<(offset + length)]))
            offset += NL.align(length)
        }
        return messages
    }

    /// For NLMSG_ERROR / NLMSG_DONE: the (positive) errno, 0 for an acknowledgement.
    var errorCode: Int32 {
        guard payload.count >= 4 else { return EPROTO }
        return -Int32(bitPattern: payload.readU32(at: payload.startIndex))
    }
}

/// Builds one netlink message the way libmnl does, including the `_check` variants that refuse to grow the
/// message past a limit — the basis of wireguard-tools' message splitting.
struct NetlinkWriter {
    private(set) var bytes: [UInt8]

    init(type: UInt16, flags: UInt16, sequence: UInt32, extraHeader: [UInt8]) {
        bytes = [UInt8](repeating: 0, count: NL.headerLength)
        bytes.writeU16(type, at: 4)
        bytes.writeU16(flags, at: 6)
        bytes.writeU32(sequence, at: 8)
        bytes += extraHeader
        bytes += [UInt8](repeating: 0, count: NL.align(bytes.count) - bytes.count)
        fixLength()
    }

    var length: Int { bytes.count }

    private mutating func fixLength() { bytes.writeU32(UInt32(bytes.count), at: 0) }

    mutating func put(_ type: UInt16, _ payload: [UInt8]) {
        let start = bytes.count
        bytes += [0, 0, 0, 0]
        bytes.writeU16(UInt16(NL.attributeHeaderLength + payload.count), at: start)
        bytes.writeU16(type, at: start + 2)
        bytes += payload
        bytes += [UInt8](repeating: 0, count: NL.align(payload.count) - payload.count)
        fixLength()
    }

    /// mnl_attr_put_check: false (and nothing written) if the attribute would exceed `limit`.
    mutating func put(_ type: UInt16, _ payload: [UInt8], limit: Int) -> Bool {
        guard bytes.count + NL.attributeHeaderLength + NL.align(payload.count) <= limit else { return false }
        put(type, payload)
        return true
    }

    mutating func putString(_ type: UInt16, _ value: String) { put(type, Array(value.utf8) + [0]) }

    /// mnl_attr_nest_start(_check): the nest's offset, or nil if even its header would exceed `limit`.
    mutating func nestStart(_ type: UInt16, limit: Int = .max) -> Int? {
        guard bytes.count + NL.attributeHeaderLength <= limit else { return nil }
        let start = bytes.count
        bytes += [0, 0, 0, 0]
        bytes.writeU16(type | NL.NLA_F_NESTED, at: start + 2)
        fixLength()
        return start
    }

    mutating func nestEnd(_ start: Int) { bytes.writeU16(UInt16(bytes.count - start), at: start) }

    mutating func nestCancel(_ start: Int) {
        bytes.removeSubrange(start...)
        fixLength()
    }
}

/// A netlink attribute: its type without flag bits, and its payload.
struct NetlinkAttribute {
    var type: UInt16
    var payload: ArraySlice<UInt8>

    static func parse(_ bytes: ArraySlice<UInt8>) -> [NetlinkAttribute]? {
        var attributes = [NetlinkAttribute]()
        var offset = bytes.startIndex
        while offset + NL.attributeHeaderLength <= bytes.endIndex {
            let length = Int(bytes.readU16(at: offset))
            guard length >= NL.attributeHeaderLength, offset + length <= bytes.endIndex else { return nil }
            attributes.append(NetlinkAttribute(type: bytes.readU16(at: offset + 2) & NL.NLA_TYPE_MASK,
                                               payload: bytes[(offset + NL.attributeHeaderLength)..<(offset + length)]))
            offset += NL.align(length)
        }
        return attributes
    }

    var u8: UInt8? { payload.count >= 1 ? payload[payload.startIndex] : nil }
    var u16: UInt16? { payload.count >= 2 ? payload.readU16(at: payload.startIndex) : nil }
    var u32: UInt32? { payload.count >= 4 ? payload.readU32(at: payload.startIndex) : nil }
    var u64: UInt64? {
        payload.count >= 8 ? UInt64(payload.readU32(at: payload.startIndex)) | UInt64(payload.readU32(at: payload.startIndex + 4)) << 32 : nil
    }
    var string: String { String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self) }
    var nested: [NetlinkAttribute]? { NetlinkAttribute.parse(payload) }
}

/// A blocking netlink socket bound to the network namespace of the thread that opened it. Not thread-safe:
/// its owners serialise access (a lock in the client, a single thread in the monitor).
final class NetlinkSocket: @unchecked Sendable {
    let fd: Int32
    private var sequence: UInt32 = UInt32(truncatingIfNeeded: time(nil))

    init(protocol proto: Int32, groups: UInt32 = 0, nonBlocking: Bool = false) throws(WireGuardError) {
        var type = Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(AF_NETLINK, type, proto)
        guard fd >= 0 else { throw .system("socket(AF_NETLINK)", errno: errno) }
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        addr.nl_groups = groups
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .system("bind(AF_NETLINK)", errno: code)
        }
        // Large dumps arrive faster than a busy reader drains them; a bigger buffer avoids ENOBUFS.
        var size: Int32 = 1 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var ext: Int32 = 1
        setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &ext, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    func send(_ message: [UInt8]) throws(WireGuardError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        while true {
            let n = withUnsafePointer(to: &kernel) { addr in
                addr.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                }
            }
            if n >= 0 { return }
            if errno != EINTR { throw .system("sendto(AF_NETLINK)", errno: errno) }
        }
    }

    /// One datagram, sized with MSG_PEEK|MSG_TRUNC first so nothing is ever cut off. nil on EAGAIN.
    func receive() throws(WireGuardError) -> [NetlinkMessage]? {
        while true {
            let size = recv(fd, nil, 0, Int32(MSG_PEEK) | Int32(MSG_TRUNC))
            if size < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return nil }
                throw .system("recv(AF_NETLINK)", errno: errno)
            }
            var buffer = [UInt8](repeating: 0, count: max(size, NL.headerLength))
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("recv(AF_NETLINK)", errno: errno)
            }
            guard let messages = NetlinkMessage.parse(Array(buffer[0..<n])) else {
                throw .system("netlink: malformed message", errno: EPROTO)
            }
            return messages
        }
    }

    /// Sends a request and collects the replies to it until the acknowledgement or NLMSG_DONE. Returns the
    /// data messages and whether any carried NLM_F_DUMP_INTR (the dump raced a change and must be redone).
    func request(_ message: [UInt8], sequence: UInt32) throws -> (messages: [NetlinkMessage], interrupted: Bool) {
        try send(message)
        var collected = [NetlinkMessage]()
        var interrupted = false
        while true {
            guard let batch = try receive() else { continue }
            for reply in batch where reply.sequence == sequence {
                if reply.flags & NL.NLM_F_DUMP_INTR != 0 { interrupted = true }
                switch reply.type {
                case NL.NLMSG_ERROR:
                    let code = reply.errorCode
                    if code != 0 { throw NetlinkFailure(code: code) }
                    return (collected, interrupted)
                case NL.NLMSG_DONE:
                    let code = reply.errorCode
                    if code != 0 && reply.payload.count >= 4 { throw NetlinkFailure(code: code) }
                    return (collected, interrupted)
                default:
                    collected.append(reply)
                    // A non-dump reply to a request without NLM_F_ACK ends here.
                    if reply.flags & NL.NLM_F_MULTI == 0 && message.readU16(at: 6) & NL.NLM_F_ACK == 0 {
                        return (collected, interrupted)
                    }
                }
            }
        }
    }
}

/// A kernel-reported errno from NLMSG_ERROR, translated by each client into a WireGuardError.
struct NetlinkFailure: Error { var code: Int32 }

extension NetlinkSocket {
    func requestChecked(_ message: [UInt8], sequence: UInt32, describe: (Int32) -> WireGuardError) throws(WireGuardError)
        -> (messages: [NetlinkMessage], interrupted: Bool)
    {
        do {
            return try request(message, sequence: sequence)
        } catch let failure as NetlinkFailure {
            throw describe(failure.code)
        } catch let error as WireGuardError {
            throw error
        } catch {
            throw .system("netlink", errno: EPROTO)
        }
    }
}

extension Collection<UInt8> where Index == Int {
    func readU16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }
    func readU32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }
}

extension Array<UInt8> {
    mutating func writeU16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value & 0xff)
        self[offset + 1] = UInt8(value >> 8)
    }
    mutating func writeU32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xff) }
    }
}

func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
