@_exported import Addresses
import ServiceURLs

/// A UDP endpoint `host:port` or `[v6]:port`.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public let host: Host
    public let port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host.bracketed):\(port)" }
}
