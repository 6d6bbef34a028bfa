import Addresses

/// A peer's UDP endpoint: the project's socket address (module Addresses), under WireGuard's name for it.
typealias Endpoint = SocketAddress

extension SocketAddress {
    /// The bytes a cookie is bound to: address and port.
    var cookieSource: [UInt8] {
        address.withNetworkOrder { Array($0) } + [UInt8(port >> 8), UInt8(port & 0xff)]
    }
}
