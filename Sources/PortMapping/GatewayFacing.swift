import Addresses
#if canImport(Glibc)
import Glibc
#endif

extension DefaultGateway {
    /// The local IPv4 address the kernel sends from toward the default gateway: the address the router knows
    /// this host by, so the one whose port a mapping must name. A connected UDP socket asks the routing table
    /// without sending anything.
    public static func facingAddress() -> IPAddress? {
        guard let gateway = current() else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let destination = SocketAddress(address: gateway, port: 9)
        guard destination.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) { sp in
            sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return SocketAddress(&storage)?.address
    }
}
