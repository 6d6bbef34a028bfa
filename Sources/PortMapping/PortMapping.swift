import Addresses

/// How a mapping was obtained, in the order they are tried.
public enum PortMappingMethod: String, Sendable, CaseIterable {
    case pcp, natpmp = "nat-pmp", upnp
}

/// A UDP port mapping on the home router, as granted.
public struct PortMapping: Sendable, Equatable {
    public var method: PortMappingMethod
    public var internalPort: UInt16
    /// The router's external address and the mapped port.
    public var external: SocketAddress
    /// As granted; zero for a UPnP router that grants only permanent leases (renewed by adding it again).
    public var lifetime: Duration
    public var obtained: ContinuousClock.Instant

    public init(method: PortMappingMethod, internalPort: UInt16, external: SocketAddress, lifetime: Duration,
                obtained: ContinuousClock.Instant) {
        self.method = method
        self.internalPort = internalPort
        self.external = external
        self.lifetime = lifetime
        self.obtained = obtained
    }

    /// The same mapping for whoever advertises it: method and external address (not its lease).
    func sameEndpoint(as other: PortMapping?) -> Bool {
        guard let other else { return false }
        return method == other.method && external == other.external
    }
}
