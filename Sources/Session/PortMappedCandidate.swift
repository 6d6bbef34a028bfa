import Addresses
import ICE
import PortMapping

/// Which of an agent's host candidates the home router maps, and the server-reflexive candidate the mapping
/// makes of it. One per agent: its UDP socket on the address that faces the default gateway is the one the
/// router sees (with kernel redirection, WireGuard's packets leave from it too).
struct PortMappedCandidate {
    private(set) var host: ICECandidate?
    private(set) var mapping: PortMapping?
    /// What the peer was last told, re-sent after an ICE restart (which emits the host candidate again).
    private(set) var candidate: ICECandidate?

    /// Takes `local` as the host candidate to map when none is chosen yet and it is the agent's IPv4 UDP socket
    /// on `gatewayFacing`. True when it was taken: the caller starts keeping its mapping.
    mutating func choose(_ local: ICECandidate, gatewayFacing: IPAddress?) -> Bool {
        guard host == nil, local.type == .host, local.transport == .udp, !local.isIPv6,
              let gatewayFacing, IPAddress(local.address) == gatewayFacing else { return false }
        host = local
        return true
    }

    /// Whether `local` is the chosen host candidate, emitted again.
    func isChosen(_ local: ICECandidate) -> Bool {
        guard let host else { return false }
        return local.type == .host && local.address == host.address && local.port == host.port
    }

    /// A change of the mapping; returns the candidate to advertise when it gives a new one. A lost mapping
    /// advertises nothing (candidates cannot be withdrawn; the peer's checks to it fail like any other).
    mutating func update(_ new: PortMapping?) -> ICECandidate? {
        mapping = new
        guard let new, let host,
              let made = ICECandidate.portMapped(host: host, externalAddress: "\(new.external.address)",
                                                 externalPort: new.external.port),
              made != candidate else { return nil }
        candidate = made
        return made
    }
}
