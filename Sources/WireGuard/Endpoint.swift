import Addresses
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

    /// Parses `1.2.3.4:51820` or `[fe80::1%2]:51820` (numeric hosts only: resolving names is the caller's job),
    /// as every socket address of the project is parsed (`Addresses.SocketAddress`).
    public init?(_ text: some StringProtocol) {
        guard let socket = SocketAddress(text) else { return nil }
        let bytes = socket.address.bytes
        self.init(address: socket.isIPv6 ? .v6(bytes, scopeID: socket.scopeID) : .v4(bytes), port: socket.port)
    }

    /// The address without the port, e.g. for `AllowedIP` or display.
    public var host: String {
        switch address {
        case .v4(let bytes): IPAddress(bytes: bytes)!.description
        case .v6(let bytes, let scope): IPAddress(bytes: bytes)!.description + (scope == 0 ? "" : "%\(scope)")
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
