import Addresses

/// A peer's UDP endpoint: its address (the project's `SocketAddress`) and, once it reached us, the local address
/// it sent to. Replies leave from that address (a sticky source, as the kernel and wireguard-go's
/// conn/sticky_linux.go keep per endpoint): on a multi-homed host the peer, its NAT and stateful firewalls expect
/// the answer from where they sent.
struct Endpoint: Equatable, CustomStringConvertible {
    var remote: SocketAddress
    var source: StickySource?

    init(_ remote: SocketAddress, source: StickySource? = nil) {
        self.remote = remote
        self.source = source
    }

    init(address: IPAddress, port: UInt16) { self.init(SocketAddress(address: address, port: port)) }

    /// A configured endpoint (`wg set … endpoint`) has no source yet: the kernel chooses one.
    init?(_ text: some StringProtocol) {
        guard let remote = SocketAddress(text) else { return nil }
        self.init(remote)
    }

    var address: IPAddress { remote.address }
    var isIPv6: Bool { remote.isIPv6 }
    var description: String { remote.description }

    /// The bytes a cookie is bound to: address and port.
    var cookieSource: [UInt8] {
        remote.address.withNetworkOrder { Array($0) } + [UInt8(remote.port >> 8), UInt8(remote.port & 0xff)]
    }
}

/// Our address a peer reached us at, and the interface it came in on.
struct StickySource: Equatable {
    var address: IPAddress
    var interface: UInt32
}
