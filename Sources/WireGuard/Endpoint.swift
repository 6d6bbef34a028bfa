import Glibc

/// A peer's UDP endpoint: an IPv4 or IPv6 address and port (with the IPv6 scope id), exactly what
/// sockaddr_in / sockaddr_in6 carry on netlink and `endpoint=` carries on UAPI.
public struct Endpoint: Hashable, Sendable {
    public enum Address: Hashable, Sendable {
        case v4([UInt8])                       // 4 bytes, network order
        case v6([UInt8], scopeID: UInt32)      // 16 bytes, network order
    }
    public var address: Address
    public var port: UInt16

    public init(address: Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `1.2.3.4:51820` or `[fe80::1%2]:51820` (numeric hosts only: resolving names is the caller's job).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        if text.hasPrefix("[") {
            guard let close = text.lastIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":"),
                  let port = UInt16(text[text.index(close, offsetBy: 2)...]) else { return nil }
            var host = String(text[text.index(after: text.startIndex)..<close])
            var scope: UInt32 = 0
            if let percent = host.firstIndex(of: "%") {
                let zone = String(host[host.index(after: percent)...])
                guard let id = UInt32(zone) ?? nonZero(if_nametoindex(zone)) else { return nil }
                scope = id
                host = String(host[..<percent])
            }
            guard let bytes = parseAddress(host, family: AF_INET6) else { return nil }
            self.init(address: .v6(bytes, scopeID: scope), port: port)
        } else {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
                  let bytes = parseAddress(String(text[..<colon]), family: AF_INET) else { return nil }
            self.init(address: .v4(bytes), port: port)
        }
    }

    /// The address without the port, e.g. for `AllowedIP` or display.
    public var host: String {
        switch address {
        case .v4(let bytes): formatAddress(bytes, family: AF_INET)
        case .v6(let bytes, let scope): formatAddress(bytes, family: AF_INET6) + (scope == 0 ? "" : "%\(scope)")
        }
    }
}

extension Endpoint: CustomStringConvertible {
    public var description: String {
        switch address {
        case .v4: "\(host):\(port)"
        case .v6: "[\(host)]:\(port)"
        }
    }
}

// MARK: sockaddr bytes, as the kernel's WGPEER_A_ENDPOINT carries them

extension Endpoint {
    /// sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) in host layout.
    var sockaddrBytes: [UInt8] {
        switch address {
        case .v4(let bytes):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafeBytes(of: sa) { Array($0) }
        case .v6(let bytes, let scope):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafeBytes(of: sa) { Array($0) }
        }
    }

    init?(sockaddrBytes raw: some Collection<UInt8>) {
        let raw = Array(raw)
        if raw.count == MemoryLayout<sockaddr_in>.size {
            var sa = sockaddr_in()
            withUnsafeMutableBytes(of: &sa) { $0.copyBytes(from: raw) }
            guard sa.sin_family == sa_family_t(AF_INET) else { return nil }
            self.init(address: .v4(withUnsafeBytes(of: sa.sin_addr) { Array($0) }), port: UInt16(bigEndian: sa.sin_port))
        } else if raw.count == MemoryLayout<sockaddr_in6>.size {
            var sa = sockaddr_in6()
            withUnsafeMutableBytes(of: &sa) { $0.copyBytes(from: raw) }
            guard sa.sin6_family == sa_family_t(AF_INET6) else { return nil }
            self.init(address: .v6(withUnsafeBytes(of: sa.sin6_addr) { Array($0) }, scopeID: sa.sin6_scope_id),
                      port: UInt16(bigEndian: sa.sin6_port))
        } else {
            return nil
        }
    }
}

func parseAddress(_ text: String, family: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 16)
    guard inet_pton(family, text, &buffer) == 1 else { return nil }
    return Array(buffer.prefix(family == AF_INET ? 4 : 16))
}

func formatAddress(_ bytes: [UInt8], family: Int32) -> String {
    var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    _ = inet_ntop(family, bytes, &out, socklen_t(out.count))
    return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func nonZero(_ value: UInt32) -> UInt32? { value == 0 ? nil : value }
