import Addresses
import CTun
import Glibc

/// The device's UDP sockets: one IPv4 and one IPv6 (v6-only) on the same port, like wireguard-go.
struct UDPSockets: DatagramBind {
    private(set) var fd4: Int32 = -1
    private(set) var fd6: Int32 = -1
    private(set) var port: UInt16 = 0
    private(set) var fwmark: UInt32 = 0

    /// Binds both families to `port` (0: any free port both can have); the old sockets close on success.
    /// Returns 0 or an errno.
    mutating func bind(port requested: UInt16) -> Int32 {
        var lastError: Int32 = EADDRINUSE
        for _ in 0..<(requested == 0 ? 100 : 1) {
            let v4 = Self.open(AF_INET, port: requested)
            guard v4.fd >= 0 else { return v4.error }
            let v6 = Self.open(AF_INET6, port: v4.port)
            if v6.fd < 0, v6.error != EAFNOSUPPORT {
                close(v4.fd)
                lastError = v6.error
                continue
            }
            closeAll()
            (fd4, fd6, port) = (v4.fd, v6.fd, v4.port)
            if fwmark != 0 { _ = setMark(fwmark) }
            return 0
        }
        return lastError
    }

    mutating func setMark(_ mark: UInt32) -> Int32 {
        fwmark = mark
        var value = mark
        for fd in [fd4, fd6] where fd >= 0 {
            if setsockopt(fd, SOL_SOCKET, SO_MARK, &value, socklen_t(MemoryLayout<UInt32>.size)) < 0 { return errno }
        }
        return 0
    }

    mutating func keep(port: UInt16) { self.port = port }

    var isOpen: Bool { fd4 >= 0 || fd6 >= 0 }

    mutating func closeAll() {
        for fd in [fd4, fd6] where fd >= 0 { close(fd) }
        (fd4, fd6) = (-1, -1)
    }

    func send(_ message: UnsafeRawBufferPointer, to endpoint: inout Endpoint) -> Bool {
        let fd = endpoint.isIPv6 ? fd6 : fd4
        guard fd >= 0 else { return false }
        if let source = endpoint.source {
            var from = wgd_source()
            withUnsafeMutableBytes(of: &from.address) { raw in source.address.withNetworkOrder { raw.copyMemory(from: $0) } }
            from.ifindex = source.interface
            let sent = endpoint.remote.withSockaddr { wgd_send_sticky(fd, message.baseAddress, message.count, $0, $1, &from) }
            if sent == message.count { return true }
            // The address is no longer ours or no longer routes (removed, its interface down, routes changed):
            // forget it and let the kernel choose. wireguard-go retries on EINVAL only; kernels also answer
            // ENETUNREACH, EADDRNOTAVAIL, and ENODEV for an interface that is gone.
            switch Int32(-sent) {
            case EINVAL, ENETUNREACH, EADDRNOTAVAIL, ENODEV: endpoint.source = nil
            default: return false
            }
        }
        return endpoint.remote.withSockaddr { sendto(fd, message.baseAddress, message.count, 0, $0, $1) } == message.count
    }

    func routeInterface(to remote: SocketAddress, from source: IPAddress) -> UInt32? {
        let destination = remote.address.withNetworkOrder { Array($0) }, from = source.withNetworkOrder { Array($0) }
        let index = wgd_route_interface4(destination, from, fwmark)
        return index > 0 ? UInt32(index) : nil
    }

    /// One datagram into `buffer`, with the local address it was sent to; nil when none is waiting.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, source: Endpoint)? {
        var storage = sockaddr_storage()
        var local = wgd_source()
        var hasLocal: Int32 = 0
        let n = wgd_recv_sticky(fd, buffer.baseAddress, buffer.count, &storage, &local, &hasLocal)
        guard n >= 0, let remote = SocketAddress(&storage) else { return nil }
        var source = Endpoint(remote)
        if hasLocal != 0 {
            let address = withUnsafeBytes(of: local.address) { IPAddress(packet: $0, offset: 0, isIPv6: remote.isIPv6) }
            source.source = StickySource(address: address, interface: local.ifindex)
        }
        return (n, source)
    }

    /// wireguard-go's 7 MiB: the default ~200 KiB fills during one busy turn of the loop and drops a TCP
    /// window's worth of datagrams. FORCE passes net.core.rmem_max as root; without it the plain option's cap.
    private static func setBufferSizes(_ fd: Int32) {
        var size: Int32 = 7 << 20
        let length = socklen_t(MemoryLayout<Int32>.size)
        for (force, plain) in [(SO_RCVBUFFORCE, SO_RCVBUF), (SO_SNDBUFFORCE, SO_SNDBUF)]
        where setsockopt(fd, SOL_SOCKET, force, &size, length) != 0 {
            setsockopt(fd, SOL_SOCKET, plain, &size, length)
        }
    }

    private static func open(_ family: Int32, port: UInt16) -> (fd: Int32, port: UInt16, error: Int32) {
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (-1, 0, errno) }
        var one: Int32 = 1
        var result: Int32
        setBufferSizes(fd)
        _ = wgd_enable_pktinfo(fd, family)
        if family == AF_INET {
            // Outer packets without DF, as kernel WireGuard sends them: a router in front of a narrower link
            // fragments them instead of dropping them, which is all that crosses where ICMP "fragmentation
            // needed" is dropped (a PMTU black hole). IPv6 has no such bit: routers never fragment.
            var dont = Int32(IP_PMTUDISC_DONT)
            setsockopt(fd, Int32(IPPROTO_IP), IP_MTU_DISCOVER, &dont, socklen_t(MemoryLayout<Int32>.size))
        }
        if family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            result = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard result == 0 else {
            let e = errno
            close(fd)
            return (-1, 0, e)
        }
        var sin6 = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return (fd, UInt16(bigEndian: sin6.sin6_port), 0)
    }
}
