#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric socket address: IP, port and, for IPv6, the scope (interface index). What sockaddr_in / sockaddr_in6
/// carry, as a plain value with no heap: the userspace WireGuard makes, compares and copies one per packet.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public var scopeID: UInt32

    public var isIPv6: Bool { address.isIPv6 }

    public init(address: IPAddress, port: UInt16, scopeID: UInt32 = 0) {
        self.address = address
        self.port = port
        self.scopeID = address.isIPv6 ? scopeID : 0
    }

    /// Parses `1.2.3.4:51820`, `[2001:db8::1]:51820` or `[fe80::1%eth0]:51820` (numeric hosts only: resolving
    /// names is the caller's job), split like every other `host:port` of the project (`splitHostPort`).
    public init?(_ text: some StringProtocol) {
        guard let parts = splitHostPort(String(text)), let portText = parts.port, let port = UInt16(portText) else { return nil }
        if parts.bracketed {
            var host = Substring(parts.host)
            var scope: UInt32 = 0
            if let percent = host.firstIndex(of: "%") {
                let zone = String(host[host.index(after: percent)...])
                guard let id = UInt32(zone) ?? Self.interfaceIndex(zone) else { return nil }
                scope = id
                host = host[..<percent]
            }
            guard let address = IPAddress(String(host)), address.isIPv6 else { return nil }
            self.init(address: address, port: port, scopeID: scope)
        } else {
            guard let address = IPAddress(parts.host), !address.isIPv6 else { return nil }
            self.init(address: address, port: port)
        }
    }

    /// From what recvfrom or getsockname filled in; v4-mapped IPv6 addresses become IPv4.
    public init?(_ storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(storage).load(as: sockaddr_in.self)
            let address = withUnsafeBytes(of: sin.sin_addr) { IPAddress(packet: $0, offset: 0, isIPv6: false) }
            self.init(address: address, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = UnsafeRawPointer(storage).load(as: sockaddr_in6.self)
            let address = withUnsafeBytes(of: sin6.sin6_addr) { IPAddress(packet: $0, offset: 0, isIPv6: true) }
            let port = UInt16(bigEndian: sin6.sin6_port)
            if address.high == 0, address.low >> 32 == 0xffff {
                self.init(address: IPAddress(isIPv6: false, high: address.low << 32, low: 0), port: port)
            } else {
                self.init(address: address, port: port, scopeID: sin6.sin6_scope_id)
            }
        default:
            return nil
        }
    }

    /// Calls `body` with this address as a sockaddr, on the stack.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = scopeID
            address.withNetworkOrder { raw in withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyMemory(from: raw) } }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: address.high >> 32).bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The address without the port: `192.0.2.1`, `fe80::1%2`.
    public var host: String { address.description + (scopeID == 0 ? "" : "%\(scopeID)") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func interfaceIndex(_ name: String) -> UInt32? {
        let index = if_nametoindex(name)
        return index == 0 ? nil : index
    }
}
