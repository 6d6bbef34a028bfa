import Glibc

/// A UDP peer address, IPv4 or IPv6, kept as plain bytes so it is hashed, compared and copied without allocating.
struct Endpoint: Equatable {
    var isIPv6: Bool
    /// IPv4 in the first 4 bytes; network order.
    var address: (UInt64, UInt64)
    var port: UInt16
    var scope: UInt32 = 0

    static func == (a: Endpoint, b: Endpoint) -> Bool {
        a.isIPv6 == b.isIPv6 && a.address == b.address && a.port == b.port && a.scope == b.scope
    }

    init(isIPv6: Bool, address: (UInt64, UInt64), port: UInt16, scope: UInt32 = 0) {
        self.isIPv6 = isIPv6
        self.address = address
        self.port = port
        self.scope = scope
    }

    /// From what recvfrom filled in; v4-mapped IPv6 addresses become IPv4.
    init?(_ storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(storage).load(as: sockaddr_in.self)
            self.init(isIPv6: false, address: (UInt64(sin.sin_addr.s_addr), 0), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = UnsafeRawPointer(storage).load(as: sockaddr_in6.self)
            let words = withUnsafeBytes(of: sin6.sin6_addr) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
            let port = UInt16(bigEndian: sin6.sin6_port)
            // ::ffff:a.b.c.d: bytes 8-11 are 00 00 ff ff, read little-endian.
            if words.0 == 0, words.1 & 0xffff_ffff == 0xffff_0000 {
                self.init(isIPv6: false, address: (words.1 >> 32, 0), port: port)
            } else {
                self.init(isIPv6: true, address: words, port: port, scope: sin6.sin6_scope_id)
            }
        default:
            return nil
        }
    }

    /// Parses `1.2.3.4:51820`, `[2001:db8::1]:51820` or `[fe80::1%eth0]:51820`.
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { return nil }
            host = String(host.dropFirst().dropLast())
            var scope: UInt32 = 0
            if let percent = host.firstIndex(of: "%") {
                let zone = String(host[host.index(after: percent)...])
                scope = UInt32(zone) ?? if_nametoindex(zone)
                guard scope != 0 else { return nil }
                host = String(host[..<percent])
            }
            var a = in6_addr()
            guard inet_pton(AF_INET6, host, &a) == 1 else { return nil }
            let words = withUnsafeBytes(of: a) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
            self.init(isIPv6: true, address: words, port: port, scope: scope)
        } else {
            var a = in_addr()
            guard inet_pton(AF_INET, host, &a) == 1 else { return nil }
            self.init(isIPv6: false, address: (UInt64(a.s_addr), 0), port: port)
        }
    }

    /// Calls `body` with this endpoint as a sockaddr, on the stack.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sin6.sin6_addr) {
                $0.storeBytes(of: address.0, as: UInt64.self)
                $0.storeBytes(of: address.1, toByteOffset: 8, as: UInt64.self)
            }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: address.0)
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The bytes a cookie is bound to: address and port.
    var cookieSource: [UInt8] {
        var out = withUnsafeBytes(of: address) { Array($0.prefix(isIPv6 ? 16 : 4)) }
        out += [UInt8(port >> 8), UInt8(port & 0xff)]
        return out
    }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if isIPv6 {
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) {
                $0.storeBytes(of: address.0, as: UInt64.self)
                $0.storeBytes(of: address.1, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
            let zone = scope == 0 ? "" : "%\(scope)"
            return "[\(cString(buffer))\(zone)]:\(port)"
        }
        var a = in_addr(s_addr: UInt32(truncatingIfNeeded: address.0))
        inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
        return "\(cString(buffer)):\(port)"
    }
}
